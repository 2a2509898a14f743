/**
 * Options, results and the summary of `analyze()` (the `vsae analyze` flags, camelCased).
 * The files written are those of packages/data/CONTRACTS.md §3.
 */

import { ANALYSIS_NAMES, type AnalysisName } from '@vsae/data';

export type { AnalysisName };
/** The five analyses, in the order they run and are reported (ANALYSIS_LIST of @vsae/data has their tables). */
export const ANALYSES: readonly AnalysisName[] = ANALYSIS_NAMES;

export interface AnalyzeOptions {
  /** Run directory (vsae run or SAELens directory with cfg.json + sae_weights.safetensors). */
  run: string;
  /** Activation dataset: .arrow file, sharded directory, or '-' for an Arrow stream on stdin. */
  input: string;
  /** Analyses to run (default: all five). */
  analyses?: readonly AnalysisName[] | undefined;
  /** Rows analysed: N of the dataset (default 100000; 0 = every row). */
  nSamples?: number | undefined;
  /** Which N rows: the first N (default), or a uniform random sample of N drawn with `seed`. */
  sample?: 'first' | 'random' | undefined;
  /** Leave rows holding NaN/Inf out (counted in parameters.skipped_rows) instead of stopping at the first. */
  skipBadRows?: boolean | undefined;
  /** Latents the per-latent tables (features, top_examples, logits) hold; default all. */
  latents?: readonly number[] | undefined;
  /** Second run whose dictionary is compared with this one (MMCS both ways). */
  compare?: string | undefined;
  /** Model directory for the language-model metrics (CE loss recovered, logit effects, token text). */
  model?: string | undefined;
  /** Where the tables go (default RUN/analysis). */
  out?: string | undefined;
  /** Memory budget in MiB for the data the analysis holds (default 1024). */
  maxMemoryMb?: number | undefined;
  /** Top-activating examples kept per latent (default 10). */
  topK?: number | undefined;
  /** Quantiles of a latent's active values to take examples from (default 0.9, 0.5, 0.1). */
  quantiles?: readonly number[] | undefined;
  /** Examples per quantile (default 2). */
  perQuantile?: number | undefined;
  /** Tokens of context either side of an example (default 8). */
  contextWindow?: number | undefined;
  /** Latents (at most) embedded with UMAP (default 4096). */
  umapLatents?: number | undefined;
  /** Rows whose μ is embedded for a VSAE (default 1000). */
  muRows?: number | undefined;
  /** UMAP epochs (default: umap-js's choice, 500 below 10000 points). */
  umapEpochs?: number | undefined;
  /** Token windows for the cross-entropy metrics with --model (default 16). */
  ceWindows?: number | undefined;
  /** Seed of every random choice (samples, UMAP). Default 42. */
  seed?: number | undefined;
  /** Tensor backend (default VSAE_BACKEND or auto). */
  backend?: string | undefined;
  quiet?: boolean | undefined;
  /** Stream to read for input '-' (default process.stdin). */
  stdin?: NodeJS.ReadableStream | undefined;
  /** Where progress and warnings go (default process.stderr). */
  log?: NodeJS.WriteStream | undefined;
  /** Stops the analysis (between batches) when aborted: it then throws Interrupted and writes nothing. */
  signal?: AbortSignal | undefined;
}

/**
 * summary.json (CONTRACTS.md §3). The top-level figures are this run's only; keys that do not
 * apply, or whose analysis did not run this time, are absent. Figures of earlier runs of the
 * other analyses are kept under `sources`.
 */
export interface AnalysisSummary {
  run: string;
  arch: string;
  d_in: number;
  d_sae: number;
  n_rows: number;
  percent_dead_neurons?: number;
  /** Share of latents that fired on at least one analysed row (1 − percent_dead_neurons / 100). */
  frac_alive?: number;
  median_activation_frequency?: number;
  mse_mean?: number;
  mse_std?: number;
  mse_median?: number;
  cosine_sim_mean?: number;
  cosine_sim_std?: number;
  explained_variance?: number;
  l0?: number;
  l2_ratio?: number;
  mean_cosine_sim?: number;
  max_cosine_sim?: number;
  mean_diagonal_alignment?: number;
  mean_coactivation?: number;
  n_clusters?: number;
  mmcs?: number;
  mmcs_represented?: number;
  mmcs_a_to_b?: number;
  mmcs_b_to_a?: number;
  ce_loss_orig?: number;
  ce_loss_sae?: number;
  ce_loss_zero?: number;
  ce_loss_recovered?: number;
  /** SAEBench's name for ce_loss_recovered (the same number). */
  ce_loss_score?: number;
  kl_div_with_sae?: number;
  kl_div_with_ablation?: number;
  /** (KL_zero − KL_sae) / KL_zero over the next-token distributions (SAEBench). */
  kl_div_score?: number;
  /** The analyses run this time. */
  analyses: AnalysisName[];
  /** Figures kept from earlier runs of analyses not run this time, each with the run it came from. */
  sources?: Record<string, SummarySource>;
  created: string;
  /** How the numbers were made: rows, batch size, samples, UMAP/DBSCAN settings, what was skipped and why. */
  parameters: Record<string, unknown>;
}

/** A figure of an earlier analysis run. */
export interface SummarySource {
  analysis: AnalysisName;
  n_rows: number;
  value: number;
}

/** The numeric figures of a summary. */
export type SummaryKey = {
  [K in keyof AnalysisSummary]-?: AnalysisSummary[K] extends number | undefined ? (K extends 'd_in' | 'd_sae' | 'n_rows' ? never : K) : never;
}[keyof AnalysisSummary];

export interface AnalyzeResult {
  summary: AnalysisSummary;
  /** Directory the tables were written to. */
  out: string;
  /** Files written (full paths). */
  files: string[];
  /** One-line notes about what was skipped or approximated (also printed on stderr). */
  warnings: string[];
}
