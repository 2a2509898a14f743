/**
 * Options of `train()` (the `vsae train` flags, camelCased): defined once here with their
 * defaults, choices and help; the CLI derives its flags, help and checks from TRAIN_OPTIONS.
 * No tensor engine is loaded by this module (import it as `@vsae/sae/options`).
 * Validation throws UsageError (exit code 2) with a sentence naming the flag.
 */
import { UsageError, type FlagSpec } from '@vsae/data';
import { ARCHITECTURES, ARCH_NAMES, findArch, type ArchDescriptor, type ArchOptionKey } from './archs/index.js';
import { LR_DECAYS, type LrDecay } from './schedule.js';

export type NormalizeActivations = 'none' | 'expected-average' | 'unit-mean-square';

export interface TrainOptions {
  /** Activation dataset: an .arrow file, a sharded directory, or '-' for an Arrow stream on stdin. */
  input: string;
  /** Run directory to create (or, with `resume`, to continue). */
  out: string;
  /** An architecture of the registry (archs/index.ts). */
  arch: string;
  dictMult: number;
  dSae?: number | undefined;
  l1Coeff?: number | undefined;
  klCoeff?: number | undefined;
  reduction: 'mean' | 'sum';
  varFlag: 0 | 1;
  varActivation: 'linear' | 'relu';
  /** Classic VSAEs: decode the sampled z (the original) or the mean μ. */
  decode: 'z' | 'mu';
  nCorrelatedPairs?: number | undefined;
  nAnticorrelatedPairs?: number | undefined;
  corrRate?: number | undefined;
  corrMatrix?: string | undefined;
  multiKl: 'per-row' | 'batch-moments';
  /** TopK models: latents kept per row (BatchTopK: k·B per batch). */
  k?: number | undefined;
  /** TopK models: AuxK coefficient α. */
  auxCoeff: number;
  /** TopK models: rows without firing after which a latent counts as dead (for AuxK). */
  deadTokens: number;
  /** TopK models: the global gradient norm is clipped to this (0 = no clipping). */
  gradClip: number;
  steps: number;
  batchSize: number;
  lr: number;
  lrDecay: LrDecay;
  lrWarmupSteps: number;
  coeffWarmupSteps: number;
  normalizeActivations: NormalizeActivations;
  resampleEvery: number;
  deadWindow: number;
  seed: number;
  logEvery?: number | undefined;
  checkpointEvery: number;
  resume: boolean;
  tensorboard: boolean;
  backend?: string | undefined;
  skipBadRows: boolean;
  bufferRows?: number | undefined;
  /** Memory budget in bytes for the data held (shuffle buffer and checkpoint copies). */
  maxMemory?: number | undefined;
  quiet?: boolean | undefined;
  /** Stop (checkpoint, status interrupted) when this signal aborts; SIGINT/SIGTERM do the same unless handleSignals is false. */
  signal?: AbortSignal | undefined;
  handleSignals?: boolean | undefined;
  onLog?: ((row: Record<string, number>) => void) | undefined;
  stdin?: NodeJS.ReadableStream | undefined;
  progressStream?: NodeJS.WriteStream | undefined;
}

/** A train flag: @vsae/data's FlagSpec, with what training needs to know about it. */
export interface OptionDef extends FlagSpec {
  /** The TrainOptions key it sets (absent: CLI-only, e.g. --json). */
  key?: keyof TrainOptions;
  /** Taken by the architectures that list this key (others refuse it); absent: every architecture. */
  archOption?: ArchOptionKey;
  /** Options that may differ from the saved ones on --resume (they change how a run is watched, not what it computes). */
  watchOnly?: boolean;
  /** Numeric option a sweep may list values for. */
  sweepable?: boolean;
}

const archsTaking = (key: ArchOptionKey): string => ARCHITECTURES.filter((a) => a.options.includes(key)).map((a) => a.name).join(', ');
const coeffHelp = (option: 'l1Coeff' | 'klCoeff'): string =>
  ARCHITECTURES.filter((a) => a.coeff?.option === option).map((a) => `${a.name} ${a.coeff!.default}`).join(', ');

/** Every `vsae train` flag (kebab-case) and what it sets. */
export const TRAIN_OPTIONS = {
  arch: { type: 'string', key: 'arch', help: `architecture: ${ARCHITECTURES.map((a) => `${a.name} (${a.summary})`).join('; ')}`, choices: ARCH_NAMES, default: 'sae' },
  input: { type: 'string', key: 'input', short: 'i', help: 'activation dataset: an .arrow file, a sharded directory, or - for an Arrow stream on stdin', value: 'PATH|-', watchOnly: true },
  out: { type: 'string', key: 'out', short: 'o', help: 'run directory to create (or to continue with --resume)', value: 'DIR', watchOnly: true },
  'dict-mult': { type: 'int', key: 'dictMult', help: 'dictionary size as a multiple of d_in', default: 8, min: 1, sweepable: true },
  'd-sae': { type: 'int', key: 'dSae', help: 'dictionary size (overrides --dict-mult)', min: 1, value: 'N', sweepable: true },
  'l1-coeff': { type: 'number', key: 'l1Coeff', archOption: 'l1Coeff', help: `L1 coefficient, per-row-mean units (default ${coeffHelp('l1Coeff')}; with --reduction sum divided by the batch size)`, min: 0, value: 'X', sweepable: true },
  'kl-coeff': { type: 'number', key: 'klCoeff', archOption: 'klCoeff', help: `KL coefficient, per-row-mean units (default ${coeffHelp('klCoeff')}; with --reduction sum divided by the batch size, except vsae-mix)`, min: 0, value: 'X', sweepable: true },
  reduction: { type: 'string', key: 'reduction', archOption: 'reduction', help: 'loss reductions: per-row means, or sum to reproduce the original', choices: ['mean', 'sum'], default: 'mean' },
  'var-flag': { type: 'int', key: 'varFlag', archOption: 'varFlag', help: 'VSAEs: 1 learns the variance (W_enc_var, b_enc_var), 0 fixes it (σ² = 1; vsae-topk: no sampling)', default: 0, min: 0, max: 1 },
  'var-activation': { type: 'string', key: 'varActivation', archOption: 'varActivation', help: 'learned log σ²: linear (clamped to [−6, 2]) or relu (the original)', choices: ['linear', 'relu'], default: 'linear' },
  decode: { type: 'string', key: 'decode', archOption: 'decode', help: 'classic VSAEs: decode the sampled z (the original) or the mean μ (the authors\' later toy notebook)', choices: ['z', 'mu'], default: 'z' },
  'n-correlated-pairs': { type: 'int', key: 'nCorrelatedPairs', archOption: 'nCorrelatedPairs', help: 'VSAE-Mix: correlated pairs in the prior (default: the dataset\'s, else 0)', min: 0, value: 'N' },
  'n-anticorrelated-pairs': { type: 'int', key: 'nAnticorrelatedPairs', archOption: 'nAnticorrelatedPairs', help: 'VSAE-Mix: anti-correlated pairs in the prior (default: the dataset\'s, else 0)', min: 0, value: 'N' },
  'corr-rate': { type: 'number', key: 'corrRate', archOption: 'corrRate', help: 'VSAE-Multi: uniform prior correlation in (−1/(d_sae−1), 1) (default: the dataset\'s, else 0)', value: 'R', sweepable: true },
  'corr-matrix': { type: 'string', key: 'corrMatrix', archOption: 'corrMatrix', help: 'VSAE-Multi: prior covariance from a safetensors file (key corr, d_sae ≤ 4096)', value: 'PATH' },
  'multi-kl': { type: 'string', key: 'multiKl', archOption: 'multiKl', help: 'VSAE-Multi KL: per-row closed forms, or the original\'s batch-moments', choices: ['per-row', 'batch-moments'], default: 'per-row' },
  k: { type: 'int', key: 'k', archOption: 'k', help: `latents kept per row (${archsTaking('k')}; batchtopk: k·B per batch); required`, min: 1, value: 'N', sweepable: true },
  'aux-coeff': { type: 'number', key: 'auxCoeff', archOption: 'auxCoeff', help: 'AuxK coefficient α (TopK models)', default: 1 / 32, min: 0, value: 'X', sweepable: true },
  'dead-tokens': { type: 'int', key: 'deadTokens', archOption: 'deadTokens', help: 'TopK models: rows without firing before a latent counts as dead for AuxK', default: 10_000_000, min: 1, sweepable: true },
  'grad-clip': { type: 'number', key: 'gradClip', archOption: 'gradClip', help: 'TopK models: clip the global gradient norm to this (0 = off)', default: 1, min: 0, value: 'X', sweepable: true },
  steps: { type: 'int', key: 'steps', help: 'training steps', default: 10_000, min: 1, sweepable: true },
  'batch-size': { type: 'int', key: 'batchSize', help: 'rows per step', default: 4096, min: 1, sweepable: true },
  // 1e-3, not 1e-4: at 1e-4 Adam moves a weight at most 0.3 in 3000 steps, too little for the toy
  // dictionary to form (MMCS 0.58 against 0.81 at 1e-3; README).
  lr: { type: 'number', key: 'lr', help: 'Adam learning rate (default 1e-3; topk and batchtopk 2e-4/√(d_sae/2¹⁴); vsae-topk 8e-4)', default: 1e-3, value: 'X', sweepable: true },
  'lr-decay': { type: 'string', key: 'lrDecay', help: 'learning-rate schedule (TopK models default to linear-tail: linear decay over the last 20 % of steps)', choices: LR_DECAYS, default: 'constant' },
  'lr-warmup-steps': { type: 'int', key: 'lrWarmupSteps', help: 'linear learning-rate warm-up (TopK models: max(50, 5 %) of steps up to 2000 steps, else max(200, 2 %))', default: 0, min: 0, sweepable: true },
  'coeff-warmup-steps': { type: 'int', key: 'coeffWarmupSteps', archOption: 'coeffWarmupSteps', help: 'linear warm-up of the L1/KL coefficient (vsae-topk: 10 % of steps)', default: 0, min: 0, sweepable: true },
  'normalize-activations': { type: 'string', key: 'normalizeActivations', help: 'scale inputs (factor folded into the saved weights): expected-average (mean norm √d_in, SAELens), unit-mean-square (mean ‖x‖² = 1; TopK models\' default)', choices: ['none', 'expected-average', 'unit-mean-square'], default: 'none' },
  'resample-every': { type: 'int', key: 'resampleEvery', archOption: 'resampleEvery', help: 'resample dead latents every N steps (0 = never)', default: 3000, min: 0, sweepable: true },
  'dead-window': { type: 'int', key: 'deadWindow', archOption: 'deadWindow', help: 'a latent is dead after N steps without firing', default: 400, min: 1, sweepable: true },
  seed: { type: 'int', key: 'seed', help: 'random seed (the same seed and backend give the same weights)', default: 42, sweepable: true },
  'log-every': { type: 'int', key: 'logEvery', help: 'log metrics every N steps (default 100, fewer for short runs)', min: 1, value: 'N', watchOnly: true },
  'checkpoint-every': { type: 'int', key: 'checkpointEvery', help: 'write checkpoints/latest every N steps (0 = at the end and on interrupt only)', default: 1000, min: 0, watchOnly: true },
  resume: { type: 'boolean', key: 'resume', default: false, help: 'continue the run in -o DIR from its checkpoint (flags given again must equal the saved ones)', watchOnly: true },
  tensorboard: { type: 'boolean', key: 'tensorboard', default: false, help: 'also write TensorBoard event files into the run directory', aliases: ['use_tensorboard'], watchOnly: true },
  'skip-bad-rows': { type: 'boolean', key: 'skipBadRows', default: false, help: 'drop rows holding NaN/Inf (counted in the metrics) instead of stopping' },
  'buffer-rows': { type: 'int', key: 'bufferRows', help: 'rows in the shuffling buffer (default 16 batches, at most 64 MiB)', min: 1, value: 'N' },
  'max-memory': { type: 'string', key: 'maxMemory', help: 'memory budget for the data held, e.g. 512M or 2G (a bare number is MiB; the buffer takes at most a quarter)', value: 'SIZE', watchOnly: true },
} as const satisfies Record<string, OptionDef>;

export type TrainFlag = keyof typeof TRAIN_OPTIONS;

/** The flag that sets an option key, e.g. k → --k (for messages). */
export function flagOf(key: keyof TrainOptions): string {
  const e = Object.entries(TRAIN_OPTIONS).find(([, d]) => (d as OptionDef).key === key);
  return e ? `--${e[0]}` : key;
}

/** Common defaults, from TRAIN_OPTIONS (an architecture's own come on top: withArchDefaults). */
export const TRAIN_DEFAULTS: Readonly<Partial<TrainOptions>> = Object.fromEntries(
  (Object.values(TRAIN_OPTIONS) as OptionDef[]).filter((d) => d.key !== undefined && d.default !== undefined).map((d) => [d.key, d.default]),
);

/** Coefficient defaults by architecture (per-row-mean units), from the registry. */
export const DEFAULT_COEFF: Readonly<Record<string, number>> = Object.fromEntries(ARCHITECTURES.filter((a) => a.coeff).map((a) => [a.name, a.coeff!.default]));

export type TrainOptionsInput = Partial<TrainOptions> & Pick<TrainOptions, 'input' | 'out'>;

/** Fills in the common defaults for the options not given (undefined counts as not given). */
export function withTrainDefaults(opts: TrainOptionsInput): TrainOptions {
  const out = { ...TRAIN_DEFAULTS } as TrainOptions;
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * The architecture's own defaults for the options the caller did not give: the TopK models'
 * learning rate (which depends on d_sae), schedule and input normalisation, vSAE-TopK's KL warm-up.
 */
export function withArchDefaults(o: TrainOptions, given: Partial<TrainOptions>, dSae: number): TrainOptions {
  const arch = findArch(o.arch);
  if (!arch) return o;
  const d: Partial<TrainOptions> = { ...arch.defaults({ steps: o.steps, batchSize: o.batchSize, dSae }) };
  if (arch.family === 'topk') {
    d.lrDecay = 'linear-tail';
    d.lrWarmupSteps = topkWarmupSteps(o.steps);
  }
  const out = { ...o };
  for (const [k, v] of Object.entries(d)) if ((given as Record<string, unknown>)[k] === undefined) (out as unknown as Record<string, unknown>)[k] = v;
  return out;
}

/** The TopK trainers' warm-up: max(50, 5 %) of the steps for runs of at most 2000 steps, else max(200, 2 %). */
export function topkWarmupSteps(steps: number): number {
  return steps <= 2000 ? Math.max(50, Math.floor(0.05 * steps)) : Math.max(200, Math.floor(0.02 * steps));
}

const isInt = (v: unknown, min: number): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Refuses an architecture-specific option given to an architecture that does not take it (one
 * line naming the flag). The original project's commands pass both coefficients, so an unused
 * --l1-coeff / --kl-coeff on a classic architecture is returned as a note instead.
 */
export function checkArchOptions(given: Partial<TrainOptions>): string[] {
  const arch = findArch(String(given.arch ?? TRAIN_DEFAULTS.arch));
  if (!arch) throw new UsageError(`--arch must be one of ${ARCH_NAMES.join(', ')} (got ${String(given.arch)})`);
  const notes: string[] = [];
  for (const def of Object.values(TRAIN_OPTIONS) as OptionDef[]) {
    const key = def.archOption;
    if (!key || def.key === undefined || given[def.key] === undefined || arch.options.includes(key)) continue;
    const flag = flagOf(def.key);
    if ((key === 'l1Coeff' || key === 'klCoeff') && arch.family === 'classic') {
      notes.push(`${flag} is ignored by ${arch.name} (it takes ${arch.coeff ? flagOf(arch.coeff.option) : 'no coefficient'})`);
      continue;
    }
    throw new UsageError(`${flag} does not apply to --arch ${arch.name} (it is taken by ${archsTaking(key)})`);
  }
  if (arch.options.includes('k') && given.k === undefined && !given.resume) {
    throw new UsageError(`--arch ${arch.name} needs --k N: the latents kept per row (the paper uses 6.25 % of d_sae)`);
  }
  return notes;
}

/** Checks every option where it enters. Dataset-dependent checks (k vs d_sae, pairs, ρ) come later. */
export function validateTrainOptions(o: TrainOptions): void {
  const need = (ok: boolean, msg: string): void => {
    if (!ok) throw new UsageError(msg);
  };
  need(typeof o.input === 'string' && o.input.length > 0, 'give the activation dataset with --input PATH (or - for stdin)');
  need(typeof o.out === 'string' && o.out.length > 0 && o.out !== '-', 'give the run directory with -o/--out DIR');
  need(findArch(o.arch) !== undefined, `--arch must be one of ${ARCH_NAMES.join(', ')} (got ${String(o.arch)})`);
  need(isInt(o.dictMult, 1), `--dict-mult must be a whole number ≥ 1 (got ${o.dictMult})`);
  need(o.dSae === undefined || isInt(o.dSae, 1), `--d-sae must be a whole number ≥ 1 (got ${o.dSae})`);
  for (const [flag, v] of [['--l1-coeff', o.l1Coeff], ['--kl-coeff', o.klCoeff], ['--aux-coeff', o.auxCoeff], ['--grad-clip', o.gradClip]] as const) {
    need(v === undefined || (isNum(v) && v >= 0), `${flag} must be a number ≥ 0 (got ${v})`);
  }
  need(o.k === undefined || isInt(o.k, 1), `--k must be a whole number ≥ 1 (got ${o.k})`);
  need(isInt(o.deadTokens, 1), `--dead-tokens must be a whole number ≥ 1 (got ${o.deadTokens})`);
  need(o.reduction === 'mean' || o.reduction === 'sum', `--reduction must be mean or sum (got ${String(o.reduction)})`);
  need(o.varFlag === 0 || o.varFlag === 1, `--var-flag must be 0 or 1 (got ${String(o.varFlag)})`);
  need(o.varActivation === 'linear' || o.varActivation === 'relu', `--var-activation must be linear or relu (got ${String(o.varActivation)})`);
  need(o.decode === 'z' || o.decode === 'mu', `--decode must be z or mu (got ${String(o.decode)})`);
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
  need(['none', 'expected-average', 'unit-mean-square'].includes(o.normalizeActivations), `--normalize-activations must be none, expected-average or unit-mean-square (got ${String(o.normalizeActivations)})`);
  need(isInt(o.resampleEvery, 0), `--resample-every must be a whole number ≥ 0 (0 = never) (got ${o.resampleEvery})`);
  need(isInt(o.deadWindow, 1), `--dead-window must be a whole number ≥ 1 (got ${o.deadWindow})`);
  need(Number.isSafeInteger(o.seed), `--seed must be a whole number (got ${o.seed})`);
  need(o.logEvery === undefined || isInt(o.logEvery, 1), `--log-every must be a whole number ≥ 1 (got ${o.logEvery})`);
  need(isInt(o.checkpointEvery, 0), `--checkpoint-every must be a whole number ≥ 0 (0 = only at the end and on interrupt) (got ${o.checkpointEvery})`);
  need(o.bufferRows === undefined || isInt(o.bufferRows, 1), `--buffer-rows must be a whole number ≥ 1 (got ${o.bufferRows})`);
  need(o.maxMemory === undefined || (isNum(o.maxMemory) && o.maxMemory > 0), `--max-memory must be a positive size (got ${o.maxMemory})`);
}

/** Checks that need d_sae: k ≤ d_sae. */
export function validateWithDims(o: TrainOptions, dSae: number): void {
  if (o.k !== undefined && o.k > dSae) throw new UsageError(`--k ${o.k} is larger than d_sae ${dSae}; give --k at most ${dSae} (or a larger --d-sae / --dict-mult)`);
}

/** The sparsity coefficient in force: the flag, else the architecture's default (converted for --reduction sum); 0 without one. */
export function effectiveCoeff(o: Pick<TrainOptions, 'arch' | 'l1Coeff' | 'klCoeff' | 'reduction' | 'batchSize'>): number {
  const arch: ArchDescriptor | undefined = findArch(o.arch);
  if (!arch?.coeff) return 0;
  const given = o[arch.coeff.option];
  if (given !== undefined) return given;
  const d = arch.coeff.default;
  // With summed terms (not Mix's KL, which the original averaged) the same strength is coeff / batch.
  return arch.family === 'classic' && o.reduction === 'sum' && o.arch !== 'vsae-mix' ? d / o.batchSize : d;
}
