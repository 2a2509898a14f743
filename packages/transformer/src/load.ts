/**
 * Loads a model from the files its publisher ships:
 *   GPT-2 (Hugging Face): config.json, model.safetensors (or pytorch_model.bin), tokenizer.json
 *   GELU-1L (TransformerLens, NeelNanda/GELU_1L512W_C4_Code): config.json, model_final.pth, and
 *     the tokenizer.json of NeelNanda/gpt-neox-tokenizer-digits (in the directory or --tokenizer)
 * A missing or unreadable model is an error; there is no fall-back to random weights.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, readJson, readSafetensors } from '@vsae/data';
import { gpt2Config, isGpt2Config, isTransformerLensConfig, transformerLensConfig } from './config.js';
import type { TransformerConfig } from './config.js';
import { HookedTransformer } from './model.js';
import type { AttentionMode } from './model.js';
import { TextTokenizer } from './tokenizer.js';
import { readTorchCheckpoint } from './torch-checkpoint.js';
import { loadGpt2Weights, loadTransformerLensWeights } from './weights.js';
import type { WeightSource } from './weights.js';

export interface LoadOptions {
  /** tokenizer.json to use instead of the one in the model directory; false: load none. */
  tokenizer?: string | false;
  attention?: AttentionMode;
  /** Keep the unembedding for logits (default true); false saves its memory when only hooks are read. */
  unembed?: boolean;
}

export interface LoadedModel {
  model: HookedTransformer;
  /** Undefined when the directory has no tokenizer.json and none was given. */
  tokenizer: TextTokenizer | undefined;
  config: TransformerConfig;
  /** The weights file read. */
  weights: string;
}

function safetensorsSource(file: string): WeightSource {
  const st = readSafetensors(file);
  return {
    path: file,
    names: () => [...st.tensors.keys()],
    shape: (n) => st.tensors.get(n)?.shape,
    get: (n) => st.getFloat32(n).data,
  };
}

function torchSource(file: string): WeightSource {
  const sd = readTorchCheckpoint(file);
  return { path: file, names: () => sd.keys(), shape: (n) => sd.info(n)?.shape, get: (n) => sd.getFloat32(n).data };
}

/** Reads only a model's config (no weights), e.g. to validate options before a long load. */
export function readModelConfig(dir: string): TransformerConfig {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw new InputError(dir, 'no such model directory; pass the directory holding config.json, the weights and tokenizer.json', { cause: e });
  }
  if (!st.isDirectory()) throw new InputError(dir, 'is a file; pass the model directory that holds config.json, the weights and tokenizer.json');
  const cfgFile = path.join(dir, 'config.json');
  if (!fs.existsSync(cfgFile)) throw new InputError(dir, 'has no config.json; it is not a model directory (GPT-2 from Hugging Face, or a TransformerLens GELU-1L)');
  const raw = readJson<unknown>(cfgFile);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(cfgFile, 'is not a JSON object');
  const cfg = raw as Record<string, unknown>;
  const base = path.basename(path.resolve(dir));
  if (isTransformerLensConfig(cfg)) return { ...transformerLensConfig(cfgFile, cfg), name: (cfg.model_name as string | undefined) ?? base };
  if (isGpt2Config(cfg)) return { ...gpt2Config(cfgFile, cfg), name: base };
  throw new InputError(cfgFile, 'describes neither a Hugging Face GPT-2 (model_type "gpt2") nor a TransformerLens model (d_model, n_heads, d_vocab); vsae runs those two');
}

/** The weights file a model directory holds (InputError when there is none). */
export function findWeights(dir: string, cfg: TransformerConfig): string {
  const has = (f: string): boolean => fs.existsSync(path.join(dir, f));
  const order = cfg.family === 'gpt2' ? ['model.safetensors', 'pytorch_model.bin'] : ['model_final.pth', 'model.safetensors'];
  for (const f of order) if (has(f)) return path.join(dir, f);
  if (cfg.family === 'transformer-lens') {
    const pth = fs.readdirSync(dir).filter((f) => f.endsWith('.pth'));
    if (pth.length === 1) return path.join(dir, pth[0]!);
  }
  throw new InputError(
    dir,
    `has no weights: expected ${cfg.family === 'gpt2' ? 'model.safetensors or pytorch_model.bin (a Hugging Face GPT-2 checkpoint)' : 'model_final.pth (the TransformerLens checkpoint, e.g. from NeelNanda/GELU_1L512W_C4_Code)'}; download it into the directory`,
  );
}

/** Loads config, weights and tokenizer from a checkpoint directory. */
export async function loadModel(dir: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const cfg = readModelConfig(dir);
  const file = findWeights(dir, cfg);
  const src = file.endsWith('.safetensors') ? safetensorsSource(file) : torchSource(file);
  const w = cfg.family === 'gpt2' ? loadGpt2Weights(cfg, src) : loadTransformerLensWeights(cfg, src);
  let tokenizer: TextTokenizer | undefined;
  if (opts.tokenizer !== false) {
    const tf = opts.tokenizer ?? path.join(dir, 'tokenizer.json');
    if (opts.tokenizer !== undefined || fs.existsSync(tf)) tokenizer = TextTokenizer.load(tf);
  }
  const model = new HookedTransformer(cfg, w, { source: dir, ...(opts.attention ? { attention: opts.attention } : {}), ...(opts.unembed === false ? { unembed: false } : {}) });
  return { model, tokenizer, config: cfg, weights: file };
}
