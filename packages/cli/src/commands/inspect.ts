import { formatInspection, inspectDataset, Progress, UsageError } from '@vsae/data';
import type { CommandSpec } from '../args.js';
import { getters } from '../args.js';

export const command: CommandSpec = {
  name: 'inspect',
  summary: 'schema, metadata and column statistics of a dataset',
  usage: 'vsae inspect PATH|- [--json] [--allow-incomplete]',
  positionals: { names: 'a dataset (an .arrow file, a sharded directory, or - for stdin)', min: 1, max: 1 },
  options: {
    json: { type: 'boolean', help: 'print a JSON object instead of text' },
    'allow-incomplete': { type: 'boolean', help: 'read a sharded directory that is still being written (complete shards only)' },
    quiet: { type: 'boolean', short: 'q', help: 'no progress on stderr' },
  },
  examples: ['vsae inspect toy.arrow', 'vsae toy --rows 2000 -o - --truth toy.truth.safetensors | vsae inspect -', 'vsae inspect acts/ --json'],
  async run(args) {
    const g = getters(args);
    const file = args.positionals[0]!;
    if (file === '-' && process.stdin.isTTY) throw new UsageError('- reads an Arrow stream from stdin, which is a terminal here: pipe one in (vsae toy -o - --truth toy.truth.safetensors | vsae inspect -) or give a file');
    const progress = new Progress({ unit: 'rows', label: 'inspect', quiet: g.bool('quiet') });
    const info = await inspectDataset(file, { allowIncomplete: g.bool('allow-incomplete'), onBatch: (n) => progress.update(n) });
    if (g.bool('json')) {
      process.stdout.write(JSON.stringify(info, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n');
    } else {
      process.stdout.write(formatInspection(info) + '\n');
    }
    return 0;
  },
};
