import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetricsWriter } from '@vsae/data';
import { afterAll, describe, expect, it } from 'vitest';
import { MetricsFollower } from '../src/metrics-follower.js';
import { metricsRowAt, tempRunsDir } from './fixtures.js';

const root = tempRunsDir('vsae-tui-follow-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const COLUMNS = ['step', 'lr', 'loss', 'recon', 'l1', 'coeff', 'l0', 'dead_frac', 'explained_variance', 'elapsed_s', 'skipped_rows'];

/** Writes `n` rows through the real writer and records the file size after each one. */
function writeRows(file: string, n: number): { ends: number[]; bytes: Buffer } {
  const w = new MetricsWriter(file, { arch: 'sae' });
  const ends = [fs.statSync(file).size];
  for (let i = 1; i <= n; i++) {
    w.append(metricsRowAt('sae', i * 10));
    ends.push(fs.statSync(file).size);
  }
  w.close();
  return { ends, bytes: fs.readFileSync(file) };
}

describe('MetricsFollower', () => {
  it('reads every column of every row, in order, as written', () => {
    const file = path.join(root, 'whole.arrows');
    writeRows(file, 7);
    const f = new MetricsFollower(file);
    expect(f.poll()).toBe(true);
    expect(f.metrics.names).toEqual(COLUMNS);
    expect(f.metrics.length).toBe(7);
    for (const name of COLUMNS) {
      expect(f.metrics.values[name]).toEqual(Array.from({ length: 7 }, (_, i) => metricsRowAt('sae', (i + 1) * 10)[name]));
    }
    expect(f.poll()).toBe(false); // nothing new
  });

  it('returns only complete record batches wherever a writer is cut off, then the rest', () => {
    const full = path.join(root, 'full.arrows');
    const { ends, bytes } = writeRows(full, 4);
    const file = path.join(root, 'partial.arrows');
    // Every byte around each message boundary (where off-by-ones hide), and a stride elsewhere
    // (each cut rewrites the file, which is slow on some file systems).
    const cuts = new Set<number>();
    for (const e of [0, ...ends, bytes.byteLength]) for (let d = -9; d <= 9; d++) cuts.add(Math.min(bytes.byteLength, Math.max(0, e + d)));
    for (let c = 0; c <= bytes.byteLength; c += 41) cuts.add(c);
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      fs.writeFileSync(file, bytes.subarray(0, cut));
      const f = new MetricsFollower(file);
      f.poll();
      // Rows whose batch ends at or before the cut (ends[0] is the schema alone).
      const complete = ends.slice(1).filter((e) => e <= cut).length;
      expect(f.metrics.length, `cut at ${cut}`).toBe(complete);
      expect(f.problem, `cut at ${cut}`).toBeUndefined();
      // The writer finishes: appending the rest in place gives every row exactly once.
      fs.appendFileSync(file, bytes.subarray(cut));
      f.poll();
      expect(f.metrics.values.step, `cut at ${cut}`).toEqual([10, 20, 30, 40]);
    }
  });

  it('follows a live writer poll by poll', () => {
    const file = path.join(root, 'live.arrows');
    const w = new MetricsWriter(file, { arch: 'vsae-iso' });
    const f = new MetricsFollower(file);
    f.poll();
    expect(f.metrics.length).toBe(0);
    for (let i = 1; i <= 5; i++) {
      w.append(metricsRowAt('vsae-iso', i));
      expect(f.poll()).toBe(true);
      expect(f.metrics.values.step).toEqual(Array.from({ length: i }, (_, k) => k + 1));
      expect(f.metrics.values.kl!.at(-1)).toBe(metricsRowAt('vsae-iso', i).kl);
    }
    w.close();
  });

  it('starts over when the file is replaced, as a resumed run rewrites it', () => {
    const file = path.join(root, 'resume.arrows');
    const w = new MetricsWriter(file, { arch: 'sae' });
    for (const s of [10, 20, 30, 40]) w.append(metricsRowAt('sae', s));
    w.close();
    const f = new MetricsFollower(file);
    f.poll();
    expect(f.metrics.values.step).toEqual([10, 20, 30, 40]);
    const w2 = new MetricsWriter(file, { arch: 'sae', resumeAfterStep: 20 });
    w2.append(metricsRowAt('sae', 30));
    expect(f.poll()).toBe(true);
    expect(f.metrics.values.step).toEqual([10, 20, 30]);
    w2.close();
  });

  it('keeps what it read and says why when the file turns bad or goes away, without throwing', () => {
    const file = path.join(root, 'bad.arrows');
    writeRows(file, 2);
    const f = new MetricsFollower(file);
    f.poll();
    expect(f.metrics.length).toBe(2);
    fs.writeFileSync(file, Buffer.from('this is not an arrow stream at all, just text'));
    expect(() => f.poll()).not.toThrow();
    expect(f.problem).toMatch(/bad\.arrows/);
    fs.rmSync(file);
    f.poll();
    expect(f.metrics.length).toBe(0);
    expect(f.problem).toBeUndefined();
    expect(new MetricsFollower(path.join(root, 'never-written.arrows')).poll()).toBe(false);
  });
});
