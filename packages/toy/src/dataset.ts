import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '@vsae/compute';
import { createDatasetWriter, InputError, Progress, UsageError, writeSafetensors } from '@vsae/data';
import type { DatasetWriter } from '@vsae/data';
import { FeatureGenerator } from './features.js';
import { toyActivations, trainToyModel } from './model.js';
import type { ToyModel } from './model.js';
import { toyConfigJson, validateToyOptions, withToyDefaults } from './options.js';
import type { ToyOptions } from './options.js';
import { toyRng } from './rng.js';

export interface ToyDatasetOptions extends Partial<ToyOptions> {
  /** Dataset path: an `.arrow` file, a directory when `shardRows` is set, or `-` for an Arrow stream on stdout. */
  out: string;
  /** Ground-truth file; required with `out: '-'`, else `<stem>.truth.safetensors` beside the dataset. */
  truth?: string | undefined;
  /** Write a sharded directory with this many rows per shard (its truth is `_truth.safetensors` inside: a leading `_` keeps pyarrow.dataset and Polars from reading it as a shard). */
  shardRows?: number | undefined;
  backend?: string | undefined;
  quiet?: boolean | undefined;
}

export interface ToyDatasetResult {
  out: string;
  /** Where the ground truth was written. */
  truth: string;
  /** The `vsae:ground_truth` entry: relative to the dataset's folder, absolute for a stream. */
  groundTruthRef: string;
  rows: number;
  backend: string;
  model: ToyModel;
  options: ToyOptions;
}

/** Rows per write (one Arrow record batch each). */
const CHUNK_ROWS = 8192;

/** Where the truth goes and how the dataset names it. */
export function toyTruthLocation(out: string, truth: string | undefined, sharded: boolean): { truth: string; ref: string } {
  if (out === '-') {
    if (truth === undefined) throw new UsageError('-o - writes the dataset to stdout, so the ground truth needs a file: add --truth PATH');
    return { truth, ref: path.resolve(truth) };
  }
  const base = sharded ? out : path.dirname(out);
  const file = truth ?? (sharded ? path.join(out, '_truth.safetensors') : path.join(base, `${path.parse(out).name}.truth.safetensors`));
  if (path.resolve(file) === path.resolve(out)) throw new UsageError(`--truth ${file} is the dataset path itself; choose another file`);
  return { truth: file, ref: path.relative(base, file).split(path.sep).join('/') };
}

/** Creates `dir` (and its parents) for `file`, or says in one sentence why it cannot. */
function ensureDir(dir: string, file: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EEXIST' || code === 'ENOTDIR' ? `a part of the path ${dir} is a file, not a folder`
      : code === 'EACCES' || code === 'EPERM' ? `permission denied creating the folder ${dir}`
      : `cannot create the folder ${dir} (${(e as Error).message})`;
    throw new InputError(file, `${why}; choose another path`, { cause: e });
  }
}

/** The ground-truth tensors of the contract: W, b_final, importance, feature_probability. */
export async function writeToyTruth(file: string, model: ToyModel, config: Record<string, unknown>): Promise<void> {
  await writeSafetensors(
    file,
    {
      W: { data: model.W, shape: [model.nHidden, model.nFeatures] },
      b_final: { data: model.bFinal, shape: [model.nFeatures] },
      importance: { data: model.importance, shape: [model.nFeatures] },
      feature_probability: { data: Float32Array.of(model.featureProbability), shape: [1] },
    },
    { 'vsae:source': 'toy', 'vsae:config': JSON.stringify(config) },
  );
}

/**
 * Trains a toy model of superposition, then writes `rows` activation rows `h = W x` with their
 * true `features` (and a `seq` column: the row's index in toy batches of `toyBatchSize`) and the
 * ground truth. Progress goes to stderr. The same seed gives the same dataset on the same backend;
 * the features themselves depend only on the seed and the feature options.
 */
export async function makeToyDataset(options: ToyDatasetOptions): Promise<ToyDatasetResult> {
  const o = withToyDefaults(options);
  validateToyOptions(o);
  const sharded = options.shardRows !== undefined;
  const { truth, ref } = toyTruthLocation(options.out, options.truth, sharded);
  // Create the folders before training, so a bad path fails at once rather than after it.
  if (options.out !== '-') ensureDir(sharded ? options.out : path.dirname(options.out), options.out);
  ensureDir(path.dirname(truth), truth);

  const backend = await initBackend(options.backend);
  const model = await trainToyModel({ ...o, backend: options.backend, quiet: options.quiet });
  // The backend is part of the provenance: the same seed gives the same dataset on the same backend.
  const config = { ...toyConfigJson(o), backend: backend.name };
  await writeToyTruth(truth, model, config);

  const writer = await createDatasetWriter(options.out, {
    // The writer stores a file's truth path relative to the dataset (the contract); a stream's as given.
    meta: { source: 'toy', dIn: o.nHidden, config, groundTruth: options.out === '-' ? ref : truth },
    nFeatures: o.nFeatures,
    columns: { seq: true, features: true },
    batchRows: CHUNK_ROWS,
    ...(sharded ? { shardRows: options.shardRows } : {}),
  });
  try {
    await writeToyRows(writer, model, o, options.quiet);
    await writer.close();
  } catch (e) {
    await writer.abort().catch(() => undefined);
    throw e;
  }
  return { out: options.out, truth, groundTruthRef: ref, rows: o.rows, backend: backend.name, model, options: o };
}

/** Generates the dataset rows from the seed's `rows` stream and hands them to the writer in chunks. */
async function writeToyRows(writer: DatasetWriter, model: ToyModel, o: ToyOptions, quiet: boolean | undefined): Promise<void> {
  const gen = new FeatureGenerator(o);
  const rng = toyRng(o.seed, 'rows');
  const progress = new Progress({ unit: 'rows', total: o.rows, label: 'writing', quiet });
  for (let start = 0; start < o.rows; start += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, o.rows - start);
    const features = gen.generate(rng, n);
    const act = toyActivations(model, features, n);
    const seq = new BigInt64Array(n);
    for (let r = 0; r < n; r++) seq[r] = BigInt(Math.floor((start + r) / o.toyBatchSize));
    await writer.write({ numRows: n, act, seq, features });
    progress.update(start + n);
  }
  progress.finish();
}
