/**
 * The flags of `vsae analyze`, defined once with their defaults and help: the CLI derives its
 * flags from ANALYZE_OPTIONS, and ANALYZE_DEFAULTS (options.ts) takes its user-facing defaults
 * from them. No tensor engine is loaded here (import it as `@vsae/analyze/options`).
 */
import { ANALYSIS_LIST, ANALYSIS_TABLES, type AnalysisName, type FlagSpec } from '@vsae/data';

/** An analyze flag: @vsae/data's FlagSpec (`key`: the AnalyzeOptions field it sets). */
export type AnalyzeOptionDef = FlagSpec;

/** What each analysis computes, for its flag's help. */
const WHAT: Record<AnalysisName, string> = {
  'feature-sparsity': 'frequency, density, mean/max, dead, histogram',
  'reconstruction-quality': 'MSE, cosine, explained variance; CE loss and KL scores with --model',
  'dictionary-similarity': 'decoder cosines, toy ground truth, --compare',
  'neuron-activations': 'top and quantile examples, co-activation; logit effects with --model',
  'latent-space': 'PCA, UMAP and DBSCAN of decoder directions and VSAE μ',
};

/** One boolean flag per analysis (none given = all five). */
export const ANALYSIS_FLAGS: Record<string, AnalyzeOptionDef> = Object.fromEntries(
  ANALYSIS_LIST.map((a) => [a.name, { type: 'boolean', help: `${a.title} (${WHAT[a.name]}) → ${a.tables.map((t) => ANALYSIS_TABLES[t]).join(', ')}` }]),
);

export const ANALYZE_OPTIONS = {
  input: { type: 'string', key: 'input', short: 'i', help: 'activation dataset: .arrow file, sharded directory, or - for an Arrow stream on stdin', value: 'PATH|-' },
  'n-samples': { type: 'int', key: 'nSamples', help: 'rows analysed: N of the dataset (0 = every row)', default: 100_000, min: 0, aliases: ['n_samples'] },
  sample: { type: 'string', key: 'sample', help: 'which N rows: the first N, or a uniform random sample drawn with --seed', choices: ['first', 'random'], default: 'first' },
  latents: { type: 'list', key: 'latents', help: 'latents the per-latent tables (features, top_examples, logits) hold (default all)', value: 'J,K,…' },
  'skip-bad-rows': { type: 'boolean', key: 'skipBadRows', help: 'leave rows holding NaN/Inf out (counted in the summary) instead of stopping' },
  ...ANALYSIS_FLAGS,
  compare: { type: 'string', key: 'compare', help: 'another run: MMCS between the two dictionaries, both ways (part of --dictionary-similarity)', value: 'RUN2' },
  model: { type: 'string', key: 'model', help: 'model directory (GPT-2 or GELU-1L) for the CE loss and KL scores, logit effects and token text', value: 'DIR' },
  out: { type: 'string', key: 'out', short: 'o', help: 'where the tables go', value: 'DIR', default: 'RUN/analysis' },
  'max-memory': { type: 'string', key: 'maxMemoryMb', help: 'memory budget for the data the analysis holds (batches, blocks, per-row tables), e.g. 512M or 2G; a bare number is MiB (at least 8)', default: '1024', value: 'SIZE' },
  'top-k': { type: 'int', key: 'topK', help: 'top-activating examples per latent', default: 10, min: 1, max: 1000 },
  'context-window': { type: 'int', key: 'contextWindow', help: 'tokens of context either side of an example (LM data)', default: 8, min: 0, max: 128 },
  'umap-latents': { type: 'int', key: 'umapLatents', help: 'latents (at most, a random sample) in the UMAP embedding', default: 4096, min: 0 },
  'mu-rows': { type: 'int', key: 'muRows', help: 'rows whose μ is embedded (VSAEs)', default: 1000, min: 0 },
  'umap-epochs': { type: 'int', key: 'umapEpochs', help: 'UMAP epochs (default: umap-js\'s, 500 below 10000 points)', min: 1 },
  'ce-windows': { type: 'int', key: 'ceWindows', help: 'token windows for the cross-entropy metrics (--model)', default: 16, min: 1 },
  seed: { type: 'int', key: 'seed', help: 'seed of the row sample (--sample random), the latent samples and UMAP', default: 42 },
} as const satisfies Record<string, AnalyzeOptionDef>;
