import { formatDuration, formatNumber, parseSize, UsageError } from '@vsae/data';
import type { CommandSpec } from '../args.js';
import { BACKEND_OPTION, getters } from '../args.js';
import { checkOutput } from '../output.js';

// Defaults live in @vsae/sae (TRAIN_DEFAULTS, DEFAULT_COEFF); they are repeated here only for the
// help text (loading @vsae/sae loads TensorFlow.js), and a test checks that the two agree.
const ARCHS = ['sae', 'vsae-iso', 'vsae-mix', 'vsae-multi'] as const;

export const command: CommandSpec = {
  name: 'train',
  summary: 'train an SAE or a VSAE (iso, mix, multi) on an activation dataset into a run directory',
  usage: 'vsae train --arch sae|vsae-iso|vsae-mix|vsae-multi --input PATH|- -o DIR [options]',
  options: {
    arch: { type: 'string', help: 'architecture', choices: ARCHS, default: 'sae' },
    input: { type: 'string', short: 'i', help: 'activation dataset: an .arrow file, a sharded directory, or - for an Arrow stream on stdin', value: 'PATH|-' },
    out: { type: 'string', short: 'o', help: 'run directory to create (or to continue with --resume)', value: 'DIR' },
    'dict-mult': { type: 'int', help: 'dictionary size as a multiple of d_in', default: 8, min: 1 },
    'd-sae': { type: 'int', help: 'dictionary size (overrides --dict-mult)', min: 1, value: 'N' },
    'l1-coeff': { type: 'number', help: 'L1 coefficient of the SAE (default 0.2 per-row-mean; with --reduction sum 0.2 / batch size)', min: 0, value: 'X' },
    'kl-coeff': { type: 'number', help: 'KL coefficient of the VSAEs (default 0.05 per-row-mean; with --reduction sum 0.05 / batch size except Mix)', min: 0, value: 'X' },
    reduction: { type: 'string', help: 'loss reductions: per-row means, or sum to reproduce the original', choices: ['mean', 'sum'], default: 'mean' },
    'var-flag': { type: 'int', help: 'VSAEs: 1 learns the variance (W_enc_var, b_enc_var), 0 fixes σ² = 1', default: 0, min: 0, max: 1 },
    'var-activation': { type: 'string', help: 'learned log σ²: linear (clamped to [−6, 2]) or relu (the original)', choices: ['linear', 'relu'], default: 'linear' },
    'n-correlated-pairs': { type: 'int', help: 'VSAE-Mix: correlated pairs in the prior (default: the dataset\'s, else 0)', min: 0, value: 'N' },
    'n-anticorrelated-pairs': { type: 'int', help: 'VSAE-Mix: anti-correlated pairs in the prior (default: the dataset\'s, else 0)', min: 0, value: 'N' },
    'corr-rate': { type: 'number', help: 'VSAE-Multi: uniform prior correlation in (−1/(d_sae−1), 1) (default: the dataset\'s, else 0)', value: 'R' },
    'corr-matrix': { type: 'string', help: 'VSAE-Multi: prior covariance from a safetensors file (key corr, d_sae ≤ 4096)', value: 'PATH' },
    'multi-kl': { type: 'string', help: 'VSAE-Multi KL: per-row closed forms, or the original\'s batch-moments', choices: ['per-row', 'batch-moments'], default: 'per-row' },
    steps: { type: 'int', help: 'training steps', default: 10_000, min: 1 },
    'batch-size': { type: 'int', help: 'rows per step', default: 4096, min: 1 },
    lr: { type: 'number', help: 'Adam learning rate', default: 1e-3, value: 'X' },
    'lr-decay': { type: 'string', help: 'learning-rate schedule', choices: ['constant', 'linear', 'cosine', 'cosine-quarter'], default: 'constant' },
    'lr-warmup-steps': { type: 'int', help: 'linear learning-rate warm-up', default: 0, min: 0 },
    'coeff-warmup-steps': { type: 'int', help: 'linear warm-up of the L1/KL coefficient', default: 0, min: 0 },
    'normalize-activations': { type: 'string', help: 'scale inputs to mean norm √d_in (factor folded into the saved weights, as SAELens)', choices: ['none', 'expected-average'], default: 'none' },
    'resample-every': { type: 'int', help: 'resample dead latents every N steps (0 = never)', default: 3000, min: 0 },
    'dead-window': { type: 'int', help: 'a latent is dead after N steps without firing', default: 400, min: 1 },
    seed: { type: 'int', help: 'random seed (the same seed and backend give the same weights)', default: 42 },
    'log-every': { type: 'int', help: 'log metrics every N steps (default 100, fewer for short runs)', min: 1, value: 'N' },
    'checkpoint-every': { type: 'int', help: 'write checkpoints/latest every N steps (0 = at the end and on interrupt only)', default: 1000, min: 0 },
    resume: { type: 'boolean', help: 'continue the run in -o DIR from its checkpoint (same options; give --input again)' },
    tensorboard: { type: 'boolean', help: 'also write TensorBoard event files into the run directory', aliases: ['use_tensorboard'] },
    'skip-bad-rows': { type: 'boolean', help: 'drop rows holding NaN/Inf (counted in the metrics) instead of stopping' },
    'buffer-rows': { type: 'int', help: 'rows in the shuffling buffer (default 16 batches, at most 64 MiB)', min: 1, value: 'N' },
    'max-memory': { type: 'string', help: 'memory budget for the data held, e.g. 512M or 2G (a bare number is MiB; the buffer takes at most a quarter)', value: 'SIZE' },
    backend: BACKEND_OPTION,
    json: { type: 'boolean', help: 'print a JSON summary on stdout' },
    quiet: { type: 'boolean', help: 'no progress on stderr', short: 'q' },
  },
  implied: {
    vanilla_sae: { sets: 'arch', to: 'sae' },
    vsae_iso: { sets: 'arch', to: 'vsae-iso' },
    vsae_mix: { sets: 'arch', to: 'vsae-mix' },
    vsae_multi: { sets: 'arch', to: 'vsae-multi' },
  },
  examples: [
    'vsae train --arch sae --input toy.arrow -o runs/sae --steps 3000',
    'vsae train --arch vsae-mix --var-flag 1 --input toy.arrow -o runs/mix --lr 1e-3',
    'vsae toy -o - --truth toy.truth.safetensors | vsae train --arch vsae-iso --input - -o runs/iso',
    'vsae train --resume --input toy.arrow -o runs/sae',
    'vsae train --vsae_iso --dict_mult 8 --l1_coeff 0 --kl_coeff 1e-5 --reduction sum --input acts.arrow -o runs/orig',
  ],
  async run(args) {
    const g = getters(args);
    const input = g.str('input');
    const out = g.str('out');
    if (input === undefined || input === '') throw new UsageError('needs --input PATH: the activation dataset (.arrow file, sharded directory, or - for stdin)');
    if (out === undefined || out === '') throw new UsageError('needs -o DIR: the run directory to write');
    if (input === '-' && process.stdin.isTTY) throw new UsageError('--input - reads an Arrow stream from stdin, which is a terminal here: pipe one in (vsae toy -o - … | vsae train --input - …) or give a file');
    checkOutput(out, { kind: 'dir' });
    const resume = g.bool('resume');
    if (resume) {
      // The checkpoint holds the run's options; only these may be given again.
      const allowed = new Set(['input', 'out', 'resume', 'backend', 'json', 'quiet', 'log-every', 'checkpoint-every', 'tensorboard', 'max-memory', 'help']);
      const extra = [...args.given].filter((n) => !allowed.has(n));
      if (extra.length > 0) {
        throw new UsageError(`--resume continues the run with the options it was started with; drop ${extra.map((n) => `--${n}`).join(', ')} (or start a new run in another directory)`);
      }
    }
    const arch = g.str('arch') as (typeof ARCHS)[number];
    const given = (n: string) => (g.given(n) ? g.num(n) : undefined);
    const opts = resume
      ? {
          input,
          out,
          resume: true,
          backend: g.str('backend'),
          quiet: g.bool('quiet'),
          logEvery: given('log-every'),
          checkpointEvery: given('checkpoint-every'),
          tensorboard: g.given('tensorboard') ? g.bool('tensorboard') : undefined,
          maxMemory: g.given('max-memory') ? parseSize('max-memory', g.str('max-memory')!) : undefined,
        }
      : {
          input,
          out,
          arch,
          dictMult: g.num('dict-mult'),
          dSae: g.num('d-sae'),
          l1Coeff: g.num('l1-coeff'),
          klCoeff: g.num('kl-coeff'),
          reduction: g.str('reduction') as 'mean' | 'sum',
          varFlag: g.num('var-flag') as 0 | 1,
          varActivation: g.str('var-activation') as 'linear' | 'relu',
          nCorrelatedPairs: g.num('n-correlated-pairs'),
          nAnticorrelatedPairs: g.num('n-anticorrelated-pairs'),
          corrRate: g.num('corr-rate'),
          corrMatrix: g.str('corr-matrix'),
          multiKl: g.str('multi-kl') as 'per-row' | 'batch-moments',
          steps: g.num('steps'),
          batchSize: g.num('batch-size'),
          lr: g.num('lr'),
          lrDecay: g.str('lr-decay') as 'constant' | 'linear' | 'cosine' | 'cosine-quarter',
          lrWarmupSteps: g.num('lr-warmup-steps'),
          coeffWarmupSteps: g.num('coeff-warmup-steps'),
          normalizeActivations: g.str('normalize-activations') as 'none' | 'expected-average',
          resampleEvery: g.num('resample-every'),
          deadWindow: g.num('dead-window'),
          seed: g.num('seed'),
          logEvery: g.num('log-every'),
          checkpointEvery: g.num('checkpoint-every'),
          tensorboard: g.bool('tensorboard'),
          skipBadRows: g.bool('skip-bad-rows'),
          bufferRows: g.num('buffer-rows'),
          maxMemory: g.given('max-memory') ? parseSize('max-memory', g.str('max-memory')!) : undefined,
          backend: g.str('backend'),
          quiet: g.bool('quiet'),
        };
    if (!resume && !g.bool('quiet')) {
      // The original project's commands often pass both coefficients; the unused one is ignored.
      if (arch === 'sae' && g.given('kl-coeff')) process.stderr.write('vsae train: note: --kl-coeff is ignored by the vanilla SAE (it takes --l1-coeff)\n');
      if (arch !== 'sae' && g.given('l1-coeff')) process.stderr.write(`vsae train: note: --l1-coeff is ignored by ${arch} (it takes --kl-coeff)\n`);
    }
    const { train } = await import('@vsae/sae');
    const r = await train(opts);
    const last = r.last;
    const summary = {
      run: r.runDir,
      status: r.status,
      step: r.step,
      steps: r.steps,
      backend: r.backend,
      seconds: r.elapsedS,
      loss: last?.loss ?? null,
      recon: last?.recon ?? null,
      sparsity: last?.sparsity ?? null,
      l0: last?.l0 ?? null,
      dead_frac: last?.dead_frac ?? null,
      explained_variance: last?.explained_variance ?? null,
      message: r.message ?? null,
    };
    if (g.bool('json')) {
      process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    } else if (!g.bool('quiet') || r.status !== 'complete') {
      const m = last
        ? `loss ${formatNumber(last.loss)}, L0 ${formatNumber(last.l0)}, dead ${(100 * last.dead_frac).toFixed(1)}%, explained variance ${formatNumber(last.explained_variance)}`
        : 'no step logged';
      const head = r.status === 'complete' ? `trained ${r.step} steps` : r.message!;
      process.stderr.write(`vsae train: ${head} (${formatDuration(r.elapsedS)}, ${r.backend}): ${m}; run in ${r.runDir}\n`);
    }
    // Interrupted (SIGINT/SIGTERM): checkpoint written; 130 as a shell reports a SIGINT stop.
    return r.status === 'interrupted' ? 130 : 0;
  },
};
