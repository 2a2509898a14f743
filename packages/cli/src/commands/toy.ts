import { formatDuration, formatNumber, UsageError } from '@vsae/data';
import { TOY_OPTIONS } from '@vsae/toy/options';
import type { CommandSpec } from '../args.js';
import { BACKEND_OPTION, getters, givenOptions } from '../args.js';
import { checkOutput } from '../output.js';

export const command: CommandSpec = {
  name: 'toy',
  summary: 'train a toy model of superposition and write its activations (with ground truth)',
  usage: 'vsae toy [options] -o PATH|-',
  options: {
    ...TOY_OPTIONS,
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
      ...givenOptions(TOY_OPTIONS, args),
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
