/**
 * A hooked transformer (GPT-2 style: pre-LayerNorm blocks, learned positions) in TensorFlow.js,
 * with TransformerLens's hook names and shapes. `run` can capture any hook, replace any hook's
 * value (splice), and stops as soon as the last hook it needs is computed; `ceLoss` gives the
 * mean next-token cross-entropy of each window, with or without splices.
 *
 * Layout for speed: activations are [batch·pos, width] matrices and every product is a plain
 * `x·W` (weights were arranged at load time). On the stock wasm backend a batched matmul
 * (batch > 1) leaves XNNPACK's fast path and runs ~20× slower, so there attention runs one
 * (window, head) 2-D product at a time ('per-head'); elsewhere it is one batched product.
 */
import { tf } from '@vsae/compute';
import { UsageError, VsaeError } from '@vsae/data';
import type { TransformerConfig } from './config.js';
import { checkHooks, hookNames, hookShape } from './hooks.js';
import type { LayerWeights, ModelWeights } from './weights.js';

export type TokenInput = Int32Array | ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;

/** Replaces a hook's activation: receives it in TransformerLens's shape, returns one of the same shape. */
export type HookFn = (act: tf.Tensor, hook: string) => tf.Tensor;

export type AttentionMode = 'auto' | 'batched' | 'per-head';

export interface RunOptions {
  /** Hooks whose activations to return (TransformerLens names). */
  capture?: Iterable<string>;
  /** Hooks whose value to replace, e.g. `{ 'blocks.0.mlp.hook_post': (a) => tf.zerosLike(a) }`. */
  splice?: Record<string, HookFn> | Map<string, HookFn>;
  /** Compute the logits (runs every layer). Default: true when nothing is captured. */
  logits?: boolean;
  /** [batch, pos] when `tokens` is one flat array. */
  shape?: readonly [number, number];
}

export interface RunResult {
  /** Captured activations in TransformerLens's shapes; the caller disposes them. */
  captures: Map<string, tf.Tensor>;
  /** [batch, pos, d_vocab] when asked for; the caller disposes it. */
  logits?: tf.Tensor3D;
}

interface LayerTensors {
  ln1w: tf.Tensor1D;
  ln1b: tf.Tensor1D;
  wQ: tf.Tensor2D;
  wK: tf.Tensor2D;
  wV: tf.Tensor2D;
  bQ: tf.Tensor1D;
  bK: tf.Tensor1D;
  bV: tf.Tensor1D;
  wO: tf.Tensor2D;
  bO: tf.Tensor1D;
  ln2w: tf.Tensor1D;
  ln2b: tf.Tensor1D;
  wIn: tf.Tensor2D;
  bIn: tf.Tensor1D;
  wOut: tf.Tensor2D;
  bOut: tf.Tensor1D;
}

/** Thrown inside the forward pass once every requested hook is captured. */
const STOP = Symbol('stop');

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Whether a batched matmul would leave the backend's fast path (stock wasm BatchMatMul). */
function batchedMatMulIsSlow(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  // The stock wasm kernel has a setup function (its cwrap); a replacement (e.g. @vsae/blas's
  // OpenBLAS kernel) registered without one handles batches at full speed.
  const k = tf.getKernel('BatchMatMul', 'wasm');
  return k !== undefined && k.setupFunc !== undefined;
}

export interface ModelOptions {
  /** Where the weights came from (for metadata and messages). */
  source?: string;
  attention?: AttentionMode;
  /** Keep the unembedding (default true); false frees it for models used only to read hooks. */
  unembed?: boolean;
}

export class HookedTransformer {
  readonly cfg: TransformerConfig;
  readonly source: string;
  /** Every hook name, in forward order. */
  readonly hooks: readonly string[];
  private readonly wE: Float32Array;
  private readonly wPos: Float32Array;
  private readonly layers: LayerTensors[];
  private readonly lnFw: tf.Tensor1D;
  private readonly lnFb: tf.Tensor1D;
  private readonly bU: tf.Tensor1D;
  private unembedSrc: ModelWeights['unembed'] | undefined;
  private wU: tf.Tensor2D | undefined;
  private readonly masks = new Map<number, tf.Tensor2D>();
  private attention: AttentionMode;
  private disposed = false;

  constructor(cfg: TransformerConfig, w: ModelWeights, opts: ModelOptions = {}) {
    this.cfg = cfg;
    this.source = opts.source ?? cfg.name ?? 'model';
    this.attention = opts.attention ?? 'auto';
    this.hooks = hookNames(cfg);
    this.wE = w.wE;
    this.wPos = w.wPos;
    const { dModel: d, nHeads: H, dHead: dh, dMlp } = cfg;
    const HD = H * dh;
    const t2 = (a: Float32Array, r: number, c: number): tf.Tensor2D => tf.tensor2d(a, [r, c]);
    const t1 = (a: Float32Array): tf.Tensor1D => tf.tensor1d(a);
    this.layers = w.layers.map((l: LayerWeights) => ({
      ln1w: t1(l.ln1w),
      ln1b: t1(l.ln1b),
      wQ: t2(l.wQ, d, HD),
      wK: t2(l.wK, d, HD),
      wV: t2(l.wV, d, HD),
      bQ: t1(l.bQ),
      bK: t1(l.bK),
      bV: t1(l.bV),
      wO: t2(l.wO, HD, d),
      bO: t1(l.bO),
      ln2w: t1(l.ln2w),
      ln2b: t1(l.ln2b),
      wIn: t2(l.wIn, d, dMlp),
      bIn: t1(l.bIn),
      wOut: t2(l.wOut, dMlp, d),
      bOut: t1(l.bOut),
    }));
    this.lnFw = t1(w.lnFw);
    this.lnFb = t1(w.lnFb);
    this.bU = t1(w.bU);
    this.unembedSrc = opts.unembed === false ? undefined : w.unembed;
  }

  /** Sets how attention is computed (results agree to float rounding). */
  setAttention(mode: AttentionMode): void {
    this.attention = mode;
  }

  /** Runs the model on a batch of token windows. Synchronous; the caller disposes the result. */
  run(tokens: TokenInput, opts: RunOptions = {}): RunResult {
    if (this.disposed) throw new VsaeError('this model has been disposed');
    const { ids, batch: B, pos: T } = this.tokens(tokens, opts.shape);
    const capture = new Set(opts.capture ?? []);
    const splice = opts.splice instanceof Map ? opts.splice : new Map(Object.entries(opts.splice ?? {}));
    checkHooks(this.cfg, [...capture, ...splice.keys()]);
    const wantLogits = opts.logits ?? capture.size === 0;
    const captures = new Map<string, tf.Tensor>();
    if (!wantLogits && capture.size === 0) return { captures };
    let remaining = capture.size;
    // Per-head attention reads Q, K, V back synchronously: a CPU-side path (wasm), never on a GPU.
    const perHead = tf.getBackend() !== 'webgpu' && (this.attention === 'per-head' || (this.attention === 'auto' && batchedMatMulIsSlow()));

    const point = (name: string, t: tf.Tensor, shape: number[]): tf.Tensor => {
      let out = t;
      const fn = splice.get(name);
      if (fn) {
        const r = fn(tf.reshape(t, shape), name);
        if (!(r instanceof tf.Tensor) || r.shape.length !== shape.length || !r.shape.every((v, i) => v === shape[i])) {
          throw new UsageError(`the splice for ${name} must return a tensor of shape [${shape.join(', ')}], got ${r instanceof tf.Tensor ? `[${r.shape.join(', ')}]` : typeof r}`);
        }
        out = tf.reshape(tf.cast(r, 'float32'), t.shape);
      }
      if (capture.has(name)) {
        captures.set(name, tf.keep(tf.reshape(out, shape)));
        remaining--;
        if (remaining === 0 && !wantLogits) throw STOP;
      }
      return out;
    };
    const shapeOf = (name: string): number[] => hookShape(this.cfg, name, B, T);

    let logits: tf.Tensor3D | undefined;
    let resid: tf.Tensor2D | undefined;
    try {
      resid = tf.tidy(() => this.embed(ids, B, T, point, shapeOf));
      for (let l = 0; l < this.cfg.nLayers; l++) {
        const x: tf.Tensor2D = resid;
        resid = tf.tidy(() => this.block(l, x, B, T, point, shapeOf, perHead && !splice.has(`blocks.${l}.attn.hook_attn_scores`) && !splice.has(`blocks.${l}.attn.hook_pattern`), capture));
        x.dispose();
      }
      if (wantLogits || remaining > 0) {
        // ln_final's hooks, then the unembedding (a capture of ln_final alone stops before it).
        const x: tf.Tensor2D = resid;
        logits = tf.tidy(() => {
          const n = this.layerNorm(x, this.lnFw, this.lnFb, 'ln_final', point, shapeOf);
          return tf.reshape(tf.add(tf.matMul(n, this.unembed()), this.bU), [B, T, this.cfg.dVocab]) as tf.Tensor3D;
        });
      }
    } catch (e) {
      if (e !== STOP) {
        for (const t of captures.values()) t.dispose();
        resid?.dispose();
        throw e;
      }
    }
    resid?.dispose();
    return logits ? { captures, logits } : { captures };
  }

  /**
   * Mean next-token cross-entropy (nats) of each window: position t predicts token t+1, averaged
   * over the window's pos−1 predictions. With `splice` (an SAE's reconstruction, or zeros) the
   * loss is measured with the hook replaced.
   */
  async ceLoss(tokens: TokenInput, opts: Pick<RunOptions, 'splice' | 'shape'> = {}): Promise<Float32Array> {
    const { ids, batch: B, pos: T } = this.tokens(tokens, opts.shape);
    if (T < 2) throw new UsageError('the cross-entropy loss needs windows of at least 2 tokens');
    const { logits } = this.run(ids, { shape: [B, T], logits: true, splice: opts.splice ?? {} });
    const V = this.cfg.dVocab;
    const idx = new Int32Array(B * (T - 1));
    for (let b = 0, k = 0; b < B; b++) for (let t = 0; t < T - 1; t++) idx[k++] = (b * T + t) * V + ids[b * T + t + 1]!;
    const [lse, tgt] = tf.tidy(() => {
      const flat = tf.reshape(logits!, [B * T, V]);
      return [tf.logSumExp(flat, 1), tf.gather(tf.reshape(flat, [-1]), tf.tensor1d(idx, 'int32'))];
    });
    logits!.dispose();
    // Asynchronous reads: a GPU backend cannot read back synchronously.
    const [l, g] = await Promise.all([lse.data(), tgt.data()]);
    lse.dispose();
    tgt.dispose();
    const out = new Float32Array(B);
    for (let b = 0, k = 0; b < B; b++) {
      let s = 0;
      for (let t = 0; t < T - 1; t++, k++) s += l[b * T + t]! - g[k]!;
      out[b] = s / (T - 1);
    }
    return out;
  }

  /** Frees every tensor the model holds. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const l of this.layers) for (const t of Object.values(l)) (t as tf.Tensor).dispose();
    this.lnFw.dispose();
    this.lnFb.dispose();
    this.bU.dispose();
    this.wU?.dispose();
    for (const m of this.masks.values()) m.dispose();
  }

  // --- internals ---------------------------------------------------------------------------

  private tokens(tokens: TokenInput, shape?: readonly [number, number]): { ids: Int32Array; batch: number; pos: number } {
    let ids: Int32Array;
    let B: number;
    let T: number;
    const first = (tokens as ArrayLike<unknown>)[0];
    if (shape) {
      [B, T] = shape;
      ids = tokens instanceof Int32Array ? tokens : Int32Array.from(tokens as ArrayLike<number>);
      if (ids.length !== B * T) throw new UsageError(`tokens hold ${ids.length} ids but shape [${B}, ${T}] needs ${B * T}`);
    } else if (first !== undefined && typeof first === 'object') {
      const rows = tokens as ReadonlyArray<ArrayLike<number>>;
      B = rows.length;
      T = rows[0]!.length;
      ids = new Int32Array(B * T);
      rows.forEach((r, b) => {
        if (r.length !== T) throw new UsageError(`token windows must have equal lengths (window 0 has ${T}, window ${b} has ${r.length})`);
        for (let t = 0; t < T; t++) ids[b * T + t] = r[t]!;
      });
    } else {
      ids = tokens instanceof Int32Array ? tokens : Int32Array.from(tokens as ArrayLike<number>);
      B = 1;
      T = ids.length;
    }
    if (B < 1 || T < 1) throw new UsageError('no tokens to run');
    if (T > this.cfg.nCtx) {
      throw new VsaeError(`windows of ${T} tokens are longer than the model's context of ${this.cfg.nCtx}; use a context of at most ${this.cfg.nCtx}`);
    }
    const V = this.cfg.dVocab;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < V)) {
        throw new VsaeError(`token id ${id} (window ${Math.floor(i / T)}, position ${i % T}) is outside the model's vocabulary of ${V}; the tokens do not belong to this model`);
      }
    }
    return { ids, batch: B, pos: T };
  }

  private embed(ids: Int32Array, B: number, T: number, point: PointFn, shapeOf: (n: string) => number[]): tf.Tensor2D {
    const d = this.cfg.dModel;
    const N = B * T;
    // Row gathers in JS: the wasm GatherV2 kernel is slow, and W_E stays out of the tensor heap.
    const emb = new Float32Array(N * d);
    const pos = new Float32Array(N * d);
    for (let n = 0; n < N; n++) {
      const tok = ids[n]!;
      emb.set(this.wE.subarray(tok * d, tok * d + d), n * d);
      pos.set(this.wPos.subarray((n % T) * d, (n % T) * d + d), n * d);
    }
    const e = point('hook_embed', tf.tensor2d(emb, [N, d]), shapeOf('hook_embed'));
    const p = point('hook_pos_embed', tf.tensor2d(pos, [N, d]), shapeOf('hook_pos_embed'));
    return tf.add(e, p) as tf.Tensor2D;
  }

  private layerNorm(x: tf.Tensor, w: tf.Tensor1D, b: tf.Tensor1D, name: string, point: PointFn, shapeOf: (n: string) => number[]): tf.Tensor2D {
    const xc = tf.sub(x, tf.mean(x, -1, true));
    const scale = point(`${name}.hook_scale`, tf.sqrt(tf.add(tf.mean(tf.square(xc), -1, true), this.cfg.eps)), shapeOf(`${name}.hook_scale`));
    return point(`${name}.hook_normalized`, tf.add(tf.mul(tf.div(xc, scale), w), b), shapeOf(`${name}.hook_normalized`)) as tf.Tensor2D;
  }

  private act(x: tf.Tensor): tf.Tensor {
    switch (this.cfg.actFn) {
      case 'gelu_new':
        // 0.5·x·(1 + tanh(u)) = x·sigmoid(2u) with 2u = x·(2c + 2c·0.044715·x²), c = √(2/π): the same
        // function in six elementwise ops, and wasm's sigmoid is ~10× faster than its tanh.
        return tf.mul(x, tf.sigmoid(tf.mul(x, tf.add(tf.mul(tf.square(x), 2 * SQRT_2_OVER_PI * 0.044715), 2 * SQRT_2_OVER_PI))));
      case 'gelu':
        return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
      case 'relu':
        return tf.relu(x);
    }
  }

  private block(l: number, x: tf.Tensor2D, B: number, T: number, point: PointFn, shapeOf: (n: string) => number[], perHead: boolean, capture: Set<string>): tf.Tensor2D {
    const w = this.layers[l]!;
    const p = `blocks.${l}.`;
    const h = (name: string, t: tf.Tensor): tf.Tensor => point(p + name, t, shapeOf(p + name));
    const residPre = h('hook_resid_pre', x);
    const n1 = this.layerNorm(residPre, w.ln1w, w.ln1b, `${p}ln1`, point, shapeOf);
    const q = h('attn.hook_q', tf.add(tf.matMul(n1, w.wQ), w.bQ));
    const k = h('attn.hook_k', tf.add(tf.matMul(n1, w.wK), w.bK));
    const v = h('attn.hook_v', tf.add(tf.matMul(n1, w.wV), w.bV));
    const z0 = perHead ? this.attentionPerHead(l, q, k, v, B, T, point, shapeOf, capture) : this.attentionBatched(l, q, k, v, B, T, point, shapeOf);
    const z = h('attn.hook_z', z0);
    const attnOut = h('hook_attn_out', tf.add(tf.matMul(z as tf.Tensor2D, w.wO), w.bO));
    const residMid = h('hook_resid_mid', tf.add(residPre, attnOut));
    const n2 = this.layerNorm(residMid, w.ln2w, w.ln2b, `${p}ln2`, point, shapeOf);
    const pre = h('mlp.hook_pre', tf.add(tf.matMul(n2, w.wIn), w.bIn));
    const post = h('mlp.hook_post', this.act(pre));
    const mlpOut = h('hook_mlp_out', tf.add(tf.matMul(post as tf.Tensor2D, w.wOut), w.bOut));
    return h('hook_resid_post', tf.add(residMid, mlpOut)) as tf.Tensor2D;
  }

  /** Causal mask [T, T]: 0 on and below the diagonal, −∞ above (TransformerLens's IGNORE). */
  private mask(T: number): tf.Tensor2D {
    let m = this.masks.get(T);
    if (!m) {
      const a = new Float32Array(T * T);
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) a[i * T + j] = -Infinity;
      m = tf.keep(tf.tensor2d(a, [T, T]));
      this.masks.set(T, m);
    }
    return m;
  }

  private attentionBatched(l: number, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, B: number, T: number, point: PointFn, shapeOf: (n: string) => number[]): tf.Tensor2D {
    const { nHeads: H, dHead: dh } = this.cfg;
    const p = `blocks.${l}.attn.`;
    const q4 = tf.transpose(tf.reshape(q, [B, T, H, dh]), [0, 2, 1, 3]);
    const kT = tf.transpose(tf.reshape(k, [B, T, H, dh]), [0, 2, 3, 1]);
    const v4 = tf.transpose(tf.reshape(v, [B, T, H, dh]), [0, 2, 1, 3]);
    const scores = point(`${p}hook_attn_scores`, tf.add(tf.div(tf.matMul(q4, kT), Math.sqrt(dh)), this.mask(T)), shapeOf(`${p}hook_attn_scores`));
    const pattern = point(`${p}hook_pattern`, tf.softmax(scores), shapeOf(`${p}hook_pattern`));
    const z = tf.matMul(pattern, v4);
    return tf.reshape(tf.transpose(z, [0, 2, 1, 3]), [B * T, H * dh]) as tf.Tensor2D;
  }

  /**
   * Attention one (window, head) at a time with 2-D products, which stay on XNNPACK's fast
   * path on wasm. Q, K, V are read back once and re-laid per head in JS (K transposed, so the
   * scores are a plain product too).
   */
  private attentionPerHead(l: number, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, B: number, T: number, point: PointFn, shapeOf: (n: string) => number[], capture: Set<string>): tf.Tensor2D {
    const { nHeads: H, dHead: dh } = this.cfg;
    const HD = H * dh;
    const p = `blocks.${l}.attn.`;
    const keepScores = capture.has(`${p}hook_attn_scores`);
    const keepPattern = capture.has(`${p}hook_pattern`);
    const qd = q.dataSync() as Float32Array;
    const kd = k.dataSync() as Float32Array;
    const vd = v.dataSync() as Float32Array;
    const mask = this.mask(T);
    const scale = Math.sqrt(dh);
    const zAll = new Float32Array(B * T * HD);
    const Qbh = new Float32Array(T * dh);
    const KTbh = new Float32Array(dh * T);
    const Vbh = new Float32Array(T * dh);
    const scoreParts: tf.Tensor[] = [];
    const patternParts: tf.Tensor[] = [];
    for (let b = 0; b < B; b++) {
      for (let hh = 0; hh < H; hh++) {
        for (let t = 0; t < T; t++) {
          const src = (b * T + t) * HD + hh * dh;
          Qbh.set(qd.subarray(src, src + dh), t * dh);
          Vbh.set(vd.subarray(src, src + dh), t * dh);
          for (let j = 0; j < dh; j++) KTbh[j * T + t] = kd[src + j]!;
        }
        const [Z, S, P] = tf.tidy(() => {
          const s = tf.add(tf.div(tf.matMul(tf.tensor2d(Qbh, [T, dh]), tf.tensor2d(KTbh, [dh, T])), scale), mask);
          const pat = tf.softmax(s);
          return [tf.matMul(pat, tf.tensor2d(Vbh, [T, dh])), keepScores ? s : undefined, keepPattern ? pat : undefined];
        });
        const zd = Z!.dataSync() as Float32Array;
        Z!.dispose();
        for (let t = 0; t < T; t++) zAll.set(zd.subarray(t * dh, t * dh + dh), (b * T + t) * HD + hh * dh);
        if (S) scoreParts.push(S);
        if (P) patternParts.push(P);
      }
    }
    if (keepScores) point(`${p}hook_attn_scores`, tf.stack(scoreParts), shapeOf(`${p}hook_attn_scores`));
    if (keepPattern) point(`${p}hook_pattern`, tf.stack(patternParts), shapeOf(`${p}hook_pattern`));
    return tf.tensor2d(zAll, [B * T, HD]);
  }

  /** W_U [d_model, d_vocab], built on first use (GPT-2 ties it to W_E, stored [d_vocab, d_model]). */
  private unembed(): tf.Tensor2D {
    if (this.wU) return this.wU;
    const { dModel: d, dVocab: V } = this.cfg;
    const src = this.unembedSrc;
    if (!src) throw new VsaeError('this model was loaded without its unembedding (unembed: false), so it gives no logits');
    let data = src.data;
    if (src.layout === 'd_vocab,d_model') {
      data = new Float32Array(d * V);
      for (let v = 0; v < V; v++) for (let m = 0; m < d; m++) data[m * V + v] = src.data[v * d + m]!;
    }
    this.wU = tf.keep(tf.tensor2d(data, [d, V]));
    this.unembedSrc = undefined;
    return this.wU;
  }
}

type PointFn = (name: string, t: tf.Tensor, shape: number[]) => tf.Tensor;
