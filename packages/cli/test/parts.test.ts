import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDataset } from '@vsae/data';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, binRunner, expectOneLineError } from './bin.js';
import { parsePart } from '../src/commands/extract.js';

// `vsae extract --part I/N` in N concurrent processes, then `vsae merge`, against one extraction.
const ROOT = path.resolve(path.dirname(bin), '../../..');
const TINY = path.join(ROOT, 'packages/transformer/test/fixtures/gpt2-tiny');
const TEXT = path.join(ROOT, 'datasets/sotu-1790-1809.txt');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-cli-parts-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const vsae = binRunner(tmp);
const env = { ...process.env, VSAE_BACKEND: process.env.VSAE_BACKEND ?? 'auto' };
// 1003 rows of 8-token windows: the last window is cut, as --max-tokens does.
const COMMON = ['extract', '--model', TINY, '--hook', 'blocks.1.hook_resid_post', '--text', TEXT, '--context', '8', '--max-tokens', '1003', '--batch-size', '5', '-q'];

async function rows(p: string): Promise<{ seq: bigint[]; pos: number[]; token: number[]; act: number[]; dIn: number }> {
  const ds = await openDataset(p);
  const out = { seq: [] as bigint[], pos: [] as number[], token: [] as number[], act: [] as number[], dIn: ds.dIn };
  for await (const b of ds.batches()) {
    for (let i = 0; i < b.numRows; i++) {
      out.seq.push(b.seq![i]!);
      out.pos.push(b.pos![i]!);
      out.token.push(b.token![i]!);
    }
    for (const v of b.act) out.act.push(v);
  }
  await ds.close();
  return out;
}

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { cwd: tmp, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('vsae extract --part I/N and vsae merge', () => {
  it('three processes write disjoint parts whose merge equals one extraction row for row, every row once', async () => {
    const one = path.join(tmp, 'one.arrow');
    const r = vsae([...COMMON, '-o', one]);
    expect(r.status, r.stderr).toBe(0);
    const parts = [0, 1, 2].map((i) => path.join(tmp, 'parts', `part-${i}`));
    const done = await Promise.all(parts.map((p, i) => run([...COMMON, '--part', `${i}/3`, '--shard-rows', '100', '-o', p])));
    for (const d of done) expect(d.code, d.stderr).toBe(0);

    // Disjoint: part I holds exactly the windows s ≡ I (mod 3).
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const p = await rows(parts[i]!);
      expect(p.seq.length).toBeGreaterThan(0);
      for (let j = 0; j < p.seq.length; j++) {
        expect(Number(p.seq[j]!) % 3).toBe(i);
        const key = `${p.seq[j]},${p.pos[j]}`;
        expect(seen.has(key), key).toBe(false);
        seen.add(key);
      }
    }

    const merged = path.join(tmp, 'merged.arrow');
    const m = vsae(['merge', parts[2]!, parts[0]!, parts[1]!, '-o', merged]);
    expect(m.status, m.stderr).toBe(0);
    const [a, b] = [await rows(one), await rows(merged)];
    expect(b.seq.length).toBe(1003);
    expect(seen.size).toBe(1003);
    expect(b.seq).toEqual(a.seq);
    expect(b.pos).toEqual(a.pos);
    expect(b.token).toEqual(a.token);
    expect(b.dIn).toBe(a.dIn);
    // Other batch compositions may round differently in the last bit.
    let worst = 0;
    for (let i = 0; i < a.act.length; i++) worst = Math.max(worst, Math.abs(a.act[i]! - b.act[i]!));
    expect(b.act.length).toBe(a.act.length);
    expect(worst).toBeLessThan(1e-5);

    // A sharded merge, and vsae train reads it as any dataset.
    const shardedOut = path.join(tmp, 'merged-dir');
    expect(vsae(['merge', ...parts, '--shard-rows', '256', '-o', shardedOut]).status).toBe(0);
    expect((await rows(shardedOut)).seq).toEqual(a.seq);
    const t = vsae(['train', '--arch', 'sae', '--input', shardedOut, '-o', path.join(tmp, 'run'), '--steps', '3', '--batch-size', '64', '--backend', 'wasm', '-q']);
    expect(t.status, t.stderr).toBe(0);
  });

  it('refuses a missing part, a part given twice, a dataset that is no part, and a malformed --part', () => {
    const parts = [0, 1, 2].map((i) => path.join(tmp, 'parts', `part-${i}`));
    expectOneLineError(vsae(['merge', parts[0]!, parts[2]!, '-o', path.join(tmp, 'x.arrow')]), 2, 'merge', /parts 1\/3 are missing/);
    expectOneLineError(vsae(['merge', parts[0]!, parts[0]!, parts[1]!, '-o', path.join(tmp, 'x.arrow')]), 1, 'merge', /given|once/);
    expectOneLineError(vsae(['merge', path.join(tmp, 'one.arrow'), '-o', path.join(tmp, 'x.arrow')]), 1, 'merge', /not one part of a split extraction/);
    expect(fs.existsSync(path.join(tmp, 'x.arrow'))).toBe(false);
    expectOneLineError(vsae([...COMMON, '--part', '3/3', '-o', path.join(tmp, 'y.arrow')]), 2, 'extract', /--part 3\/3: give I\/N/);
    expect(parsePart('2/8')).toEqual({ index: 2, count: 8 });
    expect(() => parsePart('1/0')).toThrow(/give I\/N/);
    expect(() => parsePart('a/3')).toThrow(/give I\/N/);
  });
});
