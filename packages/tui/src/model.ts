/**
 * What the dashboard shows, decoupled from the files it came from. Every string here has
 * already been through `sanitizeText` (see loaders); paths (`dir`) are for reading only and
 * are never printed as-is.
 */

/** Metrics of a run, column by column (every numeric column of metrics.arrows, in file order). */
export interface MetricsSeries {
  names: string[];
  values: Record<string, number[]>;
  length: number;
}

/** Numbers of `analysis/summary.json` (string fields other than the run path are dropped). */
export type SummaryNumbers = Readonly<Record<string, number>>;

export interface RunEntry {
  /** Run directory on disk. */
  dir: string;
  /** Display name: the directory's base name, sanitized. */
  name: string;
  /** `cfg.json.vsae.arch` (`sae`, `vsae-iso`, …) or `?` when unknown. */
  arch: string;
  dIn: number | undefined;
  dSae: number | undefined;
  hook: string | undefined;
  /** `_run.json` status, or `unknown` when the file is missing or unreadable. */
  status: string;
  /** Steps done (from `_run.json`, else the last logged step) and planned. */
  step: number | undefined;
  steps: number | undefined;
  updated: string | undefined;
  /** Last logged row of metrics.arrows. */
  last: Readonly<Record<string, number>> | undefined;
  /** Number of complete metric rows read so far. */
  logged: number;
  summary: SummaryNumbers | undefined;
  /** Why something of the run could not be read (sanitized), shown instead of crashing. */
  problems: string[];
}

/** One latent of `analysis/features.arrow`. */
export interface FeatureInfo {
  latent: number;
  frequency: number;
  log10Density: number;
  meanAct: number;
  maxAct: number;
  dead: boolean;
  encDecCos: number;
  histCounts: number[];
  meanVar: number | undefined;
}

/** One example of `analysis/top_examples.arrow`. */
export interface TopExample {
  latent: number;
  kind: string;
  rank: number;
  quantile: number | undefined;
  row: number;
  activation: number;
  /** Decoded tokens around the row (sanitized) with this latent's activation on each. */
  tokens: string[] | undefined;
  acts: number[] | undefined;
  /** Index in `tokens` of the row's own token. */
  index: number | undefined;
  token: number | undefined;
}

/**
 * Examples by latent. A Map satisfies it; `loadTopExamples` decodes a latent's rows only when
 * they are first asked for, so a GPT-2-sized table (hundreds of thousands of examples with their
 * context tokens) opens at once. `problemFor` says why a latent's rows could not be read.
 */
export interface ExamplesByLatent {
  get(latent: number): TopExample[] | undefined;
  problemFor?(latent: number): string | undefined;
}

export interface FeatureTable {
  /** Rows by latent number. */
  byLatent: Map<number, FeatureInfo>;
  /** Latents present, ascending. */
  latents: number[];
}
