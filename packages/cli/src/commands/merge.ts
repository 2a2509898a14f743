import { UsageError } from '@vsae/data';
import type { CommandSpec } from '../args.js';
import { getters } from '../args.js';

export const command: CommandSpec = {
  name: 'merge',
  summary: 'join the parts of a split extraction (vsae extract --part I/N) into one dataset',
  usage: 'vsae merge PART… -o PATH|DIR [--shard-rows N]',
  options: {
    out: { type: 'string', short: 'o', help: 'merged dataset: a .arrow file, or a directory with --shard-rows', value: 'PATH|DIR' },
    'shard-rows': { type: 'int', help: 'write a sharded directory with this many rows per shard', min: 1, value: 'N' },
    json: { type: 'boolean', help: 'print a JSON summary on stdout' },
    quiet: { type: 'boolean', help: 'no message on stderr', short: 'q' },
  },
  positionals: { names: 'PART… (the parts: files or sharded directories, in any order)', min: 1, max: Infinity },
  examples: ['vsae merge acts/part-0 acts/part-1 acts/part-2 -o acts.arrow', 'vsae merge parts/* --shard-rows 65536 -o acts/'],
  async run(args) {
    const g = getters(args);
    const out = g.str('out');
    if (!out) throw new UsageError('needs -o PATH: the merged dataset (a .arrow file, or a directory with --shard-rows)');
    if (out === '-') throw new UsageError('-o - is not supported by merge; write a file or a directory');
    const { mergeParts } = await import('@vsae/data');
    const shardRows = g.num('shard-rows');
    const s = await mergeParts(args.positionals, out, shardRows ? { shardRows } : {});
    if (g.bool('json')) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    else if (!g.bool('quiet')) process.stderr.write(`vsae merge: ${s.parts} parts, ${s.windows} windows, ${s.rows} rows → ${s.out}\n`);
    return 0;
  },
};
