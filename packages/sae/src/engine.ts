/**
 * The training state on the device and the operations on it: one step (no host sync), the
 * dead-latent counters, the NaN watch, resampling, and export/import for checkpoints.
 */
import { tf } from '@vsae/compute';
import { tidy } from './_tidy.js';
import { ACTIVE_THRESHOLD, decode, disposeParams, encode, paramEntries, type Params } from './model.js';
import type { Prior } from './prior.js';
import { adamUpdate, colSum, disposePriorTensors, lossAndGrads, priorTensors, zeroMoments, type PriorTensors } from './step.js';
import type { ModelSpec, ParamName, SaeParams } from './types.js';

/** Names of the values in the metrics vector a logged step returns. */
export const STEP_METRICS = ['loss', 'recon', 'sparsity', 'l0', 'explained_variance', 'dead_frac'] as const;
export type StepMetrics = Record<(typeof STEP_METRICS)[number], number>;

/** Host copy of everything the device holds between steps (for checkpoints). */
export interface EngineState {
  params: SaeParams<Float32Array>;
  m: SaeParams<Float32Array>;
  v: SaeParams<Float32Array>;
  /** Adam steps taken. */
  t: number;
  /** Steps since each latent last fired. */
  sinceFired: Float32Array;
}

export class SaeEngine {
  params: Params;
  private m: Params;
  private v: Params;
  t: number;
  private sinceFired: tf.Tensor1D;
  /** Step index of the first non-finite loss, or −1 (a device scalar, read at log steps). */
  private firstBad: tf.Scalar;
  private readonly pt: PriorTensors;

  constructor(
    readonly spec: ModelSpec,
    prior: Prior,
    init: { params: Params; state?: Omit<EngineState, 'params'> },
  ) {
    this.pt = priorTensors(prior);
    this.params = init.params;
    if (init.state) {
      this.m = toTensors(init.state.m, init.params);
      this.v = toTensors(init.state.v, init.params);
      this.t = init.state.t;
      this.sinceFired = tf.tensor1d(init.state.sinceFired);
    } else {
      const z = zeroMoments(init.params);
      this.m = z.m;
      this.v = z.v;
      this.t = 0;
      this.sinceFired = tf.zeros([spec.dSae]) as tf.Tensor1D;
    }
    this.firstBad = tf.scalar(-1);
  }

  /**
   * One training step on batch x (and VSAE noise eps). Returns the metrics vector (see
   * STEP_METRICS) when `metrics` is set, else undefined. `deadWindow` is for dead_frac.
   */
  step(x: tf.Tensor2D, eps: tf.Tensor2D | undefined, lr: number, coeff: number, stepIndex: number, opts: { metrics: boolean; deadWindow: number }): tf.Tensor1D | undefined {
    const mom = { m: this.m, v: this.v, t: this.t };
    const out = tidy(() => {
      const r = lossAndGrads(this.spec, this.pt, this.params, x, eps, coeff);
      const u = adamUpdate(this.params, r.grads, mom, lr);
      // 1 where act > 1e-8: step(act − 1e-8) (tf.greater and tf.any are ~10× slower on wasm).
      const active = tf.step(tf.sub(r.fwd.act, ACTIVE_THRESHOLD), 0) as tf.Tensor2D;
      const firedCount = colSum(active);
      const sinceFired = tf.where(tf.greater(firedCount, 0), tf.zerosLike(this.sinceFired), tf.add(this.sinceFired, 1)) as tf.Tensor1D;
      const bad = tf.logicalAnd(tf.less(this.firstBad, 0), tf.logicalNot(tf.isFinite(r.loss)));
      const firstBad = tf.where(bad, tf.scalar(stepIndex), this.firstBad) as tf.Scalar;
      let metrics: tf.Tensor1D | undefined;
      if (opts.metrics) {
        const B = x.shape[0];
        const l0 = tf.div(tf.sum(firedCount), B);
        const centred = tf.sub(x, tf.mean(x, 0, true));
        const sse = tf.sum(tf.square(tf.sub(r.fwd.xHat, x)));
        const ev = tf.sub(1, tf.div(sse, tf.sum(tf.square(centred))));
        const deadFrac = tf.mean(tf.cast(tf.greaterEqual(sinceFired, opts.deadWindow), 'float32'));
        metrics = tf.stack([r.loss, r.recon, r.sparsity, l0, ev, deadFrac]) as tf.Tensor1D;
      }
      return { u, sinceFired, firstBad, metrics };
    });
    disposeParams(this.params);
    disposeParams(this.m);
    disposeParams(this.v);
    this.sinceFired.dispose();
    this.firstBad.dispose();
    this.params = out.u.params;
    this.m = out.u.m;
    this.v = out.u.v;
    this.t += 1;
    this.sinceFired = out.sinceFired;
    this.firstBad = out.firstBad;
    return out.metrics;
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
   * Resamples the given dead latents from batch x (spec/math.md): each gets the normalised
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
    };
  }

  dispose(): void {
    disposeParams(this.params);
    disposeParams(this.m);
    disposeParams(this.v);
    this.sinceFired.dispose();
    this.firstBad.dispose();
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
