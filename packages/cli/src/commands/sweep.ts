import path from 'node:path';
import { formatFrontierTable, parseSize, UsageError } from '@vsae/data';
import { ARCHITECTURES, TRAIN_OPTIONS, type OptionDef } from '@vsae/sae/options';
import type { CommandSpec, OptionSpec, ParsedArgs } from '../args.js';
import { BACKEND_OPTION, coerce, getters } from '../args.js';

/** Train flags a sweep sets itself (or that make no sense for several runs). */
const NOT_PASSED = new Set(['out', 'resume']);

/**
 * `vsae train`'s flags as the sweep takes them: every value flag is read as text here and
 * checked by sweepValues, so a numeric flag can hold a comma list and any other flag can say
 * that it cannot.
 */
const SWEEP_TRAIN_FLAGS: Record<string, OptionSpec> = Object.fromEntries(
  Object.entries(TRAIN_OPTIONS as Record<string, OptionDef>)
    .filter(([name]) => !NOT_PASSED.has(name))
    .map(([name, d]) => {
      const { key: _k, archOption: _a, watchOnly: _w, sweepable, choices, min: _min, max: _max, ...spec } = d;
      if (d.type === 'boolean') return [name, spec as OptionSpec];
      const list = sweepable || name === 'arch';
      const value = `${d.value ?? (choices ? choices.join('|') : d.type === 'int' ? 'N' : d.type === 'number' ? 'X' : 'VALUE')}${list ? '[,…]' : ''}`;
      const help = name === 'input' ? 'activation dataset every run trains on: an .arrow file or a sharded directory' : `${d.help}${list ? '; a comma list sweeps' : ''}`;
      return [name, { ...spec, type: 'string', value: name === 'input' ? 'PATH' : value, help } as OptionSpec];
    }),
);

/** The values of one given flag: a comma list where a sweep allows one, each checked as train checks it. */
export function sweepValues(name: string, raw: string): Array<string | number | boolean> {
  const d = (TRAIN_OPTIONS as Record<string, OptionDef>)[name]!;
  const spec = { ...d, type: d.type } as OptionSpec;
  if (d.type === 'boolean') return [raw];
  const list = d.sweepable === true || name === 'arch';
  const parts = list ? raw.split(',').map((s) => s.trim()) : [raw];
  if (list && parts.some((p) => p === '')) throw new UsageError(`--${name} has an empty value in "${raw}": give values separated by commas, such as --${name} ${name === 'arch' ? 'topk,vsae-topk' : '2,5,10'}`);
  if (!list && raw.includes(',') && (d.type !== 'string' || d.choices)) {
    throw new UsageError(`--${name} takes one value (got "${raw}"): lists are for --arch and the numeric flags ${Object.entries(TRAIN_OPTIONS as Record<string, OptionDef>).filter(([, x]) => x.sweepable).map(([f]) => `--${f}`).join(', ')}`);
  }
  return parts.map((p) => (name === 'max-memory' ? parseSize(name, p) : coerce(name, spec, p)));
}

/** The train flags given, with their values. */
function givenFlags(args: ParsedArgs): Record<string, Array<string | number | boolean>> {
  const out: Record<string, Array<string | number | boolean>> = {};
  for (const name of Object.keys(SWEEP_TRAIN_FLAGS)) {
    if (!args.given.has(name) || name === 'arch') continue;
    const v = args.values[name];
    out[name] = typeof v === 'boolean' ? [v] : sweepValues(name, String(v));
  }
  return out;
}

export const command: CommandSpec = {
  name: 'sweep',
  summary: 'train and analyse a grid of settings per architecture, and write their frontier (L0 against explained variance, MMCS, CE score)',
  usage: `vsae sweep --arch A[,B…] --input PATH -o DIR [train flags; a numeric flag may take a comma list] [--model DIR] [--json]`,
  options: {
    ...SWEEP_TRAIN_FLAGS,
    out: { type: 'string', short: 'o', help: 'sweep directory: a run directory per setting, sweep.json and frontier.arrow (a rerun skips finished runs)', value: 'DIR' },
    model: { type: 'string', help: 'model directory (GPT-2 or GELU-1L) for the CE-loss and KL scores of each run', value: 'DIR' },
    'n-samples': { type: 'int', help: 'rows analysed per run (vsae analyze --n-samples)', min: 0, value: 'N' },
    'all-analyses': { type: 'boolean', help: 'run all five analyses per run (for a full report), not only sparsity, reconstruction and similarity' },
    jobs: { type: 'int', help: 'runs at a time (default 2 on a machine with two or more cores)', min: 1, value: 'N' },
    backend: BACKEND_OPTION,
    json: { type: 'boolean', help: 'print the frontier rows as JSON instead of a table' },
    quiet: { type: 'boolean', short: 'q', help: 'no progress on stderr' },
  },
  implied: Object.fromEntries(ARCHITECTURES.flatMap((a) => a.impliedFlags.map((f) => [f, { sets: 'arch', to: a.name }]))),
  examples: [
    'vsae sweep --arch topk --k 3,6 --d-sae 160 --steps 1000 --batch-size 1024 --input toy.arrow -o sweeps/topk',
    'vsae sweep --arch topk,vsae-topk --k 2,5,10 --d-sae 160 --input toy.arrow -o sweeps/k',
    'vsae sweep --arch sae --l1-coeff 0.1,0.3,1 --input acts/ --model models/gpt2 -o sweeps/l1',
    'vsae report sweeps/k                       # the frontier, and each run',
  ],
  async run(args) {
    const g = getters(args);
    const out = g.str('out');
    if (out === undefined || out === '') throw new UsageError('needs -o DIR: the sweep directory to write');
    const archs = sweepValues('arch', g.str('arch')!).map(String);
    const flags = givenFlags(args);
    const { runSweep } = await import('../sweep.js');
    // runSweep checks every run before the first one starts.
    const r = await runSweep({ out, archs, flags, model: g.str('model'), nSamples: g.num('n-samples'), allAnalyses: g.bool('all-analyses'), jobs: g.num('jobs'), backend: g.str('backend'), quiet: g.bool('quiet') });
    if (r.status === 'interrupted') {
      process.stderr.write(`vsae sweep: interrupted; the runs in progress saved checkpoints: run the same command again to resume\n`);
      return 130;
    }
    if (g.bool('json')) {
      process.stdout.write(JSON.stringify({ out: r.out, frontier: r.frontier, swept: r.swept, rows: r.rows.map((x) => ({ run: x.run, arch: x.arch, ...x.setting, ...x.values })), done: r.done, seconds: r.seconds }, null, 2) + '\n');
      return 0;
    }
    const rel = (p: string) => path.relative(process.cwd(), p) || '.';
    process.stdout.write(`${formatFrontierTable(r)}\n`);
    if (!g.bool('quiet')) process.stderr.write(`vsae sweep: ${r.rows.length} runs (${Object.values(r.done).filter((d) => d === 'skipped').length} already done) in ${r.seconds.toFixed(0)} s; frontier in ${rel(r.frontier!)}; next: vsae report ${rel(r.out)}\n`);
    return 0;
  },
};
