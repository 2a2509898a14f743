/**
 * Model configuration, read from a checkpoint directory's config.json: a Hugging Face GPT-2
 * config (`n_embd`, `n_head`, …) or a TransformerLens config (`d_model`, `n_heads`, …, as the
 * NeelNanda models ship it). Field for field as TransformerLens converts them
 * (`convert_hf_model_config` for GPT2LMHeadModel, `convert_neel_model_config`), except that
 * the MLP width follows `n_inner` when it is set (null ⇒ 4·n_embd, as Hugging Face does).
 */
import { InputError } from '@vsae/data';

export type ActFn = 'gelu_new' | 'gelu' | 'relu';
export type ModelFamily = 'gpt2' | 'transformer-lens';

export interface TransformerConfig {
  family: ModelFamily;
  nLayers: number;
  dModel: number;
  nHeads: number;
  dHead: number;
  dMlp: number;
  /** Longest context (positional embedding rows). */
  nCtx: number;
  dVocab: number;
  actFn: ActFn;
  eps: number;
  /** Name for metadata (config's `_name_or_path`, `model_name` or the directory name). */
  name?: string | undefined;
  /** The tokenizer the config names (TransformerLens `tokenizer_name`), for error messages. */
  tokenizerName?: string | undefined;
}

/** tanh approximations of GELU all compute 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))). */
const ACT_ALIASES: Record<string, ActFn> = {
  gelu_new: 'gelu_new',
  gelu_fast: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  'gelu-new': 'gelu_new',
  gelu: 'gelu',
  relu: 'relu',
};

type Json = Record<string, unknown>;

function positiveInt(file: string, cfg: Json, key: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new InputError(file, `"${key}" must be a positive whole number, found ${JSON.stringify(cfg[key])}; fix config.json`);
  }
  return v;
}

function act(file: string, raw: unknown, key: string): ActFn {
  const a = typeof raw === 'string' ? ACT_ALIASES[raw] : undefined;
  if (!a) {
    throw new InputError(file, `"${key}" is ${JSON.stringify(raw)}; vsae supports ${Object.keys(ACT_ALIASES).join(', ')}`);
  }
  return a;
}

function epsOf(file: string, cfg: Json, key: string): number {
  const v = cfg[key] ?? 1e-5;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new InputError(file, `"${key}" must be a positive number; fix config.json`);
  return v;
}

/** Whether a parsed config.json describes a Hugging Face GPT-2. */
export function isGpt2Config(cfg: Json): boolean {
  const arch = Array.isArray(cfg.architectures) ? cfg.architectures : [];
  return cfg.model_type === 'gpt2' || arch.includes('GPT2LMHeadModel') || arch.includes('GPT2Model') || ('n_embd' in cfg && 'n_head' in cfg);
}

/** Whether a parsed config.json is TransformerLens's own (NeelNanda models). */
export function isTransformerLensConfig(cfg: Json): boolean {
  return 'd_model' in cfg && 'n_heads' in cfg && 'd_vocab' in cfg;
}

export function gpt2Config(file: string, cfg: Json): TransformerConfig {
  const dModel = positiveInt(file, cfg, 'n_embd');
  const nHeads = positiveInt(file, cfg, 'n_head');
  if (dModel % nHeads !== 0) throw new InputError(file, `n_embd (${dModel}) is not a multiple of n_head (${nHeads}); fix config.json`);
  for (const [k, bad] of [['scale_attn_by_inverse_layer_idx', true], ['reorder_and_upcast_attn', true], ['add_cross_attention', true], ['scale_attn_weights', false]] as const) {
    if (cfg[k] === bad) throw new InputError(file, `"${k}": ${String(bad)} is not supported by vsae's GPT-2`);
  }
  const nInner = cfg.n_inner;
  return {
    family: 'gpt2',
    nLayers: positiveInt(file, cfg, 'n_layer'),
    dModel,
    nHeads,
    dHead: dModel / nHeads,
    dMlp: nInner === null || nInner === undefined ? 4 * dModel : positiveInt(file, cfg, 'n_inner'),
    nCtx: positiveInt(file, cfg, 'n_positions', typeof cfg.n_ctx === 'number' ? cfg.n_ctx : undefined),
    dVocab: positiveInt(file, cfg, 'vocab_size'),
    actFn: act(file, cfg.activation_function ?? 'gelu_new', 'activation_function'),
    eps: epsOf(file, cfg, 'layer_norm_epsilon'),
    name: typeof cfg._name_or_path === 'string' && cfg._name_or_path ? cfg._name_or_path : undefined,
  };
}

export function transformerLensConfig(file: string, cfg: Json): TransformerConfig {
  const norm = cfg.normalization ?? cfg.normalization_type;
  if (norm !== 'LN') {
    throw new InputError(file, `normalization ${JSON.stringify(norm)} is not supported: vsae runs TransformerLens models with LayerNorm ("LN"), unfolded`);
  }
  if (cfg.attn_only === true) throw new InputError(file, 'attention-only models ("attn_only": true) are not supported');
  if (cfg.shortformer_pos === true || (cfg.positional_embedding_type !== undefined && cfg.positional_embedding_type !== 'standard')) {
    throw new InputError(file, 'only standard positional embeddings are supported (not shortformer or rotary)');
  }
  if (cfg.final_rms === true) throw new InputError(file, '"final_rms": true is not supported');
  const a = cfg.act_fn;
  if (a === 'solu_ln' || a === 'solu') throw new InputError(file, 'SoLU models (act_fn "solu_ln") are not supported; use a GELU model such as GELU_1L512W_C4_Code');
  return {
    family: 'transformer-lens',
    nLayers: positiveInt(file, cfg, 'n_layers'),
    dModel: positiveInt(file, cfg, 'd_model'),
    nHeads: positiveInt(file, cfg, 'n_heads'),
    dHead: positiveInt(file, cfg, 'd_head'),
    dMlp: positiveInt(file, cfg, 'd_mlp'),
    nCtx: positiveInt(file, cfg, 'n_ctx'),
    dVocab: positiveInt(file, cfg, 'd_vocab'),
    actFn: act(file, a, 'act_fn'),
    eps: epsOf(file, cfg, 'eps'),
    name: typeof cfg.model_name === 'string' ? cfg.model_name : undefined,
    tokenizerName: typeof cfg.tokenizer_name === 'string' ? cfg.tokenizer_name : undefined,
  };
}
