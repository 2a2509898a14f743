/**
 * Checks a command's -o before any work is done (a toy model trained, a transformer run), so a
 * path that cannot be written fails at once, in one line that names it. One rule for every
 * command: an output that already exists is a usage mistake (exit 2) — nothing is overwritten;
 * a place that cannot be written is exit 1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, VsaeError } from '@vsae/data';

export interface OutputCheck {
  /** A file is written there, or a directory (a sharded dataset, a run, several datasets). */
  kind: 'file' | 'dir';
  /** Said after "is a directory; give a file name" for a file output, e.g. ", or add --shard-rows N". */
  dirHint?: string;
  /** A sharded dataset directory: one that already holds a dataset is refused unless resuming. */
  dataset?: boolean;
  resume?: boolean;
}

const statOf = (p: string): fs.Stats | undefined => {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
};

export function checkOutput(out: string, o: OutputCheck): void {
  if (out === '-') return;
  const st = statOf(out);
  if (st && o.kind === 'file') {
    if (st.isDirectory()) throw new UsageError(`${out} is a directory; give a file name${o.dirHint ?? ''}`);
    throw new UsageError(`${out} already exists; delete it or choose another -o (nothing is overwritten)`);
  }
  if (st && !st.isDirectory()) throw new UsageError(`${out} is a file, but -o here names a directory; delete the file or choose another -o`);
  if (st && o.dataset && !o.resume && fs.existsSync(path.join(out, '_dataset.json'))) {
    throw new UsageError(`${out} already holds a dataset; delete it, write to another directory, or pass --resume to continue it`);
  }
  checkWritable(out, o.kind === 'file' ? path.dirname(out) : out);
}

/** Why files cannot be created in `dir`, or nothing (a probe file is created and removed). */
function checkWritable(out: string, dir: string): void {
  let at = path.resolve(dir);
  while (!statOf(at)) {
    const up = path.dirname(at);
    if (up === at) break;
    at = up;
  }
  const rel = path.relative(process.cwd(), at);
  const shown = rel === '' ? '.' : rel.startsWith('..') ? at : rel;
  if (!statOf(at)?.isDirectory()) throw new VsaeError(`cannot write ${out}: ${shown} is a file, not a directory; choose another path`);
  const probe = path.join(at, `.vsae-probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    fs.closeSync(fs.openSync(probe, 'wx'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EACCES' || code === 'EPERM' ? `permission denied in ${shown}; choose a writable location`
      : code === 'EROFS' ? `${shown} is on a read-only file system; write elsewhere`
      : code === 'ENOSPC' || code === 'EDQUOT' ? `the disk holding ${shown} is full; free some space`
      : `${shown} does not accept new files; write elsewhere`;
    throw new VsaeError(`cannot write ${out}: ${why}`, { cause: e });
  }
  fs.rmSync(probe, { force: true });
}
