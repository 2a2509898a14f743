import { formatDuration, formatNumber, UsageError } from '@vsae/data';
import type { CommandSpec } from '../args.js';
import { BACKEND_OPTION, getters } from '../args.js';

// Defaults live in @vsae/analyze (ANALYZE_DEFAULTS); they are repeated here only for the help.
const FLAGS = {
  'feature-sparsity': 'feature sparsity → features.arrow (frequency, density, mean/max, dead, histogram)',
  'reconstruction-quality': 'reconstruction → reconstruction.arrow, reconstruction_dims.arrow (+ CE loss recovered with --model)',
  'dictionary-similarity': 'decoder similarity → similarity*.arrow, ground_truth.arrow (toy), compare.arrow (--compare)',
  'neuron-activations': 'top and quantile examples → top_examples.arrow, coactivation.arrow (+ logits.arrow with --model)',
  'latent-space': 'PCA, UMAP and DBSCAN of decoder directions (and VSAE μ) → embedding.arrow',
} as const;

export const command: CommandSpec = {
  name: 'analyze',
  summary: 'sparsity, reconstruction, dictionary similarity, neurons and latent space of a run',
  usage: 'vsae analyze RUN --input DATA [analysis flags: none = all five] [--compare RUN2] [--model DIR] [--json]',
  positionals: { names: 'RUN (a run directory, or a SAELens directory with cfg.json and sae_weights.safetensors)', min: 1, max: 1 },
  options: {
    input: { type: 'string', short: 'i', help: 'activation dataset: .arrow file, sharded directory, or - for an Arrow stream on stdin', value: 'PATH|-' },
    'n-samples': { type: 'int', help: 'rows analysed: the first N of the dataset (0 = every row)', default: 100_000, min: 0, aliases: ['n_samples'] },
    ...Object.fromEntries(Object.entries(FLAGS).map(([k, help]) => [k, { type: 'boolean' as const, help }])),
    compare: { type: 'string', help: 'another run: MMCS between the two dictionaries, both ways', value: 'RUN2' },
    model: { type: 'string', help: 'model directory (GPT-2 or GELU-1L) for CE loss recovered, logit effects and token text', value: 'DIR' },
    out: { type: 'string', short: 'o', help: 'where the tables go', value: 'DIR', default: 'RUN/analysis' },
    'max-memory': { type: 'number', help: 'memory budget in MiB for the data the analysis holds (batches, blocks, per-row tables)', default: 1024, min: 8, value: 'MB' },
    'top-k': { type: 'int', help: 'top-activating examples per latent', default: 10, min: 1, max: 1000 },
    'context-window': { type: 'int', help: 'tokens of context either side of an example (LM data)', default: 8, min: 0, max: 128 },
    'umap-latents': { type: 'int', help: 'latents (at most, a random sample) in the UMAP embedding', default: 4096, min: 0 },
    'mu-rows': { type: 'int', help: 'rows whose μ is embedded (VSAEs)', default: 1000, min: 0 },
    'umap-epochs': { type: 'int', help: 'UMAP epochs (default: umap-js\'s, 500 below 10000 points)', min: 1 },
    'ce-windows': { type: 'int', help: 'token windows for the cross-entropy metrics (--model)', default: 16, min: 1 },
    seed: { type: 'int', help: 'seed of the samples and of UMAP', default: 42 },
    backend: BACKEND_OPTION,
    json: { type: 'boolean', help: 'print summary.json on stdout' },
    quiet: { type: 'boolean', help: 'no progress on stderr', short: 'q' },
  },
  examples: [
    'vsae analyze runs/sae --input toy.arrow',
    'vsae analyze runs/vsae-iso --input toy.arrow --latent-space --json',
    'vsae analyze runs/gpt2-l0 --input acts/ --model models/gpt2 --n-samples 200000',
    'vsae analyze runs/sae --input toy.arrow --dictionary-similarity --compare runs/vsae-mix',
  ],
  async run(args) {
    const g = getters(args);
    const run = args.positionals[0]!;
    const input = g.str('input');
    if (input === undefined || input === '') throw new UsageError('needs --input PATH: the activation dataset to analyse (the one the run was trained on, or - for stdin)');
    if (input === '-' && process.stdin.isTTY) throw new UsageError('--input - reads an Arrow stream from stdin, which is a terminal here: pipe a dataset in, or give a file');
    const { analyze, ANALYSES } = await import('@vsae/analyze');
    const analyses = ANALYSES.filter((a) => g.bool(a));
    const start = performance.now();
    const res = await analyze({
      run,
      input,
      analyses,
      nSamples: g.num('n-samples'),
      compare: g.str('compare'),
      model: g.str('model'),
      out: g.given('out') ? g.str('out') : undefined,
      maxMemoryMb: g.num('max-memory'),
      topK: g.num('top-k'),
      contextWindow: g.num('context-window'),
      umapLatents: g.num('umap-latents'),
      muRows: g.num('mu-rows'),
      umapEpochs: g.num('umap-epochs'),
      ceWindows: g.num('ce-windows'),
      seed: g.num('seed'),
      backend: g.str('backend'),
      quiet: g.bool('quiet'),
    });
    const seconds = (performance.now() - start) / 1000;
    if (g.bool('json')) {
      process.stdout.write(JSON.stringify(res.summary, null, 2) + '\n');
    } else if (!g.bool('quiet')) {
      const s = res.summary;
      const parts = [
        s.l0 !== undefined ? `L0 ${formatNumber(s.l0)}` : '',
        s.percent_dead_neurons !== undefined ? `dead ${formatNumber(s.percent_dead_neurons)}%` : '',
        s.explained_variance !== undefined ? `explained variance ${formatNumber(s.explained_variance)}` : '',
        s.mmcs !== undefined ? `MMCS ${formatNumber(s.mmcs)}` : '',
        s.ce_loss_recovered !== undefined ? `CE loss recovered ${formatNumber(s.ce_loss_recovered)}` : '',
        s.n_clusters !== undefined ? `${s.n_clusters} cluster${s.n_clusters === 1 ? '' : 's'}` : '',
      ].filter(Boolean);
      const n = analyses.length || ANALYSES.length;
      process.stderr.write(`vsae analyze: ${n} analys${n === 1 ? 'is' : 'es'} of ${s.n_rows} row${s.n_rows === 1 ? '' : 's'} → ${res.out} (${res.files.length} files); ${parts.join(', ')}; ${formatDuration(seconds)}\n`);
    }
    return 0;
  },
};
