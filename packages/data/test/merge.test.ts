import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatasetWriter, InputError, mergeParts, openDataset, UsageError } from '../src/index.js';

// Parts as `vsae extract --part I/N` writes them: windows s ≡ I (mod N), rows.part = "I/N" in
// vsae:config. Each row's act encodes (seq, pos), so the merged order is checked value by value.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-merge-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const D = 3;
const PER = 4; // rows per window

async function writePart(file: string, index: number, count: number, windows: number, opts: { skip?: number; shardRows?: number } = {}): Promise<void> {
  const seqs = [];
  for (let s = index; s < windows; s += count) if (s !== opts.skip) seqs.push(s);
  const n = seqs.length * PER;
  const act = new Float32Array(n * D);
  const seq = new BigInt64Array(n);
  const pos = new Int32Array(n);
  const token = new Int32Array(n);
  seqs.forEach((s, w) => {
    for (let p = 0; p < PER; p++) {
      const r = w * PER + p;
      seq[r] = BigInt(s);
      pos[r] = p;
      token[r] = s * 100 + p;
      for (let d = 0; d < D; d++) act[r * D + d] = s * 1000 + p * 10 + d;
    }
  });
  const w = await createDatasetWriter(file, {
    meta: { source: 'gpt2', dIn: D, hook: 'h', context: PER, config: { rows: { model: 'm', hook: 'h', part: `${index}/${count}` } } },
    columns: { seq: true, pos: true, token: true },
    batchRows: 5, // record batches that cut windows
    ...(opts.shardRows ? { shardRows: opts.shardRows } : {}),
  });
  await w.write({ numRows: n, act, seq, pos, token });
  await w.close();
}

describe('mergeParts', () => {
  it('joins parts given in any order into the single-process order, across record batches and shards', async () => {
    const parts = [0, 1, 2].map((i) => path.join(tmp, `p${i}`));
    for (let i = 0; i < 3; i++) await writePart(parts[i]!, i, 3, 11, { shardRows: 6 });
    const out = path.join(tmp, 'merged.arrow');
    const s = await mergeParts([parts[1]!, parts[2]!, parts[0]!], out, { batchRows: 7 });
    expect(s).toMatchObject({ parts: 3, windows: 11, rows: 44 });
    const ds = await openDataset(out);
    const got: number[] = [];
    const seqs: number[] = [];
    for await (const b of ds.batches()) {
      got.push(...b.act);
      seqs.push(...Array.from(b.seq!, Number));
    }
    await ds.close();
    const want: number[] = [];
    for (let s = 0; s < 11; s++) for (let p = 0; p < PER; p++) for (let d = 0; d < D; d++) want.push(s * 1000 + p * 10 + d);
    expect(got).toEqual(want);
    expect(seqs).toEqual(Array.from({ length: 44 }, (_, r) => Math.floor(r / PER)));
    expect(ds.meta.config?.rows).toEqual({ model: 'm', hook: 'h' });
  });

  it('refuses a missing part, a part twice, a gap inside a part, and a dataset that is no part, writing nothing', async () => {
    const parts = [0, 1].map((i) => path.join(tmp, `q${i}.arrow`));
    for (let i = 0; i < 2; i++) await writePart(parts[i]!, i, 2, 6);
    const gap = path.join(tmp, 'gap.arrow');
    await writePart(gap, 1, 2, 6, { skip: 3 });
    const out = path.join(tmp, 'never.arrow');
    await expect(mergeParts([parts[0]!], out)).rejects.toThrow(UsageError);
    await expect(mergeParts([parts[0]!, parts[0]!], out)).rejects.toThrow(/given|once/);
    await expect(mergeParts([parts[0]!, gap], out)).rejects.toThrow(/window 5 where window 3 was due/);
    const plain = path.join(tmp, 'plain.arrow');
    const w = await createDatasetWriter(plain, { meta: { source: 'toy', dIn: D }, columns: { seq: true } });
    await w.write({ numRows: 1, act: new Float32Array(D), seq: new BigInt64Array(1) });
    await w.close();
    await expect(mergeParts([plain], out)).rejects.toThrow(InputError);
    expect(fs.existsSync(out)).toBe(false);
  });
});
