/**
 * The training step, fast: forward pass, a hand-derived backward pass (no autodiff tape), the
 * decoder-gradient projection, Adam with PyTorch's constants and the unit-norm decoder rows.
 * Every product with a transposed operand goes through `fastMatMul`, and the b_dec gradient
 * through the encoder, −Σ_rows dpre · W_encᵀ, is computed as the matrix–vector product
 * −W_enc · Σ_rows dpre, which saves one of the six large products. Nothing is read back to the
 * host: scalars for logging come back as one small tensor when asked for.
 */
import { tf, fastMatMul, ADAM_DEFAULTS } from '@vsae/compute';
import { LOGVAR_MAX, LOGVAR_MIN, forward, sparsityScale, type Forward, type Params } from './model.js';
import type { Prior } from './prior.js';
import { hasVarHead, type ModelSpec, type ParamName } from './types.js';

/**
 * Column sums Σ_rows m as a [1, B]·[B, n] product: on wasm a reduction over axis 0 transposes
 * the whole matrix first (several times slower than the product, which the BLAS path runs fast).
 */
export function colSum(m: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(fastMatMul(tf.ones([1, m.shape[0]]) as tf.Tensor2D, m), [m.shape[1]]) as tf.Tensor1D;
}

/** Prior constants uploaded once. */
export interface PriorTensors {
  prior: Prior;
  means?: tf.Tensor1D;
  P?: tf.Tensor2D;
  pDiag?: tf.Tensor1D;
}

export function priorTensors(prior: Prior): PriorTensors {
  if (prior.kind === 'diag') return prior.means ? { prior, means: tf.tensor1d(prior.means) } : { prior };
  if (prior.kind === 'matrix') return { prior, P: tf.tensor2d(prior.P, [prior.d, prior.d]), pDiag: tf.tensor1d(prior.pDiag) };
  return { prior };
}

export function disposePriorTensors(pt: PriorTensors): void {
  pt.means?.dispose();
  pt.P?.dispose();
  pt.pDiag?.dispose();
}

export interface GradResult {
  fwd: Forward;
  loss: tf.Scalar;
  recon: tf.Scalar;
  sparsity: tf.Scalar;
  grads: Params;
}

/** Pμ for each row of mu (P symmetric). */
function precisionTimes(pt: PriorTensors, mu: tf.Tensor2D): tf.Tensor2D {
  const prior = pt.prior;
  if (prior.kind === 'uniform') {
    return tf.div(tf.sub(mu, tf.mul(tf.sum(mu, 1, true), prior.c)), 1 - prior.rho) as tf.Tensor2D;
  }
  if (prior.kind === 'matrix') return fastMatMul(mu, pt.P!);
  throw new Error('precisionTimes needs a VSAE-Multi prior');
}

/**
 * Loss terms and the gradient of `loss = recon + coeff · sparsity` with respect to every
 * parameter, written out by hand (docs/math.md). Call inside tf.tidy.
 */
export function lossAndGrads(spec: ModelSpec, pt: PriorTensors, p: Params, x: tf.Tensor2D, eps: tf.Tensor2D | undefined, coeff: number): GradResult {
  const B = x.shape[0];
  const prior = pt.prior;
  const fwd = forward(spec, p, x, eps);
  const { xc, pre, act: mu, logVar: lv, logVarPre, z, xHat } = fwd;
  const err = tf.sub(xHat, x);
  const recon = tf.div(tf.sum(tf.square(err)), B) as tf.Scalar;
  const scale = sparsityScale(spec, B);
  const k = coeff * scale;

  // Decoder.
  const g = tf.mul(err, 2 / B) as tf.Tensor2D; // d recon / d x̂
  const dW_dec = fastMatMul(z, g, true, false);
  const dz = fastMatMul(g, p.W_dec as tf.Tensor2D, false, true);
  const dbDecOut = colSum(g);

  // Sparsity term and its gradient with respect to μ (or f) and log σ².
  let sparsity: tf.Scalar;
  let dMu: tf.Tensor2D;
  let dLv: tf.Tensor2D | undefined;
  // σ = exp(½ log σ²) is computed once by the forward pass (z = μ + σ ε); σ² = σ·σ.
  const sigma = fwd.sigma;
  const sigma2 = lv && sigma ? tf.square(sigma) : undefined;
  // d z / d log σ² = ½ σ ε
  const dzdlv = sigma && eps && spec.decode !== 'mu' ? tf.mul(tf.mul(sigma, eps), 0.5) : undefined;
  // The reconstruction's gradient with respect to log σ² (none when the decoder reads μ).
  const reconLv = (): tf.Tensor => (dzdlv ? tf.mul(dz, dzdlv) : tf.scalar(0));
  if (prior.kind === 'none') {
    sparsity = tf.mul(tf.sum(mu), scale) as tf.Scalar; // f ≥ 0, so |f| = f; d|f|/df = 1 where f > 0
    dMu = tf.add(dz, k) as tf.Tensor2D;
  } else if (prior.kind === 'diag') {
    const d = pt.means ? tf.sub(mu, pt.means) : mu;
    let kl = tf.sum(tf.square(d));
    if (lv && sigma2) kl = tf.add(kl, tf.sum(tf.sub(tf.sub(sigma2, lv), 1)));
    sparsity = tf.mul(kl, 0.5 * scale) as tf.Scalar;
    dMu = tf.add(dz, tf.mul(d, k)) as tf.Tensor2D;
    if (lv && sigma2) dLv = tf.add(reconLv(), tf.mul(tf.sub(sigma2, 1), 0.5 * k)) as tf.Tensor2D;
  } else {
    const dS = prior.d;
    const pDiagSum = prior.kind === 'uniform' ? dS * prior.pDiag : prior.pDiag.reduce((a, b) => a + b, 0);
    const timesPDiag = (t: tf.Tensor): tf.Tensor => (prior.kind === 'uniform' ? tf.mul(t, prior.pDiag) : tf.mul(t, pt.pDiag!));
    if (spec.multiKl === 'batch-moments') {
      // The original's KL of batch-averaged moments: log det Σq is the mean over rows of Σ log σ²,
      // and the KL is clamped at ≥ 0 (its gradient vanishes where the clamp acts).
      const muBar = tf.mean(mu, 0, true) as tf.Tensor2D; // [1, d]
      const pMuBar = precisionTimes(pt, muBar);
      const vBar = sigma2 ? tf.mean(sigma2, 0, true) : undefined;
      const trace = vBar ? tf.sum(timesPDiag(vBar)) : tf.scalar(pDiagSum);
      const logDetQ = lv ? tf.div(tf.sum(lv), B) : tf.scalar(0);
      const raw = tf.mul(tf.sub(tf.add(tf.add(trace, tf.sum(tf.mul(pMuBar, muBar))), prior.logDet - dS), logDetQ), 0.5);
      sparsity = tf.relu(raw) as tf.Scalar;
      const active = tf.step(raw, 0); // 1 where the clamp passes the gradient
      // d/dμ_b = P μ̄ / B ; d/dlogσ²_b = ½ (P_ii σ²_b − 1) / B
      dMu = tf.add(dz, tf.mul(tf.mul(pMuBar, active), coeff / B)) as tf.Tensor2D;
      if (lv && sigma2) {
        const klLv = tf.mul(tf.sub(timesPDiag(sigma2), 1), tf.mul(active, (0.5 * coeff) / B));
        dLv = tf.add(reconLv(), klLv) as tf.Tensor2D;
      }
    } else {
      const pMu = precisionTimes(pt, mu);
      const quad = tf.sum(tf.mul(pMu, mu));
      const trace = sigma2 ? tf.sum(timesPDiag(sigma2)) : tf.scalar(B * pDiagSum);
      const lvSum = lv ? tf.sum(lv) : tf.scalar(0);
      sparsity = tf.mul(tf.sub(tf.add(tf.add(trace, quad), B * (prior.logDet - dS)), lvSum), 0.5 * scale) as tf.Scalar;
      dMu = tf.add(dz, tf.mul(pMu, k)) as tf.Tensor2D;
      if (lv && sigma2) dLv = tf.add(reconLv(), tf.mul(tf.sub(timesPDiag(sigma2), 1), 0.5 * k)) as tf.Tensor2D;
    }
  }
  const loss = tf.add(recon, tf.mul(sparsity, coeff)) as tf.Scalar;

  // Encoder: ReLU passes the gradient where pre > 0 (PyTorch: where the output is > 0).
  const dPre = tf.mul(dMu, tf.step(pre, 0)) as tf.Tensor2D;
  const dW_enc = fastMatMul(xc, dPre, true, false);
  const db_enc = colSum(dPre);
  // b_dec enters as x − b_dec: −Σ_rows dPre · W_encᵀ = −W_enc · Σ_rows dPre.
  let db_dec = tf.sub(dbDecOut, tf.squeeze(fastMatMul(p.W_enc as tf.Tensor2D, db_enc.reshape([spec.dSae, 1])), [1]));
  const grads: Params = { W_enc: dW_enc, b_enc: db_enc, W_dec: dW_dec, b_dec: db_dec };
  if (hasVarHead(spec) && logVarPre) {
    const lvGrad = dLv ?? tf.zerosLike(logVarPre);
    // clamp passes the gradient on [min, max] inclusive (as torch.clamp); ReLU where pre > 0.
    const pass =
      spec.varActivation === 'relu'
        ? tf.step(logVarPre, 0)
        : tf.cast(tf.logicalAnd(tf.greaterEqual(logVarPre, LOGVAR_MIN), tf.lessEqual(logVarPre, LOGVAR_MAX)), 'float32');
    const dLvPre = tf.mul(lvGrad, pass) as tf.Tensor2D;
    grads.W_enc_var = fastMatMul(xc, dLvPre, true, false);
    grads.b_enc_var = colSum(dLvPre);
    db_dec = tf.sub(db_dec, tf.squeeze(fastMatMul(p.W_enc_var as tf.Tensor2D, grads.b_enc_var.reshape([spec.dSae, 1])), [1]));
    grads.b_dec = db_dec;
  }
  return { fwd, loss, recon, sparsity, grads };
}

/** Row norms as a column [rows, 1] (tf.norm goes through pow(|x|, 2), ~30× slower on wasm). */
export function rowNorms(w: tf.Tensor2D): tf.Tensor2D {
  return tf.sqrt(tf.sum(tf.square(w), 1, true)) as tf.Tensor2D;
}

/** g − (g·ŵ) ŵ for each decoder row, ŵ the unit row: keeps the update tangent to the unit sphere. */
export function projectDecoderGrad(W_dec: tf.Tensor2D, g: tf.Tensor2D, eps = 0): tf.Tensor2D {
  const unit = tf.div(W_dec, eps > 0 ? tf.add(rowNorms(W_dec), eps) : rowNorms(W_dec));
  return tf.sub(g, tf.mul(tf.sum(tf.mul(g, unit), 1, true), unit)) as tf.Tensor2D;
}

/** Each decoder row divided by its norm (as SAELens: no ε). */
export function unitRows(W_dec: tf.Tensor2D): tf.Tensor2D {
  return tf.div(W_dec, rowNorms(W_dec)) as tf.Tensor2D;
}

export interface AdamMoments {
  m: Params;
  v: Params;
  /** Steps taken (PyTorch's `step`), for the bias corrections. */
  t: number;
}

export function zeroMoments(p: Params): AdamMoments {
  const z = (t: tf.Tensor | undefined) => (t ? tf.zerosLike(t) : undefined);
  const m: Params = { W_enc: z(p.W_enc)!, b_enc: z(p.b_enc)!, W_dec: z(p.W_dec)!, b_dec: z(p.b_dec)! };
  const v: Params = { W_enc: z(p.W_enc)!, b_enc: z(p.b_enc)!, W_dec: z(p.W_dec)!, b_dec: z(p.b_dec)! };
  if (p.W_enc_var) {
    m.W_enc_var = z(p.W_enc_var);
    m.b_enc_var = z(p.b_enc_var);
    v.W_enc_var = z(p.W_enc_var);
    v.b_enc_var = z(p.b_enc_var);
  }
  return { m, v, t: 0 };
}

/**
 * One Adam step for every parameter, as torch.optim.Adam: m ← β1 m + (1−β1) g,
 * v ← β2 v + (1−β2) g², p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε). By default the W_dec gradient is
 * first projected off its rows and the rows are set back to unit norm after the step;
 * `gradScale` multiplies every gradient (global-norm clipping).
 * Returns the new parameters and moments (call inside tf.tidy).
 */
export function adamUpdate(
  p: Params,
  grads: Params,
  mom: AdamMoments,
  lr: number,
  decoder: { project: boolean; unitRows: boolean } = { project: true, unitRows: true },
  gradScale?: tf.Scalar,
): { params: Params; m: Params; v: Params } {
  const { beta1, beta2, epsilon } = ADAM_DEFAULTS;
  const t = mom.t + 1;
  const stepSize = lr / (1 - beta1 ** t);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
  const params = {} as Params;
  const m = {} as Params;
  const v = {} as Params;
  for (const name of Object.keys(p) as ParamName[]) {
    const value = p[name];
    if (!value) continue;
    let g = grads[name]!;
    if (name === 'W_dec' && decoder.project) g = projectDecoderGrad(value as tf.Tensor2D, g as tf.Tensor2D);
    // A gradient scale c (clipping) enters as c·g and c²·g², folded into the moment factors.
    const mScale = gradScale ? tf.mul(gradScale, 1 - beta1) : 1 - beta1;
    const vScale = gradScale ? tf.mul(tf.square(gradScale), 1 - beta2) : 1 - beta2;
    const m1 = tf.add(tf.mul(mom.m[name]!, beta1), tf.mul(g, mScale));
    const v1 = tf.add(tf.mul(mom.v[name]!, beta2), tf.mul(tf.square(g), vScale));
    const denom = tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), epsilon);
    let np = tf.sub(value, tf.mul(tf.div(m1, denom), stepSize));
    if (name === 'W_dec' && decoder.unitRows) np = unitRows(np as tf.Tensor2D);
    params[name] = np;
    m[name] = m1;
    v[name] = v1;
  }
  return { params, m, v };
}
