/**
 * metrics.arrows (CONTRACTS.md §2): an Arrow IPC stream, one record batch appended per log
 * step with a single write() so a follower sees it as soon as it is written (no fsync). The
 * reader parses message by message and leaves a trailing partial message for the next read,
 * so a live file can be followed with `readMetrics(path, { fromByte })`.
 */
import * as fs from 'node:fs';
import {
  Field,
  Float32,
  Float64,
  Int32,
  MessageHeader,
  RecordBatch,
  Schema,
  Struct,
  Type,
  makeData,
  type Data,
  type DataType,
} from 'apache-arrow';
import { EOS, columnStarts, typeName, decodeMessage, encodeRecordBatch, encodeSchemaMessage, parsePrefix, readAtSync, recordBatchHeaderOf, schemaOf } from './_ipc.js';
import { writeFailure, writeFileAtomicSync } from './atomic.js';
import { InputError, VsaeError } from './errors.js';
import type { MetricsColumn, MetricsRead, MetricsRow, MetricsWriterOptions } from './types.js';

/** The contract's metrics columns for an architecture: `l1` for sae, `kl` for the VSAEs. */
export function metricsColumns(arch: string): MetricsColumn[] {
  const f = (name: string): MetricsColumn => ({ name, type: 'float64' });
  return [
    { name: 'step', type: 'int32' }, f('lr'), f('loss'), f('recon'), f(arch === 'sae' ? 'l1' : 'kl'), f('coeff'),
    f('l0'), f('dead_frac'), f('explained_variance'), f('elapsed_s'), { name: 'skipped_rows', type: 'int32' },
  ];
}

function schemaFor(columns: MetricsColumn[], metadata: Record<string, string>): Schema {
  const names = new Set<string>();
  const fields = columns.map((c) => {
    if (names.has(c.name)) throw new VsaeError(`metrics column "${c.name}" is listed twice`);
    names.add(c.name);
    if (c.type !== 'int32' && c.type !== 'float64') throw new VsaeError(`metrics column "${c.name}" has type ${String(c.type)}; use int32 or float64`);
    return new Field(c.name, c.type === 'int32' ? new Int32() : new Float64(), false);
  });
  return new Schema(fields, new Map(Object.entries(metadata)));
}

function encodeRows(schema: Schema, columns: MetricsColumn[], rows: MetricsRow[]): Uint8Array {
  const n = rows.length;
  const children: Data[] = columns.map((c) => {
    if (c.type === 'int32') {
      const a = new Int32Array(n);
      rows.forEach((r, i) => (a[i] = r[c.name]!));
      return makeData({ type: new Int32(), length: n, nullCount: 0, data: a });
    }
    const a = new Float64Array(n);
    rows.forEach((r, i) => (a[i] = r[c.name]!));
    return makeData({ type: new Float64(), length: n, nullCount: 0, data: a });
  });
  const enc = encodeRecordBatch(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children })));
  return Buffer.concat([enc.meta, ...enc.body]);
}

/** Appends one record batch per log step to a run's metrics.arrows. */
export class MetricsWriter {
  readonly columns: MetricsColumn[];
  private fd: number | undefined;
  private broken = false;
  private readonly schema: Schema;

  constructor(readonly path: string, opts: MetricsWriterOptions = {}) {
    this.columns = opts.columns ?? metricsColumns(opts.arch ?? 'sae');
    this.schema = schemaFor(this.columns, opts.metadata ?? {});
    let kept: MetricsRow[] = [];
    if (opts.resumeAfterStep !== undefined && fs.existsSync(path)) {
      const old = readMetrics(path);
      const names = (cs: MetricsColumn[]) => cs.map((c) => `${c.name}:${c.type}`).join(', ');
      if (names(old.columns) !== names(this.columns)) {
        throw new VsaeError(`cannot resume ${path}: its columns (${names(old.columns)}) differ from this run's (${names(this.columns)}); start a new run directory`);
      }
      kept = old.rows.filter((r) => r.step! <= opts.resumeAfterStep!);
    }
    // The fresh file (schema + kept rows) appears whole, by rename; then we append to it.
    const head = [encodeSchemaMessage(this.schema)];
    if (kept.length > 0) head.push(encodeRows(this.schema, this.columns, kept));
    writeFileAtomicSync(path, head);
    try {
      this.fd = fs.openSync(path, 'a');
    } catch (e) {
      throw new VsaeError(`cannot append to ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Writes one row as one record batch, in one write() call. Missing columns are an error. */
  append(row: MetricsRow): void {
    if (this.fd === undefined) throw new VsaeError(`${this.path}: append() after close()`);
    for (const c of this.columns) {
      const v = row[c.name];
      if (typeof v !== 'number') throw new VsaeError(`metrics row lacks a number for "${c.name}" (got ${String(v)})`);
      if (c.type === 'int32' && !(Number.isInteger(v) && Math.abs(v) < 2 ** 31)) throw new VsaeError(`metrics column "${c.name}" is int32 but got ${v}`);
    }
    const bytes = encodeRows(this.schema, this.columns, [row]);
    let off = 0;
    try {
      while (off < bytes.byteLength) off += fs.writeSync(this.fd, bytes, off, bytes.byteLength - off);
    } catch (e) {
      // The file now ends in a partial record batch, which readers skip; nothing more goes in.
      this.broken = true;
      throw new VsaeError(`cannot append to ${this.path}: ${writeFailure(e)}`, { cause: e });
    }
  }

  /** Ends the stream (end-of-stream marker) and closes the file; after a failed append, only closes it. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      if (!this.broken) fs.writeSync(fd, EOS);
    } catch (e) {
      throw new VsaeError(`cannot finish ${this.path}: ${writeFailure(e)}`, { cause: e });
    } finally {
      fs.closeSync(fd);
    }
  }
}

function metricsColumnOf(file: string, f: Field): MetricsColumn & { bytes: number; float: boolean } {
  const t: DataType = f.type;
  if (t.typeId === Type.Int && (t as unknown as { bitWidth: number }).bitWidth === 32) return { name: f.name, type: 'int32', bytes: 4, float: false };
  if (t.typeId === Type.Float && (t as Float64).precision === 2) return { name: f.name, type: 'float64', bytes: 8, float: true };
  if (t.typeId === Type.Float && (t as Float32).precision === 1) return { name: f.name, type: 'float64', bytes: 4, float: true };
  throw new InputError(file, `metrics column "${f.name}" is ${typeName(t)}; metrics columns must be Int32 or Float64`);
}

/**
 * Reads complete rows of a metrics stream. With `fromByte` (a previous result's nextByte) only
 * rows after it are returned, so a dashboard can follow a live run cheaply.
 */
export function readMetrics(file: string, opts: { fromByte?: number } = {}): MetricsRead {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code === 'ENOENT' ? 'no such file; the run has not logged a step yet, or the path is wrong' : `cannot read it (${(e as Error).message})`, { cause: e });
  }
  try {
    const size = fs.fstatSync(fd).size;
    // The schema from the start, then only the bytes from `fromByte` on: following a long run
    // reads what was appended, not the whole file.
    let head = readAtSync(fd, 0, Math.min(size, 1 << 16));
    const p0 = parsePrefix(head.subarray(0, 8));
    if (typeof p0 === 'object' && p0.prefix + p0.len > head.byteLength && p0.prefix + p0.len <= size) head = readAtSync(fd, 0, p0.prefix + p0.len);
    const from = opts.fromByte ?? 0;
    if (from <= head.byteLength || head.byteLength === size) return parseMetrics(size <= head.byteLength ? head : readAtSync(fd, 0, size), file, from);
    return parseMetrics(head, file, from, readAtSync(fd, from, size - from), from);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Parses a metrics stream (see readMetrics); `file` names it in errors. `head` holds the file
 * from byte 0 (at least the schema); `tail` the bytes from `tailStart` on (default: head).
 */
export function parseMetrics(head: Uint8Array, file: string, fromByte?: number, tail: Uint8Array = head, tailStart = 0): MetricsRead {
  const empty = (nextByte: number): MetricsRead => ({ columns: [], metadata: {}, rows: [], nextByte, ended: false });
  // Schema message first.
  const p0 = parsePrefix(head.subarray(0, 8));
  if (p0 === 'short') return empty(0);
  if (p0 === 'eos' || p0.len <= 0 || p0.len > (1 << 24)) {
    throw new InputError(file, 'is not an Arrow IPC stream (metrics.arrows must start with a schema message)');
  }
  if (p0.prefix + p0.len > head.byteLength) return empty(0);
  const schema = schemaOf(file, decodeMessage(file, head.subarray(p0.prefix, p0.prefix + p0.len), 'at byte 0'));
  const cols = schema.fields.map((f) => metricsColumnOf(file, f));
  const starts = columnStarts(schema, []);
  const afterSchema = p0.prefix + p0.len;
  let pos = Math.max(afterSchema, fromByte ?? 0, tailStart);
  const end = tailStart + tail.byteLength;
  const at = (a: number, b: number) => tail.subarray(a - tailStart, b - tailStart);
  const rows: MetricsRow[] = [];
  let ended = false;
  while (pos < end) {
    const p = parsePrefix(at(pos, pos + 8));
    if (p === 'short') break;
    if (p === 'eos') {
      ended = true;
      break;
    }
    if (p.len <= 0) throw new InputError(file, `has a corrupt message length at byte ${pos}; the file is damaged`);
    const bodyAt = pos + p.prefix + p.len;
    if (bodyAt > end) break; // metadata still being written
    const m = decodeMessage(file, at(pos + p.prefix, bodyAt), `at byte ${pos}`);
    if (bodyAt + m.bodyLength > end) break; // body still being written
    if (m.headerType === MessageHeader.RecordBatch) {
      const h = recordBatchHeaderOf(file, m, `at byte ${pos}`);
      const body = at(bodyAt, bodyAt + m.bodyLength);
      const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
      const n = h.length;
      const base = rows.length;
      // Every column's buffers must hold n values before a row is made (a lying count is refused).
      const regions = cols.map((c, ci) => {
        const s = starts[ci]!;
        const node = h.nodes[s.node];
        const valid = h.buffers[s.buffer];
        const data = h.buffers[s.buffer + 1];
        if (!node || !data || data.length < n * c.bytes || data.offset + n * c.bytes > body.byteLength) throw new InputError(file, `record batch at byte ${pos} is damaged (column "${c.name}")`);
        if (node.nullCount > 0 && valid && valid.length > 0 && valid.offset + Math.ceil(n / 8) > body.byteLength) throw new InputError(file, `record batch at byte ${pos} is damaged (column "${c.name}" validity)`);
        return { node, valid, data };
      });
      for (let i = 0; i < n; i++) rows.push({});
      cols.forEach((c, ci) => {
        const { node, valid, data } = regions[ci]!;
        for (let i = 0; i < n; i++) {
          const isNull = node.nullCount > 0 && valid && valid.length > 0 && ((body[valid.offset + (i >> 3)]! >> (i & 7)) & 1) === 0;
          const off = data.offset + i * c.bytes;
          rows[base + i]![c.name] = isNull ? NaN : !c.float ? dv.getInt32(off, true) : c.bytes === 8 ? dv.getFloat64(off, true) : dv.getFloat32(off, true);
        }
      });
    } else if (m.headerType === MessageHeader.Schema) {
      throw new InputError(file, `holds a second schema at byte ${pos}; it is not one metrics stream`);
    }
    pos = bodyAt + m.bodyLength;
  }
  return { columns: cols.map(({ name, type }) => ({ name, type })), metadata: Object.fromEntries(schema.metadata), rows, nextByte: pos, ended };
}
