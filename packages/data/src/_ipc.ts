/**
 * Arrow IPC framing, message by message, over apache-arrow's flatbuffer codecs. We frame and
 * place the bytes ourselves so that record-batch bodies land in memory we allocate (aligned,
 * one batch at a time, views not copies), so that a reader can stop at a partial trailing
 * message (live metrics files), and so that a writer can hand its own typed arrays to write()
 * without copying.
 *
 * Encapsulated message: [0xFFFFFFFF][int32 metadata length][flatbuffer Message, padded to 8][body].
 * Pre-0.15 streams omit the 0xFFFFFFFF continuation marker; both are read.
 * File format: "ARROW1\0\0" + stream messages + EOS + footer flatbuffer + int32 footer length + "ARROW1".
 */
import * as fs from 'node:fs';
import {
  Message,
  MessageHeader,
  MetadataVersion,
  Type,
  type DataType,
  type Field,
  type RecordBatch,
  type Schema,
} from 'apache-arrow';
import { Footer, FileBlock } from 'apache-arrow/ipc/metadata/file';
import { RecordBatch as RecordBatchHeader, type BufferRegion, type FieldNode } from 'apache-arrow/ipc/metadata/message';
import { VectorAssembler } from 'apache-arrow/visitor/vectorassembler';
import { InputError } from './errors.js';

export const MAGIC = Uint8Array.from([0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]); // "ARROW1"
export const EOS = new Uint8Array(Int32Array.of(-1, 0).buffer);
const PAD = new Uint8Array(8);

export { Footer, FileBlock };
export type { BufferRegion, FieldNode };

export const isMagic = (b: Uint8Array, at = 0): boolean => MAGIC.every((m, i) => b[at + i] === m);

// --- encoding ----------------------------------------------------------------------------

/** Frames an encoded flatbuffer message: continuation, padded length, flatbuffer, padding. */
export function frame(flatbuffer: Uint8Array): Uint8Array {
  const aligned = (flatbuffer.byteLength + 8 + 7) & ~7;
  const out = new Uint8Array(aligned);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, -1, true);
  dv.setInt32(4, aligned - 8, true);
  out.set(flatbuffer, 8);
  return out;
}

export function encodeSchemaMessage(schema: Schema): Uint8Array {
  return frame(Message.encode(Message.from(schema)));
}

export interface EncodedBatch {
  /** Framed metadata (8-byte aligned length). */
  meta: Uint8Array;
  /** Body chunks, each buffer followed by its padding; the arrays are the batch's own memory. */
  body: Uint8Array[];
  bodyLength: number;
}

/** Encodes one record batch (no dictionaries, no compression); data buffers are not copied. */
export function encodeRecordBatch(batch: RecordBatch): EncodedBatch {
  const { byteLength, nodes, bufferRegions, buffers, variadicBufferCounts } = VectorAssembler.assemble(batch);
  const header = new RecordBatchHeader(batch.numRows, nodes, bufferRegions, null, variadicBufferCounts);
  const meta = frame(Message.encode(Message.from(header, byteLength)));
  const body: Uint8Array[] = [];
  for (const b of buffers) {
    if (b.byteLength === 0) continue;
    body.push(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    const pad = ((b.byteLength + 7) & ~7) - b.byteLength;
    if (pad > 0) body.push(PAD.subarray(0, pad));
  }
  return { meta, body, bodyLength: byteLength };
}

/** File footer + its length + magic, to end an IPC file. */
export function encodeFooter(schema: Schema, blocks: FileBlock[]): Uint8Array {
  const fb = Footer.encode(new Footer(schema, MetadataVersion.V5, blocks, []));
  const out = new Uint8Array(fb.byteLength + 4 + MAGIC.byteLength);
  out.set(fb, 0);
  new DataView(out.buffer).setInt32(fb.byteLength, fb.byteLength, true);
  out.set(MAGIC, fb.byteLength + 4);
  return out;
}

/** The 8 bytes that start an IPC file: magic + 2 bytes of padding. */
export const FILE_START = Uint8Array.from([...MAGIC, 0, 0]);

// --- decoding ----------------------------------------------------------------------------

/** Where a message sits in a file: the framing start, the framed metadata length, the body. */
export interface MessageBlock {
  /** Byte offset of the message (its continuation marker or length prefix). */
  offset: number;
  /** Bytes from `offset` to the body (prefix + flatbuffer + padding). */
  metaLength: number;
  bodyLength: number;
  /** Rows in the record batch. */
  rows: number;
}

/**
 * Parses the 4- or 8-byte message prefix. Returns the flatbuffer length and the prefix size,
 * or `eos` for an end-of-stream marker, or `short` when fewer bytes than needed are given.
 */
export function parsePrefix(b: Uint8Array): { len: number; prefix: number } | 'eos' | 'short' {
  if (b.byteLength < 4) return 'short';
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const first = dv.getInt32(0, true);
  if (first === -1) {
    if (b.byteLength < 8) return 'short';
    const len = dv.getInt32(4, true);
    return len === 0 ? 'eos' : { len, prefix: 8 };
  }
  return first === 0 ? 'eos' : { len: first, prefix: 4 };
}

export function decodeMessage(file: string, flatbuffer: Uint8Array, where: string): Message {
  try {
    return Message.decode(flatbuffer);
  } catch (e) {
    throw new InputError(file, `has a corrupt Arrow message ${where} (${(e as Error).message}); the file is damaged or not Arrow IPC`, { cause: e });
  }
}

export function schemaOf(file: string, m: Message): Schema {
  if (m.headerType !== MessageHeader.Schema) {
    throw new InputError(file, `does not start with an Arrow schema message (found ${MessageHeader[m.headerType] ?? m.headerType}); it is not an Arrow IPC stream or file`);
  }
  try {
    return m.header() as Schema;
  } catch (e) {
    throw new InputError(file, `has an Arrow schema this reader cannot decode (${(e as Error).message})`, { cause: e });
  }
}

export function recordBatchHeaderOf(file: string, m: Message, where: string): RecordBatchHeader {
  const h = m.header() as RecordBatchHeader;
  if (h.compression !== null && h.compression !== undefined) {
    throw new InputError(file, `holds compressed record batches ${where}; rewrite it uncompressed (e.g. pyarrow's compression=None, Polars' compression="uncompressed")`);
  }
  return h;
}

// --- buffer layout -----------------------------------------------------------------------

/** Field nodes and buffers a column of this type takes in a record batch (Arrow columnar spec). */
export function layoutOf(type: DataType, variadic: () => number): { nodes: number; buffers: number } {
  const kids = (type.children ?? []) as Field[];
  const sum = (base: number) => {
    let nodes = 1;
    let buffers = base;
    for (const c of kids) {
      const l = layoutOf(c.type, variadic);
      nodes += l.nodes;
      buffers += l.buffers;
    }
    return { nodes, buffers };
  };
  switch (type.typeId) {
    case Type.Null: return { nodes: 1, buffers: 0 };
    case Type.Utf8: case Type.Binary: case Type.LargeUtf8: case Type.LargeBinary: return { nodes: 1, buffers: 3 };
    case Type.Utf8View: case Type.BinaryView: return { nodes: 1, buffers: 2 + variadic() };
    case Type.List: case Type.LargeList: case Type.Map: return sum(2);
    case Type.FixedSizeList: case Type.Struct: return sum(1);
    case Type.Union: case Type.DenseUnion: case Type.SparseUnion:
      return sum((type as unknown as { mode: number }).mode === 1 ? 2 : 1);
    case Type.Dictionary: return { nodes: 1, buffers: 2 };
    default: return { nodes: 1, buffers: 2 };
  }
}

/** The first node and buffer index of each top-level column in a record batch of `schema`. */
export function columnStarts(schema: Schema, variadicCounts: number[]): Array<{ node: number; buffer: number }> {
  let v = 0;
  const variadic = () => variadicCounts[v++] ?? 0;
  const out: Array<{ node: number; buffer: number }> = [];
  let node = 0;
  let buffer = 0;
  for (const f of schema.fields) {
    out.push({ node, buffer });
    const l = layoutOf(f.type, variadic);
    node += l.nodes;
    buffer += l.buffers;
  }
  return out;
}

// --- reading helpers ---------------------------------------------------------------------

/** A fresh, unpooled buffer (byteOffset 0, so typed views over it are aligned), not zero-filled. */
export function allocAligned(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** Reads exactly `n` bytes at `pos` (fewer only at end of file). */
export async function readAt(fh: fs.promises.FileHandle, pos: number, n: number): Promise<Uint8Array> {
  const buf = allocAligned(n);
  let off = 0;
  while (off < n) {
    // The callback API on the raw fd: FileHandle.read adds per-call overhead that shows at GB/s.
    const bytesRead = await new Promise<number>((resolve, reject) =>
      fs.read(fh.fd, buf, off, n - off, pos + off, (e, got) => (e ? reject(e) : resolve(got))),
    );
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off === n ? buf : buf.subarray(0, off);
}

export function readAtSync(fd: number, pos: number, n: number): Uint8Array {
  const buf = allocAligned(n);
  let off = 0;
  while (off < n) {
    const got = fs.readSync(fd, buf, off, n - off, pos + off);
    if (got === 0) break;
    off += got;
  }
  return off === n ? buf : buf.subarray(0, off);
}
