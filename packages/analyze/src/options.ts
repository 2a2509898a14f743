/**
 * Defaults, validation and the memory plan of an analysis. Validation throws UsageError
 * (exit 2) with a sentence naming the flag.
 */
import { UsageError } from '@vsae/data';
import { ANALYZE_OPTIONS } from './option-defs.js';
import { SAMPLE_MODES } from './rows.js';
import { ANALYSES, type AnalysisName, type AnalyzeOptions } from './types.js';

export const ANALYZE_DEFAULTS = {
  // The user-facing defaults, from the flags' definitions (option-defs.ts).
  nSamples: ANALYZE_OPTIONS['n-samples'].default,
  maxMemoryMb: Number(ANALYZE_OPTIONS['max-memory'].default), // MiB
  topK: ANALYZE_OPTIONS['top-k'].default,
  contextWindow: ANALYZE_OPTIONS['context-window'].default,
  umapLatents: ANALYZE_OPTIONS['umap-latents'].default,
  muRows: ANALYZE_OPTIONS['mu-rows'].default,
  ceWindows: ANALYZE_OPTIONS['ce-windows'].default,
  seed: ANALYZE_OPTIONS.seed.default,
  // Internal settings (no flag).
  quantiles: [0.9, 0.5, 0.1] as readonly number[],
  perQuantile: 2,
  /** Values kept per latent to pick quantile examples from (reservoir sampling). */
  reservoir: 64,
  /** Latents (most often active) whose co-activation is counted. */
  coactivationLatents: 32,
  /** Most similar decoder pairs kept. */
  similarPairs: 1000,
  /** Latents in the all-pairs similarity sample. */
  similaritySample: 64,
  /** Bins of the activation histogram over (0, max_act]. */
  histBins: 20,
  /** Top and bottom logit effects kept per latent. */
  logitK: 10,
  /** DBSCAN minPts (and the k of the k-distance graph that picks eps). */
  dbscanMinPts: 5,
} as const;

export type ResolvedOptions = Required<Omit<AnalyzeOptions, 'compare' | 'model' | 'out' | 'backend' | 'stdin' | 'log' | 'umapEpochs' | 'latents' | 'signal'>> &
  Pick<AnalyzeOptions, 'compare' | 'model' | 'backend' | 'stdin' | 'umapEpochs' | 'latents' | 'signal'> & {
    out: string;
    log: NodeJS.WriteStream;
    analyses: AnalysisName[];
  };

const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

export function resolveOptions(o: AnalyzeOptions, defaultOut: string): ResolvedOptions {
  const need = (ok: boolean, msg: string): void => {
    if (!ok) throw new UsageError(msg);
  };
  need(typeof o.run === 'string' && o.run.length > 0, 'give the run directory to analyse: vsae analyze RUN --input DATA');
  need(typeof o.input === 'string' && o.input.length > 0, 'give the activation dataset with --input PATH (or - for stdin)');
  const analyses = o.analyses === undefined || o.analyses.length === 0 ? [...ANALYSES] : ANALYSES.filter((a) => o.analyses!.includes(a));
  for (const a of o.analyses ?? []) need(ANALYSES.includes(a), `unknown analysis "${String(a)}"; one of ${ANALYSES.join(', ')}`);
  const r = {
    run: o.run,
    input: o.input,
    analyses,
    nSamples: o.nSamples ?? ANALYZE_DEFAULTS.nSamples,
    sample: o.sample ?? 'first',
    skipBadRows: o.skipBadRows ?? false,
    latents: o.latents,
    compare: o.compare,
    model: o.model,
    out: o.out ?? defaultOut,
    maxMemoryMb: o.maxMemoryMb ?? ANALYZE_DEFAULTS.maxMemoryMb,
    topK: o.topK ?? ANALYZE_DEFAULTS.topK,
    quantiles: o.quantiles ?? ANALYZE_DEFAULTS.quantiles,
    perQuantile: o.perQuantile ?? ANALYZE_DEFAULTS.perQuantile,
    contextWindow: o.contextWindow ?? ANALYZE_DEFAULTS.contextWindow,
    umapLatents: o.umapLatents ?? ANALYZE_DEFAULTS.umapLatents,
    muRows: o.muRows ?? ANALYZE_DEFAULTS.muRows,
    umapEpochs: o.umapEpochs,
    ceWindows: o.ceWindows ?? ANALYZE_DEFAULTS.ceWindows,
    seed: o.seed ?? ANALYZE_DEFAULTS.seed,
    backend: o.backend,
    quiet: o.quiet ?? false,
    stdin: o.stdin,
    log: o.log ?? process.stderr,
    signal: o.signal,
  };
  need(isInt(r.nSamples, 0), `--n-samples must be a whole number ≥ 0 (0 = every row), got ${r.nSamples}`);
  need(typeof r.maxMemoryMb === 'number' && Number.isFinite(r.maxMemoryMb) && r.maxMemoryMb >= 8, `--max-memory must be at least 8 (MiB), got ${r.maxMemoryMb}`);
  need(isInt(r.topK, 1) && r.topK <= 1000, `--top-k must be a whole number from 1 to 1000, got ${r.topK}`);
  need(r.quantiles.every((q) => typeof q === 'number' && q >= 0 && q <= 1), `--quantiles must be numbers in [0, 1], got ${r.quantiles.join(',')}`);
  need(isInt(r.perQuantile, 0) && r.perQuantile <= ANALYZE_DEFAULTS.reservoir, `--per-quantile must be a whole number from 0 to ${ANALYZE_DEFAULTS.reservoir}, got ${r.perQuantile}`);
  need(isInt(r.contextWindow, 0) && r.contextWindow <= 128, `--context-window must be a whole number from 0 to 128, got ${r.contextWindow}`);
  need(isInt(r.umapLatents, 0), `--umap-latents must be a whole number ≥ 0, got ${r.umapLatents}`);
  need(isInt(r.muRows, 0), `--mu-rows must be a whole number ≥ 0, got ${r.muRows}`);
  need(r.umapEpochs === undefined || isInt(r.umapEpochs, 1), `--umap-epochs must be a whole number ≥ 1, got ${r.umapEpochs}`);
  need(isInt(r.ceWindows, 1), `--ce-windows must be a whole number ≥ 1, got ${r.ceWindows}`);
  need(Number.isSafeInteger(r.seed), `--seed must be a whole number, got ${r.seed}`);
  need(SAMPLE_MODES.includes(r.sample), `--sample must be first or random, got ${String(r.sample)}`);
  need(r.latents === undefined || r.latents.every((j) => isInt(j, 0)), `--latents must be latent numbers ≥ 0 (e.g. 3,17,42), got ${r.latents?.join(',')}`);
  // --compare compares dictionaries, which is the dictionary-similarity analysis: asking for
  // other analyses only would silently skip it.
  need(r.compare === undefined || analyses.includes('dictionary-similarity'), '--compare needs the dictionary-similarity analysis: add --dictionary-similarity (or give no analysis flag, for all five)');
  return r;
}

/** How the memory budget is spent: every figure in rows or values, derived from maxMemoryMb. */
export interface MemoryPlan {
  budgetBytes: number;
  /** Rows encoded at once. */
  batchRows: number;
  /** Rows whose per-row reconstruction values are kept (reconstruction.arrow, the MSE median). */
  rowTableCap: number;
  /** Decoder rows per block of the cosine matrix (and of W_dec · W_U). */
  blockRows: number;
  /** Rows whose μ is kept for the latent-space embedding. */
  muRows: number;
}

/**
 * Splits the budget: ~45% for the batch being encoded (x, x̂, f/μ, σ², host copies), ~20% for
 * the cosine/logit blocks, ~15% for per-row tables, ~10% for μ samples, the rest for per-latent
 * accumulators. The weights and the runtime itself (Node, tfjs: ~200 MB) are not part of it.
 */
export function planMemory(o: { maxMemoryMb: number; muRows: number }, dIn: number, dSae: number, perLatentBytes: number): MemoryPlan {
  const budgetBytes = Math.floor(o.maxMemoryMb * 2 ** 20);
  const rowBytes = 4 * (4 * dSae + 6 * dIn);
  const batchRows = clamp(Math.floor((0.45 * budgetBytes - perLatentBytes) / rowBytes), 16, 8192);
  const rowTableCap = Math.max(1024, Math.floor((0.15 * budgetBytes) / 24));
  const blockRows = clamp(Math.floor((0.2 * budgetBytes) / (3 * 4 * Math.max(dSae, 1))), 1, 4096);
  const muRows = Math.min(o.muRows, Math.floor((0.1 * budgetBytes) / (4 * dSae)));
  return { budgetBytes, batchRows, rowTableCap, blockRows, muRows };
}

const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));
