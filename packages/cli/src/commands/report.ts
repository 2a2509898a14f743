import * as path from 'node:path';
import { UsageError } from '@vsae/data';
import type { CommandSpec } from '../args.js';
import { getters } from '../args.js';

export const command: CommandSpec = {
  name: 'report',
  summary: 'write a self-contained HTML report of one or more runs',
  usage: 'vsae report RUN [RUN…] [-o report.html] [--title TEXT] [--json]',
  options: {
    out: { type: 'string', short: 'o', value: 'FILE', help: 'HTML file to write (default RUN/report.html for one run; required for several)' },
    title: { type: 'string', value: 'TEXT', help: 'page title (default: the run names)' },
    'example-latents': { type: 'int', min: 0, value: 'N', help: 'latents whose top examples are embedded', default: 256 },
    json: { type: 'boolean', help: 'print {"out", "bytes"} as JSON instead of a line of text' },
    quiet: { type: 'boolean', short: 'q', help: 'no line on stderr when the report is written' },
  },
  positionals: { names: 'RUN [RUN…]', min: 1, max: 64 },
  examples: ['vsae report runs/sae', 'vsae report runs/sae runs/vsae-iso runs/vsae-mix -o compare.html'],
  async run(args) {
    const g = getters(args);
    const runs = args.positionals;
    let out = g.str('out');
    if (out === undefined) {
      if (runs.length > 1) throw new UsageError(`a report of ${runs.length} runs needs -o FILE (for one run it defaults to RUN/report.html)`);
      out = path.join(runs[0]!, 'report.html');
    }
    // Loaded here so that other commands never pay for it (and this one never loads tfjs).
    const { writeReport, checkRunDir } = await import('@vsae/report');
    for (const r of runs) checkRunDir(r);
    const title = g.str('title');
    const res = await writeReport({ runs, out, ...(title !== undefined ? { title } : {}), limits: { exampleLatents: g.num('example-latents') ?? 256 } });
    if (g.bool('json')) process.stdout.write(`${JSON.stringify(res)}\n`);
    else if (!g.bool('quiet')) process.stderr.write(`vsae report: wrote ${res.out} (${(res.bytes / 1e6).toFixed(2)} MB, ${runs.length} run${runs.length === 1 ? '' : 's'})\n`);
    return 0;
  },
};
