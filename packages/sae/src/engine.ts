/**
 * The training state on the device and the operations on it: one step of either family (the
 * classic SAE/VSAEs or the TopK models), the dead-latent counters, the NaN watch, resampling,
 * the TopK threshold, and export/import for checkpoints.
 */
import { tf } from '@vsae/compute';
import { tidy } from './_tidy.js';
import { archOf, type ArchDescriptor } from './archs/index.js';
import { ACTIVE_THRESHOLD, decode, disposeParams, encode, paramEntries, type Params } from './model.js';
import type { Prior } from './prior.js';
import { adamUpdate, colSum, disposePriorTensors, lossAndGrads, priorTensors, zeroMoments, type PriorTensors } from './step.js';
import {
  clipFactor,
  firedLatents,
  geometricMedian,
  kthLargest,
  kthLargestHost,
  maskAbove,
  maskFromKth,
  minKeptValue,
  projectTopkDecoder,
  selection,
  thresholdBelow,
  topkDecode,
  topkForward,
  topkLossAndGrads,
  topkScores,
  updateSinceFired,
} from './topk-family.js';
import type { ModelSpec, ParamName, SaeParams } from './types.js';

interface StepOutput {
  params: Params;
  m: Params;
  v: Params;
  sinceFired: tf.Tensor1D;
  firstBad: tf.Scalar;
  metrics: tf.Tensor1D | undefined;
  threshold: tf.Scalar | undefined;
}

/** Metrics every architecture logs (its loss terms come between recon and l0: metricNames). */
export const STEP_METRICS = ['loss', 'recon', 'l0', 'explained_variance', 'dead_frac'] as const;
export type StepMetrics = Record<(typeof STEP_METRICS)[number], number> & Record<string, number>;

/**
 * The metrics a logged step returns, in order: loss, recon, the architecture's terms (l1, kl,
 * auxk), l0, dead_frac, explained_variance, and for a model that samples in training the
 * reconstruction of the sampled z (recon_z, explained_variance_z). recon and
 * explained_variance are those of the deterministic code, what analysis measures.
 */
export function metricNames(spec: Pick<ModelSpec, 'arch' | 'varFlag'>): string[] {
  const arch = archOf(spec.arch);
  const sampled = arch.samples({ varFlag: spec.varFlag }) ? ['recon_z', 'explained_variance_z'] : [];
  return ['loss', 'recon', ...arch.terms, 'l0', 'dead_frac', 'explained_variance', ...sampled];
}

/** Host copy of everything the device holds between steps (for checkpoints). */
export interface EngineState {
  params: SaeParams<Float32Array>;
  m: SaeParams<Float32Array>;
  v: SaeParams<Float32Array>;
  /** Adam steps taken. */
  t: number;
  /** Since each latent last fired: steps (classic family) or rows (TopK family). */
  sinceFired: Float32Array;
  /** TopK models: the inference threshold θ (−1 until set). */
  threshold?: number | undefined;
}

/** Per-step inputs besides the batch. */
export interface StepInput {
  /** Noise for a model that samples (standard normal, [B, d_sae]). */
  eps?: tf.Tensor2D | undefined;
  lr: number;
  /** The sparsity (L1 / KL) coefficient in force this step. */
  coeff: number;
  stepIndex: number;
  metrics: boolean;
  /** Classic family: a latent is dead after this many steps without firing. */
  deadWindow: number;
}

/** The TopK threshold starts moving after this many steps (as the authors' trainer). */
const THRESHOLD_START_STEP = 1000;
const THRESHOLD_BETA = 0.999;

export class SaeEngine {
  params: Params;
  private m: Params;
  private v: Params;
  t: number;
  private sinceFired: tf.Tensor1D;
  /** Step index of the first non-finite loss, or −1 (a device scalar, read at log steps). */
  private firstBad: tf.Scalar;
  private threshold: tf.Scalar;
  /** An upper bound of max(sinceFired) known on the host, so AuxK's dead count is read only when some latent may be dead. */
  private sinceUpper: number;
  private readonly pt: PriorTensors;
  private readonly arch: ArchDescriptor;

  constructor(
    readonly spec: ModelSpec,
    prior: Prior,
    init: { params: Params; state?: Omit<EngineState, 'params'> },
  ) {
    this.arch = archOf(spec.arch);
    this.pt = priorTensors(prior);
    this.params = init.params;
    if (init.state) {
      this.m = toTensors(init.state.m, init.params);
      this.v = toTensors(init.state.v, init.params);
      this.t = init.state.t;
      this.sinceFired = tf.tensor1d(init.state.sinceFired);
      this.sinceUpper = init.state.sinceFired.reduce((a, b) => Math.max(a, b), 0);
    } else {
      const z = zeroMoments(init.params);
      this.m = z.m;
      this.v = z.v;
      this.t = 0;
      this.sinceFired = tf.zeros([spec.dSae]) as tf.Tensor1D;
      this.sinceUpper = 0;
    }
    this.threshold = tf.scalar(init.state?.threshold ?? -1);
    this.firstBad = tf.scalar(-1);
  }

  /**
   * One training step on batch x. Returns the metrics vector (see metricNames) when
   * `metrics` is set, else undefined. Reads nothing back from the device except, for the
   * TopK family, the dead-latent count once some latent may have passed --dead-tokens.
   */
  async step(x: tf.Tensor2D, input: StepInput): Promise<tf.Tensor1D | undefined> {
    const out = this.arch.family === 'topk' ? await this.topkStep(x, input) : this.classicStep(x, input);
    this.swap(out);
    return out.metrics;
  }

  private classicStep(x: tf.Tensor2D, input: StepInput): StepOutput {
    const mom = { m: this.m, v: this.v, t: this.t };
    return tidy(() => {
      const r = lossAndGrads(this.spec, this.pt, this.params, x, input.eps, input.coeff);
      const u = adamUpdate(this.params, r.grads, mom, input.lr);
      // 1 where act > 1e-8: step(act − 1e-8) (tf.greater and tf.any are ~10× slower on wasm).
      const active = tf.step(tf.sub(r.fwd.act, ACTIVE_THRESHOLD), 0) as tf.Tensor2D;
      const firedCount = colSum(active);
      const sinceFired = tf.where(tf.greater(firedCount, 0), tf.zerosLike(this.sinceFired), tf.add(this.sinceFired, 1)) as tf.Tensor1D;
      let metrics: tf.Tensor1D | undefined;
      if (input.metrics) {
        const sampled = this.arch.samples({ varFlag: this.spec.varFlag });
        const xHatCode = sampled ? decode(this.params, r.fwd.act) : r.fwd.xHat;
        const deadFrac = tf.mean(tf.cast(tf.greaterEqual(sinceFired, input.deadWindow), 'float32'));
        metrics = this.metricsVector(x, { loss: r.loss, terms: [r.sparsity], l0Count: firedCount, xHatCode, xHatSampled: sampled ? r.fwd.xHat : undefined, deadFrac });
      }
      return { ...u, sinceFired, firstBad: this.nextFirstBad(r.loss, input.stepIndex), metrics, threshold: undefined };
    });
  }

  private async topkStep(x: tf.Tensor2D, input: StepInput): Promise<StepOutput> {
    const B = x.shape[0];
    const spec = this.spec;
    const scores = tidy(() => topkScores(spec, this.params, x, input.eps));
    // The k-th largest scores: by quickselect on the host where tensors live there (wasm, cpu).
    let kth: tf.Tensor;
    let host = false;
    if (tf.getBackend() === 'wasm' || tf.getBackend() === 'cpu') {
      const [rows, d] = scores.score.shape;
      const t = thresholdBelow(kthLargestHost((await scores.score.data()) as Float32Array, rows, d, spec.k!, selection(spec)));
      kth = selection(spec) === 'batch' ? tf.tensor1d(t) : tf.tensor2d(t, [rows, 1]);
      host = true;
    } else {
      kth = tidy(() => kthLargest(scores.score, spec.k!, selection(spec)));
    }
    const fwd = tidy(() => {
      const f = topkDecode(this.params, scores, host ? maskAbove(scores.score, kth) : maskFromKth(scores.score, kth));
      return { f, since: updateSinceFired(this.sinceFired, firedLatents(spec, f), B) };
    });
    tf.dispose(scores.score === scores.z ? [kth] : [kth, scores.score]); // TopK ranks z itself
    // AuxK needs the number of dead latents on the host (k_aux = min(d_in/2, n_dead)).
    const T = spec.deadTokens ?? 10_000_000;
    let nDead = 0;
    let dead: tf.Tensor1D | undefined;
    if (this.sinceUpper + B >= T) {
      const s = await fwd.since.data();
      let max = 0;
      for (let i = 0; i < s.length; i++) {
        if (s[i]! >= T) nDead++;
        max = Math.max(max, s[i]!);
      }
      this.sinceUpper = max;
      if (nDead > 0) dead = tidy(() => tf.cast(tf.greaterEqual(fwd.since, T), 'float32') as tf.Tensor1D);
    } else {
      this.sinceUpper += B;
    }
    const mom = { m: this.m, v: this.v, t: this.t };
    const out = tidy((): StepOutput => {
      const f = fwd.f;
      const r = topkLossAndGrads(spec, this.params, x, f, input.coeff, dead, nDead);
      const projected = projectTopkDecoder(spec, this.params, r.grads);
      const clip = clipFactor(projected, spec.gradClip ?? 1);
      const variational = this.arch.variational;
      // TopK: unit-norm decoder rows after the step (its gradient was projected above); vSAE-TopK: neither.
      const u = adamUpdate(this.params, projected, mom, input.lr, { project: false, unitRows: !variational }, clip.factor);
      let threshold: tf.Scalar | undefined;
      if (!variational && input.stepIndex >= THRESHOLD_START_STEP) {
        const m = minKeptValue(spec, f);
        const moved = tf.where(tf.less(this.threshold, 0), m, tf.add(tf.mul(this.threshold, THRESHOLD_BETA), tf.mul(m, 1 - THRESHOLD_BETA)));
        threshold = tf.where(tf.isFinite(m), moved, this.threshold) as tf.Scalar;
      }
      let metrics: tf.Tensor1D | undefined;
      if (input.metrics) {
        const sampled = f.sigma !== undefined;
        const xHatCode = sampled ? topkForward(spec, this.params, x).xHat : f.xHat;
        const l0Count = colSum(tf.step(tf.sub(tf.abs(f.code), ACTIVE_THRESHOLD), 0) as tf.Tensor2D);
        const deadFrac = tf.mean(tf.cast(tf.greaterEqual(fwd.since, T), 'float32'));
        const terms = this.arch.terms.map((t) => (t === 'kl' ? r.kl : r.auxk));
        metrics = this.metricsVector(x, { loss: r.loss, terms, l0Count, xHatCode, xHatSampled: sampled ? f.xHat : undefined, deadFrac });
      }
      return { ...u, sinceFired: tf.clone(fwd.since), firstBad: this.nextFirstBad(r.loss, input.stepIndex), metrics, threshold };
    });
    tf.dispose([...Object.values(fwd.f).filter((t): t is tf.Tensor => t instanceof tf.Tensor && t !== x), fwd.since, ...(dead ? [dead] : [])]);
    return out;
  }

  /** [loss, recon, ...terms, l0, dead_frac, explained_variance, (recon_z, explained_variance_z)] */
  private metricsVector(
    x: tf.Tensor2D,
    m: { loss: tf.Scalar; terms: tf.Scalar[]; l0Count: tf.Tensor1D; xHatCode: tf.Tensor2D; xHatSampled: tf.Tensor2D | undefined; deadFrac: tf.Tensor },
  ): tf.Tensor1D {
    const B = x.shape[0];
    const total = tf.sum(tf.square(tf.sub(x, tf.mean(x, 0, true))));
    const sse = (xHat: tf.Tensor2D) => tf.sum(tf.square(tf.sub(xHat, x)));
    const ev = (xHat: tf.Tensor2D) => tf.sub(1, tf.div(sse(xHat), total));
    const recon = tf.div(sse(m.xHatCode), B);
    const l0 = tf.div(tf.sum(m.l0Count), B);
    const sampled = m.xHatSampled ? [tf.div(sse(m.xHatSampled), B), ev(m.xHatSampled)] : [];
    return tf.stack([m.loss, recon, ...m.terms, l0, m.deadFrac, ev(m.xHatCode), ...sampled]) as tf.Tensor1D;
  }

  private nextFirstBad(loss: tf.Scalar, stepIndex: number): tf.Scalar {
    const bad = tf.logicalAnd(tf.less(this.firstBad, 0), tf.logicalNot(tf.isFinite(loss)));
    return tf.where(bad, tf.scalar(stepIndex), this.firstBad) as tf.Scalar;
  }

  private swap(out: StepOutput): void {
    disposeParams(this.params);
    disposeParams(this.m);
    disposeParams(this.v);
    this.sinceFired.dispose();
    this.firstBad.dispose();
    this.params = out.params;
    this.m = out.m;
    this.v = out.v;
    this.t += 1;
    this.sinceFired = out.sinceFired;
    this.firstBad = out.firstBad;
    if (out.threshold) {
      this.threshold.dispose();
      this.threshold = out.threshold;
    }
  }

  /** TopK: b_dec ← the geometric median of the first batch (host rows, already scaled). */
  setDecoderBias(rows: Float32Array, n: number): void {
    this.replace('b_dec', tf.tensor1d(geometricMedian(rows, n, this.spec.dIn)));
  }

  /** The step at which the loss first became NaN/Inf, or undefined (reads one scalar back). */
  async firstNonFiniteStep(): Promise<number | undefined> {
    const v = (await this.firstBad.data())[0]!;
    return v >= 0 ? v : undefined;
  }

  /** Indices of latents that have not fired in the last `window` steps. */
  async deadLatents(window: number): Promise<number[]> {
    const s = await this.sinceFired.data();
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) if (s[i]! >= window) out.push(i);
    return out;
  }

  /**
   * Resamples the given dead latents from batch x (docs/math.md, "Dead latents"): each gets the normalised
   * (x − b_dec) of one of the rows with the largest reconstruction loss (largest first; cycling
   * when there are more dead latents than rows) times 0.2 × the mean norm of the alive encoder
   * columns; its encoder bias (and variance-head bias) become 0. Decoder rows and Adam state
   * are left alone, as in the original. Returns how many were resampled.
   */
  async resample(x: tf.Tensor2D, dead: number[]): Promise<number> {
    if (dead.length === 0) return 0;
    const { dIn, dSae } = this.spec;
    const B = x.shape[0];
    const [lossT, xcT] = tidy(() => {
      const e = encode(this.spec, this.params, x);
      const xHat = decode(this.params, e.act);
      return [tf.sum(tf.square(tf.sub(xHat, x)), 1), e.xc] as const;
    });
    const rowLoss = await lossT.data();
    const xc = (await xcT.data()) as Float32Array;
    tf.dispose([lossT, xcT]);
    const order = Array.from({ length: B }, (_, i) => i).sort((a, b) => rowLoss[b]! - rowLoss[a]! || a - b);
    const W = ((await this.params.W_enc.data()) as Float32Array).slice(); // [d_in, d_sae], a copy we may change
    const bEnc = ((await this.params.b_enc.data()) as Float32Array).slice();
    const isDead = new Uint8Array(dSae);
    for (const j of dead) isDead[j] = 1;
    const colNorm = (j: number): number => {
      let s = 0;
      for (let r = 0; r < dIn; r++) s += W[r * dSae + j]! ** 2;
      return Math.sqrt(s);
    };
    let sum = 0;
    let alive = 0;
    for (let j = 0; j < dSae; j++) {
      if (!isDead[j]) {
        sum += colNorm(j);
        alive++;
      }
    }
    if (alive === 0) for (let j = 0; j < dSae; j++) sum += colNorm(j);
    const target = 0.2 * (sum / (alive || dSae));
    dead.forEach((j, k) => {
      const row = order[k % B]!;
      let n = 0;
      for (let r = 0; r < dIn; r++) n += xc[row * dIn + r]! ** 2;
      n = Math.sqrt(n);
      const f = n > 0 ? target / n : 0;
      for (let r = 0; r < dIn; r++) W[r * dSae + j] = xc[row * dIn + r]! * f;
      bEnc[j] = 0;
    });
    this.replace('W_enc', tf.tensor2d(W, [dIn, dSae]));
    this.replace('b_enc', tf.tensor1d(bEnc));
    if (this.params.b_enc_var) {
      const bv = ((await this.params.b_enc_var.data()) as Float32Array).slice();
      for (const j of dead) bv[j] = 0;
      this.replace('b_enc_var', tf.tensor1d(bv));
    }
    return dead.length;
  }

  private replace(name: ParamName, t: tf.Tensor): void {
    this.params[name]?.dispose();
    this.params[name] = t;
  }

  /** Host copy of the whole state. */
  async exportState(): Promise<EngineState> {
    return {
      params: await toHost(this.params),
      m: await toHost(this.m),
      v: await toHost(this.v),
      t: this.t,
      sinceFired: (await this.sinceFired.data()) as Float32Array,
      threshold: (await this.threshold.data())[0]!,
    };
  }

  dispose(): void {
    disposeParams(this.params);
    disposeParams(this.m);
    disposeParams(this.v);
    this.sinceFired.dispose();
    this.firstBad.dispose();
    this.threshold.dispose();
    disposePriorTensors(this.pt);
  }
}

async function toHost(p: Params): Promise<SaeParams<Float32Array>> {
  const out = {} as SaeParams<Float32Array>;
  for (const [name, t] of paramEntries(p)) out[name] = (await t.data()) as Float32Array;
  return out;
}

function toTensors(host: SaeParams<Float32Array>, like: Params): Params {
  const out = {} as Params;
  for (const [name, t] of paramEntries(like)) {
    const h = host[name];
    if (!h || h.length !== t.size) throw new Error(`checkpoint moment ${name} has ${h?.length ?? 0} values, expected ${t.size}`);
    out[name] = tf.tensor(h, t.shape);
  }
  return out;
}
