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
import { DictionaryBatch as DictionaryBatchHeader, RecordBatch as RecordBatchHeader, type BufferRegion, type FieldNode } from 'apache-arrow/ipc/metadata/message';
import { VectorAssembler } from 'apache-arrow/visitor/vectorassembler';
import './_flatbuffers-guard.js';
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

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** An error's message on one line (apache-arrow's and JSON.parse's may span several). */
export const oneLine = (e: unknown): string => String((e as Error)?.message ?? e).replace(/\s+/g, ' ').trim();

/** A type's name; a damaged nested type (a list without its child) cannot print itself. */
export function typeName(t: DataType): string {
  try {
    return String(t);
  } catch {
    return Type[t.typeId] ?? `type ${String(t.typeId)}`;
  }
}

export function decodeMessage(file: string, flatbuffer: Uint8Array, where: string): Message {
  let m: Message;
  try {
    m = Message.decode(flatbuffer);
  } catch (e) {
    throw new InputError(file, `has a corrupt Arrow message ${where} (${oneLine(e)}); the file is damaged or not Arrow IPC`, { cause: e });
  }
  if (!isCount(m.bodyLength)) throw new InputError(file, `has an Arrow message ${where} with an impossible body length (${m.bodyLength}); the file is damaged`);
  return m;
}

export function schemaOf(file: string, m: Message): Schema {
  if (m.headerType !== MessageHeader.Schema) {
    throw new InputError(file, `does not start with an Arrow schema message (found ${MessageHeader[m.headerType] ?? m.headerType}); it is not an Arrow IPC stream or file`);
  }
  try {
    return m.header() as Schema;
  } catch (e) {
    throw new InputError(file, `has an Arrow schema this reader cannot decode (${oneLine(e)}); the file is damaged or uses an unsupported type`, { cause: e });
  }
}

/**
 * The header of a record-batch message, checked against the message's body: a row count,
 * field nodes and buffer regions that are whole numbers, buffers inside the body, and no node
 * longer than 8 × body bytes (+ 64) — every column type these readers accept stores at least
 * one bit per value, so a longer claim is a lie that would otherwise be looped over.
 */
export function recordBatchHeaderOf(file: string, m: Message, where: string): RecordBatchHeader {
  let h: RecordBatchHeader;
  try {
    h = m.header() as RecordBatchHeader;
  } catch (e) {
    throw new InputError(file, `has a corrupt record-batch header ${where} (${oneLine(e)}); the file is damaged`, { cause: e });
  }
  return checkedBatchHeader(file, h, m.bodyLength, where);
}

/** A dictionary batch's id and its record batch, checked as recordBatchHeaderOf checks one. */
export function dictionaryBatchHeaderOf(file: string, m: Message, where: string): { id: number; data: RecordBatchHeader } {
  let d: DictionaryBatchHeader;
  try {
    d = m.header() as DictionaryBatchHeader;
    if (!d?.data) throw new Error('no record batch inside');
  } catch (e) {
    throw new InputError(file, `has a corrupt dictionary batch ${where} (${oneLine(e)}); the file is damaged`, { cause: e });
  }
  return { id: Number(d.id), data: checkedBatchHeader(file, d.data, m.bodyLength, where) };
}

function checkedBatchHeader(file: string, h: RecordBatchHeader, bodyLength: number, where: string): RecordBatchHeader {
  const m = { bodyLength };
  if (h.compression !== null && h.compression !== undefined) {
    throw new InputError(file, `holds compressed record batches ${where}; rewrite it uncompressed (e.g. pyarrow's compression=None, Polars' compression="uncompressed")`);
  }
  const bad = (what: string) => new InputError(file, `has a record batch ${where} with ${what}; the file is damaged`);
  const maxValues = 8 * m.bodyLength + 64;
  if (!isCount(h.length) || h.length > maxValues) throw bad(`an impossible row count (${h.length}) for its ${m.bodyLength}-byte body`);
  for (const n of h.nodes) {
    if (!isCount(n.length) || !isCount(n.nullCount) || n.length > maxValues) throw bad(`a field node of impossible length (${n.length}) for its ${m.bodyLength}-byte body`);
  }
  for (const b of h.buffers) {
    if (!isCount(b.offset) || !isCount(b.length) || b.offset + b.length > m.bodyLength) {
      throw bad(`a buffer (offset ${b.offset}, ${b.length} bytes) outside its ${m.bodyLength}-byte body`);
    }
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

// --- what offsets index ------------------------------------------------------------------------

/**
 * Checks that a record batch's offsets stay inside what they index, reading only the offset
 * buffers (`read(region, bytes)` returns the first `bytes` of a buffer of the body): every
 * Utf8/Binary offset within its data buffer, every List/Map offset within its child's length,
 * a FixedSizeList's rows × list size within its child's. apache-arrow trusts them: a list row
 * running to offset 16 million over a Null child makes it build an array of 16 million nulls.
 * With the header check (node lengths ≤ 8 × body bytes), nothing it builds can outgrow the file.
 */
export async function checkBatchOffsets(
  schema: Pick<Schema, 'fields'>,
  header: RecordBatchHeader,
  read: (region: BufferRegion, bytes: number) => Promise<Uint8Array>,
  bad: (what: string) => Error,
): Promise<void> {
  let ni = 0;
  let bi = 0;
  let vi = 0;
  const variadic = () => header.variadicBufferCounts?.[vi++] ?? 0;
  const node = (col: string): number => {
    const n = header.nodes[ni++];
    if (!n) throw bad(`too few field nodes for column "${col}"`);
    return n.length;
  };
  const buffer = (col: string): BufferRegion => {
    const b = header.buffers[bi++];
    if (!b) throw bad(`too few buffers for column "${col}"`);
    return b;
  };
  /** The last of n + 1 offsets, after checking they start at ≥ 0 and never decrease. */
  const lastOffset = async (col: string, region: BufferRegion, n: number, wide: boolean): Promise<number> => {
    if (n === 0) return 0;
    const w = wide ? 8 : 4;
    if (region.length < (n + 1) * w) throw bad(`an offsets buffer of ${region.length} bytes for ${n} values of column "${col}"`);
    const b = await read(region, (n + 1) * w);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let prev = 0;
    for (let i = 0; i <= n; i++) {
      const v = wide ? Number(dv.getBigInt64(i * 8, true)) : dv.getInt32(i * 4, true);
      if (v < prev || (i === 0 && v < 0)) throw bad(`offsets of column "${col}" that go ${v < 0 ? 'negative' : 'backwards'} at value ${i}`);
      prev = v;
    }
    return prev;
  };
  const child = (type: DataType, col: string): DataType => {
    const c = (type.children as Field[] | undefined)?.[0]?.type;
    if (!c) throw bad(`a ${type.typeId === Type.FixedSizeList ? 'fixed-size list' : 'list'} column "${col}" whose type has no child type`);
    return c;
  };
  const walk = async (type: DataType, col: string): Promise<number> => {
    switch (type.typeId) {
      case Type.Utf8: case Type.Binary: case Type.LargeUtf8: case Type.LargeBinary: {
        const n = node(col);
        buffer(col);
        const offsets = buffer(col);
        const data = buffer(col);
        const last = await lastOffset(col, offsets, n, type.typeId === Type.LargeUtf8 || type.typeId === Type.LargeBinary);
        if (last > data.length) throw bad(`offsets of column "${col}" that run to byte ${last} of its ${data.length}-byte data`);
        return n;
      }
      case Type.List: case Type.LargeList: case Type.Map: {
        const n = node(col);
        buffer(col);
        const last = await lastOffset(col, buffer(col), n, type.typeId === Type.LargeList);
        const kids = await walk(child(type, col), col);
        if (last > kids) throw bad(`offsets of column "${col}" that run to value ${last} of its ${kids} child values`);
        return n;
      }
      case Type.FixedSizeList: {
        const n = node(col);
        buffer(col);
        const size = (type as unknown as { listSize: number }).listSize;
        const kids = await walk(child(type, col), col);
        if (n * size > kids) throw bad(`${n} lists of ${size} in column "${col}" but ${kids} child values`);
        return n;
      }
      case Type.Struct: {
        const n = node(col);
        buffer(col);
        for (const c of (type.children as Field[] | undefined) ?? []) await walk(c.type, `${col}.${c.name}`);
        return n;
      }
      default: {
        // Nothing here indexes another buffer (or apache-arrow does not build from it): skip it.
        const n = header.nodes[ni]?.length ?? 0;
        const l = layoutOf(type, variadic);
        ni += l.nodes;
        bi += l.buffers;
        return n;
      }
    }
  };
  for (const f of schema.fields) await walk(f.type, f.name);
}

// --- whole-buffer check (small tables) -------------------------------------------------------

/**
 * Checks the framing of an IPC file or stream held in memory before apache-arrow's reader sees
 * it: every message inside the bytes, every footer block pointing at a record batch of the
 * body length it states, record-batch headers that fit their bodies (recordBatchHeaderOf), and
 * a stream closed by its end-of-stream marker. apache-arrow trusts these fields (a footer
 * block at a schema message makes its file reader loop forever), so they are checked first.
 */
export function checkIpcBytes(file: string, bytes: Uint8Array): void {
  const size = bytes.byteLength;
  const damaged = (what: string) => new InputError(file, `${what}; the file is damaged or was not fully written, regenerate it`);
  const messageAt = (pos: number, limit: number, where: string): { m: Message; end: number } | 'eos' => {
    const p = parsePrefix(bytes.subarray(pos, Math.min(limit, pos + 8)));
    if (p === 'eos') return 'eos';
    if (p === 'short' || p.len <= 0 || pos + p.prefix + p.len > limit) throw damaged(`has a message ${where} that runs past the end of the file`);
    const m = decodeMessage(file, bytes.subarray(pos + p.prefix, pos + p.prefix + p.len), where);
    const end = pos + p.prefix + p.len + m.bodyLength;
    if (end > limit) throw damaged(`has a message ${where} whose body runs past the end of the file`);
    if (m.headerType === MessageHeader.RecordBatch || m.headerType === MessageHeader.DictionaryBatch) {
      if (m.headerType === MessageHeader.RecordBatch) recordBatchHeaderOf(file, m, where);
      else {
        try {
          m.header();
        } catch (e) {
          throw new InputError(file, `has a corrupt dictionary batch ${where} (${oneLine(e)}); the file is damaged`, { cause: e });
        }
      }
    }
    return { m, end };
  };
  if (size >= 8 && isMagic(bytes)) {
    if (size < 18 || !isMagic(bytes, size - 6)) throw damaged('is truncated: it has no Arrow footer at its end');
    const footerLen = new DataView(bytes.buffer, bytes.byteOffset + size - 10, 4).getInt32(0, true);
    if (footerLen <= 0 || footerLen > size - 18) throw damaged(`has a footer length (${footerLen}) that does not fit the file`);
    const end = size - 10 - footerLen;
    let blocks: Array<{ offset: number; metaDataLength: number; bodyLength: number; kind: string }>;
    try {
      const footer = Footer.decode(bytes.subarray(end, end + footerLen));
      blocks = [
        ...[...footer.recordBatches()].map((b) => ({ offset: b.offset, metaDataLength: b.metaDataLength, bodyLength: b.bodyLength, kind: 'record batch' })),
        ...[...footer.dictionaryBatches()].map((b) => ({ offset: b.offset, metaDataLength: b.metaDataLength, bodyLength: b.bodyLength, kind: 'dictionary batch' })),
      ];
    } catch (e) {
      throw new InputError(file, `has a corrupt Arrow footer (${oneLine(e)}); the file is damaged`, { cause: e });
    }
    blocks.forEach((b, i) => {
      const where = `(${b.kind} ${i} of the footer)`;
      if (!isCount(b.offset) || !isCount(b.bodyLength) || !isCount(b.metaDataLength) || b.offset < 8 || b.offset + b.metaDataLength + b.bodyLength > end) {
        throw damaged(`has a footer that places a ${b.kind} outside the file`);
      }
      const r = messageAt(b.offset, b.offset + b.metaDataLength + b.bodyLength, where);
      const want = b.kind === 'record batch' ? MessageHeader.RecordBatch : MessageHeader.DictionaryBatch;
      if (r === 'eos' || r.m.headerType !== want) throw damaged(`has a footer that points ${where} at a message that is not a ${b.kind}`);
      if (r.m.bodyLength !== b.bodyLength) throw damaged(`has a footer that gives ${where} a ${b.bodyLength}-byte body but its message says ${r.m.bodyLength}`);
    });
    return;
  }
  let pos = 0;
  let first = true;
  while (pos < size) {
    const r = messageAt(pos, size, `at byte ${pos}`);
    if (r === 'eos') return;
    if (first && r.m.headerType !== MessageHeader.Schema) throw new InputError(file, 'is not an Arrow IPC file or stream (it does not start with a schema); regenerate it');
    first = false;
    pos = r.end;
  }
  throw damaged(size === 0 ? 'is empty (0 bytes)' : 'is truncated: the Arrow stream has no end-of-stream marker');
}
