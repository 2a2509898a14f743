/** acquireLock across real processes: one writer per directory, stale locks taken over, released on exit. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { acquireLock, isVsaeError } from '../src/index.js';
import { tempDir } from './_helpers.js';

const child = fileURLToPath(new URL('./lock-child.mjs', import.meta.url));
const built = fs.existsSync(new URL('../dist/index.js', import.meta.url));
if (!built) console.log('lock.test.ts: the cross-process cases are skipped, build @vsae/data first');

const tmp = tempDir('vsae-lock-');
afterAll(tmp.cleanup);
const holders: ChildProcess[] = [];
afterEach(() => {
  for (const h of holders.splice(0)) if (h.exitCode === null) h.kill('SIGKILL');
});

/** Starts a process holding the lock of `dir`; resolves once it holds it. */
function hold(dir: string): Promise<ChildProcess> {
  const p = spawn(process.execPath, [child, dir, 'hold'], { stdio: ['pipe', 'pipe', 'inherit'] });
  holders.push(p);
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) (out.startsWith('locked') ? resolve(p) : reject(new Error(out)));
    });
    p.once('exit', (code) => reject(new Error(`holder exited ${code}: ${out}`)));
  });
}

const tryLock = (dir: string) => {
  const r = spawnSync(process.execPath, [child, dir, 'try'], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout.trim() };
};

const exited = (p: ChildProcess) => new Promise<void>((resolve) => (p.exitCode !== null || p.signalCode !== null ? resolve() : p.once('exit', () => resolve())));

describe.skipIf(!built)('acquireLock between two processes', () => {
  it('a second writer is refused with one line naming the holder', async () => {
    const dir = path.join(tmp.dir, 'busy');
    const a = await hold(dir);
    const b = tryLock(dir);
    expect(b.status).toBe(3);
    expect(b.out).toMatch(new RegExp(`^VsaeError 1: .*busy is in use: test writer ${a.pid} \\(pid ${a.pid}, since \\d{4}-\\d\\d-\\d\\dT[^)]*\\) is writing there, so test writer \\d+ cannot; wait for it to finish or stop it$`));
    expect(b.out).not.toContain('\n');
    const info = JSON.parse(fs.readFileSync(path.join(dir, '.lock'), 'utf8')) as { pid: number; host: string };
    expect(info).toMatchObject({ pid: a.pid, host: os.hostname() });
    a.stdin!.end();
    await exited(a);
  });

  it('the lock goes when its holder exits without releasing it, and the next writer gets it', async () => {
    const dir = path.join(tmp.dir, 'exit');
    const a = await hold(dir);
    a.stdin!.end();
    await exited(a);
    expect(a.exitCode).toBe(0);
    expect(fs.existsSync(path.join(dir, '.lock'))).toBe(false);
    expect(tryLock(dir)).toEqual({ status: 0, out: 'locked' });
  });

  it('a lock left by a killed process is taken over', async () => {
    const dir = path.join(tmp.dir, 'killed');
    const a = await hold(dir);
    a.kill('SIGKILL');
    await exited(a);
    const stale = JSON.parse(fs.readFileSync(path.join(dir, '.lock'), 'utf8')) as { pid: number };
    expect(stale.pid).toBe(a.pid);
    expect(tryLock(dir)).toEqual({ status: 0, out: 'locked' });
    // and the taker released it on exit: no stale-lock debris left behind
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a lock of another host is not guessed at: the message says how to remove it', () => {
    const dir = path.join(tmp.dir, 'remote');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid: 1, host: 'elsewhere.example', started: '2026-01-01T00:00:00Z', what: 'vsae train' }));
    const b = tryLock(dir);
    expect(b.status).toBe(3);
    expect(b.out).toMatch(/in use: vsae train \(pid 1 on host elsewhere\.example, since 2026-01-01T00:00:00Z\) .*or delete .*remote\/\.lock if it no longer runs$/);
  });
});

describe('acquireLock in one process', () => {
  it('release() frees the directory; a file in the way is one clear error', () => {
    const dir = path.join(tmp.dir, 'self', 'deep');
    const l = acquireLock(dir, 'first');
    expect(fs.existsSync(l.file)).toBe(true);
    let err: unknown;
    try {
      acquireLock(dir, 'second');
    } catch (e) {
      err = e;
    }
    expect(isVsaeError(err) && err.message).toMatch(/deep is in use: first \(pid \d+, since .*\) is writing there, so second cannot/);
    l.release();
    l.release();
    expect(fs.existsSync(l.file)).toBe(false);
    acquireLock(dir, 'third').release();
    const file = path.join(tmp.dir, 'plain-file');
    fs.writeFileSync(file, 'x');
    expect(() => acquireLock(file, 'w')).toThrow(/cannot create .*plain-file: a file of that name \(or of a parent\) is in the way/);
    const named = acquireLock(tmp.dir, 'w', { name: '.acts.arrow.lock' });
    expect(path.basename(named.file)).toBe('.acts.arrow.lock');
    expect(() => acquireLock(tmp.dir, 'w2', { name: '.acts.arrow.lock' })).toThrow(/acts\.arrow is in use: w \(pid/);
    named.release();
  });

  it('an empty lock file is waited for while fresh and taken over once old', () => {
    const dir = path.join(tmp.dir, 'empty');
    fs.mkdirSync(dir);
    const f = path.join(dir, '.lock');
    fs.writeFileSync(f, '');
    expect(() => acquireLock(dir, 'w')).toThrow(/is locked \(.*being written by another process\)/);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(f, old, old);
    acquireLock(dir, 'w').release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
