import { describe, expect, it } from 'vitest';
import { denseCholesky, FeatureGenerator, featureImportance, toyRng, uniformCorrelationCholesky, validateToyOptions, withToyDefaults } from '../src/index.js';
import type { FeatureSpec, UniformSource } from '../src/index.js';

const spec = (s: Partial<FeatureSpec>): FeatureSpec => ({
  nFeatures: 10,
  featureProbability: 0.05,
  nCorrelatedPairs: 0,
  nAnticorrelatedPairs: 0,
  corrRate: undefined,
  ...s,
});

/** |count − n·q| within `z` binomial standard deviations. */
function expectBinomial(count: number, n: number, q: number, z = 5): void {
  const sd = Math.sqrt(n * q * (1 - q));
  expect(Math.abs(count - n * q), `count ${count} vs expected ${n * q} ± ${z}·${sd.toFixed(1)}`).toBeLessThanOrEqual(z * sd);
}

const col = (x: Float32Array, n: number, rows: number, j: number): Float64Array => Float64Array.from({ length: rows }, (_, r) => x[r * n + j]!);

describe('independent features', () => {
  const n = 40;
  const rows = 40_000;
  const p = 0.05;
  const x = new FeatureGenerator(spec({ nFeatures: n, featureProbability: p })).generate(toyRng(1, 'rows'), rows);

  it('each feature is present at rate p, within binomial tolerance (5 sd)', () => {
    for (let j = 0; j < n; j++) expectBinomial(col(x, n, rows, j).filter((v) => v > 0).length, rows, p);
  });

  it('present values are U[0,1): every decile holds a tenth of them (5 sd)', () => {
    const vals = Array.from(x).filter((v) => v !== 0);
    expect(Math.min(...vals)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...vals)).toBeLessThan(1);
    const bins = new Array<number>(10).fill(0);
    for (const v of vals) bins[Math.floor(v * 10)]!++;
    for (const b of bins) expectBinomial(b, vals.length, 0.1);
  });

  it('two features are present together at rate p² (independence, 5 sd)', () => {
    for (const [a, b] of [[0, 1], [5, 39], [17, 18]] as const) {
      let both = 0;
      for (let r = 0; r < rows; r++) if (x[r * n + a]! > 0 && x[r * n + b]! > 0) both++;
      expectBinomial(both, rows, p * p);
    }
  });

  it('with probability 1 every feature is present on every row', () => {
    const d = new FeatureGenerator(spec({ nFeatures: 7, featureProbability: 1 })).generate(toyRng(3, 'rows'), 500);
    expect(Array.from(d).filter((v) => v === 0).length).toBe(0);
  });
});

describe('correlated and anti-correlated pairs', () => {
  const n = 12;
  const rows = 50_000;
  const p = 0.1;
  // Columns: 0-3 two correlated pairs | 4-5 one anti-correlated pair | 6-11 independent.
  const x = new FeatureGenerator(spec({ nFeatures: n, featureProbability: p, nCorrelatedPairs: 2, nAnticorrelatedPairs: 1 })).generate(toyRng(7, 'rows'), rows);
  const on = (r: number, j: number): boolean => x[r * n + j]! > 0;

  it('the two features of a correlated pair are present together on every row where either is', () => {
    for (const a of [0, 2]) {
      let either = 0;
      let both = 0;
      for (let r = 0; r < rows; r++) {
        if (on(r, a) || on(r, a + 1)) either++;
        if (on(r, a) && on(r, a + 1)) both++;
      }
      expect(both).toBe(either);
      expectBinomial(either, rows, p);
    }
  });

  it('the values of a correlated pair are drawn independently', () => {
    let same = 0;
    for (let r = 0; r < rows; r++) if (on(r, 0) && x[r * n]! === x[r * n + 1]!) same++;
    expect(same).toBe(0);
  });

  it('the features of an anti-correlated pair are never present together; the pair fires at 2p, each side at p', () => {
    let both = 0;
    let left = 0;
    let right = 0;
    for (let r = 0; r < rows; r++) {
      if (on(r, 4) && on(r, 5)) both++;
      if (on(r, 4)) left++;
      if (on(r, 5)) right++;
    }
    expect(both).toBe(0);
    expectBinomial(left + right, rows, 2 * p);
    expectBinomial(left, rows, p);
    expectBinomial(right, rows, p);
  });

  it('the remaining columns are independent features at rate p', () => {
    for (let j = 6; j < n; j++) expectBinomial(col(x, n, rows, j).filter((v) => v > 0).length, rows, p);
    let both = 0;
    for (let r = 0; r < rows; r++) if (on(r, 6) && on(r, 7)) both++;
    expectBinomial(both, rows, p * p);
  });
});

/** Generic Cholesky–Banachiewicz of a dense SPD matrix (independent of the closed form). */
function cholesky(C: number[][]): number[][] {
  const n = C.length;
  const L = C.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = C[i]![j]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      L[i]![j] = i === j ? Math.sqrt(s) : s / L[j]![j]!;
    }
  }
  return L;
}
const uniformC = (n: number, rho: number): number[][] => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : rho)));

/** Records every draw of a UniformSource. */
class Recording implements UniformSource {
  readonly draws: number[] = [];
  constructor(private readonly inner: UniformSource) {}
  uniform(): number {
    const v = this.inner.uniform();
    this.draws.push(v);
    return v;
  }
}

describe('corr_rate mode', () => {
  it('the compact Cholesky factor equals a generic Cholesky of the uniform correlation matrix (atol 1e-12)', () => {
    for (const [n, rho] of [[7, 0.3], [9, -0.1], [5, 0.95], [3, 0]] as const) {
      const ref = cholesky(uniformC(n, rho)).flat();
      const L = denseCholesky(uniformCorrelationCholesky(n, rho));
      expect(L.length).toBe(ref.length);
      L.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(1e-12));
    }
  });

  it('rows are x = u·Lᵀ masked by presence, checked against the recorded draws (float32 tolerance)', () => {
    const n = 6;
    const rows = 200;
    const rho = 0.4;
    const rec = new Recording(toyRng(11, 'rows'));
    const x = new FeatureGenerator(spec({ nFeatures: n, featureProbability: 0.5, corrRate: rho })).generate(rec, rows);
    const L = cholesky(uniformC(n, rho));
    expect(rec.draws.length).toBe(rows * 2 * n);
    for (let r = 0; r < rows; r++) {
      const u = rec.draws.slice(r * 2 * n, r * 2 * n + n);
      const keep = rec.draws.slice(r * 2 * n + n, (r + 1) * 2 * n).map((v) => v < 0.5);
      for (let i = 0; i < n; i++) {
        let want = 0;
        for (let j = 0; j < n; j++) want += u[j]! * L[i]![j]!; // (u · Lᵀ)_i = Σ_j u_j L_ij
        if (!keep[i]) want = 0;
        expect(Math.abs(x[r * n + i]! - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
      }
    }
  });

  /** Sample covariance of the columns of x [rows, n]. */
  function covariance(x: Float32Array, rows: number, n: number): number[][] {
    const mean = new Array<number>(n).fill(0);
    for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) mean[i]! += x[r * n + i]!;
    for (let i = 0; i < n; i++) mean[i]! /= rows;
    const cov = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < n; i++) {
        const a = x[r * n + i]! - mean[i]!;
        for (let j = 0; j < n; j++) cov[i]![j]! += a * (x[r * n + j]! - mean[j]!);
      }
    }
    return cov.map((row) => row.map((v) => v / (rows - 1)));
  }

  const n = 6;
  const rho = 0.5;
  const rows = 100_000;
  // Entries of the sample covariance here have standard errors below 4e-4; the tolerance is ~5 of them.
  const atol = 2e-3;

  it('with p = 1 the covariance is C/12 elementwise (atol 2e-3), unlike the original u·L (LᵀL/12)', () => {
    const x = new FeatureGenerator(spec({ nFeatures: n, featureProbability: 1, corrRate: rho })).generate(toyRng(5, 'rows'), rows);
    const cov = covariance(x, rows, n);
    const C = uniformC(n, rho);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(Math.abs(cov[i]![j]! - C[i]![j]! / 12), `cov[${i}][${j}]`).toBeLessThan(atol);
    // The bug's covariance LᵀL/12 differs from C/12 by far more than the tolerance, so this test tells them apart.
    const L = cholesky(C);
    let maxDiff = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let ltl = 0;
        for (let k = 0; k < n; k++) ltl += L[k]![i]! * L[k]![j]!;
        maxDiff = Math.max(maxDiff, Math.abs(ltl - C[i]![j]!) / 12);
      }
    }
    expect(maxDiff).toBeGreaterThan(10 * atol);
  });

  it('with p < 1 the off-diagonal covariance is p²·C/12 (masking is independent of the values)', () => {
    const p = 0.5;
    const x = new FeatureGenerator(spec({ nFeatures: n, featureProbability: p, corrRate: rho })).generate(toyRng(6, 'rows'), rows);
    const cov = covariance(x, rows, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) expect(Math.abs(cov[i]![j]! - (p * p * rho) / 12), `cov[${i}][${j}]`).toBeLessThan(atol);
  });
});

describe('seeds and options', () => {
  const s = spec({ nFeatures: 20, nCorrelatedPairs: 2, nAnticorrelatedPairs: 3 });
  it('the same seed gives the same rows; other seeds and streams give others', () => {
    const a = new FeatureGenerator(s).generate(toyRng(42, 'rows'), 1000);
    const b = new FeatureGenerator(s).generate(toyRng(42, 'rows'), 1000);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(new FeatureGenerator(s).generate(toyRng(43, 'rows'), 1000).buffer).equals(Buffer.from(a.buffer))).toBe(false);
    expect(Buffer.from(new FeatureGenerator(s).generate(toyRng(42, 'train'), 1000).buffer).equals(Buffer.from(a.buffer))).toBe(false);
  });

  it('importance runs from 1 down to 0.01 as 100^(−i/(n−1))', () => {
    const imp = featureImportance(5);
    const want = [1, 100 ** -0.25, 0.1, 100 ** -0.75, 0.01];
    imp.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 7));
    expect(Array.from(featureImportance(1))).toEqual([1]);
  });

  it('rejects options that cannot make a dataset, naming the flag', () => {
    const bad = (o: Parameters<typeof withToyDefaults>[0]) => () => validateToyOptions(withToyDefaults(o));
    expect(bad({ nFeatures: 5, nCorrelatedPairs: 2, nAnticorrelatedPairs: 1 })).toThrow(/need 6 features but --n-features is 5/);
    expect(bad({ featureProbability: 0 })).toThrow(/--feature-probability must be in \(0, 1\]/);
    expect(bad({ featureProbability: 1.5 })).toThrow(/--feature-probability/);
    expect(bad({ featureProbability: 0.6, nAnticorrelatedPairs: 1 })).toThrow(/at most 0.5 with anti-correlated pairs/);
    expect(bad({ nFeatures: 11, corrRate: -0.1 })).toThrow(/--corr-rate must be in/);
    expect(bad({ corrRate: 1 })).toThrow(/--corr-rate must be in/);
    expect(bad({ corrRate: 0.2, nCorrelatedPairs: 1 })).toThrow(/cannot be combined/);
    expect(bad({ rows: 0 })).toThrow(/--rows/);
    expect(bad({ nHidden: 2.5 })).toThrow(/--n-hidden/);
    expect(bad({ nFeatures: 11, corrRate: -0.09 })).not.toThrow();
    expect(bad({})).not.toThrow();
  });
});
