import { Rng } from '@vsae/compute';
import { expectAllClose } from '@vsae/compute/testing';
import { PCA } from 'ml-pca';
import { describe, expect, it } from 'vitest';
import {
  bestMatches,
  dbscan,
  decoderSimilarity,
  encoderDecoderCosine,
  histBin,
  kDistances,
  kneeEps,
  LatentStats,
  median,
  mmcs,
  pca2,
  quantileExamples,
  ReconStats,
  TopPairs,
  umap2,
} from '../src/index.js';

// Small cases worked by hand (the expected values are written out, not recomputed).

describe('per-latent statistics', () => {
  // 4 rows × 3 latents; latent 2 never fires; 1e-9 is below the 1e-8 threshold.
  const act = Float32Array.from([
    0.5, 0, 0, //
    0, 2, 1e-9, //
    1.5, 1, 0, //
    0.25, 0, -1, //
  ]);
  const s = new LatentStats(3, 2, 8, new Rng(1));
  s.add(act, 4, 100, 1e-8);

  it('counts, sums, maxima and L0 on a tiny input', () => {
    expect(Array.from(s.count)).toEqual([3, 2, 0]);
    expect(Array.from(s.sum)).toEqual([2.25, 3, 0]);
    expect(Array.from(s.max)).toEqual([1.5, 2, 0]);
    const l0 = s.count.reduce((a, c) => a + c, 0) / 4;
    expect(l0).toBe(5 / 4);
  });

  it('a latent that never fires has count 0 (dead) and no examples', () => {
    expect(s.count[2]).toBe(0);
    expect(s.top(2)).toEqual([]);
    expect(s.sample(2)).toEqual([]);
  });

  it('top-k keeps the k largest with their rows, largest first', () => {
    expect(s.top(0)).toEqual([{ value: 1.5, row: 102 }, { value: 0.5, row: 100 }]);
    expect(s.top(1)).toEqual([{ value: 2, row: 101 }, { value: 1, row: 102 }]);
  });

  it('top-k over a longer stream equals sorting everything', () => {
    const rng = new Rng(3);
    const n = 500;
    const d = 4;
    const a = new Float32Array(n * d);
    rng.fillUniform(a, -1, 1);
    const t = new LatentStats(d, 7, 16, new Rng(2));
    for (let off = 0; off < n; off += 64) t.add(a.subarray(off * d, Math.min(n, off + 64) * d), Math.min(64, n - off), off, 1e-8);
    for (let j = 0; j < d; j++) {
      const all = Array.from({ length: n }, (_, r) => ({ value: a[r * d + j]!, row: r })).filter((e) => e.value > 1e-8);
      all.sort((x, y) => y.value - x.value);
      expect(t.top(j)).toEqual(all.slice(0, 7));
      expect(t.count[j]).toBe(all.length);
      expect(t.sample(j).length).toBe(16);
      // Every sampled value is one of the latent's active values, at its row.
      for (const e of t.sample(j)) expect(a[e.row * d + j]).toBe(e.value);
    }
  });

  it('the reservoir keeps every value while fewer than its size fired, and samples uniformly after', () => {
    expect(s.sample(0)).toEqual([{ value: 0.25, row: 103 }, { value: 0.5, row: 100 }, { value: 1.5, row: 102 }]);
    // 1 latent firing on rows 0..9999 with value = row: a uniform sample of 64 has mean ≈ 5000.
    const n = 10_000;
    const means: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const t = new LatentStats(1, 1, 64, new Rng(seed));
      t.add(Float32Array.from({ length: n }, (_, i) => i + 1), n, 0, 0.5);
      means.push(t.sample(0).reduce((a, e) => a + e.value, 0) / 64);
    }
    const m = means.reduce((a, b) => a + b, 0) / means.length;
    // Standard error of the mean of 20 × 64 uniform draws on [1, 10000]: 2887/√1280 ≈ 81.
    expect(Math.abs(m - 5000.5)).toBeLessThan(4 * 81);
  });

  it('quantile examples: the entries nearest rank q·(n−1)', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((value) => ({ value }));
    const q = quantileExamples(sorted, [0.9, 0.5, 0.1], 2);
    expect(q.map((e) => [e.q, e.rank, e.item.value])).toEqual([
      [0.9, 0, 10], [0.9, 1, 11],
      [0.5, 0, 6], [0.5, 1, 7],
      [0.1, 0, 2], [0.1, 1, 3],
    ]);
    expect(quantileExamples([{ value: 4 }], [0.9, 0.1], 2).map((e) => e.item.value)).toEqual([4, 4]);
  });

  it('histogram bins split (0, max] into equal half-open-below bins', () => {
    expect([0.05, 0.1, 0.1000001, 1, 0.95, 0.5].map((a) => histBin(a, 1, 20))).toEqual([0, 1, 2, 19, 18, 9]);
    expect(histBin(2, 1, 20)).toBe(19); // clamped
  });
});

describe('reconstruction', () => {
  it('perfect reconstruction: MSE 0, cosine 1, explained variance 1, L2 ratio 1', () => {
    const x = Float32Array.from([1, 2, 3, -1, 0, 4]);
    const r = new ReconStats(3, 10);
    r.add(x, x, 2, 0);
    const s = r.summary();
    expect([s.mse_mean, s.mse_std, s.mse_median, s.cosine_sim_mean, s.cosine_sim_std, s.explained_variance, s.l2_ratio]).toEqual([0, 0, 0, 1, 0, 1, 1]);
  });

  it('two rows worked by hand', () => {
    // x = [[1, 0], [0, 2]], x̂ = [[1, 1], [0, 1]]
    // errors [0, 1] and [0, −1]: MSE per row 0.5 and 0.5; per dim [0, 1]
    // cos row 0 = 1/√2, row 1 = 2/(2·1) = 1; ‖x̂‖/‖x‖ = √2/1 and 1/2
    // x̄ = [0.5, 1]: Σ‖x − x̄‖² = 0.25+1+0.25+1 = 2.5; Σ‖x − x̂‖² = 2 ⇒ EV = 1 − 2/2.5 = 0.2
    const r = new ReconStats(2, 10);
    r.add(Float32Array.from([1, 0, 0, 2]), Float32Array.from([1, 1, 0, 1]), 2, 5);
    expect(Array.from(r.rowIndex.subarray(0, 2))).toEqual([5, 6]);
    expectAllClose(r.rowMse.subarray(0, 2), [0.5, 0.5], { rtol: 1e-7 });
    expectAllClose(r.rowCos.subarray(0, 2), [Math.SQRT1_2, 1], { rtol: 1e-7 });
    expectAllClose(Float64Array.from(r.dimSqErr, (v) => v / r.n), [0, 1], { rtol: 1e-12 });
    const s = r.summary();
    expectAllClose([s.mse_mean, s.mse_std, s.cosine_sim_mean, s.explained_variance, s.l2_ratio], [0.5, 0, (Math.SQRT1_2 + 1) / 2, 0.2, (Math.SQRT2 + 0.5) / 2], { rtol: 1e-7 });
  });

  it('keeps per-row values only up to its cap, but counts every row in the means', () => {
    const r = new ReconStats(1, 2);
    r.add(Float32Array.from([1, 1, 1]), Float32Array.from([0, 1, 3]), 3, 0);
    expect(r.kept).toBe(2);
    expect(r.n).toBe(3);
    expect(r.summary().mse_mean).toBeCloseTo((1 + 0 + 4) / 3, 12);
  });

  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('dictionary similarity', () => {
  const eye = (n: number) => Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));

  it('identity dictionary against itself: MMCS 1, each row its own best match', async () => {
    const m = await bestMatches(eye(5), 5, eye(5), 5, 5, 2);
    expect(Array.from(m.best)).toEqual([0, 1, 2, 3, 4]);
    expect(mmcs(m)).toBe(1);
  });

  it('orthogonal dictionaries: MMCS 0', async () => {
    // A spans e0, e1; B spans e2, e3 of R^4.
    const A = Float32Array.from([1, 0, 0, 0, 0, 2, 0, 0]);
    const B = Float32Array.from([0, 0, 3, 0, 0, 0, 0, 1]);
    expect(mmcs(await bestMatches(A, 2, B, 2, 4, 8))).toBe(0);
  });

  it('signed cosine, and zero-norm rows left out on both sides', async () => {
    // A: [−1, 0] (best cos with B row 1 = [−2, 0] is 1), [0, 0] (left out)
    // B: [0, 0] (never chosen), [−2, 0], [0, 1]
    const m = await bestMatches(Float32Array.from([-1, 0, 0, 0]), 2, Float32Array.from([0, 0, -2, 0, 0, 1]), 3, 2, 1);
    expect(Array.from(m.best)).toEqual([1, -1]);
    expect(Array.from(m.cosine)).toEqual([1, 0]);
    expect(mmcs(m)).toBe(1);
    // Opposite directions give −1, not 1.
    const o = await bestMatches(Float32Array.from([1, 0]), 1, Float32Array.from([-1, 0]), 1, 2, 1);
    expect(o.cosine[0]).toBe(-1);
  });

  it('block-by-block decoder statistics equal the full matrix (any block size)', async () => {
    const rng = new Rng(9);
    const n = 37;
    const d = 6;
    const W = new Float32Array(n * d);
    rng.fillNormal(W);
    W.fill(0, 4 * d, 5 * d); // a zero row is left out
    const norms = Array.from({ length: n }, (_, i) => Math.hypot(...W.subarray(i * d, (i + 1) * d)));
    const pairs: Array<{ value: number; a: number; b: number }> = [];
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) {
      if (norms[a] === 0 || norms[b] === 0) continue;
      let s = 0;
      for (let k = 0; k < d; k++) s += W[a * d + k]! * W[b * d + k]!;
      pairs.push({ value: s / (norms[a]! * norms[b]!), a, b });
    }
    pairs.sort((x, y) => y.value - x.value);
    for (const block of [1, 5, 37, 100]) {
      const r = await decoderSimilarity(W, n, d, block, 20);
      expect(r.nPairs).toBe(pairs.length);
      expectAllClose([r.meanCos, r.maxCos], [pairs.reduce((s, p) => s + p.value, 0) / pairs.length, pairs[0]!.value], { rtol: 1e-5, atol: 1e-6 });
      expect(r.pairs.map((p) => [p.a, p.b])).toEqual(pairs.slice(0, 20).map((p) => [p.a, p.b]));
      expectAllClose(r.pairs.map((p) => p.value), pairs.slice(0, 20).map((p) => p.value), { rtol: 1e-5, atol: 1e-6 });
    }
  });

  it('encoder–decoder alignment: tied weights give 1, opposite −1, orthogonal 0', () => {
    // d_in 2, d_sae 3: W_enc columns [1,0], [0,1], [1,0]; W_dec rows [2,0], [0,−1], [0,3]
    const wEnc = Float32Array.from([1, 0, 1, 0, 1, 0]);
    const wDec = Float32Array.from([2, 0, 0, -1, 0, 3]);
    expect(Array.from(encoderDecoderCosine(wEnc, wDec, 2, 3))).toEqual([1, -1, 0]);
  });

  it('TopPairs keeps the largest values', () => {
    const t = new TopPairs(3);
    [5, 1, 9, 7, 3, 8].forEach((v, i) => t.push(v, i, i + 1));
    expect(t.sorted().map((p) => p.value)).toEqual([9, 8, 7]);
    expect(t.floor).toBe(7);
  });
});

describe('latent space', () => {
  it('PCA of points a·u + b·v (u ⟂ v, var a > var b, a and b uncorrelated): coordinates ±a and ±b', () => {
    // u = (3, 4, 0)/5, v = (0, 0, 1), offset (1, 1, 1); a and b have zero mean and Σab = 0.
    const a = [-3, -1, 1, 3, -3, -1, 1, 3];
    const b = [1, -1, -1, 1, -1, 1, 1, -1];
    const rows = a.map((ai, i) => [1 + (3 * ai) / 5, 1 + (4 * ai) / 5, 1 + b[i]!]);
    const p = pca2(rows);
    const sx = Math.sign(p.x[3]!);
    const sy = Math.sign(p.y[0]!);
    expectAllClose(Float64Array.from(p.x, (v) => v * sx), a, { rtol: 1e-6, atol: 1e-6 });
    expectAllClose(Float64Array.from(p.y, (v) => v * sy), b, { rtol: 1e-6, atol: 1e-6 });
    // Variances 5 and 1 of a total 6.
    expectAllClose(p.explained, [5 / 6, 1 / 6], { rtol: 1e-6 });
  });

  it('k-distances and the knee: 20 points at spacing 1 and one outlier far away', () => {
    const x = [...Array.from({ length: 20 }, (_, i) => i), 1000];
    const y = x.map(() => 0);
    const kd = kDistances(x, y, 2);
    // Inner points: 2nd neighbour at distance 1; the ends at 2 (0→2, 19→17); the outlier 1000→18: 982.
    expect(Array.from(kd)).toEqual([...Array(18).fill(1), 2, 2, 982]);
    expect(kneeEps(kd)).toBe(2);
  });

  it('DBSCAN: two separated blobs are two clusters; a lone point is noise', () => {
    const x: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 10; i++) {
      x.push(i * 0.1, 50 + i * 0.1);
      y.push(0, 0);
    }
    x.push(25);
    y.push(25);
    const labels = dbscan(x, y, 0.15, 3);
    expect(new Set(labels.filter((_, i) => i % 2 === 0 && i < 20)).size).toBe(1);
    expect(new Set(labels.filter((_, i) => i % 2 === 1 && i < 20)).size).toBe(1);
    expect(labels[0]).not.toBe(labels[1]);
    expect(labels[20]).toBe(-1);
  });

  it('UMAP with the same seed gives the same coordinates; another seed does not', () => {
    const rng = new Rng(5);
    const rows = Array.from({ length: 40 }, () => Array.from({ length: 5 }, () => rng.normal()));
    const a = umap2(rows, new Rng(1), { nEpochs: 30 });
    const b = umap2(rows, new Rng(1), { nEpochs: 30 });
    const c = umap2(rows, new Rng(2), { nEpochs: 30 });
    expect(Array.from(a.x)).toEqual(Array.from(b.x));
    expect(Array.from(a.y)).toEqual(Array.from(b.y));
    expect(Array.from(a.x)).not.toEqual(Array.from(c.x));
  });
});

describe('PCA with more columns than rows (the Gram-matrix path)', () => {
  it('equals ml-pca\'s covariance-eigenvector projection (up to sign), elementwise', () => {
    const rng = new Rng(4);
    const n = 12;
    const d = 30;
    const u = Array.from({ length: d }, () => rng.normal());
    const v = Array.from({ length: d }, () => rng.normal());
    const rows = Array.from({ length: n }, () => {
      const a = 5 * rng.normal();
      const b = 2 * rng.normal();
      return u.map((ui, k) => a * ui + b * v[k]! + 0.1 * rng.normal());
    });
    const wide = pca2(rows);
    const ref = new PCA(rows, { method: 'covarianceMatrix', center: true, scale: false }).predict(rows, { nComponents: 2 });
    for (const [comp, got] of [[0, wide.x], [1, wide.y]] as const) {
      const want = Array.from({ length: n }, (_, i) => ref.get(i, comp));
      const sign = Math.sign(got[0]!) * Math.sign(want[0]!);
      expectAllClose(Float64Array.from(got, (g) => g * sign), want, { rtol: 1e-4, atol: 1e-4, what: `component ${comp}` });
    }
  });
});
