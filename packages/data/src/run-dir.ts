/**
 * Run directories (CONTRACTS.md §2): file names, cfg.json, _run.json and listing runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJson, writeJsonAtomicSync } from './atomic.js';
import { InputError } from './errors.js';
import type { RunConfig, RunInfo, RunStatus } from './types.js';

/** File and folder names inside a run directory. */
export const RUN_FILES = {
  config: 'cfg.json',
  weights: 'sae_weights.safetensors',
  metrics: 'metrics.arrows',
  status: '_run.json',
  checkpoints: 'checkpoints',
  latestCheckpoint: path.join('checkpoints', 'latest'),
  analysis: 'analysis',
  summary: path.join('analysis', 'summary.json'),
  report: 'report.html',
} as const;

/**
 * A toy feature counts as represented when its column of the toy model's W has at least this
 * norm: `ground_truth.arrow`'s `represented` column and `mmcs_represented` (docs/math.md, "Toy
 * model of superposition"). Shorter columns are features the toy model barely stores.
 */
export const REPRESENTED_NORM = 0.5;

/** The tables of RUN/analysis/ (CONTRACTS.md §3), by the name code refers to them with. */
export const ANALYSIS_TABLES = {
  features: 'features.arrow',
  reconstruction: 'reconstruction.arrow',
  reconstructionDims: 'reconstruction_dims.arrow',
  similarity: 'similarity.arrow',
  similaritySample: 'similarity_sample.arrow',
  groundTruth: 'ground_truth.arrow',
  compare: 'compare.arrow',
  topExamples: 'top_examples.arrow',
  coactivation: 'coactivation.arrow',
  logits: 'logits.arrow',
  embedding: 'embedding.arrow',
} as const;
export type AnalysisTable = keyof typeof ANALYSIS_TABLES;

/**
 * The five analyses of `vsae analyze`, in the order they run and are reported, each with the
 * tables it writes (some only where they apply: ground truth for toy data, compare, logits).
 */
export const ANALYSIS_LIST = [
  { name: 'feature-sparsity', title: 'feature sparsity', tables: ['features'] },
  { name: 'reconstruction-quality', title: 'reconstruction quality', tables: ['reconstruction', 'reconstructionDims'] },
  { name: 'dictionary-similarity', title: 'dictionary similarity', tables: ['similarity', 'similaritySample', 'groundTruth', 'compare'] },
  { name: 'neuron-activations', title: 'neuron activations', tables: ['topExamples', 'coactivation', 'logits'] },
  { name: 'latent-space', title: 'latent space', tables: ['embedding'] },
] as const satisfies ReadonlyArray<{ name: string; title: string; tables: readonly AnalysisTable[] }>;
export type AnalysisName = (typeof ANALYSIS_LIST)[number]['name'];

/** The analyses' names, in ANALYSIS_LIST's order. */
export const ANALYSIS_NAMES: readonly AnalysisName[] = ANALYSIS_LIST.map((a) => a.name);

/** Path of an analysis table inside a run directory (RUN/analysis/NAME.arrow, relative). */
export const analysisFile = (t: AnalysisTable): string => path.join(RUN_FILES.analysis, ANALYSIS_TABLES[t]);

const STATUSES: ReadonlyArray<RunStatus['status']> = ['running', 'complete', 'interrupted', 'failed'];

const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** Reads and checks `cfg.json` of a run directory. */
export function readRunConfig(dir: string): RunConfig {
  const file = path.join(dir, RUN_FILES.config);
  if (!fs.existsSync(file)) {
    throw new InputError(dir, fs.existsSync(dir) ? 'is not a run directory: it has no cfg.json (train into it with vsae train -o DIR)' : 'no such run directory; check the path');
  }
  const cfg = readJson<RunConfig>(file);
  const bad = (what: string) => new InputError(file, `${what}; the run's config is damaged or from another tool`);
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw bad('is not a JSON object');
  if (!posInt(cfg.d_in)) throw bad(`has d_in=${JSON.stringify(cfg.d_in)}, expected a positive integer`);
  if (!posInt(cfg.d_sae)) throw bad(`has d_sae=${JSON.stringify(cfg.d_sae)}, expected a positive integer`);
  const v = cfg.vsae;
  if (v === undefined || v === null || typeof v !== 'object') {
    // A plain SAELens directory: its architecture (standard SAEs and TopK SAEs are read).
    return { ...cfg, vsae: { arch: cfg.architecture === 'topk' ? 'topk' : 'sae', k: (cfg as { k?: unknown }).k } };
  }
  // Which architectures exist is @vsae/sae's registry's to say (loadSae checks); here only the shape.
  if (typeof v.arch !== 'string' || v.arch === '') throw bad(`has vsae.arch=${JSON.stringify(v.arch)}, expected an architecture name`);
  return cfg;
}

/** Reads `_run.json`; undefined when the run has none (yet). */
export function runStatus(dir: string): RunStatus | undefined {
  const file = path.join(dir, RUN_FILES.status);
  if (!fs.existsSync(file)) return undefined;
  const s = readJson<RunStatus>(file);
  if (s === null || typeof s !== 'object' || !STATUSES.includes(s.status)) {
    throw new InputError(file, `has status ${JSON.stringify((s as { status?: unknown } | null)?.status)}, expected one of ${STATUSES.join(', ')}`);
  }
  return s;
}

/** Writes `_run.json` atomically (with `updated` set to now unless given). */
export function writeRunStatus(dir: string, status: Omit<RunStatus, 'updated'> & { updated?: string }): void {
  writeJsonAtomicSync(path.join(dir, RUN_FILES.status), { ...status, updated: status.updated ?? new Date().toISOString() });
}

/**
 * Runs under `dir`: its subdirectories holding cfg.json (or `dir` itself when it is a run),
 * sorted by name. A run whose files cannot be read is listed with `error` instead of failing.
 */
export function listRuns(dir: string): RunInfo[] {
  if (!fs.existsSync(dir)) throw new InputError(dir, 'no such directory; check the path');
  if (!fs.statSync(dir).isDirectory()) throw new InputError(dir, 'is not a directory; give the folder that holds the runs');
  const info = (name: string, d: string): RunInfo => {
    const r: RunInfo = { name, dir: d };
    try {
      r.config = readRunConfig(d);
      r.status = runStatus(d);
    } catch (e) {
      r.error = (e as Error).message;
    }
    return r;
  };
  if (fs.existsSync(path.join(dir, RUN_FILES.config))) return [info(path.basename(path.resolve(dir)), dir)];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && fs.existsSync(path.join(dir, e.name, RUN_FILES.config)))
    .map((e) => e.name)
    .sort()
    .map((name) => info(name, path.join(dir, name)));
}
