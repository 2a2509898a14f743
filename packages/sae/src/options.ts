/**
 * Options of `train()` (the `vsae train` flags, camelCased), their defaults and validation.
 * Validation throws UsageError (exit code 2) with a sentence naming the flag.
 */
import { UsageError } from '@vsae/data';
import { LR_DECAYS, type LrDecay } from './schedule.js';
import { ARCHS, type Arch } from './types.js';

export interface TrainOptions {
  /** Activation dataset: an .arrow file, a sharded directory, or '-' for an Arrow stream on stdin. */
  input: string;
  /** Run directory to create (or, with `resume`, to continue). */
  out: string;
  arch: Arch;
  /** d_sae = dictMult · d_in unless dSae is given. Default 8. */
  dictMult: number;
  dSae?: number | undefined;
  /** L1 coefficient (SAE). Default: DEFAULT_COEFF (per-row-mean units). */
  l1Coeff?: number | undefined;
  /** KL coefficient (VSAEs). Default: DEFAULT_COEFF. */
  klCoeff?: number | undefined;
  reduction: 'mean' | 'sum';
  varFlag: 0 | 1;
  varActivation: 'linear' | 'relu';
  /** VSAE-Mix pairs; default: the dataset's `vsae:config` (toy data), else 0. */
  nCorrelatedPairs?: number | undefined;
  nAnticorrelatedPairs?: number | undefined;
  /** VSAE-Multi uniform prior correlation; default: the dataset's `corr_rate`, else identity. */
  corrRate?: number | undefined;
  /** VSAE-Multi prior covariance from a safetensors file (key `corr`, d_sae ≤ 4096). */
  corrMatrix?: string | undefined;
  multiKl: 'per-row' | 'batch-moments';
  steps: number;
  batchSize: number;
  lr: number;
  lrDecay: LrDecay;
  lrWarmupSteps: number;
  coeffWarmupSteps: number;
  normalizeActivations: 'none' | 'expected-average';
  /** Resample dead latents every this many steps (0 = never). */
  resampleEvery: number;
  /** A latent is dead after this many steps without firing. */
  deadWindow: number;
  seed: number;
  /** Log metrics every this many steps (default: 100, or fewer for short runs). */
  logEvery?: number | undefined;
  /** Write checkpoints/latest every this many steps (0: only on interrupt and at the end). */
  checkpointEvery: number;
  resume: boolean;
  tensorboard: boolean;
  /** Tensor backend (see @vsae/compute initBackend); default VSAE_BACKEND or auto. */
  backend?: string | undefined;
  /** Drop rows holding NaN/Inf (counted in metrics `skipped_rows`) instead of stopping. */
  skipBadRows: boolean;
  /** Rows the shuffling buffer holds (default: 16 batches, at most 64 MiB or a quarter of maxMemory). */
  bufferRows?: number | undefined;
  /** Memory budget in bytes for the data held (shuffle buffer and checkpoint copies). */
  maxMemory?: number | undefined;
  /** No progress line on stderr. */
  quiet?: boolean | undefined;
  /** Stop (checkpoint, status interrupted) when this signal aborts; SIGINT/SIGTERM do the same unless handleSignals is false. */
  signal?: AbortSignal | undefined;
  handleSignals?: boolean | undefined;
  /** Called with each logged metrics row. */
  onLog?: ((row: Record<string, number>) => void) | undefined;
  /** Stream to read for input '-' (default process.stdin); for tests and embedding. */
  stdin?: NodeJS.ReadableStream | undefined;
  /** Stream for the progress line (default process.stderr). */
  progressStream?: NodeJS.WriteStream | undefined;
}

/**
 * Coefficient defaults (per-row-mean units), chosen on the toy data of spec/math.md (100
 * features in 20 dimensions, p = 0.05, 3000 steps of 4096 rows): see the README for the runs.
 */
export const DEFAULT_COEFF: Readonly<Record<Arch, number>> = { sae: 0.2, 'vsae-iso': 0.05, 'vsae-mix': 0.05, 'vsae-multi': 0.05 };

export const TRAIN_DEFAULTS = {
  arch: 'sae',
  dictMult: 8,
  reduction: 'mean',
  varFlag: 0,
  varActivation: 'linear',
  multiKl: 'per-row',
  steps: 10_000,
  batchSize: 4096,
  // 1e-3, not 1e-4: at 1e-4 Adam moves a weight at most 0.3 in 3000 steps, too little for the
  // toy dictionary to form (MMCS 0.58 against 0.81 at 1e-3; README).
  lr: 1e-3,
  lrDecay: 'constant',
  lrWarmupSteps: 0,
  coeffWarmupSteps: 0,
  normalizeActivations: 'none',
  resampleEvery: 3000,
  deadWindow: 400,
  seed: 42,
  checkpointEvery: 1000,
  resume: false,
  tensorboard: false,
  skipBadRows: false,
} as const satisfies Partial<TrainOptions>;

export type TrainOptionsInput = Partial<TrainOptions> & Pick<TrainOptions, 'input' | 'out'>;

/** Fills in defaults for the options not given (undefined counts as not given). */
export function withTrainDefaults(opts: TrainOptionsInput): TrainOptions {
  const out = { ...TRAIN_DEFAULTS } as TrainOptions;
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  return out;
}

const isInt = (v: unknown, min: number): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks every option where it enters. Dataset-dependent checks (pairs vs d_sae, ρ range) come later. */
export function validateTrainOptions(o: TrainOptions): void {
  const need = (ok: boolean, msg: string): void => {
    if (!ok) throw new UsageError(msg);
  };
  need(typeof o.input === 'string' && o.input.length > 0, 'give the activation dataset with --input PATH (or - for stdin)');
  need(typeof o.out === 'string' && o.out.length > 0 && o.out !== '-', 'give the run directory with -o/--out DIR');
  need(ARCHS.includes(o.arch), `--arch must be one of ${ARCHS.join(', ')} (got ${String(o.arch)})`);
  need(isInt(o.dictMult, 1), `--dict-mult must be a whole number ≥ 1 (got ${o.dictMult})`);
  need(o.dSae === undefined || isInt(o.dSae, 1), `--d-sae must be a whole number ≥ 1 (got ${o.dSae})`);
  for (const [flag, v] of [['--l1-coeff', o.l1Coeff], ['--kl-coeff', o.klCoeff]] as const) {
    need(v === undefined || (isNum(v) && v >= 0), `${flag} must be a number ≥ 0 (got ${v})`);
  }
  need(o.reduction === 'mean' || o.reduction === 'sum', `--reduction must be mean or sum (got ${String(o.reduction)})`);
  need(o.varFlag === 0 || o.varFlag === 1, `--var-flag must be 0 or 1 (got ${String(o.varFlag)})`);
  need(o.varActivation === 'linear' || o.varActivation === 'relu', `--var-activation must be linear or relu (got ${String(o.varActivation)})`);
  need(o.multiKl === 'per-row' || o.multiKl === 'batch-moments', `--multi-kl must be per-row or batch-moments (got ${String(o.multiKl)})`);
  for (const [flag, v] of [['--n-correlated-pairs', o.nCorrelatedPairs], ['--n-anticorrelated-pairs', o.nAnticorrelatedPairs]] as const) {
    need(v === undefined || isInt(v, 0), `${flag} must be a whole number ≥ 0 (got ${v})`);
  }
  need(o.corrRate === undefined || isNum(o.corrRate), `--corr-rate must be a number (got ${o.corrRate})`);
  if (o.arch !== 'vsae-multi') {
    need(o.corrRate === undefined && o.corrMatrix === undefined, `--corr-rate and --corr-matrix apply to vsae-multi, not ${o.arch}`);
  }
  need(!(o.corrRate !== undefined && o.corrMatrix !== undefined), 'give either --corr-rate or --corr-matrix for VSAE-Multi, not both');
  need(isInt(o.steps, 1), `--steps must be a whole number ≥ 1 (got ${o.steps})`);
  need(isInt(o.batchSize, 1), `--batch-size must be a whole number ≥ 1 (got ${o.batchSize})`);
  need(isNum(o.lr) && o.lr > 0, `--lr must be a positive number (got ${o.lr})`);
  need(LR_DECAYS.includes(o.lrDecay), `--lr-decay must be one of ${LR_DECAYS.join(', ')} (got ${String(o.lrDecay)})`);
  need(isInt(o.lrWarmupSteps, 0), `--lr-warmup-steps must be a whole number ≥ 0 (got ${o.lrWarmupSteps})`);
  need(isInt(o.coeffWarmupSteps, 0), `--coeff-warmup-steps must be a whole number ≥ 0 (got ${o.coeffWarmupSteps})`);
  need(o.normalizeActivations === 'none' || o.normalizeActivations === 'expected-average', `--normalize-activations must be none or expected-average (got ${String(o.normalizeActivations)})`);
  need(isInt(o.resampleEvery, 0), `--resample-every must be a whole number ≥ 0 (0 = never) (got ${o.resampleEvery})`);
  need(isInt(o.deadWindow, 1), `--dead-window must be a whole number ≥ 1 (got ${o.deadWindow})`);
  need(Number.isSafeInteger(o.seed), `--seed must be a whole number (got ${o.seed})`);
  need(o.logEvery === undefined || isInt(o.logEvery, 1), `--log-every must be a whole number ≥ 1 (got ${o.logEvery})`);
  need(isInt(o.checkpointEvery, 0), `--checkpoint-every must be a whole number ≥ 0 (0 = only at the end and on interrupt) (got ${o.checkpointEvery})`);
  need(o.bufferRows === undefined || isInt(o.bufferRows, 1), `--buffer-rows must be a whole number ≥ 1 (got ${o.bufferRows})`);
  need(o.maxMemory === undefined || (isNum(o.maxMemory) && o.maxMemory > 0), `--max-memory must be a positive size (got ${o.maxMemory})`);
}

/** The L1 (SAE) or KL (VSAE) coefficient in force: the flag, else the default (converted for --reduction sum). */
export function effectiveCoeff(o: Pick<TrainOptions, 'arch' | 'l1Coeff' | 'klCoeff' | 'reduction' | 'batchSize'>): number {
  const given = o.arch === 'sae' ? o.l1Coeff : o.klCoeff;
  if (given !== undefined) return given;
  const d = DEFAULT_COEFF[o.arch];
  // With summed terms (not Mix's KL, which the original averaged) the same strength is coeff / batch.
  return o.reduction === 'sum' && o.arch !== 'vsae-mix' ? d / o.batchSize : d;
}
