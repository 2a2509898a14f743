import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatasetWriter, formatInspection, inspectDataset } from '../src/index.js';
import { randomFloats, tempDir } from './_helpers.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

/** Two-pass float64 reference statistics over the finite values. */
function reference(values: ArrayLike<number>) {
  const fin = Array.from(values).filter(Number.isFinite);
  const mean = fin.reduce((a, b) => a + b, 0) / fin.length;
  const std = Math.sqrt(fin.reduce((a, b) => a + (b - mean) ** 2, 0) / fin.length);
  return {
    mean, std, min: Math.min(...fin), max: Math.max(...fin),
    nan: Array.from(values).filter(Number.isNaN).length,
    inf: Array.from(values).filter((v) => v === Infinity || v === -Infinity).length,
  };
}

describe('inspectDataset', () => {
  it('summarises every column in one pass, matching a two-pass reference', async () => {
    const D = 8;
    const N = 2500;
    const act = randomFloats(N * D, 5).map((v) => v * 4 + 100); // offset mean: tests numerical stability
    act[17] = NaN;
    act[4000] = Infinity;
    act[4001] = -Infinity;
    for (let i = 0; i < 50; i++) act[i * 7] = 0;
    const features = randomFloats(N * 2, 6).map((v) => Math.max(0, v));
    const pos = Int32Array.from({ length: N }, (_, i) => i % 64);
    const dir = path.join(tmp.dir, 'ds');
    const w = await createDatasetWriter(dir, {
      meta: { source: 'toy', dIn: D, config: { n_features: 2 } }, nFeatures: 2, columns: { pos: true, features: true }, shardRows: 1000, batchRows: 300,
    });
    await w.write({ numRows: N, act, features, pos });
    await w.close();

    let progress = 0;
    const info = await inspectDataset(dir, { onBatch: (n) => (progress = n) });
    expect(progress).toBe(N);
    expect(info).toMatchObject({ format: 'sharded', numRows: N, dIn: D, nFeatures: 2, shards: 3 });
    expect(info.bytes).toBeGreaterThan(N * D * 4);
    expect(info.schema.map((c) => c.name)).toEqual(['act', 'pos', 'features']);
    const byName = Object.fromEntries(info.columns.map((c) => [c.name, c]));
    for (const [name, values] of [['act', act], ['features', features], ['pos', pos]] as const) {
      const ref = reference(values);
      const got = byName[name]!;
      expect(got.count, name).toBe(values.length);
      expect(got.nan, name).toBe(ref.nan);
      expect(got.inf, name).toBe(ref.inf);
      expect(got.min, name).toBe(ref.min);
      expect(got.max, name).toBe(ref.max);
      // Float64 accumulation over float32 data: relative 1e-9 is far above the rounding error.
      expect(Math.abs(got.mean - ref.mean), name).toBeLessThanOrEqual(1e-9 * Math.abs(ref.mean) + 1e-12);
      expect(Math.abs(got.std - ref.std), name).toBeLessThanOrEqual(1e-9 * ref.std + 1e-12);
    }
    expect(byName.features!.zeroFrac).toBe(Array.from(features).filter((v) => v === 0).length / features.length);
    const norms = Array.from({ length: N }, (_, r) => Math.hypot(...Array.from(features.subarray(r * 2, r * 2 + 2))));
    expect(Math.abs(byName.features!.meanRowNorm! - norms.reduce((a, b) => a + b, 0) / N)).toBeLessThan(1e-9);
    // act: rows 2 (NaN) and 500 (±Inf) are left out of the mean row norm.
    const actNorms = Array.from({ length: N }, (_, r) => Math.hypot(...Array.from(act.subarray(r * D, (r + 1) * D)))).filter(Number.isFinite);
    expect(actNorms.length).toBe(N - 2);
    expect(Math.abs(byName.act!.meanRowNorm! - actNorms.reduce((a, b) => a + b, 0) / actNorms.length)).toBeLessThan(1e-9);

    const text = formatInspection(info);
    expect(text).toContain(`${dir}: sharded (3 shards), 2500 rows × d_in 8`);
    expect(text).toContain('columns: act FixedSizeList<Float32>[8], pos Int32, features FixedSizeList<Float32>[2]');
    expect(text).toContain('source: toy');
    expect(text).toMatch(/^act\s+20000\s+/m);
    expect(text).toContain('warning: act has 1 NaN and 2 Inf values');
  });
});
