/**
 * Atomic file writes: data goes to a temporary name in the same directory, is fsynced, then
 * renamed over the target, so a reader (or a crash) sees either the old file or the whole new
 * one, never a half-written file. JSON helpers read with errors that name the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, VsaeError } from './errors.js';

export type FileData = string | Uint8Array | readonly Uint8Array[];

/** A temporary name beside `target`: hidden (dot prefix) and unique to this process and call. */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  const rand = Math.random().toString(36).slice(2, 8);
  return path.join(dir, `.${base}.tmp-${process.pid}-${rand}`);
}

function chunksOf(data: FileData): Uint8Array[] {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8')];
  if (data instanceof Uint8Array) return [data];
  return [...data];
}

/** fsync a directory so a rename inside it survives a power cut; not every platform allows it. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Directories cannot be fsynced on some systems (Windows); the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Why a write failed, in words (the disk full, a file-size limit, a quota, permissions…). */
export function writeFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'its directory does not exist; create it first'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied; choose a writable location'
    : code === 'ENOSPC' ? 'the disk is full; free some space and try again'
    : code === 'EDQUOT' ? 'the disk quota is used up; free some space and try again'
    : code === 'EFBIG' ? 'the file would pass the size limit of this system or process (ulimit -f); raise it or write elsewhere'
    : code === 'EISDIR' ? 'it is a directory; give a file name'
    : code === 'ENOTDIR' ? 'a part of its path is a file, not a directory; choose another path'
    : code === 'EROFS' ? 'the file system is read-only; write elsewhere'
    : code === 'ENAMETOOLONG' ? 'the name is too long'
    : code === 'EMFILE' || code === 'ENFILE' ? 'too many open files; raise the limit (ulimit -n) and try again'
    // Other errors name the temporary file and a raw code: keep only the words.
    : `${(e as Error).message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*$/, '')}`;
}

/** Removes a temporary file after a failed write; a path that cannot hold it (ENOTDIR) holds nothing. */
function removeQuietly(tmp: string): void {
  try {
    fs.rmSync(tmp, { force: true });
  } catch {
    // nothing was created there
  }
}

function writeError(target: string, e: unknown): VsaeError {
  return new VsaeError(`cannot write ${target}: ${writeFailure(e)}`, { cause: e });
}

/** Writes `data` to `target` atomically (temp file in the same dir + fsync + rename), synchronously. */
export function writeFileAtomicSync(target: string, data: FileData): void {
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w');
    for (const chunk of chunksOf(data)) {
      let off = 0;
      while (off < chunk.byteLength) off += fs.writeSync(fd, chunk, off, chunk.byteLength - off);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    removeQuietly(tmp);
    throw writeError(target, e);
  }
  syncDir(path.dirname(target));
}

/** Writes `data` to `target` atomically (temp file in the same dir + fsync + rename). */
export async function writeFileAtomic(target: string, data: FileData): Promise<void> {
  const tmp = tempPathFor(target);
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(tmp, 'w');
    for (const chunk of chunksOf(data)) {
      let off = 0;
      while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fs.promises.rename(tmp, target);
  } catch (e) {
    if (fh !== undefined) await fh.close();
    removeQuietly(tmp);
    throw writeError(target, e);
  }
  syncDir(path.dirname(target));
}

/** Writes `value` as pretty JSON (2-space indent, trailing newline) atomically. */
export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, `${JSON.stringify(value, null, 2)}\n`);
}

export function writeJsonAtomicSync(target: string, value: unknown): void {
  writeFileAtomicSync(target, `${JSON.stringify(value, null, 2)}\n`);
}

/** Reads and parses a JSON file; a missing file or bad JSON is an InputError naming the file. */
export function readJson<T = unknown>(file: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(file, 'no such file; check the path', { cause: e });
    if (code === 'EISDIR') throw new InputError(file, 'is a directory, expected a JSON file', { cause: e });
    throw new InputError(file, `cannot read it (${(e as Error).message})`, { cause: e });
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    // Node's JSON.parse messages quote the text around the error, newlines included: one line.
    const why = (e as Error).message.replace(/\s+/g, ' ').slice(0, 200);
    throw new InputError(file, `is not valid JSON (${why}); fix or regenerate the file`, { cause: e });
  }
}
