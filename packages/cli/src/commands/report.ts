import * as path from 'node:path';
import { isSweepDir, UsageError } from '@vsae/data';
import type { CommandSpec } from '../args.js';
import { getters } from '../args.js';

export const command: CommandSpec = {
  name: 'report',
  summary: 'write a self-contained HTML report of one or more runs, or of sweeps (their frontier and each run)',
  usage: 'vsae report RUN|SWEEP [RUN|SWEEP…] [-o report.html] [--title TEXT] [--json]',
  options: {
    out: { type: 'string', short: 'o', value: 'FILE', help: 'HTML file to write (default DIR/report.html for one run or sweep; required for several)' },
    title: { type: 'string', value: 'TEXT', help: 'page title (default: the run names)' },
    'example-latents': { type: 'int', min: 0, value: 'N', help: 'latents whose top examples are embedded', default: 256 },
    json: { type: 'boolean', help: 'print {"out", "bytes"} as JSON instead of a line of text' },
    quiet: { type: 'boolean', short: 'q', help: 'no line on stderr when the report is written' },
  },
  positionals: { names: 'RUN|SWEEP [RUN|SWEEP…] (a sweep is a directory vsae sweep wrote, with frontier.arrow)', min: 1, max: 64 },
  examples: ['vsae report runs/sae', 'vsae report runs/sae runs/vsae-iso runs/vsae-mix -o compare.html', 'vsae report sweeps/k                       # the frontier, and each run', 'vsae report sweeps/topk sweeps/vsae-topk -o cmp.html   # frontiers overlaid'],
  async run(args) {
    const g = getters(args);
    const dirs = args.positionals;
    let out = g.str('out');
    if (out === undefined) {
      if (dirs.length > 1) throw new UsageError(`a report of ${dirs.length} directories needs -o FILE (for one run or sweep it defaults to DIR/report.html)`);
      out = path.join(dirs[0]!, 'report.html');
    }
    // Loaded here so that other commands never pay for it (and this one never loads tfjs).
    const { writeReport, checkRunDir } = await import('@vsae/report');
    const sweeps = dirs.filter(isSweepDir);
    const runs = dirs.filter((d) => !isSweepDir(d));
    for (const r of runs) checkRunDir(r);
    const title = g.str('title');
    const res = await writeReport({ runs, sweeps, out, ...(title !== undefined ? { title } : {}), limits: { exampleLatents: g.num('example-latents') ?? 256 } });
    const what = [sweeps.length ? `${sweeps.length} sweep${sweeps.length === 1 ? '' : 's'}` : '', runs.length ? `${runs.length} run${runs.length === 1 ? '' : 's'}` : ''].filter(Boolean).join(', ');
    if (g.bool('json')) process.stdout.write(`${JSON.stringify(res)}\n`);
    else if (!g.bool('quiet')) process.stderr.write(`vsae report: wrote ${res.out} (${(res.bytes / 1e6).toFixed(2)} MB, ${what})\n`);
    return 0;
  },
};
