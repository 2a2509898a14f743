/**
 * Weight loading into one layout for both model families, arranged at load time so that the
 * forward pass only needs plain `x·W` products (the wasm backend runs a product with a
 * transposed operand 10–40× slower):
 *   W_Q, W_K, W_V  [d_model, n_heads·d_head]   (TransformerLens's [n_heads, d_model, d_head], heads side by side)
 *   W_O            [n_heads·d_head, d_model]   (TransformerLens's [n_heads, d_head, d_model], flattened)
 *   W_in [d_model, d_mlp], W_out [d_mlp, d_model], W_U [d_model, d_vocab]
 * GPT-2's Conv1D weights are already [in, out]; `c_attn` is split into Q, K, V exactly as
 * TransformerLens's `convert_gpt2_weights` does. Values are the raw, unprocessed weights
 * (`from_pretrained_no_processing`: no LayerNorm folding, no centring).
 */
import { InputError } from '@vsae/data';
import type { TransformerConfig } from './config.js';

/** Named float tensors from a checkpoint file (safetensors or torch.save). */
export interface WeightSource {
  path: string;
  names(): string[];
  shape(name: string): number[] | undefined;
  get(name: string): Float32Array;
}

export interface LayerWeights {
  ln1w: Float32Array;
  ln1b: Float32Array;
  wQ: Float32Array;
  wK: Float32Array;
  wV: Float32Array;
  bQ: Float32Array;
  bK: Float32Array;
  bV: Float32Array;
  wO: Float32Array;
  bO: Float32Array;
  ln2w: Float32Array;
  ln2b: Float32Array;
  wIn: Float32Array;
  bIn: Float32Array;
  wOut: Float32Array;
  bOut: Float32Array;
}

export interface ModelWeights {
  /** [d_vocab, d_model] */
  wE: Float32Array;
  /** [n_ctx, d_model] */
  wPos: Float32Array;
  layers: LayerWeights[];
  lnFw: Float32Array;
  lnFb: Float32Array;
  /** Unembedding as stored: W_U [d_model, d_vocab], or `[d_vocab, d_model]` rows to transpose (GPT-2's tied wte / lm_head). */
  unembed: { layout: 'd_model,d_vocab' | 'd_vocab,d_model'; data: Float32Array };
  bU: Float32Array;
}

const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

class Reader {
  readonly used = new Set<string>();
  constructor(private readonly src: WeightSource, private readonly why: (name: string) => string) {}

  get(name: string, shape: number[]): Float32Array {
    const got = this.src.shape(name);
    if (!got) throw new InputError(this.src.path, `is missing tensor "${name}"; the weights are incomplete or not of this model`);
    if (!same(got, shape)) {
      throw new InputError(
        this.src.path,
        `tensor "${name}" has shape [${got.join(', ')}] but config.json implies [${shape.join(', ')}] (${this.why(name)}); the weights and config.json do not belong together`,
      );
    }
    this.used.add(name);
    return this.src.get(name);
  }

  has(name: string): boolean {
    return this.src.shape(name) !== undefined;
  }

  /** Unused tensors other than known buffers mean a different architecture: refuse them. */
  checkLeftovers(ignore: RegExp): void {
    const extra = this.src.names().filter((n) => !this.used.has(n) && !ignore.test(n));
    if (extra.length) {
      const list = extra.slice(0, 4).map((n) => `"${n}"`).join(', ');
      throw new InputError(this.src.path, `has tensors this architecture does not use (${list}${extra.length > 4 ? ', …' : ''}); it is not a plain ${ignore.source.includes('IGNORE') ? 'TransformerLens GELU/ReLU model' : 'GPT-2'} checkpoint`);
    }
  }
}

function splitColumns(w: Float32Array, rows: number, cols: number, parts: number): Float32Array[] {
  const c = cols / parts;
  const out = Array.from({ length: parts }, () => new Float32Array(rows * c));
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < parts; p++) out[p]!.set(w.subarray(r * cols + p * c, r * cols + (p + 1) * c), r * c);
  }
  return out;
}

/** [n_heads, d_model, d_head] → [d_model, n_heads·d_head]. */
function headsToColumns(w: Float32Array, nHeads: number, dModel: number, dHead: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let m = 0; m < dModel; m++) {
      const src = (h * dModel + m) * dHead;
      out.set(w.subarray(src, src + dHead), m * nHeads * dHead + h * dHead);
    }
  }
  return out;
}

export function loadGpt2Weights(cfg: TransformerConfig, src: WeightSource): ModelWeights {
  const { dModel: d, dMlp, nCtx, dVocab: V, nLayers } = cfg;
  const names = src.names();
  const prefix = names.includes('transformer.wte.weight') ? 'transformer.' : names.includes('wte.weight') ? '' : undefined;
  if (prefix === undefined) {
    throw new InputError(src.path, 'has no GPT-2 token embedding ("transformer.wte.weight" or "wte.weight"); it is not a GPT-2 checkpoint');
  }
  const r = new Reader(src, (n) =>
    n.endsWith('wte.weight') || n === 'lm_head.weight' ? 'vocab_size × n_embd'
    : n.endsWith('wpe.weight') ? 'n_positions × n_embd'
    : n.includes('c_fc') || n.includes('mlp.c_proj') ? 'n_embd and n_inner (null ⇒ 4·n_embd)'
    : 'n_embd and n_head',
  );
  const p = (s: string): string => prefix + s;
  const wE = r.get(p('wte.weight'), [V, d]);
  const wPos = r.get(p('wpe.weight'), [nCtx, d]);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < nLayers; l++) {
    const h = (s: string): string => p(`h.${l}.${s}`);
    const [wQ, wK, wV] = splitColumns(r.get(h('attn.c_attn.weight'), [d, 3 * d]), d, 3 * d, 3) as [Float32Array, Float32Array, Float32Array];
    const bqkv = r.get(h('attn.c_attn.bias'), [3 * d]);
    layers.push({
      ln1w: r.get(h('ln_1.weight'), [d]),
      ln1b: r.get(h('ln_1.bias'), [d]),
      wQ,
      wK,
      wV,
      bQ: bqkv.slice(0, d),
      bK: bqkv.slice(d, 2 * d),
      bV: bqkv.slice(2 * d),
      wO: r.get(h('attn.c_proj.weight'), [d, d]),
      bO: r.get(h('attn.c_proj.bias'), [d]),
      ln2w: r.get(h('ln_2.weight'), [d]),
      ln2b: r.get(h('ln_2.bias'), [d]),
      wIn: r.get(h('mlp.c_fc.weight'), [d, dMlp]),
      bIn: r.get(h('mlp.c_fc.bias'), [dMlp]),
      wOut: r.get(h('mlp.c_proj.weight'), [dMlp, d]),
      bOut: r.get(h('mlp.c_proj.bias'), [d]),
    });
  }
  const lnFw = r.get(p('ln_f.weight'), [d]);
  const lnFb = r.get(p('ln_f.bias'), [d]);
  // An untied lm_head (rare for GPT-2) replaces the tied wte.
  const unembed = r.has('lm_head.weight') ? r.get('lm_head.weight', [V, d]) : wE;
  // attn.bias / attn.masked_bias are the causal-mask buffers of older checkpoints.
  r.checkLeftovers(/^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/);
  return { wE, wPos, layers, lnFw, lnFb, unembed: { layout: 'd_vocab,d_model', data: unembed }, bU: new Float32Array(V) };
}

export function loadTransformerLensWeights(cfg: TransformerConfig, src: WeightSource): ModelWeights {
  const { dModel: d, dMlp, nCtx, dVocab: V, nLayers, nHeads: H, dHead: dh } = cfg;
  const r = new Reader(src, (n) =>
    n.startsWith('embed') || n.startsWith('unembed') ? 'd_vocab and d_model'
    : n.startsWith('pos_embed') ? 'n_ctx × d_model'
    : n.includes('.mlp.') ? 'd_model and d_mlp'
    : n.includes('.attn.') ? 'n_heads, d_model and d_head'
    : 'd_model',
  );
  const wE = r.get('embed.W_E', [V, d]);
  const wPos = r.get('pos_embed.W_pos', [nCtx, d]);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < nLayers; l++) {
    const b = (s: string): string => `blocks.${l}.${s}`;
    layers.push({
      ln1w: r.get(b('ln1.w'), [d]),
      ln1b: r.get(b('ln1.b'), [d]),
      wQ: headsToColumns(r.get(b('attn.W_Q'), [H, d, dh]), H, d, dh),
      wK: headsToColumns(r.get(b('attn.W_K'), [H, d, dh]), H, d, dh),
      wV: headsToColumns(r.get(b('attn.W_V'), [H, d, dh]), H, d, dh),
      bQ: r.get(b('attn.b_Q'), [H, dh]),
      bK: r.get(b('attn.b_K'), [H, dh]),
      bV: r.get(b('attn.b_V'), [H, dh]),
      wO: r.get(b('attn.W_O'), [H, dh, d]),
      bO: r.get(b('attn.b_O'), [d]),
      ln2w: r.get(b('ln2.w'), [d]),
      ln2b: r.get(b('ln2.b'), [d]),
      wIn: r.get(b('mlp.W_in'), [d, dMlp]),
      bIn: r.get(b('mlp.b_in'), [dMlp]),
      wOut: r.get(b('mlp.W_out'), [dMlp, d]),
      bOut: r.get(b('mlp.b_out'), [d]),
    });
  }
  const lnFw = r.get('ln_final.w', [d]);
  const lnFb = r.get('ln_final.b', [d]);
  const wU = r.get('unembed.W_U', [d, V]);
  const bU = r.has('unembed.b_U') ? r.get('unembed.b_U', [V]) : new Float32Array(V);
  // attn.mask and attn.IGNORE are buffers (causal mask, fill value), not weights.
  r.checkLeftovers(/^blocks\.\d+\.attn\.(mask|IGNORE)$/);
  return { wE, wPos, layers, lnFw, lnFb, unembed: { layout: 'd_model,d_vocab', data: wU }, bU };
}
