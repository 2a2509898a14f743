/**
 * A lock on an output directory, so that two writers (two `vsae extract`s, two trainings) never
 * write the same place at once. The lock is a file (`.lock`, hidden from dataset readers)
 * created with O_EXCL and holding the owner's pid, host, start time and what it does. A lock
 * left by a process that no longer runs on this host is taken over; one from another host is
 * never guessed at (the message says how to remove it). The lock is released by `release()`
 * and, failing that, when the process exits.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VsaeError } from './errors.js';

export interface DirLock {
  /** The lock file. */
  readonly file: string;
  /** Removes the lock (once; later calls do nothing). */
  release(): void;
}

export interface LockOptions {
  /**
   * Name of the lock file inside `dir` (default `.lock`, locking the directory). `.NAME.lock`
   * locks the one file NAME in `dir`, and messages then name that file.
   */
  name?: string;
}

interface LockInfo {
  pid: number;
  host: string;
  started: string;
  what: string;
}

/** A lock file this young with no content may be one its owner is still writing. */
const EMPTY_GRACE_MS = 10_000;

function readInfo(file: string): LockInfo | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && typeof v.host === 'string') return { pid: v.pid, host: v.host, started: String(v.started ?? '?'), what: String(v.what ?? 'a vsae process') };
  } catch {
    // fall through: an empty or half-written lock
  }
  return 'unreadable';
}

/** Whether a process of this host runs (EPERM: it runs, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the lock's owner is gone for sure (a dead pid on this host, or an old unreadable file). */
function isStale(file: string, info: LockInfo | 'unreadable'): boolean {
  if (info === 'unreadable') {
    try {
      return Date.now() - fs.statSync(file).mtimeMs > EMPTY_GRACE_MS;
    } catch {
      return true;
    }
  }
  return info.host === os.hostname() && info.pid !== process.pid && !processAlive(info.pid);
}

/** Moves a stale lock away, unless another process replaced it in the meantime. */
function takeOver(file: string, seen: string): void {
  const moved = `${file}.stale-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    fs.renameSync(file, moved);
  } catch {
    return; // someone else moved it first; the next O_EXCL attempt decides
  }
  let now = '';
  try {
    now = fs.readFileSync(moved, 'utf8');
  } catch {
    // unreadable: treat as the stale one
  }
  if (now !== seen) {
    // Another process took over and locked between our read and our rename: put its lock back.
    try {
      fs.linkSync(moved, file);
    } catch {
      // EEXIST: a third one holds it now; ours goes
    }
  }
  fs.rmSync(moved, { force: true });
}

function heldBy(subject: string, file: string, info: LockInfo | 'unreadable', what: string): VsaeError {
  if (info === 'unreadable') {
    return new VsaeError(`${subject} is locked (${file} is being written by another process); wait a moment and try again, or delete ${file} if no vsae process is writing there`);
  }
  const where = info.host === os.hostname() ? '' : ` on host ${info.host}`;
  return new VsaeError(
    `${subject} is in use: ${info.what} (pid ${info.pid}${where}, since ${info.started}) is writing there, so ${what} cannot; wait for it to finish or stop it` +
      (where ? `, or delete ${file} if it no longer runs` : ''),
  );
}

/**
 * Takes the lock of `dir` (created if missing) for `what` (e.g. "vsae extract"), or throws a
 * VsaeError naming the process that holds it. A lock of a dead process on this host is taken over.
 */
export function acquireLock(dir: string, what: string, opts: LockOptions = {}): DirLock {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new VsaeError(`cannot create ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOTDIR' || (e as NodeJS.ErrnoException).code === 'EEXIST' ? 'a file of that name (or of a parent) is in the way' : (e as Error).message}`, { cause: e });
  }
  const file = path.join(dir, opts.name ?? '.lock');
  const body = JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString(), what } satisfies LockInfo) + '\n';
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new VsaeError(`cannot lock ${dir} (creating ${file}): ${code === 'EACCES' || code === 'EPERM' ? 'permission denied; choose a writable location' : (e as Error).message}`, { cause: e });
      const info = readInfo(file);
      if (info === 'missing') continue; // released meanwhile
      if (attempt < 3 && isStale(file, info)) {
        let seen = '';
        try {
          seen = fs.readFileSync(file, 'utf8');
        } catch {
          continue;
        }
        takeOver(file, seen);
        continue;
      }
      const one = /^\.(.+)\.lock$/.exec(opts.name ?? '');
      throw heldBy(one ? path.join(dir, one[1]!) : dir, file, info, what);
    }
    try {
      fs.writeSync(fd, body);
    } finally {
      fs.closeSync(fd);
    }
    break;
  }
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    // Only our own lock: never one another process took over after a clock or pid mix-up.
    try {
      if (fs.readFileSync(file, 'utf8') === body) fs.rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
  process.on('exit', release);
  return { file, release };
}
