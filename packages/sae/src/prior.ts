/**
 * The VSAE priors (docs/math.md, "VSAE-Mix", "VSAE-Multi"): per-latent means for VSAE-Mix, and for VSAE-Multi the
 * precision P = Σp⁻¹ and log det Σp, either in closed form for a uniform correlation ρ (no
 * d_sae × d_sae matrix) or from a matrix file inverted once in float64.
 */
import { InputError, UsageError, readSafetensors } from '@vsae/data';
import { archOf } from './archs/index.js';
import type { ModelSpec } from './types.js';

/** Largest d_sae for which a prior matrix from a file is accepted (it is inverted densely). */
export const MAX_MATRIX_PRIOR = 4096;

export type Prior =
  /** Vanilla SAE: no prior. */
  | { kind: 'none' }
  /** VSAE-Iso (means undefined) and VSAE-Mix: N(μp, I). */
  | { kind: 'diag'; means: Float32Array | undefined }
  /** VSAE-Multi with Σp = (1 − ρ) I + ρ 11ᵀ, by the closed forms. */
  | { kind: 'uniform'; d: number; rho: number; c: number; pDiag: number; logDet: number }
  /** VSAE-Multi with a matrix from a file: P (row-major, symmetric) and its diagonal. */
  | { kind: 'matrix'; d: number; P: Float32Array; pDiag: Float32Array; logDet: number };

/** Checks that the pair counts fit in d_sae (2 latents per pair). */
export function checkPairs(spec: Pick<ModelSpec, 'dSae' | 'nCorrelatedPairs' | 'nAnticorrelatedPairs'>): void {
  const { dSae, nCorrelatedPairs: nc, nAnticorrelatedPairs: na } = spec;
  for (const [flag, v] of [['--n-correlated-pairs', nc], ['--n-anticorrelated-pairs', na]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new UsageError(`${flag} must be a whole number ≥ 0 (got ${v})`);
  }
  if (2 * (nc + na) > dSae) {
    throw new UsageError(
      `${nc} correlated and ${na} anti-correlated pairs need ${2 * (nc + na)} latents but d_sae is ${dSae}; ` +
        'use fewer pairs or a larger --d-sae / --dict-mult',
    );
  }
}

/** VSAE-Mix prior means: (+s, +s) per correlated pair, (+s, −s) per anti-correlated pair, then 0. */
export function mixPriorMeans(spec: Pick<ModelSpec, 'dSae' | 'nCorrelatedPairs' | 'nAnticorrelatedPairs' | 'priorMean'>): Float32Array {
  checkPairs(spec);
  const s = spec.priorMean;
  const m = new Float32Array(spec.dSae);
  let i = 0;
  for (let p = 0; p < spec.nCorrelatedPairs; p++, i += 2) {
    m[i] = s;
    m[i + 1] = s;
  }
  for (let p = 0; p < spec.nAnticorrelatedPairs; p++, i += 2) {
    m[i] = s;
    m[i + 1] = -s;
  }
  return m;
}

/** Closed forms for the uniform correlation prior; ρ must lie in (−1/(d−1), 1). */
export function uniformPrior(rho: number, d: number): Extract<Prior, { kind: 'uniform' }> {
  const lo = d > 1 ? -1 / (d - 1) : -Infinity;
  if (!Number.isFinite(rho) || !(rho > lo) || !(rho < 1)) {
    throw new UsageError(
      `--corr-rate must lie in (−1/(d_sae−1), 1) = (${d > 1 ? lo.toPrecision(4) : '−∞'}, 1) for d_sae ${d}, so the prior covariance is positive definite (got ${rho})`,
    );
  }
  const c = rho / (1 + (d - 1) * rho);
  return {
    kind: 'uniform',
    d,
    rho,
    c,
    pDiag: (1 - c) / (1 - rho),
    logDet: (d - 1) * Math.log1p(-rho) + Math.log1p((d - 1) * rho),
  };
}

/**
 * Cholesky factorisation A = L Lᵀ in float64 (row-major, lower triangle returned in a new
 * array); returns undefined if A is not positive definite.
 */
export function cholesky(a: Float64Array, d: number): Float64Array | undefined {
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const ri = i * d;
    for (let j = 0; j <= i; j++) {
      const rj = j * d;
      let s = a[ri + j]!;
      for (let k = 0; k < j; k++) s -= L[ri + k]! * L[rj + k]!;
      if (i === j) {
        if (!(s > 0)) return undefined;
        L[ri + i] = Math.sqrt(s);
      } else {
        L[ri + j] = s / L[rj + j]!;
      }
    }
  }
  return L;
}

/** Inverse of A = L Lᵀ from its Cholesky factor, in float64: A⁻¹ = L⁻ᵀ L⁻¹. */
export function choleskyInverse(L: Float64Array, d: number): Float64Array {
  // Linv: inverse of the lower-triangular L, stored row-major, lower triangle.
  const Linv = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    Linv[i * d + i] = 1 / L[i * d + i]!;
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = j; k < i; k++) s += L[i * d + k]! * Linv[k * d + j]!;
      Linv[i * d + j] = -s / L[i * d + i]!;
    }
  }
  // A⁻¹[i][j] = Σ_k Linv[k][i] Linv[k][j], k ≥ max(i, j). Accumulate row by row of Linv.
  const inv = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const rk = k * d;
    for (let i = 0; i <= k; i++) {
      const lki = Linv[rk + i]!;
      if (lki === 0) continue;
      const ri = i * d;
      for (let j = 0; j <= i; j++) inv[ri + j]! += lki * Linv[rk + j]!;
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) inv[j * d + i] = inv[i * d + j]!;
  return inv;
}

/** Reads the prior covariance (key `corr`, [d_sae, d_sae]) from a safetensors file and inverts it once. */
export function matrixPriorFromFile(file: string, d: number): Extract<Prior, { kind: 'matrix' }> {
  if (d > MAX_MATRIX_PRIOR) {
    throw new UsageError(
      `a prior matrix from a file is limited to d_sae ≤ ${MAX_MATRIX_PRIOR} (it is inverted densely) but d_sae is ${d}; use --corr-rate for a uniform correlation, which needs no matrix`,
    );
  }
  const st = readSafetensors(file);
  if (!st.tensors.has('corr')) {
    throw new InputError(file, `no tensor named "corr" (found: ${[...st.tensors.keys()].join(', ') || 'none'}); save the prior covariance under the key "corr"`);
  }
  const { data, shape } = st.getFloat32('corr');
  if (shape.length !== 2 || shape[0] !== d || shape[1] !== d) {
    throw new InputError(file, `"corr" has shape [${shape.join(', ')}] but the prior needs [${d}, ${d}] (d_sae × d_sae)`);
  }
  return matrixPrior(Float64Array.from(data), d, file);
}

/** Validates a symmetric positive-definite covariance and builds the prior from it. */
export function matrixPrior(a: Float64Array, d: number, name = 'prior matrix'): Extract<Prior, { kind: 'matrix' }> {
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      const x = a[i * d + j]!;
      const y = a[j * d + i]!;
      if (!Number.isFinite(x) || Math.abs(x - y) > 1e-6 * Math.max(1, Math.abs(x), Math.abs(y))) {
        throw new InputError(name, `"corr" is not symmetric (entry [${i}, ${j}] = ${x} but [${j}, ${i}] = ${y}); a covariance must be symmetric`);
      }
    }
  }
  const L = cholesky(a, d);
  if (!L) throw new InputError(name, '"corr" is not positive definite, so it is not a valid prior covariance; check the matrix (all eigenvalues must be > 0)');
  let logDet = 0;
  for (let i = 0; i < d; i++) logDet += 2 * Math.log(L[i * d + i]!);
  const inv = choleskyInverse(L, d);
  const pDiag = new Float32Array(d);
  for (let i = 0; i < d; i++) pDiag[i] = inv[i * d + i]!;
  return { kind: 'matrix', d, P: Float32Array.from(inv), pDiag, logDet };
}

/** The prior a model spec asks for (reads the matrix file when one is given). */
export function buildPrior(spec: ModelSpec): Prior {
  switch (archOf(spec.arch).prior) {
    case 'none':
      return { kind: 'none' };
    case 'isotropic':
      return { kind: 'diag', means: undefined };
    case 'mixture':
      return { kind: 'diag', means: mixPriorMeans(spec) };
    case 'multivariate':
      if (spec.corrMatrix !== undefined) {
        if (spec.corrRate !== undefined) throw new UsageError('give either --corr-rate or --corr-matrix for VSAE-Multi, not both');
        return matrixPriorFromFile(spec.corrMatrix, spec.dSae);
      }
      return uniformPrior(spec.corrRate ?? 0, spec.dSae);
  }
}
