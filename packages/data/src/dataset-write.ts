/**
 * createDatasetWriter: writes an activation dataset as an Arrow IPC file (temp name, renamed
 * on close), an IPC stream on stdout ('-'), or a sharded directory (`.part-NNNNN.arrow.tmp`
 * renamed to `part-NNNNN.arrow` when each shard closes; `_dataset.json` rewritten atomically
 * after each shard, `complete: true` only at the end; `resume` continues after the last
 * complete shard). Rows are gathered into record batches of `batchRows`; a caller's arrays are
 * written directly (no copy) when a whole batch arrives at once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Data, Float32, Int32, Int64, RecordBatch, Struct, makeData, type FixedSizeList, type Schema } from 'apache-arrow';
import { FileBlock } from 'apache-arrow/ipc/metadata/file';
import { EOS, FILE_START, encodeFooter, encodeRecordBatch, encodeSchemaMessage, type EncodedBatch } from './_ipc.js';
import { buildSchema, checkDatasetSchema, describeColumns, metaToSchema, sameColumns, type WriterColumns } from './_dataset-schema.js';
import { readDatasetJson, shardFileRe, shardName, shardTempName, type DatasetJson } from './_dataset-json.js';
import { tempPathFor, writeFailure, writeJsonAtomicSync } from './atomic.js';
import { InputError, UsageError, VsaeError } from './errors.js';
import { indexArrowFile } from './dataset-read.js';
import type { DatasetWriter, DatasetWriterOptions, RowsToWrite } from './types.js';

const DEFAULT_BATCH_ROWS = 8192;

// --- targets -------------------------------------------------------------------------------

/** An IPC file being written through a file descriptor (synchronous writes, no extra copies). */
class IpcFileOut {
  private fd: number | undefined;
  private pos = 0;
  private readonly blocks: FileBlock[] = [];
  /** `tmp` is written, `target` (what the user named: the file or the shard directory) is what errors name. */
  constructor(readonly tmp: string, private readonly schema: Schema, private readonly target: string) {
    try {
      this.fd = fs.openSync(tmp, 'w');
    } catch (e) {
      throw writeFail(target, e);
    }
    this.put([FILE_START, encodeSchemaMessage(schema)]);
  }

  private put(chunks: Uint8Array[]): void {
    try {
      for (const c of chunks) {
        let off = 0;
        while (off < c.byteLength) off += fs.writeSync(this.fd!, c, off, c.byteLength - off);
        this.pos += c.byteLength;
      }
    } catch (e) {
      throw writeFail(this.target, e);
    }
  }

  writeBatch(enc: EncodedBatch): void {
    this.blocks.push(new FileBlock(enc.meta.byteLength, enc.bodyLength, this.pos));
    this.put([enc.meta, ...enc.body]);
  }

  /** Writes EOS + footer, fsyncs and closes; the caller renames. */
  finish(): void {
    this.put([EOS, encodeFooter(this.schema, this.blocks)]);
    try {
      fs.fsyncSync(this.fd!);
    } finally {
      fs.closeSync(this.fd!);
      this.fd = undefined;
    }
  }

  discard(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    fs.rmSync(this.tmp, { force: true });
  }
}

function writeFail(file: string, e: unknown): VsaeError {
  return new VsaeError(`cannot write ${file}: ${writeFailure(e)}`, { cause: e });
}

export interface Target {
  /** Rows the current shard can still take (Infinity for files and streams). */
  room(): number;
  writeBatch(enc: EncodedBatch, rows: number): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
  readonly downstreamClosed: boolean;
}

export class FileTarget implements Target {
  readonly downstreamClosed = false;
  private readonly out: IpcFileOut;
  constructor(private readonly file: string, schema: Schema) {
    this.out = new IpcFileOut(tempPathFor(file), schema, file);
  }
  room() { return Infinity; }
  async writeBatch(enc: EncodedBatch): Promise<void> { this.out.writeBatch(enc); }
  async finish(): Promise<void> {
    this.out.finish();
    fs.renameSync(this.out.tmp, this.file);
  }
  async abort(): Promise<void> { this.out.discard(); }
}

const isGone = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ECONNRESET';
};

/** An IPC stream on a writable stream (stdout). A reader that goes away (EPIPE) ends writing quietly. */
export class StreamTarget implements Target {
  downstreamClosed = false;
  private failure: Error | undefined;
  private readonly onError = (e: Error) => {
    if (isGone(e)) this.downstreamClosed = true;
    else this.failure = e;
  };
  constructor(private readonly out: NodeJS.WritableStream, schema: Schema) {
    out.on('error', this.onError);
    this.pending = this.send([encodeSchemaMessage(schema)]);
  }
  private pending: Promise<void>;
  room() { return Infinity; }

  private async send(chunks: Uint8Array[]): Promise<void> {
    if (this.downstreamClosed) return;
    // One fresh buffer per message: a stream may hold on to what it is given after its write
    // callback (a PassThrough does), while our staging arrays are reused for the next batch.
    const whole = Buffer.concat(chunks);
    const e = await new Promise<Error | null | undefined>((resolve) => {
      try {
        this.out.write(whole, (err) => resolve(err));
      } catch (err) {
        resolve(err as Error);
      }
    });
    if (e) {
      if (isGone(e)) this.downstreamClosed = true;
      else throw new VsaeError(`cannot write the Arrow stream to stdout: ${e.message}`, { cause: e });
    }
    if (this.failure) throw new VsaeError(`cannot write the Arrow stream to stdout: ${this.failure.message}`, { cause: this.failure });
  }

  async writeBatch(enc: EncodedBatch): Promise<void> {
    await this.pending;
    await this.send([enc.meta, ...enc.body]);
  }
  async finish(): Promise<void> {
    await this.pending;
    await this.send([EOS]);
  }
  async abort(): Promise<void> {
    await this.pending.catch(() => undefined);
  }
}

class ShardedTarget implements Target {
  readonly downstreamClosed = false;
  private current: IpcFileOut | undefined;
  private currentRows = 0;
  private readonly metadata: Record<string, string>;
  constructor(
    private readonly dir: string,
    private readonly schema: Schema,
    private readonly shardRows: number,
    private readonly shards: Array<{ file: string; rows: number }>,
    private readonly dIn: number,
  ) {
    this.metadata = Object.fromEntries(schema.metadata);
    this.saveIndex(false);
  }

  room() { return this.shardRows - this.currentRows; }

  private saveIndex(complete: boolean): void {
    const j: DatasetJson = {
      format: 'vsae-dataset', version: 1, complete, d_in: this.dIn,
      rows: this.shards.reduce((a, s) => a + s.rows, 0), metadata: this.metadata, shards: this.shards,
    };
    writeJsonAtomicSync(path.join(this.dir, '_dataset.json'), j);
  }

  private closeShard(): void {
    const cur = this.current!;
    const i = this.shards.length;
    cur.finish();
    fs.renameSync(cur.tmp, path.join(this.dir, shardName(i)));
    this.shards.push({ file: shardName(i), rows: this.currentRows });
    this.current = undefined;
    this.currentRows = 0;
    this.saveIndex(false);
  }

  async writeBatch(enc: EncodedBatch, rows: number): Promise<void> {
    this.current ??= new IpcFileOut(path.join(this.dir, shardTempName(this.shards.length)), this.schema, this.dir);
    this.current.writeBatch(enc);
    this.currentRows += rows;
    if (this.currentRows >= this.shardRows) this.closeShard();
  }

  async finish(): Promise<void> {
    // An empty dataset still gets one (empty) shard, so its schema can be read.
    if (this.current || this.shards.length === 0) {
      this.current ??= new IpcFileOut(path.join(this.dir, shardTempName(this.shards.length)), this.schema, this.dir);
      this.closeShard();
    }
    this.saveIndex(true);
  }

  async abort(): Promise<void> {
    this.current?.discard();
    this.current = undefined;
  }
}

/** Checks an existing directory and returns the complete shards to keep (resume) or none. */
async function prepareShardDir(dir: string, schema: Schema, dIn: number, resume: boolean): Promise<Array<{ file: string; rows: number }>> {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw writeFail(dir, e);
  }
  const jsonPath = path.join(dir, '_dataset.json');
  const names = fs.readdirSync(dir);
  const parts = names.filter((f) => shardFileRe.test(f)).sort();
  // Temp shards of an interrupted writer are never complete: drop them.
  for (const f of names) if (/^\.part-\d+\.arrow\.tmp$/.test(f)) fs.rmSync(path.join(dir, f), { force: true });
  if (!resume) {
    if (fs.existsSync(jsonPath) || parts.length > 0) {
      throw new UsageError(`${dir} already holds a dataset; delete it, write to another directory, or pass --resume to continue it`);
    }
    return [];
  }
  if (!fs.existsSync(jsonPath)) {
    if (parts.length > 0) throw new InputError(dir, 'holds shards but no _dataset.json, so it cannot be resumed; delete it and start again');
    return [];
  }
  const info = readDatasetJson(jsonPath);
  if (info.complete) throw new VsaeError(`${dir} is already a complete dataset (${info.rows} rows); nothing to resume. Delete it to write it again`);
  if (info.d_in !== dIn) throw new VsaeError(`cannot resume ${dir}: it holds d_in=${info.d_in} activations but this run writes d_in=${dIn}`);
  const shards = [...info.shards];
  shards.forEach((s, i) => {
    if (s.file !== shardName(i)) throw new InputError(jsonPath, `lists ${s.file} as shard ${i}; expected ${shardName(i)}, so it cannot be resumed`);
  });
  // A shard renamed into place just before a crash, but not yet recorded, is complete: adopt it.
  for (let i = shards.length; parts.includes(shardName(i)); i++) {
    const idx = await indexArrowFile(path.join(dir, shardName(i)));
    shards.push({ file: shardName(i), rows: idx.rows });
  }
  for (const s of shards) {
    const file = path.join(dir, s.file);
    if (!fs.existsSync(file)) throw new InputError(jsonPath, `names shard ${s.file}, which is missing; the dataset cannot be resumed`);
  }
  if (shards.length > 0) {
    const idx = await indexArrowFile(path.join(dir, shards[shards.length - 1]!.file));
    if (!sameColumns(idx.schema, schema)) {
      throw new VsaeError(`cannot resume ${dir}: its shards have columns (${describeColumns(idx.schema)}) but this run writes (${describeColumns(schema)})`);
    }
    checkDatasetSchema(idx.file, idx.schema);
  }
  // Shards past the kept ones (after a gap) would be overwritten: remove them.
  for (const f of parts) {
    const m = shardFileRe.exec(f);
    if (m && Number(m[1]) >= shards.length) fs.rmSync(path.join(dir, f), { force: true });
  }
  return shards;
}

// --- the writer ----------------------------------------------------------------------------

class Writer implements DatasetWriter {
  rowsWritten: number;
  private staged = 0;
  private readonly stage: { act: Float32Array; seq?: BigInt64Array; pos?: Int32Array; token?: Int32Array; features?: Float32Array };
  private state: 'open' | 'closed' | 'aborted' = 'open';
  private readonly actType: FixedSizeList<Float32>;
  private readonly featType: FixedSizeList<Float32> | undefined;

  constructor(
    private readonly name: string,
    private readonly schema: Schema,
    private readonly target: Target,
    private readonly dIn: number,
    private readonly nFeatures: number | undefined,
    private readonly cols: WriterColumns,
    private readonly batchRows: number,
    initialRows: number,
  ) {
    this.rowsWritten = initialRows;
    const n = batchRows;
    this.stage = {
      act: new Float32Array(n * dIn),
      seq: cols.seq ? new BigInt64Array(n) : undefined,
      pos: cols.pos ? new Int32Array(n) : undefined,
      token: cols.token ? new Int32Array(n) : undefined,
      features: cols.features ? new Float32Array(n * nFeatures!) : undefined,
    };
    this.actType = schema.fields[0]!.type as FixedSizeList<Float32>;
    this.featType = cols.features ? (schema.fields.find((f) => f.name === 'features')!.type as FixedSizeList<Float32>) : undefined;
  }

  get downstreamClosed(): boolean {
    return this.target.downstreamClosed;
  }

  private check(rows: RowsToWrite): void {
    const n = rows.numRows;
    if (!Number.isSafeInteger(n) || n < 0) throw new VsaeError(`${this.name}: numRows must be a non-negative integer, got ${n}`);
    if (rows.act.length !== n * this.dIn) throw new VsaeError(`${this.name}: act has ${rows.act.length} values but ${n} rows of d_in=${this.dIn} need ${n * this.dIn}`);
    for (const c of ['seq', 'pos', 'token', 'features'] as const) {
      const v = rows[c];
      if (this.cols[c] && v === undefined) throw new VsaeError(`${this.name}: the dataset has a ${c} column but the rows given lack it`);
      if (!this.cols[c] && v !== undefined) throw new VsaeError(`${this.name}: rows carry ${c} but the writer was created without that column (set columns.${c})`);
      const want = c === 'features' ? n * this.nFeatures! : n;
      if (v !== undefined && v.length !== want) throw new VsaeError(`${this.name}: ${c} has ${v.length} values, expected ${want}`);
    }
  }

  /** Makes and writes a record batch from column arrays holding exactly `n` rows. */
  private async emit(n: number, a: { act: Float32Array; seq?: BigInt64Array; pos?: Int32Array; token?: Int32Array; features?: Float32Array }): Promise<void> {
    const f32 = new Float32();
    const children: Data[] = [
      makeData({ type: this.actType, length: n, nullCount: 0, child: makeData({ type: f32, length: n * this.dIn, nullCount: 0, data: a.act }) }),
    ];
    if (a.seq) children.push(makeData({ type: new Int64(), length: n, nullCount: 0, data: a.seq }));
    if (a.pos) children.push(makeData({ type: new Int32(), length: n, nullCount: 0, data: a.pos }));
    if (a.token) children.push(makeData({ type: new Int32(), length: n, nullCount: 0, data: a.token }));
    if (a.features) {
      children.push(makeData({ type: this.featType!, length: n, nullCount: 0, child: makeData({ type: f32, length: n * this.nFeatures!, nullCount: 0, data: a.features }) }));
    }
    const struct = makeData({ type: new Struct(this.schema.fields), length: n, nullCount: 0, children });
    const batch = new RecordBatch(this.schema, struct);
    await this.target.writeBatch(encodeRecordBatch(batch), n);
    this.rowsWritten += n;
  }

  private async flush(): Promise<void> {
    if (this.staged === 0) return;
    const n = this.staged;
    const s = this.stage;
    this.staged = 0;
    await this.emit(n, {
      act: s.act.subarray(0, n * this.dIn),
      seq: s.seq?.subarray(0, n),
      pos: s.pos?.subarray(0, n),
      token: s.token?.subarray(0, n),
      features: s.features?.subarray(0, n * (this.nFeatures ?? 0)),
    });
  }

  async write(rows: RowsToWrite): Promise<void> {
    if (this.state !== 'open') throw new VsaeError(`${this.name}: write() after the writer was ${this.state}`);
    this.check(rows);
    if (this.target.downstreamClosed) return;
    const d = this.dIn;
    const nf = this.nFeatures ?? 0;
    const seq = rows.seq === undefined ? undefined : rows.seq instanceof BigInt64Array ? rows.seq : BigInt64Array.from(rows.seq, (v) => BigInt(v));
    let i = 0;
    while (i < rows.numRows && !this.target.downstreamClosed) {
      const cap = Math.min(this.batchRows, this.target.room());
      const k = Math.min(cap - this.staged, rows.numRows - i);
      if (this.staged === 0 && k === cap) {
        // A whole batch in the caller's arrays: write it from there, no copy.
        await this.emit(k, {
          act: rows.act.subarray(i * d, (i + k) * d),
          seq: seq?.subarray(i, i + k),
          pos: rows.pos?.subarray(i, i + k),
          token: rows.token?.subarray(i, i + k),
          features: rows.features?.subarray(i * nf, (i + k) * nf),
        });
      } else {
        const s = this.stage;
        const at = this.staged;
        s.act.set(rows.act.subarray(i * d, (i + k) * d), at * d);
        if (s.seq && seq) s.seq.set(seq.subarray(i, i + k), at);
        if (s.pos && rows.pos) s.pos.set(rows.pos.subarray(i, i + k), at);
        if (s.token && rows.token) s.token.set(rows.token.subarray(i, i + k), at);
        if (s.features && rows.features) s.features.set(rows.features.subarray(i * nf, (i + k) * nf), at * nf);
        this.staged += k;
        if (this.staged === cap) await this.flush();
      }
      i += k;
    }
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    try {
      await this.flush();
      await this.target.finish();
      this.state = 'closed';
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.target.abort();
  }
}

function positiveInt(v: number | undefined, name: string, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isSafeInteger(n) || n <= 0) throw new VsaeError(`${name} must be a positive integer, got ${v}`);
  return n;
}

/**
 * Creates a dataset writer. `path` '-' writes an IPC stream to stdout (or `opts.stdout`);
 * with `shardRows` the path is a directory of shards; otherwise an IPC file.
 */
export async function createDatasetWriter(file: string, opts: DatasetWriterOptions): Promise<DatasetWriter> {
  const dIn = opts.meta.dIn;
  const cols: WriterColumns = {
    seq: Boolean(opts.columns?.seq),
    pos: Boolean(opts.columns?.pos),
    token: Boolean(opts.columns?.token),
    features: Boolean(opts.columns?.features),
  };
  const batchRows = positiveInt(opts.batchRows, 'batchRows', DEFAULT_BATCH_ROWS);
  const sharded = opts.shardRows !== undefined;
  const shardRows = sharded ? positiveInt(opts.shardRows, 'shardRows', 1) : 0;
  if (file === '-' && sharded) throw new VsaeError('a sharded dataset needs a directory; it cannot be written to stdout');
  if (file === '-' && opts.resume) throw new VsaeError('--resume needs a sharded directory output, not stdout');
  const baseDir = file === '-' ? undefined : sharded ? file : path.dirname(file);
  const schema = buildSchema(dIn, opts.nFeatures, cols, metaToSchema(opts.meta, baseDir));
  if (file === '-') return new Writer('stdout', schema, new StreamTarget(opts.stdout ?? process.stdout, schema), dIn, opts.nFeatures, cols, batchRows, 0);
  if (!sharded) {
    if (opts.resume) throw new VsaeError(`--resume needs a sharded directory output (--shard-rows N); ${file} is a single file`);
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new VsaeError(`${file} is a directory; give a file name, or add --shard-rows N to write a sharded dataset there`);
    return new Writer(file, schema, new FileTarget(file, schema), dIn, opts.nFeatures, cols, batchRows, 0);
  }
  const shards = await prepareShardDir(file, schema, dIn, Boolean(opts.resume));
  const target = new ShardedTarget(file, schema, shardRows, shards, dIn);
  return new Writer(file, schema, target, dIn, opts.nFeatures, cols, batchRows, shards.reduce((a, s) => a + s.rows, 0));
}
