/**
 * What a run directory holds besides checkpoints: cfg.json (SAELens's fields plus a `vsae`
 * block), sae_weights.safetensors in the SAELens layout (activation scaling folded in, as
 * SAELens's fold_activation_norm_scaling_factor does), and _run.json.
 */
import * as path from 'node:path';
import { RUN_FILES, writeJsonAtomicSync, writeSafetensorsSync, type DatasetMeta, type TensorToWrite } from '@vsae/data';
import type { TrainOptions } from './options.js';
import { archOf } from './archs/index.js';
import { PARAM_NAMES, allParamShapes, hasVarHead, type ModelSpec, type SaeParams } from './types.js';

export const VSAE_VERSION = '0.1.0';

/** SAELens's estimate: scale = √d_in / mean ‖x‖ over a sample, so scaled rows have mean norm √d_in. */
export function estimateNormScale(rows: Float32Array, dIn: number): number {
  const n = Math.floor(rows.length / dIn);
  if (n === 0) return 1;
  let sum = 0;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let k = 0; k < dIn; k++) s += rows[r * dIn + k]! ** 2;
    sum += Math.sqrt(s);
  }
  const mean = sum / n;
  return mean > 0 ? Math.sqrt(dIn) / mean : 1;
}

/**
 * Weights for raw (unscaled) activations: with x scaled by s during training,
 * W_enc·s, W_enc_var·s, W_dec/s, b_dec/s give the same latents and the reconstruction of the raw x.
 */
export function foldScale(p: SaeParams<Float32Array>, s: number): SaeParams<Float32Array> {
  if (s === 1) return p;
  const mul = (a: Float32Array | undefined, f: number) => (a ? a.map((v) => v * f) : undefined);
  return {
    W_enc: mul(p.W_enc, s)!,
    b_enc: p.b_enc,
    W_dec: mul(p.W_dec, 1 / s)!,
    b_dec: mul(p.b_dec, 1 / s)!,
    W_enc_var: mul(p.W_enc_var, s),
    b_enc_var: p.b_enc_var,
  };
}

/**
 * Writes sae_weights.safetensors (F32, SAELens names and shapes) atomically; `threshold` (a
 * BatchTopK run's θ) is written as SAELens jumprelu's per-latent `threshold` tensor.
 */
export function writeWeights(runDir: string, spec: Pick<ModelSpec, 'dIn' | 'dSae'>, p: SaeParams<Float32Array>, metadata: Record<string, string> = {}, threshold?: number): void {
  const shapes = allParamShapes(spec.dIn, spec.dSae);
  const tensors: Record<string, TensorToWrite> = {};
  for (const name of PARAM_NAMES) {
    const data = p[name];
    if (data) tensors[name] = { data, shape: shapes[name] };
  }
  if (threshold !== undefined) tensors.threshold = { data: new Float32Array(spec.dSae).fill(threshold), shape: [spec.dSae] };
  writeSafetensorsSync(path.join(runDir, RUN_FILES.weights), tensors, metadata);
}

/** The options as written into cfg.json's `vsae` block and checkpoints (snake_case, JSON only). */
export function optionsRecord(o: TrainOptions): Record<string, unknown> {
  const skip = new Set(['signal', 'handleSignals', 'onLog', 'progressStream', 'stdin', 'quiet', 'resume', 'out']);
  const rec: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (skip.has(k) || v === undefined || typeof v === 'function') continue;
    rec[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  }
  return rec;
}

/** Options back from optionsRecord. */
export function optionsFromRecord(rec: Record<string, unknown>): Partial<TrainOptions> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) if (v !== null) o[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  return o as Partial<TrainOptions>;
}

/** cfg.json: SAELens fields (flat, as pre-6 SAELens configs, and under `metadata`; the architecture's from its descriptor) plus `vsae`. */
export function buildConfig(
  o: TrainOptions,
  spec: ModelSpec,
  meta: DatasetMeta,
  extra: { coeff: number; scale: number; backend: string; bufferRows: number; threshold?: number | undefined },
): Record<string, unknown> {
  const hook = meta.hook ?? (meta.source === 'toy' ? 'toy.hidden' : 'unknown');
  const layer = /blocks\.(\d+)\./.exec(hook)?.[1];
  const lm = {
    model_name: meta.model ?? meta.source,
    hook_name: hook,
    hook_layer: layer === undefined ? 0 : Number(layer),
    hook_head_index: null,
    context_size: meta.context ?? null,
    prepend_bos: meta.bos !== undefined,
    dataset_path: o.input,
  };
  return {
    d_in: spec.dIn,
    d_sae: spec.dSae,
    dtype: 'float32',
    device: 'cpu',
    // The scale factor is folded into the saved weights, which therefore take raw activations.
    normalize_activations: 'none',
    reshape_activations: 'none',
    ...archOf(spec.arch).saelens({ k: spec.k, threshold: extra.threshold }),
    finetuning_scaling_factor: false,
    sae_lens_training_version: null,
    ...lm,
    metadata: lm,
    vsae: {
      arch: spec.arch,
      version: VSAE_VERSION,
      seed: o.seed,
      dataset: o.input,
      ...optionsRecord(o),
      d_sae: spec.dSae,
      coeff: extra.coeff,
      var_head: hasVarHead(spec),
      threshold: extra.threshold ?? null,
      n_correlated_pairs: spec.nCorrelatedPairs,
      n_anticorrelated_pairs: spec.nAnticorrelatedPairs,
      corr_rate: spec.corrRate ?? null,
      norm_scaling_factor: extra.scale,
      scaling_folded_into_weights: extra.scale !== 1,
      buffer_rows: extra.bufferRows,
      backend: extra.backend,
      dataset_source: meta.source,
    },
  };
}

export function writeConfig(runDir: string, cfg: Record<string, unknown>): void {
  writeJsonAtomicSync(path.join(runDir, RUN_FILES.config), cfg);
}
