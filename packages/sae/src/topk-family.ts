/**
 * The tensor math of the TopK family (docs/math.md, "TopK SAE", "BatchTopK", "vSAE-TopK"):
 * initialisation, the forward pass with its top-k selection, AuxK, the KL of vSAE-TopK, the
 * hand-derived gradients (no autodiff tape, every product through fastMatMul as in step.ts),
 * global gradient-norm clipping and the geometric median that starts TopK's b_dec.
 */
import { tf, fastMatMul, kaimingUniform, type Rng } from '@vsae/compute';
import { archOf } from './archs/index.js';
import { LOGVAR_MAX, LOGVAR_MIN, encode, normalizeRows, type Params } from './model.js';
import { colSum, projectDecoderGrad } from './step.js';
import { hasVarHead, type ModelSpec, type ParamName, type SaeParams } from './types.js';

/** vSAE-TopK: μ is clamped to ±10 inside the KL (as the authors' trainer). */
const KL_MU_CLAMP = 10;
/** The vSAE-TopK variance head starts at log σ² = −2. */
const VAR_BIAS_INIT = -2;

const variational = (spec: Pick<ModelSpec, 'arch'>): boolean => archOf(spec.arch).variational;
export const selection = (spec: Pick<ModelSpec, 'arch'>): 'row' | 'batch' => archOf(spec.arch).selection ?? 'row';

/**
 * Initial parameters. TopK/BatchTopK: decoder rows uniform then unit-norm, the encoder tied to
 * them (W_enc = W_decᵀ), biases 0 (b_dec is set from the first batch). vSAE-TopK ("april"
 * mode): w ~ N(0, 1) with each column scaled to norm 0.1, W_enc = w, W_dec = wᵀ; the variance
 * head Kaiming-uniform (a = 0.01, fan-in d_in) with bias −2.
 */
export function topkInitParams(spec: ModelSpec, rng: Rng): SaeParams<Float32Array> {
  const { dIn, dSae } = spec;
  const W_enc = new Float32Array(dIn * dSae);
  const W_dec = new Float32Array(dSae * dIn);
  if (variational(spec)) {
    rng.fillNormal(W_dec); // [d_sae, d_in]: row j is column j of w
    normalizeRows(W_dec, dSae, dIn);
    for (let i = 0; i < W_dec.length; i++) W_dec[i]! *= 0.1;
  } else {
    W_dec.set(kaimingUniform(rng, [dSae, dIn]));
    normalizeRows(W_dec, dSae, dIn);
  }
  for (let j = 0; j < dSae; j++) for (let r = 0; r < dIn; r++) W_enc[r * dSae + j] = W_dec[j * dIn + r]!;
  const p: SaeParams<Float32Array> = { W_enc, b_enc: new Float32Array(dSae), W_dec, b_dec: new Float32Array(dIn) };
  if (hasVarHead(spec)) {
    const bound = Math.sqrt(6 / ((1 + 0.01 ** 2) * dIn));
    const w = new Float32Array(dIn * dSae);
    for (let i = 0; i < w.length; i++) w[i] = (2 * rng.uniform() - 1) * bound;
    p.W_enc_var = w;
    p.b_enc_var = new Float32Array(dSae).fill(VAR_BIAS_INIT);
  }
  return p;
}

/**
 * The k-th largest value of each row of `score` ([B, d], as [B, 1]), or of the whole batch for
 * k·B (as [1]), by tf.topk: for backends whose tensors live on a device.
 */
export function kthLargest(score: tf.Tensor2D, k: number, over: 'row' | 'batch'): tf.Tensor {
  const [B, d] = score.shape;
  if (over === 'batch') {
    const n = Math.min(k * B, B * d);
    return tf.slice(tf.topk(tf.reshape(score, [B * d]), n).values, [n - 1], [1]);
  }
  return tf.slice(tf.topk(score, k).values, [0, k - 1], [B, 1]);
}

/**
 * The same k-th largest values computed on the host by quickselect, for the wasm and cpu
 * backends, whose tensors already live in host memory: several times faster than their tf.topk,
 * which sorts (d_sae 6144, k 384, batch 1024: 103 ms for tf.topk on wasm).
 */
export function kthLargestHost(score: Float32Array, B: number, d: number, k: number, over: 'row' | 'batch'): Float32Array {
  if (over === 'batch') return Float32Array.of(kthLargestOf(score, Math.min(k * B, B * d), new Float32Array(score.length)));
  const out = new Float32Array(B);
  const scratch = new Float32Array(d);
  for (let r = 0; r < B; r++) out[r] = kthLargestOf(score.subarray(r * d, (r + 1) * d), k, scratch);
  return out;
}

/**
 * The k-th largest of `values` (never negative here: ReLU activations or |z|; with fewer than k
 * positive entries it is 0). Exact, but fast where k is a small share of the row: a threshold
 * from a strided sample keeps the few candidates above it (all of the top k whenever at least k
 * pass, which is checked), and the quickselect runs over those; otherwise over the positives.
 */
function kthLargestOf(values: Float32Array, k: number, scratch: Float32Array): number {
  const n = values.length;
  if (k * 4 < n) {
    const m = Math.min(n, 256);
    const step = n / m;
    const sample = new Float32Array(m);
    for (let i = 0; i < m; i++) sample[i] = values[Math.floor(i * step)]!;
    sample.sort();
    // A sample rank well below the target share, so that at least k pass with high probability.
    const rank = Math.min(m - 1, Math.ceil((k / n) * m * 1.5) + 2);
    const t = sample[m - 1 - rank]!;
    if (t > 0) {
      let c = 0;
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        if (v >= t) scratch[c++] = v;
      }
      if (c >= k) return nthLargest(scratch.subarray(0, c), k);
    }
  }
  let c = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v > 0) scratch[c++] = v;
  }
  return c < k ? 0 : nthLargest(scratch.subarray(0, c), k);
}

/** The n-th largest element (1-based) of `a`, which it reorders (Hoare's quickselect). */
function nthLargest(a: Float32Array, n: number): number {
  let lo = 0;
  let hi = a.length - 1;
  const want = n - 1; // index in descending order
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! > pivot) i++;
      while (a[j]! < pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (want <= j) hi = j;
    else if (want >= i) lo = i;
    else return a[want]!;
  }
  return a[want]!;
}

/**
 * 1 where `score` is positive and at least its k-th largest value (per row, or over the batch),
 * 0 elsewhere: the kept entries that carry a value. Entries tied with the k-th value are all
 * kept, which with real-valued activations happens only at 0 (a row with fewer than k positive
 * entries), and zeros are never kept, so the mask implies a positive activation (TopK's gradient
 * needs no separate ReLU factor). (Scattering tf.topk's indices costs twice as much on wasm.)
 */
export function maskFromKth(score: tf.Tensor2D, kth: tf.Tensor): tf.Tensor2D {
  return tf.mul(tf.sub(1, tf.step(tf.sub(kth, score), 0)), tf.step(score, 0)) as tf.Tensor2D;
}

/**
 * The same mask from a threshold computed on the host: step(score − t) with t the float32 just
 * below the k-th value (or 0 when it is 0), one comparison instead of three element-wise passes.
 */
export function maskAbove(score: tf.Tensor2D, t: tf.Tensor): tf.Tensor2D {
  return tf.step(tf.sub(score, t), 0) as tf.Tensor2D;
}

/** The largest float32 below v for v > 0, else 0: score − t > 0 ⟺ score ≥ v (and score > 0). */
export function thresholdBelow(kth: Float32Array): Float32Array {
  const t = Float32Array.from(kth);
  const bits = new Uint32Array(t.buffer);
  for (let i = 0; i < t.length; i++) {
    if (t[i]! > 0) bits[i]! -= 1;
    else t[i] = 0;
  }
  return t;
}

/** The mask of the k largest positive entries of each row (or the k·B largest of the batch). */
export function topkMask(score: tf.Tensor2D, k: number, over: 'row' | 'batch'): tf.Tensor2D {
  return maskFromKth(score, kthLargest(score, k, over));
}

export interface TopkForward {
  /** What the encoder reads: x − b_dec (TopK) or x (vSAE-TopK, no centring). */
  xIn: tf.Tensor2D;
  pre: tf.Tensor2D;
  /** ReLU(pre): TopK's post-activations, vSAE-TopK's μ. */
  act: tf.Tensor2D;
  /** vSAE-TopK with the variance head: its pre-activation, log σ² clamped, and σ in training. */
  lvPre?: tf.Tensor2D | undefined;
  lv?: tf.Tensor2D | undefined;
  sigma?: tf.Tensor2D | undefined;
  /** The latent the selection acts on: act, or μ + σ ε in training. */
  z: tf.Tensor2D;
  mask: tf.Tensor2D;
  /** z on the kept entries, 0 elsewhere: what is decoded (and, at inference, what analysis measures). */
  code: tf.Tensor2D;
  xHat: tf.Tensor2D;
}

/** The forward pass up to the score the selection ranks (|z| for vSAE-TopK, the activations for TopK). */
export function topkScores(spec: ModelSpec, p: Params, x: tf.Tensor2D, eps?: tf.Tensor2D): Omit<TopkForward, 'mask' | 'code' | 'xHat'> & { score: tf.Tensor2D } {
  const v = variational(spec);
  // The encoder of the classic models, without b_dec centring for vSAE-TopK (its log σ² head
  // is clamped to [−6, 2], the classic linear head).
  const { xc: xIn, pre, act, logVarPre: lvPre, logVar: lv } = encode(spec, p, x, !v);
  let z = act;
  let sigma: tf.Tensor2D | undefined;
  if (lv && eps) {
    sigma = tf.exp(tf.mul(lv, 0.5)) as tf.Tensor2D;
    z = tf.add(act, tf.mul(sigma, eps)) as tf.Tensor2D;
  }
  return { xIn, pre, act, lvPre, lv, sigma, z, score: v ? (tf.abs(z) as tf.Tensor2D) : z };
}

/** The rest of the forward pass once the selection's mask is known: the code and x̂. */
export function topkDecode(p: Params, s: Omit<TopkForward, 'mask' | 'code' | 'xHat'>, mask: tf.Tensor2D): TopkForward {
  const code = tf.mul(s.z, mask) as tf.Tensor2D;
  const xHat = tf.add(fastMatMul(code, p.W_dec as tf.Tensor2D), p.b_dec) as tf.Tensor2D;
  return { xIn: s.xIn, pre: s.pre, act: s.act, lvPre: s.lvPre, lv: s.lv, sigma: s.sigma, z: s.z, mask, code, xHat };
}

/**
 * The forward pass. `eps` (vSAE-TopK with the variance head, training) is the noise of
 * z = μ + exp(½ log σ²) ε; without it z = μ. `threshold` ≥ 0 replaces BatchTopK's batch-wide
 * selection by the learned inference threshold θ.
 */
export function topkForward(spec: ModelSpec, p: Params, x: tf.Tensor2D, eps?: tf.Tensor2D, threshold?: number): TopkForward {
  const s = topkScores(spec, p, x, eps);
  const mask =
    threshold !== undefined && threshold >= 0 && selection(spec) === 'batch'
      ? (tf.step(tf.sub(s.act, threshold), 0) as tf.Tensor2D)
      : topkMask(s.score, spec.k!, selection(spec));
  return topkDecode(p, s, mask);
}

/**
 * Latents that fired this step (1/0 per latent): TopK, some row kept it with a positive value
 * (a kept zero, in a row with fewer than k positive entries, is not a firing); vSAE-TopK,
 * Σ_rows s > 0 as the authors' trainer counts it.
 */
export function firedLatents(spec: ModelSpec, f: TopkForward): tf.Tensor1D {
  const s = variational(spec) ? colSum(f.code) : colSum(f.mask); // TopK's mask holds only positive kept entries
  return tf.step(s, 0) as tf.Tensor1D;
}

/** Rows since each latent last fired, after this batch of B rows. */
export function updateSinceFired(since: tf.Tensor1D, fired: tf.Tensor1D, B: number): tf.Tensor1D {
  return tf.mul(tf.add(since, B), tf.sub(1, fired)) as tf.Tensor1D;
}

export interface TopkGradResult {
  loss: tf.Scalar;
  recon: tf.Scalar;
  /** vSAE-TopK's KL before its coefficient (0 for TopK). */
  kl: tf.Scalar;
  /** AuxK after normalisation, before α (0 when no latent is dead). */
  auxk: tf.Scalar;
  /** The AuxK denominator (mean over rows of ‖r − mean r‖²). */
  auxDenom: tf.Scalar;
  grads: Params;
}

/**
 * Loss terms and gradients: recon + klCoeff·KL (vSAE-TopK) + α·AuxK. `dead` (1 per dead
 * latent) and `nDead` (its count, known on the host) switch AuxK on. Call inside tf.tidy.
 */
export function topkLossAndGrads(spec: ModelSpec, p: Params, x: tf.Tensor2D, f: TopkForward, klCoeff: number, dead: tf.Tensor1D | undefined, nDead: number): TopkGradResult {
  const B = x.shape[0];
  const v = variational(spec);
  const alpha = spec.auxCoeff ?? 1 / 32;
  const W_dec = p.W_dec as tf.Tensor2D;
  const err = tf.sub(f.xHat, x);
  const recon = tf.div(tf.sum(tf.square(err)), B) as tf.Scalar;
  const g = tf.mul(err, 2 / B) as tf.Tensor2D; // d recon / d x̂
  let dW_dec = fastMatMul(f.code, g, true, false);
  let db_dec = colSum(g) as tf.Tensor;
  let dSel = tf.mul(fastMatMul(g, W_dec, false, true), f.mask); // gradient reaching z (or TopK's post)

  // AuxK: the dead latents' top-k_aux (by magnitude for vSAE-TopK) reconstruct the residual.
  let auxk = tf.scalar(0);
  const r = tf.neg(err); // x − x̂, a constant here (stop-gradient)
  const rc = tf.sub(r, tf.mean(r, 0, true));
  const auxDenom = tf.div(tf.sum(tf.square(rc)), B) as tf.Scalar;
  if (dead && nDead > 0 && alpha > 0) {
    const kAux = Math.min(Math.floor(spec.dIn / 2), nDead);
    const base = v ? f.z : f.act;
    const score = tf.add(tf.mul(v ? tf.abs(base) : base, dead), tf.mul(tf.sub(dead, 1), 1e30)) as tf.Tensor2D; // live latents never chosen
    const auxMask = topkMask(score, kAux, 'row');
    const a = tf.mul(base, auxMask) as tf.Tensor2D;
    let auxRecon = fastMatMul(a, W_dec);
    if (v) auxRecon = tf.add(auxRecon, p.b_dec) as tf.Tensor2D;
    const auxErr = tf.sub(auxRecon, r);
    const num = tf.div(tf.sum(tf.square(auxErr)), B);
    // TopK: AuxK = 0 when the denominator ≤ 1e-8; vSAE-TopK adds 1e-8 to it instead.
    const on = v ? tf.scalar(1) : tf.step(tf.sub(auxDenom, 1e-8), 0);
    const denom = v ? tf.add(auxDenom, 1e-8) : tf.maximum(auxDenom, 1e-8);
    auxk = tf.relu(tf.mul(tf.div(num, denom), on)) as tf.Scalar;
    const ga = tf.mul(auxErr, tf.div(tf.mul(on, (2 * alpha) / B), denom)) as tf.Tensor2D;
    dW_dec = tf.add(dW_dec, fastMatMul(a, ga, true, false)) as tf.Tensor2D;
    dSel = tf.add(dSel, tf.mul(fastMatMul(ga, W_dec, false, true), auxMask));
    if (v) db_dec = tf.add(db_dec, colSum(ga));
  }

  // vSAE-TopK's KL over all latents, before the top-k: ½ Σ [clamp(μ)² + e^{lv} − 1 − lv] (lv = 0
  // without the variance head), per-row mean, clamped ≥ 0.
  let kl = tf.scalar(0);
  let dMu = dSel;
  let dLvPre: tf.Tensor2D | undefined;
  if (v) {
    const muC = tf.clipByValue(f.act, -KL_MU_CLAMP, KL_MU_CLAMP);
    let perBatch = tf.sum(tf.square(muC));
    if (f.lv) perBatch = tf.add(perBatch, tf.sum(tf.sub(tf.sub(tf.exp(f.lv), 1), f.lv)));
    const raw = tf.div(tf.mul(perBatch, 0.5), B);
    kl = tf.relu(raw) as tf.Scalar;
    const kc = tf.mul(tf.step(raw, 0), klCoeff / B);
    const inClamp = tf.cast(tf.lessEqual(f.act, KL_MU_CLAMP), 'float32'); // μ ≥ 0: only the upper bound can bind
    dMu = tf.add(dSel, tf.mul(tf.mul(muC, inClamp), kc));
    if (f.lv && f.lvPre) {
      const fromRecon = f.sigma ? tf.mul(dSel, tf.mul(tf.sub(f.z, f.act), 0.5)) : tf.zerosLike(f.lv); // dz/dlog σ² = ½ σ ε = ½ (z − μ)
      const fromKl = tf.mul(tf.sub(tf.exp(f.lv), 1), tf.mul(kc, 0.5));
      const pass = tf.cast(tf.logicalAnd(tf.greaterEqual(f.lvPre, LOGVAR_MIN), tf.lessEqual(f.lvPre, LOGVAR_MAX)), 'float32');
      dLvPre = tf.mul(tf.add(fromRecon, fromKl), pass) as tf.Tensor2D;
    }
  }

  // ReLU passes the gradient where pre > 0; TopK's masks (kept, auxiliary) already imply it.
  const dPre = (v ? tf.mul(dMu, tf.step(f.pre, 0)) : dMu) as tf.Tensor2D;
  const dW_enc = fastMatMul(f.xIn, dPre, true, false);
  const db_enc = colSum(dPre);
  // TopK's encoder reads x − b_dec: −Σ_rows dPre · W_encᵀ = −W_enc · Σ_rows dPre.
  if (!v) db_dec = tf.sub(db_dec, tf.squeeze(fastMatMul(p.W_enc as tf.Tensor2D, tf.reshape(db_enc, [spec.dSae, 1])), [1]));
  const grads: Params = { W_enc: dW_enc, b_enc: db_enc, W_dec: dW_dec, b_dec: db_dec };
  if (dLvPre) {
    grads.W_enc_var = fastMatMul(x, dLvPre, true, false);
    grads.b_enc_var = colSum(dLvPre);
  }
  const loss = tf.add(tf.add(recon, tf.mul(kl, klCoeff)), tf.mul(auxk, alpha)) as tf.Scalar;
  return { loss, recon, kl, auxk, auxDenom, grads };
}

/** TopK (not vSAE-TopK): the W_dec gradient projected off each row (norms with +1e-6). */
export function projectTopkDecoder(spec: ModelSpec, p: Params, grads: Params): Params {
  if (variational(spec)) return grads;
  return { ...grads, W_dec: projectDecoderGrad(p.W_dec as tf.Tensor2D, grads.W_dec as tf.Tensor2D, 1e-6) };
}

/**
 * Global gradient-norm clipping over every parameter: the factor min(1, max / (‖g‖ + 1e-6))
 * (1 when max is 0: no clipping) and the norm. The engine hands the factor to Adam rather than
 * scaling every gradient first (one pass over the weights fewer).
 */
export function clipFactor(grads: Params, max: number): { factor: tf.Scalar; norm: tf.Scalar } {
  const names = Object.keys(grads).filter((n) => grads[n as ParamName] !== undefined) as ParamName[];
  const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]!))))) as tf.Scalar;
  const factor = (max > 0 ? tf.minimum(1, tf.div(max, tf.add(norm, 1e-6))) : tf.scalar(1)) as tf.Scalar;
  return { factor, norm };
}

/** The clipped gradients themselves (for tests and callers that want them). */
export function clipGlobalNorm(grads: Params, max: number): { grads: Params; norm: tf.Scalar } {
  const { factor, norm } = clipFactor(grads, max);
  const out = {} as Params;
  for (const [n, g] of Object.entries(grads) as Array<[ParamName, tf.Tensor | undefined]>) if (g) out[n] = tf.mul(g, factor);
  return { grads: out, norm };
}

/**
 * The TopK threshold's update from this batch: the mean over rows of the smallest positive kept
 * value (BatchTopK: the smallest positive kept value of the batch). Infinity when nothing fired.
 */
export function minKeptValue(spec: ModelSpec, f: TopkForward): tf.Scalar {
  const pos = tf.step(f.code, 0); // 1 where kept and > 0
  const vals = tf.add(f.code, tf.mul(tf.sub(1, pos), NOTHING_KEPT)); // entries not kept: a huge value
  const m = selection(spec) === 'batch' ? tf.min(vals) : tf.mean(tf.min(vals, 1));
  return tf.where(tf.less(m, NOTHING_KEPT / 2), m, tf.scalar(Infinity)) as tf.Scalar;
}

/** Stands for +∞ in the minimum (∞ · 0 would give NaN). */
const NOTHING_KEPT = 1e30;

/**
 * Geometric median of the rows (Weiszfeld, float64): start at the mean, weights
 * 1/max(‖p − g‖, 1e-8) normalised, at most 100 iterations, stop when the step is < 1e-5.
 */
export function geometricMedian(rows: Float32Array, n: number, d: number): Float32Array {
  let g = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) g[c]! += rows[r * d + c]! / n;
  for (let it = 0; it < 100; it++) {
    const next = new Float64Array(d);
    let wSum = 0;
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += (rows[r * d + c]! - g[c]!) ** 2;
      const w = 1 / Math.max(Math.sqrt(s), 1e-8);
      wSum += w;
      for (let c = 0; c < d; c++) next[c]! += w * rows[r * d + c]!;
    }
    let step = 0;
    for (let c = 0; c < d; c++) {
      next[c]! /= wSum;
      step += (next[c]! - g[c]!) ** 2;
    }
    g = next;
    if (Math.sqrt(step) < 1e-5) break;
  }
  return Float32Array.from(g);
}
