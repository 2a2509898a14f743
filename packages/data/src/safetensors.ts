/**
 * safetensors read/write (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__}`,
 * then the data section. Everything in the header is checked against the file size before any
 * tensor memory is allocated, so a hostile or truncated file fails with a sentence, not a crash
 * or a huge allocation.
 */
import * as fs from 'node:fs';
import { InputError, VsaeError } from './errors.js';
import { writeFileAtomic, writeFileAtomicSync } from './atomic.js';
import type { SafeDtype, SafeTensor, SafeTensors, TensorToWrite, TypedTensor } from './types.js';

/** Bytes per element of each dtype. */
export const SAFE_DTYPE_SIZE: Readonly<Record<SafeDtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** The format's own limit on the header size (100 MB). */
const MAX_HEADER = 100_000_000;

const isDtype = (s: unknown): s is SafeDtype => typeof s === 'string' && Object.hasOwn(SAFE_DTYPE_SIZE, s);

interface Entry { name: string; dtype: SafeDtype; shape: number[]; begin: number; end: number }

/** Validates the parsed header against the data-section length; returns entries and metadata. */
function checkHeader(file: string, header: unknown, dataLen: number): { entries: Entry[]; metadata: Record<string, string> } {
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new InputError(file, 'the safetensors header is not a JSON object; the file is not a safetensors file');
  }
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        throw new InputError(file, '__metadata__ in the safetensors header must be an object of strings; the file is corrupt');
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new InputError(file, `__metadata__ value "${k}" is not a string; the file is corrupt`);
        metadata[k] = v;
      }
      continue;
    }
    if (raw === null || typeof raw !== 'object') throw new InputError(file, `tensor "${name}" has no {dtype, shape, data_offsets} entry; the file is corrupt`);
    const { dtype, shape, data_offsets: offs } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!isDtype(dtype)) {
      throw new InputError(file, `tensor "${name}" has dtype ${JSON.stringify(dtype)}, which is not supported (use one of ${Object.keys(SAFE_DTYPE_SIZE).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw new InputError(file, `tensor "${name}" has shape ${JSON.stringify(shape)}, which is not a list of non-negative integers; the file is corrupt`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
      throw new InputError(file, `tensor "${name}" has data_offsets ${JSON.stringify(offs)}, expected [begin, end] byte offsets; the file is corrupt`);
    }
    const [begin, end] = offs as [number, number];
    if (begin > end || end > dataLen) {
      throw new InputError(file, `tensor "${name}" has data_offsets [${begin}, ${end}] outside the ${dataLen}-byte data section; the file is truncated or corrupt`);
    }
    let bytes = SAFE_DTYPE_SIZE[dtype];
    for (const d of shape as number[]) bytes *= d;
    if (!Number.isSafeInteger(bytes) || bytes !== end - begin) {
      throw new InputError(file, `tensor "${name}" has shape [${(shape as number[]).join(', ')}] of ${dtype} (${bytes} bytes) but its data_offsets span ${end - begin} bytes; the file is corrupt`);
    }
    entries.push({ name, dtype, shape: [...(shape as number[])], begin, end });
  }
  // Empty tensors take no bytes and may sit anywhere; the others must not share a byte.
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end) {
      throw new InputError(file, `tensors "${prev.name}" and "${cur.name}" overlap in the data section; the file is corrupt`);
    }
  }
  return { entries, metadata };
}

function decodeHeader(file: string, headerBytes: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch (e) {
    throw new InputError(file, 'the safetensors header is not UTF-8 text; the file is not a safetensors file', { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(file, `the safetensors header is not valid JSON (${(e as Error).message}); the file is not a safetensors file or is corrupt`, { cause: e });
  }
}

function checkHeaderLength(file: string, size: number, n: bigint): number {
  if (n > BigInt(size - 8) || n > BigInt(MAX_HEADER)) {
    throw new InputError(
      file,
      n > BigInt(MAX_HEADER)
        ? `the safetensors header length (${n} bytes) exceeds the format's 100 MB limit; the file is not a safetensors file`
        : `the safetensors header length (${n} bytes) is larger than the file (${size} bytes); the file is truncated or not a safetensors file`,
    );
  }
  return Number(n);
}

// --- element conversions ---------------------------------------------------------------

let halfTable: Float32Array | undefined;
/** IEEE half → float for all 65536 bit patterns (256 KB, built on first use). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    halfTable[h] = e === 0 ? sign * f * 2 ** -24 : e === 31 ? (f ? NaN : sign * Infinity) : sign * (1 + f / 1024) * 2 ** (e - 15);
  }
  return halfTable;
}

/** A typed array over `bytes`; copies into fresh (aligned) memory only when the view is misaligned. */
function typedView<T extends ArrayBufferView>(
  Ctor: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number },
  bytes: Uint8Array,
): T {
  const n = bytes.byteLength / Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(bytes.buffer, bytes.byteOffset, n);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Ctor(copy.buffer, 0, n);
}

/** The tensor in its natural JS array type (F16/BF16 as raw Uint16 bits, BOOL as Uint8). */
export function typedOf(t: SafeTensor): TypedTensor['data'] {
  switch (t.dtype) {
    case 'F32': return typedView(Float32Array, t.bytes);
    case 'F64': return typedView(Float64Array, t.bytes);
    case 'F16': case 'BF16': return typedView(Uint16Array, t.bytes);
    case 'I64': return typedView(BigInt64Array, t.bytes);
    case 'I32': return typedView(Int32Array, t.bytes);
    case 'I16': return typedView(Int16Array, t.bytes);
    case 'I8': return typedView(Int8Array, t.bytes);
    case 'U8': case 'BOOL': return typedView(Uint8Array, t.bytes);
  }
}

/** The tensor as Float32: a view for aligned F32, a converted copy otherwise. */
export function toFloat32(t: SafeTensor): Float32Array {
  const src = typedOf(t);
  switch (t.dtype) {
    case 'F32': return src as Float32Array;
    case 'F16': {
      const table = halfToFloatTable();
      const h = src as Uint16Array;
      const out = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = table[h[i]!]!;
      return out;
    }
    case 'BF16': {
      const h = src as Uint16Array;
      const out = new Float32Array(h.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < h.length; i++) bits[i] = h[i]! << 16;
      return out;
    }
    case 'I64': {
      const v = src as BigInt64Array;
      const out = new Float32Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = Number(v[i]!);
      return out;
    }
    default: return Float32Array.from(src as Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array);
  }
}

/**
 * Raw little-endian elements of `dtype` as Float32 (a view for aligned F32, else converted):
 * the safetensors conversions, for other readers of raw tensor bytes (e.g. torch checkpoints).
 */
export function bytesToFloat32(dtype: SafeDtype, bytes: Uint8Array): Float32Array {
  return toFloat32({ dtype, shape: [bytes.byteLength / SAFE_DTYPE_SIZE[dtype]], bytes });
}

class SafeTensorsImpl implements SafeTensors {
  constructor(
    readonly path: string,
    readonly metadata: Record<string, string>,
    readonly tensors: Map<string, SafeTensor>,
  ) {}

  private need(name: string): SafeTensor {
    const t = this.tensors.get(name);
    if (!t) {
      const have = [...this.tensors.keys()];
      const list = have.length > 12 ? `${have.slice(0, 12).join(', ')}, … (${have.length} in all)` : have.join(', ');
      throw new InputError(this.path, `has no tensor "${name}" (it holds: ${list || 'nothing'})`);
    }
    return t;
  }

  getFloat32(name: string): { data: Float32Array; shape: number[] } {
    const t = this.need(name);
    return { data: toFloat32(t), shape: [...t.shape] };
  }

  get(name: string): TypedTensor {
    const t = this.need(name);
    return { dtype: t.dtype, shape: [...t.shape], data: typedOf(t) };
  }
}

/** Parses a whole safetensors file held in memory; tensor bytes are views into `bytes`. */
export function parseSafetensors(bytes: Uint8Array, name = 'safetensors data'): SafeTensors {
  if (bytes.byteLength < 8) throw new InputError(name, `is ${bytes.byteLength} bytes long, too short to be a safetensors file`);
  const n = checkHeaderLength(name, bytes.byteLength, new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = decodeHeader(name, bytes.subarray(8, 8 + n));
  const data = bytes.subarray(8 + n);
  const { entries, metadata } = checkHeader(name, header, data.byteLength);
  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape, bytes: data.subarray(e.begin, e.end) });
  return new SafeTensorsImpl(name, metadata, tensors);
}

function readFully(fd: number, buf: Uint8Array, position: number, file: string): void {
  let off = 0;
  while (off < buf.byteLength) {
    const n = fs.readSync(fd, buf, off, buf.byteLength - off, position + off);
    if (n === 0) throw new InputError(file, 'ended early while reading; the file is truncated');
    off += n;
  }
}

/**
 * Reads a safetensors file: the header is read and checked first, then the data section is
 * read into one fresh buffer (so F32 tensors at 4-byte-aligned offsets are zero-copy views).
 */
export function readSafetensors(file: string): SafeTensors {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code === 'ENOENT' ? 'no such file; check the path' : `cannot open it (${(e as Error).message})`, { cause: e });
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) throw new InputError(file, `is ${size} bytes long, too short to be a safetensors file`);
    const lenBuf = new Uint8Array(8);
    readFully(fd, lenBuf, 0, file);
    const n = checkHeaderLength(file, size, new DataView(lenBuf.buffer).getBigUint64(0, true));
    const headerBytes = new Uint8Array(n);
    readFully(fd, headerBytes, 8, file);
    const dataLen = size - 8 - n;
    const { entries, metadata } = checkHeader(file, decodeHeader(file, headerBytes), dataLen);
    const data = new Uint8Array(dataLen);
    readFully(fd, data, 8 + n, file);
    const tensors = new Map<string, SafeTensor>();
    for (const e of entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape, bytes: data.subarray(e.begin, e.end) });
    return new SafeTensorsImpl(file, metadata, tensors);
  } finally {
    fs.closeSync(fd);
  }
}

// --- writing -----------------------------------------------------------------------------

function dtypeFor(name: string, t: TensorToWrite): SafeDtype {
  const d = t.data;
  const fits = (dt: SafeDtype): SafeDtype => {
    if (t.dtype !== undefined && t.dtype !== dt && !(dt === 'U8' && t.dtype === 'BOOL')) {
      throw new VsaeError(`cannot write tensor "${name}": dtype ${t.dtype} does not match its ${d.constructor.name}`);
    }
    return t.dtype ?? dt;
  };
  if (d instanceof Float32Array) return fits('F32');
  if (d instanceof Float64Array) return fits('F64');
  if (d instanceof Int32Array) return fits('I32');
  if (d instanceof BigInt64Array) return fits('I64');
  if (d instanceof Uint8Array) return fits('U8');
  throw new VsaeError(`cannot write tensor "${name}": unsupported array type`);
}

/** Encodes tensors (in the given order) and metadata as safetensors bytes: header chunk + data views. */
export function serializeSafetensors(
  tensors: Record<string, TensorToWrite> | Map<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Uint8Array[] {
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new VsaeError(`cannot write safetensors metadata "${k}": values must be strings`);
    }
    header.__metadata__ = metadata;
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    if (name === '' || name === '__metadata__') throw new VsaeError(`cannot write a tensor named "${name}"`);
    const dtype = dtypeFor(name, t);
    if (dtype === 'BOOL') {
      for (const v of t.data as Uint8Array) if (v > 1) throw new VsaeError(`cannot write tensor "${name}" as BOOL: values must be 0 or 1`);
    }
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (!t.shape.every((s) => Number.isSafeInteger(s) && s >= 0) || numel !== t.data.length) {
      throw new VsaeError(`cannot write tensor "${name}": shape [${t.shape.join(', ')}] holds ${numel} values but the array has ${t.data.length}`);
    }
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    chunks.push(bytes);
  }
  // Pad the header with spaces so the data section starts 8-byte aligned (as the reference writer does).
  let json = JSON.stringify(header);
  const len = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + len) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const head = new Uint8Array(8 + headerBytes.byteLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  head.set(headerBytes, 8);
  return [head, ...chunks];
}

/** Writes a safetensors file atomically (temp file + fsync + rename). */
export async function writeSafetensors(
  file: string,
  tensors: Record<string, TensorToWrite> | Map<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(file, serializeSafetensors(tensors, metadata));
}

export function writeSafetensorsSync(
  file: string,
  tensors: Record<string, TensorToWrite> | Map<string, TensorToWrite>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomicSync(file, serializeSafetensors(tensors, metadata));
}
