/**
 * openDataset: reads an activation dataset lazily, one record batch at a time, from an Arrow
 * IPC file, a file holding an IPC stream, stdin ('-'), or a sharded directory. Batch arrays
 * are views over the memory each body was read into (fresh and aligned per batch); a copy is
 * made only when a producer placed a buffer at a misaligned offset.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Field, MessageHeader, Type, type DataType, type Schema } from 'apache-arrow';
import type { BufferRegion, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import {
  Footer,
  allocAligned,
  checkBatchOffsets,
  columnStarts,
  decodeMessage,
  dictionaryBatchHeaderOf,
  isMagic,
  oneLine,
  parsePrefix,
  readAt,
  recordBatchHeaderOf,
  schemaOf,
  type MessageBlock,
} from './_ipc.js';
import {
  checkDatasetSchema,
  describeColumns,
  metaFromSchema,
  sameColumns,
  type ColumnName,
  type DatasetLayout,
} from './_dataset-schema.js';
import { readDatasetJson } from './_dataset-json.js';
import { InputError, UsageError, VsaeError } from './errors.js';
import type { ActivationBatch, ActivationDataset, DatasetMeta, OpenDatasetOptions } from './types.js';

/** What one Arrow file (or one shard) holds, learned from its footer / message headers. */
export interface IpcIndex<L> {
  file: string;
  format: 'file' | 'stream';
  schema: Schema;
  layout: L;
  blocks: Array<MessageBlock & { header: RecordBatchHeader }>;
  /** Dictionary batches (checked headers; their dictionaries are not dataset columns). */
  dictionaries: Array<{ offset: number; metaLength: number; id: number; header: RecordBatchHeader }>;
  rows: number;
}
export type ArrowIndex = IpcIndex<DatasetLayout>;

/** Checks a schema as soon as it is read (the dataset contract, or nothing). */
type SchemaCheck<L> = (file: string, schema: Schema) => L;

const errnoText = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file or directory; check the path' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
};

/** Largest message metadata (flatbuffer) accepted from stdin, where no file size bounds it. */
const MAX_METADATA = 1 << 26;

const truncated = (file: string, what: string) =>
  new InputError(file, `is truncated: ${what}. It was not fully written (an interrupted or still-running writer); regenerate it`);

/** Like Promise.all over items.map(fn), with at most `limit` calls in flight. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Reads the footer (file format) or scans message headers (stream format) of one file. */
export function indexArrowFile(file: string): Promise<ArrowIndex> {
  return indexIpc(file, checkDatasetSchema);
}

/**
 * Checks an Arrow IPC file (or a file holding an IPC stream) of any schema before another
 * reader — apache-arrow's — trusts it: every message and footer block inside the file, record
 * batches whose row counts, field nodes and buffers fit their bodies, flatbuffer vectors inside
 * their buffers, offsets inside what they index (checkBatchOffsets), a stream closed by its
 * end-of-stream marker. apache-arrow's readers loop forever, or build what a lying offset
 * claims, on such lies. Throws an InputError naming the file.
 */
export async function checkArrowIpc(file: string): Promise<{ format: 'file' | 'stream'; rows: number; batches: number }> {
  const idx = await indexIpc(file, () => undefined);
  const fh = await fs.promises.open(file, 'r');
  try {
    for (const [i, b] of idx.blocks.entries()) {
      const body = b.offset + b.metaLength;
      await checkBatchOffsets(
        idx.schema,
        b.header,
        (r, n) => readAt(fh, body + r.offset, n),
        (what) => new InputError(file, `has a record batch (${i}) with ${what}; the file is damaged`),
      );
    }
    for (const d of idx.dictionaries) {
      const field = dictionaryField(idx.schema.fields, d.id);
      if (!field) throw new InputError(file, `has a dictionary batch for id ${d.id}, which no column of its schema uses; the file is damaged`);
      const body = d.offset + d.metaLength;
      await checkBatchOffsets(
        { fields: [field] },
        d.header,
        (r, n) => readAt(fh, body + r.offset, n),
        (what) => new InputError(file, `has a dictionary batch (id ${d.id}) with ${what}; the file is damaged`),
      );
    }
  } finally {
    await fh.close();
  }
  return { format: idx.format, rows: idx.rows, batches: idx.blocks.length };
}

/** A field of the dictionary's values (its name, the dictionary's value type) for dictionary `id`, searched through nested types. */
function dictionaryField(fields: Field[], id: number): Field | undefined {
  for (const f of fields) {
    const t = f.type as DataType & { id?: number; dictionary?: DataType };
    if (t.typeId === Type.Dictionary && Number(t.id) === id && t.dictionary) return new Field(f.name, t.dictionary, true);
    const inner = dictionaryField((t.children ?? []) as Field[], id);
    if (inner) return inner;
  }
  return undefined;
}

async function indexIpc<L>(file: string, check: SchemaCheck<L>): Promise<IpcIndex<L>> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    throw new InputError(file, `cannot open it: ${errnoText(e)}`, { cause: e });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new InputError(file, 'is not a file; expected an Arrow IPC file');
    const size = st.size;
    if (size < 8) throw new InputError(file, `is ${size} bytes long, too short to be an Arrow IPC file or stream`);
    const head = await readAt(fh, 0, 8);
    return isMagic(head) ? await indexFileFormat(file, fh, size, check) : await indexStreamFormat(file, fh, size, head, check);
  } finally {
    await fh.close();
  }
}

async function readHeaderAt(file: string, fh: fs.promises.FileHandle, offset: number, metaLength: number, bodyLength: number, where: string): Promise<RecordBatchHeader> {
  const framed = await readAt(fh, offset, metaLength);
  const p = parsePrefix(framed);
  if (typeof p !== 'object' || p.len <= 0 || p.prefix + p.len > framed.byteLength) {
    throw new InputError(file, `has a corrupt record-batch block ${where} in its footer; the file is damaged`);
  }
  const m = decodeMessage(file, framed.subarray(p.prefix, p.prefix + p.len), where);
  if (m.headerType !== MessageHeader.RecordBatch) throw new InputError(file, `footer points ${where} at a message that is not a record batch; the file is damaged`);
  if (m.bodyLength !== bodyLength) throw new InputError(file, `footer gives ${where} a ${bodyLength}-byte body but its message says ${m.bodyLength}; the file is damaged`);
  return recordBatchHeaderOf(file, m, where);
}

async function readDictionaryAt(file: string, fh: fs.promises.FileHandle, b: { offset: number; metaDataLength: number; bodyLength: number }, end: number, i: number) {
  const where = `(dictionary batch ${i})`;
  const count = (v: number) => Number.isSafeInteger(v) && v >= 0;
  if (!count(b.offset) || !count(b.bodyLength) || !count(b.metaDataLength) || b.offset < 8 || b.metaDataLength <= 0 || b.offset + b.metaDataLength + b.bodyLength > end) {
    throw new InputError(file, `footer places dictionary batch ${i} outside the file; the file is damaged`);
  }
  const framed = await readAt(fh, b.offset, b.metaDataLength);
  const p = parsePrefix(framed);
  if (typeof p !== 'object' || p.len <= 0 || p.prefix + p.len > framed.byteLength) throw new InputError(file, `has a corrupt dictionary block ${where} in its footer; the file is damaged`);
  const m = decodeMessage(file, framed.subarray(p.prefix, p.prefix + p.len), where);
  if (m.headerType !== MessageHeader.DictionaryBatch) throw new InputError(file, `footer points ${where} at a message that is not a dictionary batch; the file is damaged`);
  if (m.bodyLength !== b.bodyLength) throw new InputError(file, `footer gives ${where} a ${b.bodyLength}-byte body but its message says ${m.bodyLength}; the file is damaged`);
  const d = dictionaryBatchHeaderOf(file, m, where);
  return { offset: b.offset, metaLength: b.metaDataLength, id: d.id, header: d.data };
}

async function indexFileFormat<L>(file: string, fh: fs.promises.FileHandle, size: number, check: SchemaCheck<L>): Promise<IpcIndex<L>> {
  if (size < 8 + 10) throw truncated(file, 'it ends right after the Arrow magic');
  const tail = await readAt(fh, size - 10, 10);
  if (!isMagic(tail, 4)) throw truncated(file, 'it has no Arrow footer at its end');
  const footerLen = new DataView(tail.buffer, tail.byteOffset).getInt32(0, true);
  if (footerLen <= 0 || footerLen > size - 18) throw new InputError(file, `has a footer length (${footerLen}) that does not fit the file; the file is damaged`);
  let footer: InstanceType<typeof Footer>;
  let list: Array<{ offset: number; metaDataLength: number; bodyLength: number }>;
  let dicts: Array<{ offset: number; metaDataLength: number; bodyLength: number }>;
  try {
    footer = Footer.decode(await readAt(fh, size - 10 - footerLen, footerLen));
    list = [...footer.recordBatches()];
    dicts = [...footer.dictionaryBatches()];
  } catch (e) {
    throw new InputError(file, `has a corrupt Arrow footer (${oneLine(e)}); the file is damaged`, { cause: e });
  }
  const schema = footer.schema;
  const layout = check(file, schema);
  const end = size - 10 - footerLen;
  const count = (v: number) => Number.isSafeInteger(v) && v >= 0;
  const blocks = await mapLimit(
    list,
    32,
    async (b, i) => {
      const where = `(record batch ${i})`;
      if (!count(b.offset) || !count(b.bodyLength) || !count(b.metaDataLength) || b.offset < 8 || b.metaDataLength <= 0 || b.offset + b.metaDataLength + b.bodyLength > end) {
        throw new InputError(file, `footer places record batch ${i} outside the file; the file is damaged`);
      }
      const header = await readHeaderAt(file, fh, b.offset, b.metaDataLength, b.bodyLength, where);
      return { offset: b.offset, metaLength: b.metaDataLength, bodyLength: b.bodyLength, rows: header.length, header };
    },
  );
  const dictionaries = await mapLimit(dicts, 32, (b, i) => readDictionaryAt(file, fh, b, end, i));
  return { file, format: 'file', schema, layout, blocks, dictionaries, rows: blocks.reduce((a, b) => a + b.rows, 0) };
}

async function indexStreamFormat<L>(file: string, fh: fs.promises.FileHandle, size: number, head: Uint8Array, check: SchemaCheck<L>): Promise<IpcIndex<L>> {
  const first = parsePrefix(head);
  if (Buffer.from(head.subarray(0, 4)).toString('latin1') === 'PAR1') {
    throw new InputError(file, 'is a Parquet file, not Arrow IPC; convert it (e.g. pyarrow.feather.write_feather(pq.read_table(f), "x.arrow", compression="uncompressed"))');
  }
  if (typeof first !== 'object' || first.len <= 0 || first.len > size) {
    throw new InputError(file, 'is not an Arrow IPC file or stream (no ARROW1 magic and no schema message at the start)');
  }
  let pos = 0;
  let schema: Schema | undefined;
  let layout: L | undefined;
  const blocks: IpcIndex<L>['blocks'] = [];
  const dictionaries: IpcIndex<L>['dictionaries'] = [];
  let ended = false;
  while (pos < size) {
    const pre = await readAt(fh, pos, 8);
    const p = parsePrefix(pre);
    if (p === 'eos') {
      ended = true;
      break;
    }
    if (p === 'short') throw truncated(file, `it ends inside a message header at byte ${pos}`);
    if (p.len < 0 || pos + p.prefix + p.len > size) throw truncated(file, `it ends inside a message at byte ${pos}`);
    const m = decodeMessage(file, await readAt(fh, pos + p.prefix, p.len), `at byte ${pos}`);
    const metaLength = p.prefix + p.len;
    if (pos + metaLength + m.bodyLength > size) throw truncated(file, `it ends inside the record batch at byte ${pos}`);
    if (schema === undefined) {
      schema = schemaOf(file, m);
      layout = check(file, schema);
    } else if (m.headerType === MessageHeader.RecordBatch) {
      const header = recordBatchHeaderOf(file, m, `at byte ${pos}`);
      blocks.push({ offset: pos, metaLength, bodyLength: m.bodyLength, rows: header.length, header });
    } else if (m.headerType === MessageHeader.DictionaryBatch) {
      const d = dictionaryBatchHeaderOf(file, m, `at byte ${pos}`);
      dictionaries.push({ offset: pos, metaLength, id: d.id, header: d.data });
    } else if (m.headerType === MessageHeader.Schema) {
      throw new InputError(file, `holds a second schema at byte ${pos}; concatenated streams are not one dataset`);
    } else {
      // apache-arrow's stream reader does not skip what it does not know: it may never return.
      throw new InputError(file, `has a message of unknown type (${m.headerType}) at byte ${pos}; the file is damaged`);
    }
    pos += metaLength + m.bodyLength;
  }
  if (!schema) throw new InputError(file, 'holds no Arrow schema; it is empty or not Arrow IPC');
  // A stream is closed by its end-of-stream marker: without it the writer stopped early.
  if (!ended) throw truncated(file, `the Arrow stream has no end-of-stream marker after its ${blocks.length} record batches`);
  return { file, format: 'stream', schema, layout: layout as L, blocks, dictionaries, rows: blocks.reduce((a, b) => a + b.rows, 0) };
}

// --- turning a record-batch body into an ActivationBatch -----------------------------------

function region(file: string, body: Uint8Array, regions: BufferRegion[], i: number, need: number, col: string): { at: number; len: number } {
  const r = regions[i];
  if (!r || r.offset < 0 || r.offset + need > body.byteLength || r.length < need) {
    throw new InputError(file, `record batch buffer for column "${col}" is shorter than its rows need; the file is damaged`);
  }
  return { at: r.offset, len: need };
}

function view<T extends Float32Array | Float64Array | Int32Array | BigInt64Array>(
  Ctor: { new (b: ArrayBufferLike, o: number, n: number): T; BYTES_PER_ELEMENT: number },
  body: Uint8Array,
  at: number,
  count: number,
): T {
  const byteOffset = body.byteOffset + at;
  if (byteOffset % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(body.buffer, byteOffset, count);
  // A producer put this buffer at a misaligned offset: copy it into aligned memory.
  const copy = allocAligned(count * Ctor.BYTES_PER_ELEMENT);
  copy.set(body.subarray(at, at + count * Ctor.BYTES_PER_ELEMENT));
  return new Ctor(copy.buffer, copy.byteOffset, count);
}

function toBatch(
  idx: ArrowIndex,
  header: RecordBatchHeader,
  body: Uint8Array,
  offset: number,
  cols: ReadonlySet<ColumnName>,
  where: string,
): ActivationBatch {
  const { file, schema, layout } = idx;
  const n = header.length;
  const starts = columnStarts(schema, header.variadicBufferCounts ?? []);
  const nodes = header.nodes;
  const noNulls = (col: ColumnName, nodeI: number) => {
    const node = nodes[nodeI];
    if (!node) throw new InputError(file, `record batch ${where} lacks the field nodes for column "${col}"; the file is damaged`);
    if (node.nullCount > 0) throw new InputError(file, `column "${col}" has ${node.nullCount} null values in record batch ${where}; datasets must not hold nulls`);
  };
  const batch: ActivationBatch = { offset, numRows: n, act: new Float32Array(0) };
  const listCol = (col: 'act' | 'features', width: number): Float32Array => {
    const s = starts[layout.index[col]!]!;
    noNulls(col, s.node);
    noNulls(col, s.node + 1);
    if (layout.float64[col]) {
      const r = region(file, body, header.buffers, s.buffer + 2, n * width * 8, col);
      return Float32Array.from(view(Float64Array, body, r.at, n * width));
    }
    const r = region(file, body, header.buffers, s.buffer + 2, n * width * 4, col);
    return view(Float32Array, body, r.at, n * width);
  };
  const intCol = <T extends Int32Array | BigInt64Array>(col: 'seq' | 'pos' | 'token', Ctor: { new (b: ArrayBufferLike, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T => {
    const s = starts[layout.index[col]!]!;
    noNulls(col, s.node);
    const r = region(file, body, header.buffers, s.buffer + 1, n * Ctor.BYTES_PER_ELEMENT, col);
    return view(Ctor, body, r.at, n);
  };
  if (cols.has('act')) batch.act = listCol('act', layout.dIn);
  if (cols.has('features') && layout.index.features !== undefined) batch.features = listCol('features', layout.nFeatures!);
  if (cols.has('seq') && layout.index.seq !== undefined) batch.seq = intCol('seq', BigInt64Array);
  if (cols.has('pos') && layout.index.pos !== undefined) batch.pos = intCol('pos', Int32Array);
  if (cols.has('token') && layout.index.token !== undefined) batch.token = intCol('token', Int32Array);
  return batch;
}

/** Drops the first `skip` rows of a batch (views, no copy). */
function sliceBatch(b: ActivationBatch, skip: number, dIn: number, nFeatures: number | undefined): ActivationBatch {
  if (skip === 0) return b;
  return {
    offset: b.offset + skip,
    numRows: b.numRows - skip,
    act: b.act.length ? b.act.subarray(skip * dIn) : b.act,
    seq: b.seq?.subarray(skip),
    pos: b.pos?.subarray(skip),
    token: b.token?.subarray(skip),
    features: b.features && nFeatures ? b.features.subarray(skip * nFeatures) : undefined,
  };
}

/** Record batches of one indexed file from row `fromRow` (relative to the file), reading one ahead. */
async function* fileBatches(idx: ArrowIndex, fromRow: number, baseOffset: number, cols: ReadonlySet<ColumnName>): AsyncGenerator<ActivationBatch> {
  let b = 0;
  let start = 0;
  while (b < idx.blocks.length && start + idx.blocks[b]!.rows <= fromRow) start += idx.blocks[b++]!.rows;
  if (b >= idx.blocks.length) return;
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(idx.file, 'r');
  } catch (e) {
    throw new InputError(idx.file, `cannot open it: ${errnoText(e)}`, { cause: e });
  }
  const read = (i: number): Promise<Uint8Array> => {
    const blk = idx.blocks[i]!;
    return readAt(fh, blk.offset + blk.metaLength, blk.bodyLength).then((body) => {
      if (body.byteLength < blk.bodyLength) throw truncated(idx.file, `record batch ${i} ends past the end of the file`);
      return body;
    });
  };
  let pending: Promise<Uint8Array> | undefined = read(b);
  try {
    for (; b < idx.blocks.length; b++) {
      const body: Uint8Array = await pending!;
      pending = b + 1 < idx.blocks.length ? read(b + 1) : undefined;
      const blk = idx.blocks[b]!;
      const batch = toBatch(idx, blk.header, body, baseOffset + start, cols, String(b));
      yield sliceBatch(batch, Math.max(0, fromRow - start), idx.layout.dIn, idx.layout.nFeatures);
      start += blk.rows;
    }
  } finally {
    if (pending) await pending.catch(() => undefined);
    await fh.close();
  }
}

function resolveColumns(file: string, layout: DatasetLayout, requested: ColumnName[] | undefined): Set<ColumnName> {
  if (requested === undefined) return new Set((['act', 'seq', 'pos', 'token', 'features'] as ColumnName[]).filter((c) => layout.index[c] !== undefined));
  for (const c of requested) {
    if (layout.index[c] === undefined) throw new InputError(file, `has no "${c}" column (it has: ${Object.keys(layout.index).join(', ')})`);
  }
  return new Set(requested);
}

function checkFromRow(fromRow: number | undefined): number {
  const r = fromRow ?? 0;
  if (!Number.isSafeInteger(r) || r < 0) throw new VsaeError(`fromRow must be a non-negative integer, got ${r}`);
  return r;
}

function hasOf(layout: DatasetLayout): ActivationDataset['has'] {
  return { seq: layout.index.seq !== undefined, pos: layout.index.pos !== undefined, token: layout.index.token !== undefined, features: layout.index.features !== undefined };
}

/** A single Arrow file or a sharded directory: rewindable, row counts known. */
class FilesDataset implements ActivationDataset {
  readonly dIn: number;
  readonly nFeatures: number | undefined;
  readonly has: ActivationDataset['has'];
  readonly numRows: number;
  readonly rewindable = true;
  readonly shards: Array<{ file: string; rows: number }> | undefined;
  constructor(
    readonly path: string,
    readonly format: 'file' | 'stream' | 'sharded',
    readonly meta: DatasetMeta,
    private readonly parts: ArrowIndex[],
  ) {
    const first = parts[0]!;
    this.dIn = first.layout.dIn;
    this.nFeatures = first.layout.nFeatures;
    this.has = hasOf(first.layout);
    this.numRows = parts.reduce((a, p) => a + p.rows, 0);
    this.shards = format === 'sharded' ? parts.map((p) => ({ file: p.file, rows: p.rows })) : undefined;
  }

  async *batches(opts: { fromRow?: number; columns?: ColumnName[] } = {}): AsyncGenerator<ActivationBatch> {
    const fromRow = checkFromRow(opts.fromRow);
    const cols = resolveColumns(this.path, this.parts[0]!.layout, opts.columns);
    let base = 0;
    for (const part of this.parts) {
      // Whole shards before fromRow are skipped without opening them.
      if (base + part.rows > fromRow) yield* fileBatches(part, Math.max(0, fromRow - base), base, cols);
      base += part.rows;
    }
  }

  async close(): Promise<void> {}
}

// --- stdin ---------------------------------------------------------------------------------

/** Exact-size reads over an async stream of chunks. */
class ChunkReader {
  private chunks: Uint8Array[] = [];
  private have = 0;
  private done = false;
  position = 0;
  constructor(private readonly it: AsyncIterator<Uint8Array | string>) {}

  private async fill(n: number): Promise<void> {
    while (this.have < n && !this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const c = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      if (c.byteLength === 0) continue;
      this.chunks.push(c);
      this.have += c.byteLength;
    }
  }

  /** Up to `n` bytes (fewer only at the end), copied into fresh aligned memory. */
  async read(n: number): Promise<Uint8Array> {
    await this.fill(n);
    const take = Math.min(n, this.have);
    const out = allocAligned(take);
    let off = 0;
    while (off < take) {
      const c = this.chunks[0]!;
      const k = Math.min(c.byteLength, take - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (k === c.byteLength) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.have -= take;
    this.position += take;
    return out;
  }

  async cancel(): Promise<void> {
    this.done = true;
    await this.it.return?.();
  }
}

class StreamDataset implements ActivationDataset {
  readonly format = 'stream' as const;
  readonly numRows = undefined;
  readonly rewindable = false;
  readonly dIn: number;
  readonly nFeatures: number | undefined;
  readonly has: ActivationDataset['has'];
  private used = false;
  constructor(
    readonly path: string,
    readonly meta: DatasetMeta,
    private readonly schema: Schema,
    private readonly layout: DatasetLayout,
    private readonly reader: ChunkReader,
  ) {
    this.dIn = layout.dIn;
    this.nFeatures = layout.nFeatures;
    this.has = hasOf(layout);
  }

  async *batches(opts: { fromRow?: number; columns?: ColumnName[] } = {}): AsyncGenerator<ActivationBatch> {
    if (this.used) throw new VsaeError('stdin can be read only once; save the stream to a file (-o data.arrow) to pass over it again');
    this.used = true;
    const fromRow = checkFromRow(opts.fromRow);
    const cols = resolveColumns(this.path, this.layout, opts.columns);
    const idx: ArrowIndex = { file: this.path, format: 'stream', schema: this.schema, layout: this.layout, blocks: [], dictionaries: [], rows: 0 };
    const r = this.reader;
    let row = 0;
    let i = 0;
    for (;;) {
      const at = r.position;
      const pre = await r.read(4);
      if (pre.byteLength === 0) {
        // The writer ends a stream with an end-of-stream marker; without it the command before
        // the pipe stopped early (killed, interrupted, failed), so the rows are not all there.
        throw new InputError(this.path, `the Arrow stream ended after ${row} rows without its end-of-stream marker: the command writing it stopped early (check its error); rerun it`);
      }
      let p = parsePrefix(pre);
      if (p === 'short') {
        const more = await r.read(4);
        const both = new Uint8Array(8);
        both.set(pre);
        both.set(more, 4);
        p = parsePrefix(both.subarray(0, 4 + more.byteLength));
      }
      if (p === 'eos') return;
      if (p === 'short') throw truncated(this.path, `the stream ends inside a message header at byte ${at}`);
      if (p.len <= 0 || p.len > MAX_METADATA) throw new InputError(this.path, `has a message at byte ${at} with an impossible metadata length (${p.len}); the stream is damaged or not Arrow IPC`);
      const fb = await r.read(p.len);
      if (fb.byteLength < p.len) throw truncated(this.path, `the stream ends inside a message at byte ${at}`);
      const m = decodeMessage(this.path, fb, `at byte ${at}`);
      if (m.headerType !== MessageHeader.RecordBatch) {
        if (m.headerType === MessageHeader.Schema) throw new InputError(this.path, `holds a second schema at byte ${at}; concatenated streams are not one dataset`);
        const skipped = await r.read(m.bodyLength); // dictionary batches: not used by dataset columns
        if (skipped.byteLength < m.bodyLength) throw truncated(this.path, `the stream ends inside a message at byte ${at}`);
        continue;
      }
      const header = recordBatchHeaderOf(this.path, m, `at byte ${at}`);
      const body = await r.read(m.bodyLength);
      if (body.byteLength < m.bodyLength) throw truncated(this.path, `the stream ends inside the record batch at byte ${at}`);
      const n = header.length;
      if (row + n > fromRow) {
        const batch = toBatch(idx, header, body, row, cols, String(i));
        yield sliceBatch(batch, Math.max(0, fromRow - row), this.dIn, this.nFeatures);
      }
      row += n;
      i++;
    }
  }

  async close(): Promise<void> {
    await this.reader.cancel();
  }
}

async function openStdin(name: string, input: NodeJS.ReadableStream, opts: OpenDatasetOptions): Promise<StreamDataset> {
  if ((input as NodeJS.ReadStream).isTTY && !opts.allowTTY) {
    // Nothing is wrong with any input: the command was called without one (a usage mistake).
    throw new UsageError(`${name === '-' ? 'stdin' : name} is a terminal, not an Arrow stream: pipe one in (e.g. vsae toy -o - --truth toy.truth.safetensors | vsae inspect -) or give a file`);
  }
  const reader = new ChunkReader((input as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]());
  const head = await reader.read(8);
  if (head.byteLength === 0) throw new InputError(name, 'is empty: no Arrow stream arrived (did the command before the pipe fail?)');
  if (isMagic(head)) throw new InputError(name, 'holds an Arrow IPC file, not a stream; pass the file by name instead of piping it');
  const p = parsePrefix(head);
  if (typeof p !== 'object' || p.len <= 0 || p.len > MAX_METADATA) throw new InputError(name, 'is not an Arrow IPC stream (it does not start with a schema message)');
  // The prefix was 8 bytes for modern streams, 4 for legacy ones: give the rest back to the flatbuffer read.
  const rest = p.prefix === 4 ? head.subarray(4) : new Uint8Array(0);
  const more = await reader.read(p.len - rest.byteLength);
  if (more.byteLength < p.len - rest.byteLength) throw truncated(name, 'the stream ends inside its schema message');
  const fb = new Uint8Array(p.len);
  fb.set(rest);
  fb.set(more, rest.byteLength);
  const schema = schemaOf(name, decodeMessage(name, fb, 'at byte 0'));
  const layout = checkDatasetSchema(name, schema);
  return new StreamDataset(name, metaFromSchema(name, schema, layout.dIn, undefined), schema, layout, reader);
}

async function openSharded(dir: string, opts: OpenDatasetOptions): Promise<FilesDataset> {
  const jsonPath = path.join(dir, '_dataset.json');
  let files: Array<{ file: string; rows: number | undefined }>;
  let declaredDIn: number | undefined;
  if (fs.existsSync(jsonPath)) {
    const info = readDatasetJson(jsonPath);
    declaredDIn = info.d_in;
    if (!info.complete && !opts.allowIncomplete) {
      throw new InputError(dir, 'is an incomplete dataset (_dataset.json has complete: false): it is still being written or was interrupted; finish it with --resume or wait for the writer');
    }
    files = info.shards.map((s) => ({ file: path.join(dir, s.file), rows: s.rows }));
    const missing = files.filter((s) => !fs.existsSync(s.file)).map((s) => path.basename(s.file));
    if (missing.length) {
      throw new InputError(jsonPath, `names shards that are missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}; the dataset is damaged, regenerate it`);
    }
    if (files.length === 0) throw new InputError(jsonPath, 'lists no shards; the dataset is empty');
  } else {
    // A plain directory of Arrow files (pyarrow/Polars style): names starting with _ or . are skipped.
    const names = fs.readdirSync(dir).filter((f) => f.endsWith('.arrow') && !f.startsWith('_') && !f.startsWith('.')).sort();
    if (names.length === 0) {
      throw new InputError(dir, 'is a directory without _dataset.json or .arrow files; give an Arrow file or a dataset directory written by vsae');
    }
    files = names.map((f) => ({ file: path.join(dir, f), rows: undefined }));
  }
  const parts = await mapLimit(files, 8, (f) => indexArrowFile(f.file));
  const first = parts[0]!;
  if (declaredDIn !== undefined && declaredDIn !== first.layout.dIn) {
    throw new InputError(jsonPath, `says d_in=${declaredDIn} but its shards hold rows of width ${first.layout.dIn}; the dataset is damaged, regenerate it`);
  }
  parts.forEach((p, i) => {
    if (!sameColumns(first.schema, p.schema)) {
      throw new InputError(p.file, `has columns (${describeColumns(p.schema)}) that differ from the first shard's (${describeColumns(first.schema)}); all shards of a dataset must share one schema`);
    }
    const want = files[i]!.rows;
    if (want !== undefined && want !== p.rows) {
      throw new InputError(p.file, `holds ${p.rows} rows but _dataset.json says ${want}; the dataset is damaged, regenerate it`);
    }
  });
  return new FilesDataset(dir, 'sharded', metaFromSchema(first.file, first.schema, first.layout.dIn, dir), parts);
}

/**
 * Opens an activation dataset: an Arrow IPC file, a file holding an IPC stream, a sharded
 * directory (`_dataset.json` + `part-NNNNN.arrow`), or '-' for an IPC stream on stdin.
 * Only metadata is read here; batches() reads the data lazily.
 */
export async function openDataset(file: string, opts: OpenDatasetOptions = {}): Promise<ActivationDataset> {
  if (file === '-') return openStdin('-', opts.stdin ?? process.stdin, opts);
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new InputError(file, `cannot open it: ${errnoText(e)}`, { cause: e });
  }
  if (st.isDirectory()) return openSharded(file, opts);
  const idx = await indexArrowFile(file);
  return new FilesDataset(file, idx.format, metaFromSchema(file, idx.schema, idx.layout.dIn, path.dirname(file)), [idx]);
}
