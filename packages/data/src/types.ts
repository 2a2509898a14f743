/**
 * Shared types of @vsae/data. The public API (see index.ts and README.md):
 *
 *   openDataset(path | '-', opts?)        -> Promise<ActivationDataset>
 *   checkArrowIpc(path)                   -> Promise<{ format, rows, batches }>  (any schema; InputError if damaged)
 *   createDatasetWriter(path | '-', opts) -> Promise<DatasetWriter>
 *   inspectDataset(path | '-') -> Promise<DatasetInspection>; formatInspection(info) -> string
 *   readSafetensors(path) / parseSafetensors(bytes, name) -> SafeTensors   (synchronous)
 *   writeSafetensors(path, tensors, metadata?) -> Promise<void>  (atomic; also ...Sync, serializeSafetensors)
 *   readTable(path) -> TableData; writeTable(path, columns, metadata?) -> Promise<void>  (atomic;
 *     also writeTableSync, makeTable -> apache-arrow Table)
 *   new MetricsWriter(path, opts) / readMetrics(path, { fromByte }?) -> MetricsRead;
 *     metricsColumns(arch) -> the contract's columns
 *   writeFileAtomic(path, data), writeJsonAtomic(path, value) (+ ...Sync), readJson(path)
 *   readRunConfig(dir), runStatus(dir), writeRunStatus(dir, status), listRuns(dir); RUN_FILES
 *   VsaeError, InputError, UsageError; Progress
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
  /** Width of `act`; a writer refuses rows of another width. */
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

// --- small tables (run-dir and analysis files) ----------------------------------------------

/** Column types of small tables (CONTRACTS.md §3). */
export type ColumnType = 'int32' | 'int64' | 'float32' | 'float64' | 'bool' | 'utf8' | 'list<int32>' | 'list<float32>' | 'list<utf8>';

/**
 * A column to write: a typed array (Int32Array → int32, BigInt64Array → int64, Float32Array →
 * float32, Float64Array → float64; no nulls, no copy), or `{ type, values }` where values may
 * hold null. int64 values may be numbers or bigints.
 */
export type TableColumnInput =
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array
  | { type: 'int32' | 'float32' | 'float64'; values: ArrayLike<number | null> }
  | { type: 'int64'; values: ArrayLike<number | bigint | null> }
  | { type: 'bool'; values: ArrayLike<boolean | null> }
  | { type: 'utf8'; values: ArrayLike<string | null> }
  | { type: 'list<int32>' | 'list<float32>'; values: ArrayLike<ArrayLike<number> | null> }
  | { type: 'list<utf8>'; values: ArrayLike<ArrayLike<string> | null> };

/** A value as read back: Int64 as number, lists as plain arrays, null where missing. */
export type ColumnValue = number | boolean | string | null | number[] | string[];

export interface TableData {
  path: string;
  numRows: number;
  metadata: Record<string, string>;
  /** `type` is a ColumnType, or Arrow's name for other types. */
  fields: Array<{ name: string; type: ColumnType | string; nullable: boolean }>;
  has(name: string): boolean;
  /** Values as JS values; throws InputError naming the file when the column is absent. */
  column(name: string): ColumnValue[];
  /** One row's value of a column (nothing else decoded: for large tables read a few rows at a time). */
  cell(name: string, row: number): ColumnValue;
  /** A numeric (or bool) column as Float64Array, null → NaN. */
  numbers(name: string): Float64Array;
  strings(name: string): Array<string | null>;
  /** Row objects (convenient for small tables; O(rows × columns)). */
  rows(): Array<Record<string, ColumnValue>>;
  /** The apache-arrow Table, for anything else. */
  table: import('apache-arrow').Table;
}

// --- metrics.arrows -------------------------------------------------------------------------

export interface MetricsColumn {
  name: string;
  type: 'int32' | 'float64';
}

export interface MetricsWriterOptions {
  /** Columns in order; default: the contract's columns for `arch` (see metricsColumns). */
  columns?: MetricsColumn[];
  /** `sae` (l1 column) or a VSAE arch (`kl` column); used when `columns` is not given. */
  arch?: string;
  /** Schema metadata, e.g. vsae:arch, vsae:d_in, vsae:d_sae. */
  metadata?: Record<string, string>;
  /**
   * Resume: keep the rows of an existing file with step <= this value (rewritten atomically
   * into a fresh stream), then append. Without it an existing file is replaced.
   */
  resumeAfterStep?: number;
}

/** One logged step: column name → value (NaN allowed). */
export type MetricsRow = Record<string, number>;

export interface MetricsRead {
  columns: MetricsColumn[];
  metadata: Record<string, string>;
  /** Complete rows from `fromByte` on (a trailing partial record batch is left for later). */
  rows: MetricsRow[];
  /** Where the next read should start (pass as `fromByte` to follow a live file). */
  nextByte: number;
  /** True once the writer closed the stream (end-of-stream marker seen). */
  ended: boolean;
}

// --- run directories ------------------------------------------------------------------------

/** An architecture name (the registry of @vsae/sae lists them). */
export type RunArch = string;

/** cfg.json: SAELens's fields plus a `vsae` block with every training option. */
export interface RunConfig {
  architecture: string;
  d_in: number;
  d_sae: number;
  dtype?: string;
  device?: string;
  hook_name?: string;
  hook_layer?: number;
  model_name?: string;
  context_size?: number;
  prepend_bos?: boolean;
  apply_b_dec_to_input?: boolean;
  normalize_activations?: string;
  activation_fn_str?: string;
  metadata?: Record<string, unknown>;
  vsae: { arch: RunArch; seed?: number; dataset?: string; version?: string; [option: string]: unknown };
  [field: string]: unknown;
}

export interface RunStatus {
  status: 'running' | 'complete' | 'interrupted' | 'failed';
  step: number;
  steps: number;
  /** ISO time of the last update. */
  updated: string;
  /** A one-line reason when failed or interrupted. */
  message?: string;
}

export interface RunInfo {
  name: string;
  dir: string;
  config?: RunConfig;
  status?: RunStatus;
  /** Why cfg.json or _run.json could not be read (the run is listed anyway). */
  error?: string;
}

// --- inspect --------------------------------------------------------------------------------

export interface ColumnStats {
  name: string;
  /** Values seen (for list columns: rows × width). */
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  nan: number;
  inf: number;
  /** Share of values exactly 0 (float columns). */
  zeroFrac?: number;
  /** Mean L2 norm of a row's vector (act, features). */
  meanRowNorm?: number;
}

export interface DatasetInspection {
  path: string;
  format: 'file' | 'stream' | 'sharded';
  numRows: number;
  dIn: number;
  nFeatures: number | undefined;
  /** Bytes on disk (files and shards), undefined for stdin. */
  bytes: number | undefined;
  shards: number | undefined;
  schema: Array<{ name: string; type: string }>;
  meta: DatasetMeta;
  columns: ColumnStats[];
}
