import { formatDuration, formatNumber, UsageError } from '@vsae/data';
import type { CommandSpec } from '../args.js';
import { BACKEND_OPTION, getters } from '../args.js';
import { checkOutput } from '../output.js';

// Defaults live in @vsae/toy (TOY_DEFAULTS); they are repeated here only for the help text,
// and a test checks that the two agree.
export const command: CommandSpec = {
  name: 'toy',
  summary: 'train a toy model of superposition and write its activations (with ground truth)',
  usage: 'vsae toy [options] -o PATH|-',
  options: {
    'n-features': { type: 'int', help: 'number of true features', default: 100, min: 1 },
    'n-hidden': { type: 'int', help: 'hidden width: the activations\' d_in', default: 20, min: 1 },
    'n-correlated-pairs': { type: 'int', help: 'pairs of features that are present together (first columns)', default: 0, min: 0 },
    'n-anticorrelated-pairs': { type: 'int', help: 'pairs of features never present together (next columns)', default: 0, min: 0 },
    'corr-rate': { type: 'number', help: 'correlate all features uniformly at this rate, in (−1/(n−1), 1); not with pairs', value: 'R' },
    'feature-probability': { type: 'number', help: 'probability that a feature is present, in (0, 1]', default: 0.05, value: 'P' },
    'toy-steps': { type: 'int', help: 'training steps of the toy model', default: 5000, min: 0 },
    'toy-batch-size': { type: 'int', help: 'batch size of the toy model', default: 1024, min: 1 },
    'toy-lr': { type: 'number', help: 'Adam learning rate of the toy model', default: 1e-3, value: 'X' },
    rows: { type: 'int', help: 'activation rows to write', default: 100_000, min: 1 },
    seed: { type: 'int', help: 'random seed (the same seed and backend give the same dataset)', default: 42 },
    out: { type: 'string', short: 'o', help: 'dataset to write: a .arrow file, or - for an Arrow stream on stdout', value: 'PATH|-' },
    truth: { type: 'string', help: 'ground-truth file (default <stem>.truth.safetensors beside the dataset; required with -o -)', value: 'PATH' },
    'shard-rows': { type: 'int', help: 'write a sharded directory at PATH with this many rows per shard', min: 1, value: 'N' },
    backend: BACKEND_OPTION,
    json: { type: 'boolean', help: 'print a JSON summary on stdout (not with -o -)' },
    quiet: { type: 'boolean', help: 'no progress on stderr', short: 'q' },
  },
  examples: [
    'vsae toy --n-features 100 --n-hidden 20 --n-correlated-pairs 2 --n-anticorrelated-pairs 1 --rows 100000 -o toy.arrow',
    'vsae toy --corr-rate 0.3 -o corr.arrow',
    'vsae toy --rows 5000 -o - --truth toy.truth.safetensors | vsae inspect -',
  ],
  async run(args) {
    const g = getters(args);
    const out = g.str('out');
    if (out === undefined || out === '') throw new UsageError('needs -o PATH: a .arrow file to write, or - for an Arrow stream on stdout');
    if (out === '-') {
      if (process.stdout.isTTY) throw new UsageError('-o - writes binary Arrow data to stdout, which is a terminal here: pipe it (| vsae inspect -), redirect it (> toy.arrow) or use -o FILE');
      if (g.bool('json')) throw new UsageError('--json prints on stdout, which -o - already uses for the dataset; drop one of them');
      if (g.given('shard-rows')) throw new UsageError('--shard-rows writes a directory and cannot be used with -o -');
    }
    // Before the toy model trains: a path that cannot be written fails now, not after training.
    checkOutput(out, g.given('shard-rows') ? { kind: 'dir', dataset: true } : { kind: 'file', dirHint: ', or add --shard-rows N to write a sharded dataset there' });
    const { makeToyDataset } = await import('@vsae/toy');
    const start = performance.now();
    const res = await makeToyDataset({
      out,
      truth: g.str('truth'),
      shardRows: g.num('shard-rows'),
      backend: g.str('backend'),
      quiet: g.bool('quiet'),
      nFeatures: g.num('n-features'),
      nHidden: g.num('n-hidden'),
      nCorrelatedPairs: g.num('n-correlated-pairs'),
      nAnticorrelatedPairs: g.num('n-anticorrelated-pairs'),
      corrRate: g.num('corr-rate'),
      featureProbability: g.num('feature-probability'),
      toySteps: g.num('toy-steps'),
      toyBatchSize: g.num('toy-batch-size'),
      toyLr: g.num('toy-lr'),
      rows: g.num('rows'),
      seed: g.num('seed'),
    });
    const seconds = (performance.now() - start) / 1000;
    const finalLoss = res.model.losses.at(-1)?.loss;
    if (g.bool('json')) {
      const summary = {
        out: res.out,
        truth: res.truth,
        rows: res.rows,
        d_in: res.options.nHidden,
        n_features: res.options.nFeatures,
        backend: res.backend,
        toy_final_loss: finalLoss ?? null,
        seconds,
      };
      process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    } else if (!g.bool('quiet')) {
      process.stderr.write(
        `vsae toy: wrote ${res.rows} rows (act ${res.options.nHidden}, features ${res.options.nFeatures}) to ${out === '-' ? 'stdout' : out}, ` +
          `ground truth ${res.truth}; toy loss ${finalLoss === undefined ? 'n/a' : formatNumber(finalLoss)}, backend ${res.backend}, ${formatDuration(seconds)}\n`,
      );
    }
    return 0;
  },
};
