import type { CommandSpec } from '../args.js';
import { getters } from '../args.js';

export const command: CommandSpec = {
  name: 'dash',
  summary: 'terminal dashboard: browse runs, watch training live, explore features',
  usage: 'vsae dash [RUNS_DIR] [--interval MS]',
  options: {
    interval: { type: 'int', help: 'how often to re-read the runs, in milliseconds', default: 500, min: 50, max: 60_000, value: 'MS' },
  },
  positionals: { names: 'RUNS_DIR', min: 0, max: 1 },
  examples: [
    'vsae dash                 # the runs under ./runs',
    'vsae dash runs/           # browse, sort and filter runs; enter opens charts, f the features',
    'vsae dash runs/ | cat     # not a terminal: print the run list as a plain table',
  ],
  async run(args) {
    const g = getters(args);
    const interactive = process.stdout.isTTY === true && process.stdin.isTTY === true;
    // Ink stops drawing frames when it believes it runs in CI (it checks CI at import time); in
    // a real terminal the dashboard is interactive whatever CI says.
    if (interactive) {
      delete process.env.CI;
      delete process.env.CONTINUOUS_INTEGRATION;
    }
    const { runDashboard } = await import('@vsae/tui');
    return runDashboard({ runsDir: args.positionals[0] ?? 'runs', intervalMs: g.num('interval') });
  },
};
