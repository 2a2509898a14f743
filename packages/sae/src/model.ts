/**
 * Parameters, initialisation and the forward pass with every loss term, written with plain tfjs
 * ops (differentiable, so tests can check the hand-written backward of step.ts against autodiff).
 */
import { tf, kaimingUniform, fastMatMul, type Rng } from '@vsae/compute';
import type { Prior } from './prior.js';
import { hasVarHead, isVariational, type ModelSpec, type ParamName, type SaeParams } from './types.js';

export type Params = SaeParams<tf.Tensor>;

/** A latent counts as active (fired) when its activation exceeds this: one threshold for training and analysis. */
export const ACTIVE_THRESHOLD = 1e-8;
/** log σ² bounds of the linear variance head. */
export const LOGVAR_MIN = -6;
export const LOGVAR_MAX = 2;

/**
 * Initial parameters as host arrays: W_enc, W_dec (and W_enc_var) Kaiming-uniform, drawn
 * independently in that order from `rng` (PyTorch's kaiming_uniform_ on the stored shape),
 * biases 0, each W_dec row scaled to unit norm.
 */
export function initParams(spec: ModelSpec, rng: Rng): SaeParams<Float32Array> {
  const { dIn, dSae } = spec;
  const W_enc = kaimingUniform(rng, [dIn, dSae]);
  const W_dec = kaimingUniform(rng, [dSae, dIn]);
  normalizeRows(W_dec, dSae, dIn);
  const p: SaeParams<Float32Array> = { W_enc, b_enc: new Float32Array(dSae), W_dec, b_dec: new Float32Array(dIn) };
  if (hasVarHead(spec)) {
    p.W_enc_var = kaimingUniform(rng, [dIn, dSae]);
    p.b_enc_var = new Float32Array(dSae);
  }
  return p;
}

/** Scales each row of a row-major [rows, cols] matrix to unit L2 norm, in place (float64 sums). */
export function normalizeRows(w: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c]! ** 2;
    const n = Math.sqrt(s);
    if (n > 0) for (let c = 0; c < cols; c++) w[r * cols + c]! /= n;
  }
}

/** Host arrays → tensors with the SAELens shapes. */
export function paramsToTensors(spec: ModelSpec, p: SaeParams<Float32Array>): Params {
  const { dIn, dSae } = spec;
  const out: Params = {
    W_enc: tf.tensor2d(p.W_enc, [dIn, dSae]),
    b_enc: tf.tensor1d(p.b_enc),
    W_dec: tf.tensor2d(p.W_dec, [dSae, dIn]),
    b_dec: tf.tensor1d(p.b_dec),
  };
  if (hasVarHead(spec)) {
    if (!p.W_enc_var || !p.b_enc_var) throw new Error('variance head weights missing');
    out.W_enc_var = tf.tensor2d(p.W_enc_var, [dIn, dSae]);
    out.b_enc_var = tf.tensor1d(p.b_enc_var);
  }
  return out;
}

export function paramEntries<T>(p: SaeParams<T>): Array<[ParamName, T]> {
  return (Object.entries(p) as Array<[ParamName, T | undefined]>).filter((e): e is [ParamName, T] => e[1] !== undefined);
}

export function disposeParams(p: Partial<Params>): void {
  for (const t of Object.values(p)) t?.dispose();
}

export interface Forward {
  /** x − b_dec */
  xc: tf.Tensor2D;
  /** Encoder pre-activation. */
  pre: tf.Tensor2D;
  /** f (SAE) or μ (VSAE) = ReLU(pre). */
  act: tf.Tensor2D;
  /** VSAE: log σ² (0 without the variance head). */
  logVar?: tf.Tensor2D | undefined;
  /** VSAE with the variance head: its pre-activation. */
  logVarPre?: tf.Tensor2D | undefined;
  /** VSAE with the variance head, in training: σ = exp(½ log σ²). */
  sigma?: tf.Tensor2D | undefined;
  /** The decoded latent (f, or μ + σ ε for a VSAE in training). */
  z: tf.Tensor2D;
  xHat: tf.Tensor2D;
}

/** log σ² from its pre-activation: clamped to [−6, 2] (linear) or ReLU (the original). */
export function logVarActivation(spec: ModelSpec, pre: tf.Tensor2D): tf.Tensor2D {
  return spec.varActivation === 'relu' ? tf.relu(pre) : tf.clipByValue(pre, LOGVAR_MIN, LOGVAR_MAX);
}

/** Encoder: f/μ and, for a VSAE with the variance head, log σ² (both heads read the same, possibly centred, input). */
export function encode(spec: ModelSpec, p: Params, x: tf.Tensor2D, centre = true): { xc: tf.Tensor2D; pre: tf.Tensor2D; act: tf.Tensor2D; logVarPre?: tf.Tensor2D; logVar?: tf.Tensor2D } {
  // vSAE-TopK's encoder reads x itself (centre false); every other architecture x − b_dec.
  const xc = centre ? (tf.sub(x, p.b_dec) as tf.Tensor2D) : x;
  const pre = tf.add(fastMatMul(xc, p.W_enc as tf.Tensor2D), p.b_enc) as tf.Tensor2D;
  const act = tf.relu(pre);
  if (hasVarHead(spec)) {
    const logVarPre = tf.add(fastMatMul(xc, p.W_enc_var as tf.Tensor2D), p.b_enc_var!) as tf.Tensor2D;
    return { xc, pre, act, logVarPre, logVar: logVarActivation(spec, logVarPre) };
  }
  return { xc, pre, act };
}

/** x̂ = z · W_dec + b_dec */
export function decode(p: Params, z: tf.Tensor2D): tf.Tensor2D {
  return tf.add(fastMatMul(z, p.W_dec as tf.Tensor2D), p.b_dec) as tf.Tensor2D;
}

/**
 * Training forward pass. For a VSAE, `eps` (standard normal, [B, d_sae]) is the noise of the
 * reparameterisation z = μ + exp(½ log σ²) ε; without the variance head σ = 1.
 */
export function forward(spec: ModelSpec, p: Params, x: tf.Tensor2D, eps?: tf.Tensor2D): Forward {
  const e = encode(spec, p, x);
  let z = e.act;
  let sigma: tf.Tensor2D | undefined;
  if (isVariational(spec.arch)) {
    if (!eps) throw new Error('a VSAE training step needs the noise ε');
    if (e.logVar) sigma = tf.exp(tf.mul(e.logVar, 0.5)) as tf.Tensor2D;
    // --decode mu: the noise is drawn (the KL is unchanged) but the decoder reads μ.
    if (spec.decode !== 'mu') z = sigma ? (tf.add(e.act, tf.mul(sigma, eps)) as tf.Tensor2D) : (tf.add(e.act, eps) as tf.Tensor2D);
  }
  return { ...e, sigma, z, xHat: decode(p, z) };
}

/** The batch factor of the sparsity term: 1/B for per-row means, 1 for the original's sums (Mix always 1/B). */
export function sparsityScale(spec: ModelSpec, batch: number): number {
  if (spec.reduction === 'mean') return 1 / batch;
  return spec.arch === 'vsae-mix' ? 1 / batch : 1;
}

export interface LossTerms {
  loss: tf.Scalar;
  recon: tf.Scalar;
  /** L1 (SAE) or KL (VSAE), before the coefficient. */
  sparsity: tf.Scalar;
}

/**
 * Every loss term (docs/math.md) from a forward pass, with plain differentiable ops.
 * recon = mean_batch Σ_dims (x̂ − x)²; L1 = Σ|f| · scale; KL per architecture · scale.
 */
export function lossTerms(spec: ModelSpec, prior: Prior, f: Forward, x: tf.Tensor2D, coeff: number): LossTerms {
  const B = x.shape[0];
  const recon = tf.div(tf.sum(tf.square(tf.sub(f.xHat, x))), B) as tf.Scalar;
  const sparsity = sparsityTerm(spec, prior, f, B);
  const loss = tf.add(recon, tf.mul(sparsity, coeff)) as tf.Scalar;
  return { loss, recon, sparsity };
}

function sparsityTerm(spec: ModelSpec, prior: Prior, f: Forward, B: number): tf.Scalar {
  const scale = sparsityScale(spec, B);
  const mu = f.act;
  const lv = f.logVar;
  const sigma2 = lv ? tf.exp(lv) : undefined;
  switch (prior.kind) {
    case 'none':
      return tf.mul(tf.sum(tf.abs(mu)), scale) as tf.Scalar;
    case 'diag': {
      // ½ Σ (−log σ² + σ² + (μ − μp)² − 1); with σ² = 1 this is ½ Σ (μ − μp)².
      const d = prior.means ? tf.sub(mu, tf.tensor1d(prior.means)) : mu;
      const sq = tf.sum(tf.square(d));
      const varPart = lv && sigma2 ? tf.sum(tf.sub(tf.sub(sigma2, lv), 1)) : tf.scalar(0);
      return tf.mul(tf.add(sq, varPart), 0.5 * scale) as tf.Scalar;
    }
    case 'uniform':
    case 'matrix': {
      const dS = prior.d;
      if (spec.multiKl === 'batch-moments') {
        // As the original: moments averaged over the batch, log det Σq as the mean over rows of
        // Σ log σ² (not the log of the mean σ²), the whole KL clamped at ≥ 0.
        const muBar = tf.mean(mu, 0);
        const vBar = sigma2 ? tf.mean(sigma2, 0) : tf.onesLike(muBar);
        const trace = prior.kind === 'uniform' ? tf.mul(tf.sum(vBar), prior.pDiag) : tf.sum(tf.mul(vBar, tf.tensor1d(prior.pDiag)));
        const quad = quadForm(prior, muBar.reshape([1, dS]));
        const logDetQ = lv ? tf.div(tf.sum(lv), mu.shape[0]) : tf.scalar(0);
        const kl = tf.mul(tf.sub(tf.add(tf.add(trace, tf.sum(quad)), prior.logDet - dS), logDetQ), 0.5);
        return tf.relu(kl) as tf.Scalar; // one value for the batch: no per-row reduction
      }
      const B = mu.shape[0];
      const trace = sigma2
        ? prior.kind === 'uniform' ? tf.mul(tf.sum(sigma2), prior.pDiag) : tf.sum(tf.mul(sigma2, tf.tensor1d(prior.pDiag)))
        : tf.scalar(B * (prior.kind === 'uniform' ? dS * prior.pDiag : prior.pDiag.reduce((a, b) => a + b, 0)));
      const quad = tf.sum(quadForm(prior, mu));
      const logVarSum = lv ? tf.sum(lv) : tf.scalar(0);
      const perBatch = tf.sub(tf.add(tf.add(trace, quad), B * (prior.logDet - dS)), logVarSum);
      return tf.mul(perBatch, 0.5 * scale) as tf.Scalar;
    }
  }
}

/** μᵀPμ for each row of mu [B, d] → [B]. */
export function quadForm(prior: Extract<Prior, { kind: 'uniform' | 'matrix' }>, mu: tf.Tensor2D): tf.Tensor1D {
  if (prior.kind === 'uniform') {
    const n2 = tf.sum(tf.square(mu), 1);
    const s = tf.sum(mu, 1);
    return tf.div(tf.sub(n2, tf.mul(tf.square(s), prior.c)), 1 - prior.rho) as tf.Tensor1D;
  }
  const P = tf.tensor2d(prior.P, [prior.d, prior.d]);
  return tf.sum(tf.mul(fastMatMul(mu, P), mu), 1) as tf.Tensor1D;
}
