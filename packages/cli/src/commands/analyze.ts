import { ANALYZE_OPTIONS } from '@vsae/analyze/options';
import { formatDuration, formatNumber, parseSize, UsageError } from '@vsae/data';
import type { CommandSpec } from '../args.js';
import { BACKEND_OPTION, getters, givenOptions } from '../args.js';

export const command: CommandSpec = {
  name: 'analyze',
  summary: 'sparsity, reconstruction, dictionary similarity, neurons and latent space of a run',
  usage: 'vsae analyze RUN --input DATA [analysis flags: none = all five] [--compare RUN2] [--model DIR] [--json]',
  positionals: { names: 'RUN (a run directory, or a SAELens directory with cfg.json and sae_weights.safetensors)', min: 1, max: 1 },
  options: {
    ...ANALYZE_OPTIONS,
    backend: BACKEND_OPTION,
    json: { type: 'boolean', help: 'print summary.json on stdout' },
    quiet: { type: 'boolean', help: 'no progress on stderr', short: 'q' },
  },
  examples: [
    'vsae analyze runs/sae --input toy.arrow',
    'vsae analyze runs/vsae-iso --input toy.arrow --latent-space --json',
    'vsae analyze runs/gpt2-l0 --input acts/ --model models/gpt2 --n-samples 200000',
    'vsae analyze runs/sae --input toy.arrow --dictionary-similarity --compare runs/vsae-mix',
    'vsae analyze runs/sae --input acts/ --n-samples 20000 --sample random --seed 1 --latents 3,17,42',
  ],
  async run(args) {
    const g = getters(args);
    const run = args.positionals[0]!;
    const input = g.str('input');
    if (input === undefined || input === '') throw new UsageError('needs --input PATH: the activation dataset to analyse (the one the run was trained on, or - for stdin)');
    if (input === '-' && process.stdin.isTTY) throw new UsageError('--input - reads an Arrow stream from stdin, which is a terminal here: pipe a dataset in, or give a file');
    const latents = g.list('latents').map((v) => {
      const j = Number(v);
      if (!/^\d+$/.test(v) || !Number.isSafeInteger(j)) throw new UsageError(`--latents takes latent numbers separated by commas (e.g. 3,17,42), not "${v}"`);
      return j;
    });
    const { analyze, ANALYSES, Interrupted } = await import('@vsae/analyze');
    const analyses = ANALYSES.filter((a) => g.bool(a));
    // Ctrl-C (or SIGTERM): stop after the batch in flight and write nothing; a second one exits at once.
    const ctl = new AbortController();
    const onSignal = (): void => {
      if (ctl.signal.aborted) process.exit(130);
      ctl.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const start = performance.now();
    let res;
    try {
      // --max-memory takes a size (512M, 2G; a bare number is MiB), as every command's does.
      const given = givenOptions(ANALYZE_OPTIONS, args, (name, v) => (name === 'max-memory' ? parseSize(name, String(v)) / 2 ** 20 : v));
      res = await analyze({
        ...given,
        run,
        input,
        analyses,
        latents: latents.length ? latents : undefined,
        backend: g.str('backend'),
        quiet: g.bool('quiet'),
        signal: ctl.signal,
      });
    } catch (e) {
      if (!(e instanceof Interrupted)) throw e;
      process.stderr.write(`vsae analyze: interrupted; nothing was written (${g.given('out') ? g.str('out') : `${run}/analysis`} is as it was)\n`);
      return 130;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const seconds = (performance.now() - start) / 1000;
    if (g.bool('json')) {
      process.stdout.write(JSON.stringify(res.summary, null, 2) + '\n');
    } else if (!g.bool('quiet')) {
      // This run's figures only (figures kept from earlier runs are under summary.json's sources).
      const s = res.summary;
      const parts = [
        s.l0 !== undefined ? `L0 ${formatNumber(s.l0)}` : '',
        s.percent_dead_neurons !== undefined ? `dead ${formatNumber(s.percent_dead_neurons)}%` : '',
        s.explained_variance !== undefined ? `explained variance ${formatNumber(s.explained_variance)}` : '',
        s.mmcs !== undefined ? `MMCS ${formatNumber(s.mmcs)}` : '',
        s.ce_loss_score !== undefined ? `CE loss score ${formatNumber(s.ce_loss_score)}` : '',
        s.kl_div_score !== undefined ? `KL score ${formatNumber(s.kl_div_score)}` : '',
        s.n_clusters !== undefined ? `${s.n_clusters} cluster${s.n_clusters === 1 ? '' : 's'}` : '',
      ].filter(Boolean);
      const n = s.analyses.length;
      process.stderr.write(`vsae analyze: ${n} analys${n === 1 ? 'is' : 'es'} of ${s.n_rows} row${s.n_rows === 1 ? '' : 's'} → ${res.out} (${res.files.length} files)${parts.length ? `; ${parts.join(', ')}` : ''}; ${formatDuration(seconds)}\n`);
    }
    return 0;
  },
};
