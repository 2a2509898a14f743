/**
 * -o for toy, extract and train, end to end through the real bin: what exists is never
 * overwritten (exit 2, before any work), a place that cannot be written fails at once (exit 1)
 * in words naming the user's path, and two extractions never write the same output at once.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, binRunner, expectOneLineError } from './bin.js';

const ROOT = path.resolve(path.dirname(bin), '../../..');
const TINY = path.join(ROOT, 'packages/transformer/test/fixtures/gpt2-tiny');
const TEXT = path.join(ROOT, 'datasets/sotu-1790-1809.txt');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-cli-output-'));
const vsae = binRunner(tmp, { env: { VSAE_BACKEND: 'wasm' } });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const EXTRACT = ['extract', '--model', TINY, '--hook', 'blocks.0.mlp.hook_post', '--context', '16', '--max-tokens', '64'];
const file = (name: string, text = 'keep me'): string => {
  fs.writeFileSync(path.join(tmp, name), text);
  return name;
};

describe('an existing output is a usage mistake (exit 2) in every command, and stays as it was', () => {
  it('vsae toy: a file, a directory without --shard-rows, a directory holding a dataset', () => {
    file('old.arrow');
    const t0 = performance.now();
    expectOneLineError(vsae(['toy', '-o', 'old.arrow']), 2, 'toy', /^vsae toy: old\.arrow already exists; delete it or choose another -o \(nothing is overwritten\)$/);
    // checked before the toy model trains (5000 steps by default)
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(fs.readFileSync(path.join(tmp, 'old.arrow'), 'utf8')).toBe('keep me');
    fs.mkdirSync(path.join(tmp, 'adir'));
    expectOneLineError(vsae(['toy', '-o', 'adir']), 2, 'toy', /^vsae toy: adir is a directory; give a file name, or add --shard-rows N to write a sharded dataset there$/);
    expect(vsae(['toy', '--toy-steps', '5', '--rows', '100', '--shard-rows', '50', '-o', 'shards', '-q']).status).toBe(0);
    const t1 = performance.now();
    expectOneLineError(vsae(['toy', '--shard-rows', '50', '-o', 'shards']), 2, 'toy', /^vsae toy: shards already holds a dataset; delete it, write to another directory, or pass --resume to continue it$/);
    expect(performance.now() - t1).toBeLessThan(5000);
  });

  it('vsae extract: a file, several hooks into a file name, one hook\'s file inside the directory', () => {
    file('ex.arrow');
    expectOneLineError(vsae([...EXTRACT, '--text', TEXT, '-o', 'ex.arrow']), 2, 'extract', /^vsae extract: ex\.arrow already exists; delete it or choose another -o/);
    expect(fs.readFileSync(path.join(tmp, 'ex.arrow'), 'utf8')).toBe('keep me');
    const two = ['extract', '--model', TINY, '--hook', 'blocks.0.mlp.hook_post,blocks.0.hook_resid_pre', '--context', '16', '--max-tokens', '64', '--text', TEXT];
    expectOneLineError(vsae([...two, '-o', 'two.arrow']), 2, 'extract', /several hooks write one dataset each: give -o a directory, not two\.arrow/);
    expect(fs.existsSync(path.join(tmp, 'two.arrow'))).toBe(false);
    fs.mkdirSync(path.join(tmp, 'hooks'));
    file('hooks/blocks.0.hook_resid_pre.arrow');
    expectOneLineError(vsae([...two, '-o', 'hooks']), 2, 'extract', /hooks\/blocks\.0\.hook_resid_pre\.arrow already exists/);
    expect(fs.readdirSync(path.join(tmp, 'hooks'))).toEqual(['blocks.0.hook_resid_pre.arrow']);
  });

  it('vsae train: -o naming a file (it was an internal error with a stack)', () => {
    file('run-file');
    expectOneLineError(vsae(['train', '--input', 'whatever.arrow', '-o', 'run-file']), 2, 'train', /^vsae train: run-file is a file, but -o here names a directory; delete the file or choose another -o$/);
  });
});

describe('a place that cannot be written fails first, in words, naming the path given (exit 1)', () => {
  it('vsae toy under a file, and where no file can be created, before the toy model trains', () => {
    file('plain');
    expectOneLineError(vsae(['toy', '-o', 'plain/t.arrow']), 1, 'toy', /^vsae toy: cannot write plain\/t\.arrow: plain is a file, not a directory; choose another path$/);
    // /proc takes no new files, even for root (a read-only folder would not stop root).
    const t0 = performance.now();
    const r = vsae(['toy', '-o', '/proc/vsae-t.arrow']);
    expectOneLineError(r, 1, 'toy', /^vsae toy: cannot write \/proc\/vsae-t\.arrow: \/proc does not accept new files; write elsewhere$/);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  if (process.getuid?.() === 0) console.log('output.test: running as root, which may write anywhere: the read-only-folder case is skipped');
  it.skipIf(process.getuid?.() === 0)('vsae toy into a read-only folder', () => {
    fs.mkdirSync(path.join(tmp, 'ro'));
    fs.chmodSync(path.join(tmp, 'ro'), 0o555);
    expectOneLineError(vsae(['toy', '-o', 'ro/t.arrow']), 1, 'toy', /^vsae toy: cannot write ro\/t\.arrow: permission denied in ro; choose a writable location$/);
  });

  it('vsae report names the report, not its temporary file, and says what is wrong', () => {
    file('notadir');
    const t = vsae(['train', '--input', 'shards', '-o', 'runs/t', '--steps', '2', '--batch-size', '16', '--dict-mult', '1', '-q']);
    expect(t.status, t.stderr).toBe(0);
    const w = vsae(['report', 'runs/t', '-o', 'notadir/r.html']);
    expectOneLineError(w, 1, 'report', /^vsae report: cannot write notadir\/r\.html: a part of its path is a file, not a directory; choose another path$/);
    expect(w.stderr).not.toMatch(/\.tmp-|ENOTDIR/);
  });
});

describe('one writer per output', () => {
  it('a second vsae extract to the same file is refused while the first runs, naming it; the first finishes', async () => {
    // The first reads its corpus from a pipe left open, so it is running (and holds the lock) until we close it.
    const first = spawn(process.execPath, [bin, ...EXTRACT, '--text', '-', '-o', 'locked.arrow', '-q'], { cwd: tmp, env: { ...process.env, VSAE_BACKEND: 'wasm' }, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    first.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const lock = path.join(tmp, '.locked.arrow.lock');
    for (let i = 0; i < 300 && !fs.existsSync(lock); i++) await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(lock), err).toBe(true);
    const second = vsae([...EXTRACT, '--text', TEXT, '-o', 'locked.arrow']);
    expectOneLineError(second, 1, 'extract', new RegExp(`^vsae extract: locked\\.arrow is in use: vsae extract \\(pid ${first.pid}, since [^)]+\\) is writing there, so vsae extract cannot; wait for it to finish or stop it$`));
    first.stdin!.end(fs.readFileSync(TEXT));
    const code = await new Promise<number | null>((resolve) => first.on('close', resolve));
    expect(code, err).toBe(0);
    expect(fs.existsSync(lock)).toBe(false);
    expect(fs.statSync(path.join(tmp, 'locked.arrow')).size).toBeGreaterThan(1000);
  });
});

describe('--max-memory reads one way everywhere (a bare number is MiB)', () => {
  it('vsae extract --max-memory 1024 is 1 GiB (it was 1024 bytes: "1 KiB is too small")', () => {
    const r = vsae([...EXTRACT, '--text', TEXT, '--max-memory', '1024', '-o', 'mem.arrow', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expectOneLineError(vsae([...EXTRACT, '--text', TEXT, '--max-memory', '12X', '-o', 'mem2.arrow']), 2, 'extract', /--max-memory takes a size such as 512M, 2G or 1\.5GiB \(a bare number is MiB\), not "12X"/);
    expectOneLineError(vsae(['train', '--input', 'd.arrow', '-o', 'runs/m', '--max-memory', 'lots']), 2, 'train', /--max-memory takes a size such as 512M/);
  });
});
