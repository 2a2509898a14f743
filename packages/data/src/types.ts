/**
 * Shared types of @vsae/data. The public API (see index.ts and README.md):
 *
 *   openDataset(path | '-', opts?)        -> Promise<ActivationDataset>
 *   createDatasetWriter(path | '-', opts) -> Promise<DatasetWriter>
 *   inspectDataset(path | '-') -> Promise<DatasetInspection>; formatInspection(info) -> string
 *   readSafetensors(path) / parseSafetensors(bytes, name) -> SafeTensors   (synchronous)
 *   writeSafetensors(path, tensors, metadata?) -> Promise<void>  (atomic; also ...Sync, serializeSafetensors)
 *   readTable(path) -> TableData; writeTable(path, columns, metadata?) -> Promise<void>  (atomic)
 *   new MetricsWriter(path, opts) / readMetrics(path, { fromByte }?)  run-dir metrics.arrows stream
 *   writeFileAtomic(path, data), writeJsonAtomic(path, value) (+ ...Sync), readJson(path)
 *   readRunConfig(dir), runStatus(dir), writeRunStatus(dir, status), listRuns(dir)
 *   VsaeError, InputError, UsageError; Progress
 *
 * Changes to the first draft of this file (keep this list up to date):
 * - SafeTensors gained `path` and `get(name)` (the tensor in its own dtype, see TypedTensor).
 * - openDataset takes OpenDatasetOptions (`allowIncomplete`, `stdin` for tests); the dataset
 *   reports its `format` and, for sharded directories, `shards`.
 * - DatasetWriter gained `downstreamClosed` (stdout reader went away: EPIPE is a normal stop)
 *   and DatasetWriterOptions `stdout` (tests); `meta.dIn` must equal the `act` width written.
 * - New: tables, metrics, run-dir and inspect types below.
 */

/** Element types a safetensors file may hold. */
export type SafeDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'BOOL' | 'F64' | 'I8' | 'U8' | 'I16';

export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  /** Raw little-endian bytes of the tensor (a view, possibly unaligned). */
  bytes: Uint8Array;
}

/** A tensor in its own element type: F16/BF16 as raw Uint16 bits, BOOL as Uint8 (0/1), I64 as BigInt64. */
export interface TypedTensor {
  dtype: SafeDtype;
  shape: number[];
  data: Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
}

export interface SafeTensors {
  /** The file read (or the name given to parseSafetensors). */
  path: string;
  /** `__metadata__` of the header (string → string). */
  metadata: Record<string, string>;
  tensors: Map<string, SafeTensor>;
  /** The tensor as Float32 (F16/BF16/F64/integers converted); throws InputError if absent. */
  getFloat32(name: string): { data: Float32Array; shape: number[] };
  /** The tensor in its own dtype (a view when aligned, else a copy); throws InputError if absent. */
  get(name: string): TypedTensor;
}

/** A tensor to write: Float32Array → F32, Int32Array → I32, BigInt64Array → I64, Uint8Array with dtype BOOL/U8. */
export interface TensorToWrite {
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Float64Array;
  shape: number[];
  dtype?: SafeDtype;
}

/** Dataset-level metadata (the `vsae:` keys of the schema, decoded). */
export interface DatasetMeta {
  source: string;
  dIn: number;
  model?: string | undefined;
  hook?: string | undefined;
  context?: number | undefined;
  tokenizer?: string | undefined;
  bos?: number | undefined;
  /** Options that made the dataset (parsed `vsae:config`). */
  config?: Record<string, unknown> | undefined;
  /** Ground-truth file, already resolved to a path usable from the cwd. */
  groundTruth?: string | undefined;
  /** Every raw schema metadata entry, `vsae:` and others. */
  raw: Record<string, string>;
}

/** One record batch of a dataset. Arrays are views into the batch's memory, not copies. */
export interface ActivationBatch {
  /** Global index of the batch's first row in the dataset (counted from 0 over all shards). */
  offset: number;
  numRows: number;
  /** Row-major [numRows, dIn]. */
  act: Float32Array;
  seq?: BigInt64Array | undefined;
  pos?: Int32Array | undefined;
  token?: Int32Array | undefined;
  /** Row-major [numRows, nFeatures]. */
  features?: Float32Array | undefined;
}

export interface OpenDatasetOptions {
  /** Read a sharded directory whose `_dataset.json` says complete: false (default: refuse). */
  allowIncomplete?: boolean;
  /** Stream to read for '-' (default process.stdin); for tests and embedding. */
  stdin?: NodeJS.ReadableStream;
  /** Accept a TTY as stdin (default: refuse with a hint to pipe data in). */
  allowTTY?: boolean;
}

export interface ActivationDataset {
  /** The path given (or '-'). */
  path: string;
  /** IPC file, IPC stream (stdin or a file holding a stream), or sharded directory. */
  format: 'file' | 'stream' | 'sharded';
  /** Shard files (full paths) and their rows, for a sharded directory. */
  shards?: Array<{ file: string; rows: number }> | undefined;
  meta: DatasetMeta;
  dIn: number;
  nFeatures: number | undefined;
  /** Which optional columns exist. */
  has: { seq: boolean; pos: boolean; token: boolean; features: boolean };
  /** Total rows when known without reading everything (files, sharded dirs); undefined for a stream. */
  numRows: number | undefined;
  /** True for files and directories (batches() may be called again); false for stdin. */
  rewindable: boolean;
  /**
   * Reads record batches lazily, front to back, starting at row `fromRow` (default 0).
   * Only one batch (plus read-ahead) is held at a time. Validation errors are InputErrors
   * naming the file (and shard).
   */
  batches(opts?: { fromRow?: number; columns?: Array<'act' | 'seq' | 'pos' | 'token' | 'features'> }): AsyncIterable<ActivationBatch>;
  close(): Promise<void>;
}

export interface DatasetWriterOptions {
  meta: Omit<DatasetMeta, 'raw'> & { raw?: Record<string, string> };
  /** Width of the `features` column when present. */
  nFeatures?: number;
  columns?: { seq?: boolean; pos?: boolean; token?: boolean; features?: boolean };
  /** Write a sharded directory with this many rows per shard (path is then a directory). */
  shardRows?: number;
  /** Rows per record batch (default 8192). */
  batchRows?: number;
  /** Continue an incomplete sharded directory after its last complete shard. */
  resume?: boolean;
  /** Stream to write for '-' (default process.stdout); for tests and embedding. */
  stdout?: NodeJS.WritableStream;
}

export interface RowsToWrite {
  numRows: number;
  act: Float32Array;
  seq?: BigInt64Array | number[];
  pos?: Int32Array;
  token?: Int32Array;
  features?: Float32Array;
}

export interface DatasetWriter {
  /** Rows already present (resume) plus rows written. */
  readonly rowsWritten: number;
  /**
   * True once the stdout reader has gone away (EPIPE, as with `| head`): a normal stop.
   * write() then returns without writing; producers should check this and stop early.
   */
  readonly downstreamClosed: boolean;
  write(rows: RowsToWrite): Promise<void>;
  /** Flushes, closes and renames into place; after this the dataset reads as complete. */
  close(): Promise<void>;
  /** Stops without marking complete (leaves complete shards, removes partial temp files). */
  abort(): Promise<void>;
}
