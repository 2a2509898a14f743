import type { ToyOptions } from './options.js';
import type { UniformSource } from './rng.js';

/**
 * Feature generation of the toy model of superposition (docs/math.md, "Toy model of superposition"), in plain JS typed arrays.
 *
 * Columns are laid out `[correlated pairs | anti-correlated pairs | independent]`. Every feature
 * is present with probability p and then takes a U[0, 1] value:
 * - a correlated pair shares one presence draw (both or neither), values drawn independently;
 * - an anti-correlated pair is present with probability 2p and a fair coin picks which one fires;
 * - in `corr_rate` mode (no pairs) a row is `x = u · Lᵀ` with u ~ U[0,1]^n and L the lower
 *   Cholesky factor of the uniform correlation matrix C (so Cov(x) = C / 12), then each feature
 *   is kept with probability p.
 *
 * Draw order per row (fixed, so a seed gives the same rows): each correlated pair (presence,
 * then two values if present), each anti-correlated pair (presence, then the coin and the value
 * if present), then either the independent features or, in corr_rate mode, n values u followed by
 * n presence draws. Independent features are drawn by geometric skips: one draw gives the number
 * of absent features before the next present one, ⌊ln(1−u) / ln(1−p)⌋ (the same Bernoulli(p)
 * process as one draw per feature, in about p·n + 1 draws instead of n), then its value.
 */
export type FeatureSpec = Pick<ToyOptions, 'nFeatures' | 'featureProbability' | 'nCorrelatedPairs' | 'nAnticorrelatedPairs' | 'corrRate'>;

/** Importance of feature i: 100^(−i/(n−1)), from 1 down to 0.01 (a lone feature gets 1). */
export function featureImportance(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = n === 1 ? 1 : Math.pow(100, -i / (n - 1));
  return out;
}

/**
 * Lower Cholesky factor of the n×n uniform correlation matrix (1 on the diagonal, ρ off it),
 * valid for −1/(n−1) < ρ < 1. Below the diagonal each column is constant, so the factor is
 * returned as its diagonal and the one value `below[j]` = L[i][j] shared by every row i > j:
 *   s_j = Σ_{k<j} below[k]²,  diag[j] = √(1 − s_j),  below[j] = (ρ − s_j) / diag[j].
 */
export function uniformCorrelationCholesky(n: number, rho: number): { diag: Float64Array; below: Float64Array } {
  const diag = new Float64Array(n);
  const below = new Float64Array(n);
  let s = 0;
  for (let j = 0; j < n; j++) {
    const d = Math.sqrt(1 - s);
    if (!(d > 0)) throw new RangeError(`the uniform correlation matrix with rho ${rho} is not positive definite for n = ${n}`);
    diag[j] = d;
    below[j] = (rho - s) / d;
    s += below[j]! * below[j]!;
  }
  return { diag, below };
}

/** The dense lower factor L [n, n] (row-major), from the compact form above. */
export function denseCholesky(f: { diag: Float64Array; below: Float64Array }): Float64Array {
  const n = f.diag.length;
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) L[i * n + j] = f.below[j]!;
    L[i * n + i] = f.diag[i]!;
  }
  return L;
}

/** Makes rows of toy features. */
export class FeatureGenerator {
  readonly nFeatures: number;
  private readonly p: number;
  /** 1 / ln(1 − p) for the geometric skips (−0 when p = 1: no skips). */
  private readonly invLogQ: number;
  private readonly nCorr: number;
  private readonly nAnti: number;
  private readonly chol: { diag: Float64Array; below: Float64Array } | undefined;
  private readonly u: Float64Array;

  constructor(spec: FeatureSpec) {
    this.nFeatures = spec.nFeatures;
    this.p = spec.featureProbability;
    this.invLogQ = 1 / Math.log1p(-spec.featureProbability);
    this.nCorr = spec.nCorrelatedPairs;
    this.nAnti = spec.nAnticorrelatedPairs;
    this.chol = spec.corrRate === undefined ? undefined : uniformCorrelationCholesky(spec.nFeatures, spec.corrRate);
    this.u = new Float64Array(spec.nFeatures);
  }

  /** Fills `out` (row-major [rows, nFeatures], allocated when not given) with fresh rows. */
  generate(rng: UniformSource, rows: number, out?: Float32Array): Float32Array {
    const n = this.nFeatures;
    const x = out ?? new Float32Array(rows * n);
    if (x.length < rows * n) throw new RangeError(`output holds ${x.length} values, ${rows * n} needed`);
    x.fill(0, 0, rows * n);
    const p = this.p;
    const p2 = 2 * p;
    const firstIndep = 2 * (this.nCorr + this.nAnti);
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      let c = o;
      for (let k = 0; k < this.nCorr; k++, c += 2) {
        if (rng.uniform() < p) {
          x[c] = rng.uniform();
          x[c + 1] = rng.uniform();
        }
      }
      for (let k = 0; k < this.nAnti; k++, c += 2) {
        if (rng.uniform() < p2) {
          const which = rng.uniform() < 0.5 ? 0 : 1;
          x[c + which] = rng.uniform();
        }
      }
      if (this.chol) {
        this.correlatedRow(rng, x, o);
      } else {
        const end = o + n;
        for (let i = o + firstIndep + this.skip(rng); i < end; i += 1 + this.skip(rng)) x[i] = rng.uniform();
      }
    }
    return x;
  }

  /** Absent features before the next present one: Geometric(p) on {0, 1, …}. */
  private skip(rng: UniformSource): number {
    return this.p >= 1 ? 0 : Math.floor(Math.log(1 - rng.uniform()) * this.invLogQ);
  }

  /** x = u · Lᵀ, i.e. x_i = diag_i u_i + Σ_{j<i} below_j u_j, then masked by presence. */
  private correlatedRow(rng: UniformSource, x: Float32Array, o: number): void {
    const { diag, below } = this.chol!;
    const n = this.nFeatures;
    const u = this.u;
    for (let i = 0; i < n; i++) u[i] = rng.uniform();
    let prefix = 0;
    for (let i = 0; i < n; i++) {
      x[o + i] = diag[i]! * u[i]! + prefix;
      prefix += below[i]! * u[i]!;
    }
    for (let i = 0; i < n; i++) if (!(rng.uniform() < this.p)) x[o + i] = 0;
  }
}
