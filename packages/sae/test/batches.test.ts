import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '@vsae/compute';
import { openDataset } from '@vsae/data';
import { RowSource, ShuffleBuffer } from '../src/batches.js';
import { tmpDir, writeSparseDataset } from './helpers.js';

/** Rows of a dataset whose first column is the row index, so drawn rows identify themselves. */
async function indexedDataset(file: string, rows: number, dIn = 3, poison: number[] = []) {
  const { createDatasetWriter } = await import('@vsae/data');
  const act = new Float32Array(rows * dIn);
  for (let r = 0; r < rows; r++) {
    act[r * dIn] = r;
    act[r * dIn + 1] = -r;
  }
  for (const r of poison) act[r * dIn + 2] = NaN;
  const w = await createDatasetWriter(file, { meta: { source: 'test', dIn }, batchRows: 37 });
  await w.write({ numRows: rows, act });
  await w.close();
}

async function drawIds(buf: ShuffleBuffer, n: number, dIn = 3): Promise<number[]> {
  const out = new Float32Array(n * dIn);
  const got = await buf.draw(out, n);
  return Array.from({ length: got }, (_, i) => out[i * dIn]!);
}

describe('shuffling buffer', () => {
  it('draws every row exactly once per pass, in a shuffled order, and passes over a file again', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'd.arrow');
    await indexedDataset(file, 200);
    const ds = await openDataset(file);
    const buf = new ShuffleBuffer(new RowSource(ds, { skipBadRows: false }), 50, new Rng(1));
    await buf.prime();
    const drawn: number[] = [];
    for (let i = 0; i < 20; i++) drawn.push(...(await drawIds(buf, 20)));
    // 400 draws from a 200-row file read 450 rows: two passes and the first 50 rows again.
    // What was drawn plus what the buffer holds is exactly what was read.
    const held = buf.contents();
    const all = [...drawn, ...Array.from({ length: buf.size }, (_, i) => held[i * 3]!)];
    const counts = new Map<number, number>();
    for (const id of all) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (let r = 0; r < 200; r++) expect(counts.get(r), `row ${r}`).toBe(r < 50 ? 3 : 2);
    expect(drawn.slice(0, 20)).not.toEqual([...drawn.slice(0, 20)].sort((x, y) => x - y));
    await ds.close();
  });

  it('a saved state continues with exactly the same batches', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'd.arrow');
    await indexedDataset(file, 300);
    const ds1 = await openDataset(file);
    const a = new ShuffleBuffer(new RowSource(ds1, { skipBadRows: false }), 64, new Rng(9));
    await a.prime();
    for (let i = 0; i < 7; i++) await drawIds(a, 32);
    const saved = a.state();
    const rest1: number[] = [];
    for (let i = 0; i < 20; i++) rest1.push(...(await drawIds(a, 32)));
    const ds2 = await openDataset(file);
    const b = new ShuffleBuffer(new RowSource(ds2, { skipBadRows: false, start: saved.source }), 64, new Rng(0), saved);
    const rest2: number[] = [];
    for (let i = 0; i < 20; i++) rest2.push(...(await drawIds(b, 32)));
    expect(rest2).toEqual(rest1);
    await ds1.close();
    await ds2.close();
  });

  it('stops on a NaN row with its index, or skips and counts it with skipBadRows', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'd.arrow');
    await indexedDataset(file, 100, 3, [41, 77]);
    const ds = await openDataset(file);
    const strict = new ShuffleBuffer(new RowSource(ds, { skipBadRows: false }), 100, new Rng(1));
    await expect(strict.prime()).rejects.toThrow(/d\.arrow: row 41 holds NaN or Inf in "act".*--skip-bad-rows/);
    const src = new RowSource(ds, { skipBadRows: true });
    const lenient = new ShuffleBuffer(src, 98, new Rng(1));
    await lenient.prime();
    const held = lenient.contents();
    const ids = Array.from({ length: lenient.size }, (_, i) => held[i * 3]!);
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i).filter((i) => i !== 41 && i !== 77));
    expect(src.pos.skipped).toBe(2);
    await ds.close();
  });

  it('reads stdin once and drains the buffer when it ends', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'd.arrows');
    // An Arrow stream, as a pipe would carry.
    const { createDatasetWriter } = await import('@vsae/data');
    const chunks: Buffer[] = [];
    const sink = new (await import('node:stream')).Writable({ write(c, _e, cb) { chunks.push(c as Buffer); cb(); } });
    const w = await createDatasetWriter('-', { meta: { source: 'test', dIn: 3 }, stdout: sink, batchRows: 16 });
    const act = new Float32Array(90 * 3);
    for (let r = 0; r < 90; r++) act[r * 3] = r;
    await w.write({ numRows: 90, act });
    await w.close();
    fs.writeFileSync(file, Buffer.concat(chunks));
    const ds = await openDataset('-', { stdin: Readable.from([fs.readFileSync(file)]) });
    expect(ds.rewindable).toBe(false);
    const src = new RowSource(ds, { skipBadRows: false });
    const buf = new ShuffleBuffer(src, 40, new Rng(2));
    const ids: number[] = [];
    for (;;) {
      const got = await drawIds(buf, 20);
      if (got.length === 0) break;
      ids.push(...got);
    }
    // 90 rows in batches of 20: four full batches, the last 10 rows cannot make a batch.
    expect(ids.length).toBe(80);
    expect(new Set(ids).size).toBe(80);
    expect(src.exhausted).toBe(true);
    await ds.close();
  });

  it('a dataset with no rows is refused', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'e.arrow');
    await writeSparseDataset(file, { rows: 0, dIn: 3 });
    const ds = await openDataset(file);
    const buf = new ShuffleBuffer(new RowSource(ds, { skipBadRows: false }), 10, new Rng(1));
    await expect(buf.prime()).rejects.toThrow(/no rows to train on/);
    await ds.close();
  });
});
