/**
 * Running the microtools as child processes of this bin, a few at a time: what `vsae demo` and
 * `vsae sweep` share (the runner, the pool, the one-line status, a run's progress).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJson, readMetrics, VsaeError } from '@vsae/data';

const binPath = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'vsae.js');

export interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `vsae <args>` as a child process; stderr is kept (and shown on failure). `ownGroup`: the
 * child gets its own process group, so a Ctrl-C in the terminal reaches it only once, through
 * `signal` (a training stopped by a second SIGINT exits without its checkpoint).
 */
export function vsae(args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal, o: { ownGroup?: boolean } = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], signal, killSignal: 'SIGINT', detached: o.ownGroup === true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // An aborted child got SIGINT (a training checkpoints on it); wait for it to exit.
    child.on('error', (e) => (e.name === 'AbortError' ? undefined : reject(e)));
    child.on('close', (code) => resolve({ code: signal.aborted ? 130 : (code ?? 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** Throws a one-line VsaeError with the child's last lines unless it exited 0. */
export function check(what: string, r: ChildResult): void {
  if (r.code === 0) return;
  const last = r.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
  throw new VsaeError(`${what} failed (exit ${r.code}): ${last || 'no message'}`);
}

/** Runs tasks with at most `jobs` at a time, in order of start; the first failure stops new starts. */
export async function pool<T>(items: readonly T[], jobs: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.min(jobs, items.length) }, async () => {
    while (next < items.length && !failed) {
      try {
        await fn(items[next++]!);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  });
  const results = await Promise.allSettled(workers);
  const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (bad) throw bad.reason;
}

/** Processes at a time: `jobs` if given, else 2 on a machine with two or more cores. */
export const defaultJobs = (jobs: number | undefined): number => Math.max(1, jobs ?? Math.min(2, os.availableParallelism()));

/** The children's environment: quiet, one BLAS thread each when they run side by side, the backend asked for. */
export function childEnv(jobs: number, backend: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, VSAE_QUIET: '1', ...(jobs > 1 && !process.env.OPENBLAS_NUM_THREADS ? { OPENBLAS_NUM_THREADS: '1' } : {}) };
  if (backend) env.VSAE_BACKEND = backend;
  return env;
}

/** A one-line status on stderr: redrawn on a TTY; otherwise a line when it changed, at most every 10 s. */
export function statusLine(quiet: boolean) {
  const tty = Boolean(process.stderr.isTTY) && !quiet;
  let last = '';
  let lastAt = -Infinity;
  return {
    set(line: string) {
      if (quiet || line === last || (!tty && performance.now() - lastAt < 10_000)) return;
      last = line;
      lastAt = performance.now();
      process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    },
    done(line: string) {
      if (quiet) return;
      process.stderr.write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
      last = '';
    },
  };
}

/** Progress of a training run: its status file, and the last step logged in metrics.arrows. */
export function runProgress(dir: string, steps: number): string {
  try {
    const s = readJson(path.join(dir, '_run.json')) as { status?: string };
    if (s.status === 'complete') return 'done';
    const rows = readMetrics(path.join(dir, 'metrics.arrows')).rows;
    const last = rows[rows.length - 1];
    return `${last ? Number(last.step) : 0}/${steps}`;
  } catch {
    return 'waiting';
  }
}

/** Stops children on SIGINT/SIGTERM: the signal aborts, and `release` removes the handlers. */
export function abortOnSignals(): { signal: AbortSignal; interrupted: () => boolean; release: () => void } {
  const controller = new AbortController();
  let interrupted = false;
  const stop = (): void => {
    interrupted = true;
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    interrupted: () => interrupted,
    release: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
