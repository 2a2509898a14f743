/**
 * Language-model metrics (with --model): cross-entropy and KL divergence of the next-token
 * predictions with the SAE's reconstruction spliced in at the hook and with the hook
 * zero-ablated, against the model as it is (CE loss and KL scores), the direct
 * logit effect of each decoder direction (W_dec · W_U, through W_out for an MLP hook_post), and
 * the tokenizer that turns example tokens into text.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fastMatMul, tf } from '@vsae/compute';
import { InputError, readSafetensors, type ActivationDataset } from '@vsae/data';
import type { LoadedSae } from '@vsae/sae';
import {
  findWeights,
  HookedTransformer,
  loadGpt2Weights,
  loadTransformerLensWeights,
  readModelConfig,
  readTorchCheckpoint,
  TextTokenizer,
  type ModelWeights,
  type TransformerConfig,
  type WeightSource,
} from '@vsae/transformer';

export interface LanguageModel {
  dir: string;
  cfg: TransformerConfig;
  model: HookedTransformer;
  weights: ModelWeights;
  tokenizer: TextTokenizer | undefined;
}

/** Loads a model directory, keeping the host weights (W_U, W_out) for the logit effects. */
export function loadLanguageModel(dir: string): LanguageModel {
  const cfg = readModelConfig(dir);
  const file = findWeights(dir, cfg);
  let src: WeightSource;
  if (file.endsWith('.safetensors')) {
    const st = readSafetensors(file);
    src = { path: file, names: () => [...st.tensors.keys()], shape: (n) => st.tensors.get(n)?.shape, get: (n) => st.getFloat32(n).data };
  } else {
    const sd = readTorchCheckpoint(file);
    src = { path: file, names: () => sd.keys(), shape: (n) => sd.info(n)?.shape, get: (n) => sd.getFloat32(n).data };
  }
  const weights = cfg.family === 'gpt2' ? loadGpt2Weights(cfg, src) : loadTransformerLensWeights(cfg, src);
  const model = new HookedTransformer(cfg, weights, { source: dir });
  const tf = path.join(dir, 'tokenizer.json');
  return { dir, cfg, model, weights, tokenizer: fs.existsSync(tf) ? TextTokenizer.load(tf) : undefined };
}

/**
 * The tokenizer for a dataset's token ids: the model's (with --model), else the dataset's
 * `vsae:tokenizer` or `vsae:model` (as given, then relative to the dataset). Undefined (with the
 * reason) when none can be read.
 */
export function findTokenizer(ds: ActivationDataset, lm: LanguageModel | undefined): { tokenizer?: TextTokenizer; note?: string } {
  if (lm?.tokenizer) return { tokenizer: lm.tokenizer };
  const tried: string[] = [];
  const base = ds.path === '-' ? '.' : path.dirname(ds.path);
  for (const cand of [ds.meta.tokenizer, ds.meta.model]) {
    if (!cand) continue;
    for (const p of [cand, path.resolve(base, cand)]) {
      const file = fs.existsSync(p) && fs.statSync(p).isDirectory() ? path.join(p, 'tokenizer.json') : p;
      if (tried.includes(file)) continue;
      tried.push(file);
      if (!fs.existsSync(file)) continue;
      try {
        return { tokenizer: TextTokenizer.load(file) };
      } catch (e) {
        return { note: `could not read the tokenizer ${file} (${(e as Error).message})` };
      }
    }
  }
  return { note: `no tokenizer found (tried ${tried.length ? tried.join(', ') : 'none named in the dataset'}); token context shows ids; pass --model DIR to decode them` };
}

/** Text of one token (the decoded piece, e.g. " the"), or `#id` when it has none. */
export function tokenText(tok: TextTokenizer | undefined, id: number): string {
  if (id < 0) return '';
  if (!tok) return `#${id}`;
  try {
    return tok.decode([id]);
  } catch {
    return `#${id}`;
  }
}

/** Up to `max` complete token windows of the dataset (rows grouped by `seq`, in `pos` order), all of one length. */
export async function readWindows(ds: ActivationDataset, max: number): Promise<{ tokens: Int32Array; windows: number; length: number }> {
  const wins: number[][] = [];
  let cur: number[] = [];
  let curSeq: bigint | undefined;
  let lastPos = -1;
  const flush = () => {
    if (cur.length >= 2) wins.push(cur);
    cur = [];
  };
  outer: for await (const b of ds.batches({ columns: ['seq', 'pos', 'token'] })) {
    for (let i = 0; i < b.numRows; i++) {
      const s = b.seq![i]!;
      const p = b.pos![i]!;
      if (s !== curSeq || p !== lastPos + 1) {
        flush();
        curSeq = s;
        if (p !== 0 && !(p === 1 && ds.meta.bos !== undefined)) {
          cur = [];
          lastPos = p;
          curSeq = undefined; // a window cut at the front: not used
          continue;
        }
        if (p === 1) cur.push(ds.meta.bos!); // BOS rows were excluded at extraction
      }
      cur.push(b.token![i]!);
      lastPos = p;
      if (wins.length >= max * 4) break outer;
    }
  }
  flush();
  // The most common length (the context); shorter ends of documents are left out.
  const counts = new Map<number, number>();
  for (const w of wins) counts.set(w.length, (counts.get(w.length) ?? 0) + 1);
  const length = [...counts.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0] ?? 0;
  const chosen = wins.filter((w) => w.length === length).slice(0, max);
  const tokens = new Int32Array(chosen.length * length);
  chosen.forEach((w, i) => tokens.set(w, i * length));
  return { tokens, windows: chosen.length, length };
}

export interface CeResult {
  ce_loss_orig: number;
  ce_loss_sae: number;
  ce_loss_zero: number;
  /** (CE_zero − CE_sae) / (CE_zero − CE_orig): SAEBench's ce_loss_score. */
  ce_loss_recovered: number;
  /** Mean over token positions of KL(clean ‖ SAE spliced in) of the next-token distributions, nats. */
  kl_div_with_sae: number;
  /** The same with the hook zero-ablated. */
  kl_div_with_ablation: number;
  /** SAEBench's (KL_zero − KL_sae) / KL_zero: 1 when the SAE leaves the model's predictions as they were. */
  kl_div_score: number;
  windows: number;
  length: number;
}

/**
 * The model's next-token predictions as they are, with the SAE's reconstruction spliced in at
 * `hook`, and with the hook zero-ablated, over the same windows: mean CE (position t predicts
 * token t+1; the mean over the windows of each window's mean) and mean KL of the clean
 * distribution to each patched one (Σ over the vocabulary, mean over every position).
 */
export async function modelScores(lm: LanguageModel, sae: LoadedSae, hook: string, tokens: Int32Array, windows: number, length: number, batch = 4): Promise<CeResult> {
  if (length < 2) throw new InputError(lm.dir, 'the cross-entropy metrics need token windows of at least 2 tokens');
  const splSae = (a: tf.Tensor): tf.Tensor => {
    const x = tf.reshape(a, [-1, sae.dIn]) as tf.Tensor2D;
    const out = sae.forward(x);
    tf.dispose([out.act, ...(out.logVar ? [out.logVar] : [])]);
    return tf.reshape(out.recon, a.shape);
  };
  const variants = { sae: { [hook]: splSae }, zero: { [hook]: (a: tf.Tensor) => tf.zerosLike(a) } };
  const V = lm.cfg.dVocab;
  const sums = { orig: 0, sae: 0, zero: 0, klSae: 0, klZero: 0 };
  for (let s = 0; s < windows; s += batch) {
    const m = Math.min(batch, windows - s);
    const ids = tokens.subarray(s * length, (s + m) * length);
    const shape = [m, length] as const;
    // Targets: the flat index of token t+1 in the [m·length, V] log-probabilities of position t.
    const idx = new Int32Array(m * (length - 1));
    for (let b = 0, k = 0; b < m; b++) for (let t = 0; t < length - 1; t++) idx[k++] = (b * length + t) * V + ids[b * length + t + 1]!;
    const target = tf.tensor1d(idx, 'int32');
    const logProbs = (splice: Record<string, (a: tf.Tensor) => tf.Tensor>): tf.Tensor2D => {
      const { logits } = lm.model.run(ids, { shape, logits: true, splice });
      const lp = tf.tidy(() => tf.logSoftmax(tf.reshape(logits!, [m * length, V])) as tf.Tensor2D);
      logits!.dispose();
      return lp;
    };
    // Every read back is asynchronous (a GPU backend cannot read synchronously).
    const scalarOf = async (make: () => tf.Tensor): Promise<number> => {
      const t = tf.tidy(make);
      const v = (await t.data())[0]!;
      t.dispose();
      return v;
    };
    const ceSum = async (lp: tf.Tensor2D): Promise<number> => -(await scalarOf(() => tf.sum(tf.gather(tf.reshape(lp, [-1]), target)))) / (length - 1);
    const clean = logProbs({});
    try {
      sums.orig += await ceSum(clean);
      for (const k of ['sae', 'zero'] as const) {
        const lp = logProbs(variants[k]);
        sums[k] += await ceSum(lp);
        const kl = await scalarOf(() => tf.sum(tf.mul(tf.exp(clean), tf.sub(clean, lp))));
        if (k === 'sae') sums.klSae += kl;
        else sums.klZero += kl;
        lp.dispose();
      }
    } finally {
      clean.dispose();
      target.dispose();
    }
  }
  const orig = sums.orig / windows;
  const saeCe = sums.sae / windows;
  const zero = sums.zero / windows;
  const klSae = sums.klSae / (windows * length);
  const klZero = sums.klZero / (windows * length);
  return {
    ce_loss_orig: orig,
    ce_loss_sae: saeCe,
    ce_loss_zero: zero,
    ce_loss_recovered: (zero - saeCe) / (zero - orig),
    kl_div_with_sae: klSae,
    kl_div_with_ablation: klZero,
    kl_div_score: (klZero - klSae) / klZero,
    windows,
    length,
  };
}

/**
 * How a decoder direction at `hook` reaches the logits: through W_out of the layer for an MLP
 * hook_post ([d_mlp, d_model]), directly for hooks of width d_model; undefined otherwise.
 */
export function logitPath(lm: LanguageModel, hook: string, dIn: number): { wOut?: Float32Array; dMlp?: number } | undefined {
  const m = /^blocks\.(\d+)\.mlp\.hook_(post|pre)$/.exec(hook);
  if (m && m[2] === 'post') {
    const layer = lm.weights.layers[Number(m[1])];
    if (!layer || dIn !== lm.cfg.dMlp) return undefined;
    return { wOut: layer.wOut, dMlp: lm.cfg.dMlp };
  }
  if (m) return undefined;
  return dIn === lm.cfg.dModel ? {} : undefined;
}

export interface LogitEffects {
  /** [d_sae, k] token ids and values of the largest and smallest logit effects. */
  topTok: Int32Array;
  topVal: Float32Array;
  botTok: Int32Array;
  botVal: Float32Array;
  k: number;
}

/** W_dec (· W_out) · W_U in blocks of latents, keeping each latent's top and bottom k tokens. */
export async function logitEffects(lm: LanguageModel, wDec: Float32Array, dSae: number, dIn: number, via: { wOut?: Float32Array }, k: number, budgetBytes: number): Promise<LogitEffects> {
  const { dModel: d, dVocab: V } = lm.cfg;
  const u = lm.weights.unembed;
  let wu = u.data;
  if (u.layout === 'd_vocab,d_model') {
    wu = new Float32Array(d * V);
    for (let v = 0; v < V; v++) for (let m = 0; m < d; m++) wu[m * V + v] = u.data[v * d + m]!;
  }
  const kk = Math.min(k, V);
  const WU = tf.tensor2d(wu, [d, V]);
  const WO = via.wOut ? tf.tensor2d(via.wOut, [dIn, d]) : undefined;
  const out: LogitEffects = { topTok: new Int32Array(dSae * kk), topVal: new Float32Array(dSae * kk), botTok: new Int32Array(dSae * kk), botVal: new Float32Array(dSae * kk), k: kk };
  const block = Math.max(1, Math.min(dSae, Math.floor(budgetBytes / (3 * 4 * V))));
  try {
    for (let s = 0; s < dSae; s += block) {
      const b = Math.min(block, dSae - s);
      const [tv, ti, bv, bi] = tf.tidy(() => {
        let dir = tf.tensor2d(wDec.subarray(s * dIn, (s + b) * dIn), [b, dIn]);
        if (WO) dir = fastMatMul(dir, WO);
        const L = fastMatMul(dir, WU);
        const top = tf.topk(L, kk);
        const bot = tf.topk(tf.neg(L), kk);
        return [top.values, top.indices, tf.neg(bot.values), bot.indices];
      });
      out.topVal.set((await tv!.data()) as Float32Array, s * kk);
      out.topTok.set((await ti!.data()) as Int32Array, s * kk);
      out.botVal.set((await bv!.data()) as Float32Array, s * kk);
      out.botTok.set((await bi!.data()) as Int32Array, s * kk);
      tf.dispose([tv!, ti!, bv!, bi!]);
    }
  } finally {
    tf.dispose([WU, ...(WO ? [WO] : [])]);
  }
  return out;
}

/** Checks that the model can run the dataset's hook (InputError naming both otherwise). */
export function checkModelHook(lm: LanguageModel, hook: string | undefined, where: string): string {
  if (!hook) throw new InputError(where, 'names no hook (vsae:hook or cfg.json hook_name), so the SAE cannot be spliced into the model; analyse without --model');
  if (!lm.model.hooks.includes(hook)) throw new InputError(lm.dir, `has no hook "${hook}" (the run's hook); pass the model the activations were extracted from`);
  return hook;
}
