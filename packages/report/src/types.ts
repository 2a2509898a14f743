/**
 * Types of @vsae/report: the options of the public functions and the JSON document a report
 * embeds (`ReportData`), which the client script in `client/` draws. Arrays are columnar
 * (one array per field) to keep the embedded JSON small; floats are rounded to a few
 * significant digits and non-finite values become null.
 */

/** How much of each table a report embeds (big tables are binned or sampled first). */
export interface ReportLimits {
  /** Rows of metrics.arrows kept per run (evenly spaced, always with the last row). */
  curvePoints: number;
  /** Bins of the feature-density histogram. */
  densityBins: number;
  /** Bins of the reconstruction MSE and cosine histograms. */
  reconBins: number;
  /** Most similar decoder pairs listed. */
  topPairs: number;
  /** Points of the latent-space scatter per kind (decoder, mu). */
  scatterPoints: number;
  /** Latents of the density/activation scatter (the density histogram always counts all). */
  densityScatterPoints: number;
  /** Latents whose top examples (and logit effects) are embedded. */
  exampleLatents: number;
  /** Examples per latent and kind (top, quantile). */
  examplesPerKind: number;
  /** Tokens kept on each side of an example's token. */
  contextRadius: number;
  /** Rows of ground_truth.arrow kept. */
  groundTruthRows: number;
  /** Significant digits of embedded floats. */
  digits: number;
}

export interface RenderReportOptions {
  /** Run directories (CONTRACTS.md §2). */
  runs: string[];
  /** Sweep directories (CONTRACTS.md §4): their frontier, and each of their runs. */
  sweeps?: string[];
  /** Page title; default from the run names. */
  title?: string;
  limits?: Partial<ReportLimits>;
}

export interface WriteReportOptions extends RenderReportOptions {
  /** The HTML file to write (atomically). */
  out: string;
}

export interface WriteReportResult {
  out: string;
  bytes: number;
}

/** A histogram: `edges.length === counts.length + 1`. */
export interface Histogram {
  edges: number[];
  counts: number[];
  /** Values outside the binned range or not finite, not counted in `counts`. */
  skipped: number;
}

/** What a report says about a file it wanted: absent, unreadable, or only partly there. */
export interface FileNote {
  file: string;
  state: 'missing' | 'unreadable' | 'partial';
  /** One sentence for people. */
  message: string;
  /** The command that makes the file, when there is one. */
  command?: string;
}

export interface RunStatusInfo {
  status: string;
  step: number | null;
  steps: number | null;
  updated: string | null;
}

export type Num = number | null;

export interface MetricsData {
  /** Complete rows in the file. */
  rows: number;
  step: number[];
  /** Column name → values at `step` (loss, recon, l1 or kl, coeff, lr, l0, dead_frac, …). */
  series: Record<string, Num[]>;
}

export interface FeaturesData {
  /** Latents in features.arrow. */
  n: number;
  latent: number[];
  log10: Num[];
  freq: Num[];
  meanAct: Num[];
  maxAct: Num[];
  /** 1 when dead. */
  dead: number[];
  encDec: Num[];
  meanVar: Num[] | null;
  /** Per latent, the 20 counts over (0, max_act]; null for a latent that never fired. */
  hist: Array<number[] | null>;
  /** log10 density of the latents that fired (dead ones are counted apart). */
  density: Histogram;
  deadCount: number;
  denseCount: number;
  /** A latent is dense when its frequency is at least this. */
  denseThreshold: number;
  /** Positions (into the arrays above) drawn in the density/activation scatter. */
  scatter: number[];
}

export interface Stats {
  n: number;
  mean: Num;
  std: Num;
  median: Num;
  min: Num;
  max: Num;
}

export interface ReconstructionData {
  rows: number;
  /** Histogram of log10(MSE); rows with MSE 0 are counted in `mseZero`. */
  logMse: Histogram;
  mseZero: number;
  cosine: Histogram;
  mse: Stats;
  cos: Stats;
  /** Per input dimension MSE (reconstruction_dims.arrow), when present. */
  dims: { dim: number[]; mse: Num[] } | null;
}

export interface SimilarityData {
  /** Most similar decoder pairs (similarity.arrow), best first. */
  pairs: { a: number[]; b: number[]; cos: Num[] } | null;
  pairCount: number;
  /** Cosines of all the pairs in similarity.arrow. */
  pairHist: Histogram | null;
  /** The 64-latent sample (similarity_sample.arrow): latents and the row-major cosine matrix. */
  sample: { latents: number[]; cos: Num[] } | null;
}

export interface GroundTruthData {
  rows: number;
  feature: number[];
  best: number[];
  cos: Num[];
  norm: Num[];
  represented: number[];
  /** ‖W_i‖ from which a feature counts as represented (REPRESENTED_NORM of @vsae/data). */
  representedNorm: number;
  /** Mean best cosine over all features, and over the represented ones (null if none). */
  mmcs: Num;
  mmcsRepresented: Num;
}

export interface CoactivationData {
  latents: number[];
  /** Row-major Jaccard matrix over `latents`. */
  jaccard: Num[];
  count: number[];
}

export interface Example {
  kind: 'top' | 'quantile';
  rank: number;
  quantile: Num;
  row: number;
  act: Num;
  token: number | null;
  /** Indices into ExamplesData.strings, the decoded context tokens. */
  ctx: number[] | null;
  acts: Num[] | null;
  /** Index of the example's own token in ctx. */
  at: number | null;
}

export interface ExamplesData {
  /** Latents that have examples in top_examples.arrow. */
  latentCount: number;
  /** Latents embedded here (a selection when there are more than the limit). */
  latents: number[];
  byLatent: Record<string, Example[]>;
  /** String table for tokens (contexts and logit effects). */
  strings: string[];
}

export interface LogitsData {
  /** latent → top and bottom effects as [string index, value]. */
  byLatent: Record<string, { top: Array<[number, Num]>; bottom: Array<[number, Num]> }>;
}

export interface EmbeddingKind {
  kind: string;
  /** Rows of this kind in embedding.arrow. */
  total: number;
  id: number[];
  pcaX: Num[];
  pcaY: Num[];
  umapX: Num[];
  umapY: Num[];
  cluster: number[];
}

export interface RunReport {
  /** Short name (the directory's name). */
  name: string;
  path: string;
  arch: string | null;
  dIn: number | null;
  dSae: number | null;
  status: RunStatusInfo | null;
  /** Flattened training options for display, as [key, value text]. */
  config: Array<[string, string]>;
  summary: Record<string, number | string | boolean | null> | null;
  notes: FileNote[];
  metrics: MetricsData | null;
  features: FeaturesData | null;
  reconstruction: ReconstructionData | null;
  similarity: SimilarityData | null;
  groundTruth: GroundTruthData | null;
  coactivation: CoactivationData | null;
  examples: ExamplesData | null;
  logits: LogitsData | null;
  embedding: EmbeddingKind[] | null;
}

/** One point of a frontier: a run of a sweep. */
export interface FrontierPoint {
  run: string;
  arch: string;
  /** Its setting for labels (`k=3`), the arch when nothing was swept. */
  label: string;
  setting: Record<string, number | null>;
  /** Figures (frontier.arrow's columns: l0, explained_variance, frac_alive, mmcs, …). */
  values: Record<string, number | null>;
  /** Index into ReportData.runs of its run directory; null when the directory is gone. */
  runIndex: number | null;
}

export interface SweepReport {
  /** The sweep directory's name. */
  name: string;
  path: string;
  /** Setting columns. */
  swept: string[];
  /** Figure columns present. */
  metrics: string[];
  points: FrontierPoint[];
}

export interface ReportData {
  format: 'vsae-report';
  version: 1;
  title: string;
  created: string;
  generator: string;
  runs: RunReport[];
  /** Sweeps whose frontiers the page draws (empty for a report of runs). */
  sweeps: SweepReport[];
}
