import { formatNumber, UsageError } from '@vsae/data';
import type { CommandSpec } from '../args.js';
import { BACKEND_OPTION, getters } from '../args.js';

export const command: CommandSpec = {
  name: 'encode',
  summary: 'the sparse codes of a trained run for an activation dataset (indices + values per row)',
  usage: 'vsae encode RUN --input PATH|- -o FILE|- [options]',
  positionals: { names: 'a run directory (or a SAELens SAE directory)', min: 1, max: 1 },
  options: {
    input: { type: 'string', short: 'i', help: 'activation dataset: an .arrow file, a sharded directory, or - for an Arrow stream on stdin', value: 'PATH|-' },
    out: { type: 'string', short: 'o', help: 'Arrow file to write, or - for an Arrow stream on stdout', value: 'FILE|-' },
    'batch-size': { type: 'int', help: 'rows encoded at a time', default: 4096, min: 1 },
    'n-rows': { type: 'int', help: 'encode only the first N rows', min: 1, value: 'N' },
    backend: BACKEND_OPTION,
    json: { type: 'boolean', help: 'print a JSON summary on stdout (not with -o -)' },
    quiet: { type: 'boolean', short: 'q', help: 'no progress on stderr' },
  },
  examples: [
    'vsae encode runs/topk --input toy.arrow -o codes.arrow',
    'vsae encode runs/sae --input acts/ -o - | python3 -c "import pyarrow.ipc as i, sys; print(i.open_stream(sys.stdin.buffer).read_all())"',
  ],
  async run(args) {
    const g = getters(args);
    const input = g.str('input');
    const out = g.str('out');
    if (!input) throw new UsageError('needs --input PATH: the activations to encode');
    if (!out) throw new UsageError('needs -o FILE (or - for stdout)');
    if (out === '-' && g.bool('json')) throw new UsageError('--json prints on stdout, which -o - uses for the codes; write to a file or drop --json');
    const { encodeDataset } = await import('@vsae/sae');
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    try {
      const r = await encodeDataset({ run: args.positionals[0]!, input, out, batchSize: g.num('batch-size'), maxRows: g.num('n-rows'), backend: g.str('backend'), quiet: g.bool('quiet'), signal: controller.signal });
      if (r.status === 'interrupted') {
        process.stderr.write(`vsae encode: interrupted after ${r.rows} rows; nothing written to ${out}\n`);
        return 130;
      }
      if (g.bool('json')) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      else if (!g.bool('quiet')) process.stderr.write(`vsae encode: ${r.rows} rows, ${formatNumber(r.l0)} latents firing per row, into ${out === '-' ? 'stdout' : out}\n`);
      return 0;
    } finally {
      process.off('SIGINT', stop);
    }
  },
};
