import * as fs from 'node:fs';
import { InputError, SWEEP_FILES } from '@vsae/data';
import { formatRunTable } from './run-table.js';
import { RunsStore, type StoreSnapshot } from './runs-store.js';

export interface DashboardOptions {
  /** Directory holding run directories (default `runs`). */
  runsDir?: string;
  /** Poll interval in ms (default 500). */
  intervalMs?: number;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
}

function checkRunsDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new InputError(dir, 'no such directory; pass the directory that holds your runs (vsae dash RUNS_DIR), or train one with vsae train -o RUNS_DIR/NAME');
  }
  if (!st.isDirectory()) throw new InputError(dir, 'is not a directory; pass the directory that holds your run directories');
}

/**
 * The run list as a plain table (no colour, no escape sequences, file text sanitized),
 * read once. What `vsae dash` prints when stdout is not a terminal.
 */
export function runTable(runsDir: string): string {
  return formatTable(readOnce(runsDir));
}

function readOnce(runsDir: string): StoreSnapshot {
  checkRunsDir(runsDir);
  const store = new RunsStore(runsDir);
  store.refresh();
  const snap = store.snapshot();
  if (snap.message) throw new InputError(runsDir, `cannot list runs: ${snap.message}`);
  return snap;
}

/** The run list, then a sweep's frontier table. */
function formatTable(snap: StoreSnapshot): string {
  const frontier = snap.frontier ? `\nfrontier (${SWEEP_FILES.frontier}):\n${snap.frontier.join('\n')}\n` : '';
  return formatRunTable(snap.runs) + frontier;
}

/**
 * `vsae dash`: the interactive dashboard when stdout and stdin are terminals, otherwise the
 * run list printed once as a plain table. Resolves with the exit code when the user quits.
 */
export async function runDashboard(opts: DashboardOptions = {}): Promise<number> {
  const runsDir = opts.runsDir ?? 'runs';
  const stdout = opts.stdout ?? process.stdout;
  const stdin = opts.stdin ?? process.stdin;
  const stderr = opts.stderr ?? process.stderr;
  checkRunsDir(runsDir);
  if (!stdout.isTTY || !stdin.isTTY) {
    const snap = readOnce(runsDir);
    stdout.write(formatTable(snap));
    if (snap.runs.length === 0) stderr.write(`vsae dash: no runs in ${runsDir} yet (a run is a directory with cfg.json)\n`);
    if (stdout.isTTY && !stdin.isTTY) stderr.write('vsae dash: stdin is not a terminal, so the run list was printed once; run vsae dash from a terminal for the dashboard\n');
    return 0;
  }
  const store = new RunsStore(runsDir, opts.intervalMs === undefined ? {} : { intervalMs: opts.intervalMs });
  store.refresh();
  // Ink (and its layout engine) load only for the interactive dashboard: the plain table starts fast.
  const { runInkApp } = await import('./_ink-app.js');
  await runInkApp(store, { stdout, stdin, stderr });
  return 0;
}
