/**
 * Loading a trained autoencoder for analysis: `loadSae(dir)` reads cfg.json and
 * sae_weights.safetensors of a vsae run — or of a plain SAELens directory (a standard SAE) —
 * and gives batched encode/decode on the active tensor backend. Saved weights take raw
 * activations (any training-time scaling is folded in), so no normalisation is applied here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '@vsae/compute';
import { InputError, RUN_FILES, readRunConfig, readSafetensors, type RunConfig } from '@vsae/data';
import { tidy } from './_tidy.js';
import { decode as decodeLatents, disposeParams, encode as encodeRows, paramsToTensors, type Params } from './model.js';
import { ARCHS, PARAM_NAMES, type Arch, type ModelSpec, type SaeParams } from './types.js';

export interface EncodeResult {
  /** f (SAE) or μ (VSAE), row-major [rows, d_sae]. */
  act: Float32Array;
  /** σ² = exp(log σ²) for a VSAE with the variance head; 1 for other VSAEs; absent for the SAE. */
  variance?: Float32Array | undefined;
  /** x̂ from the deterministic latent (f or μ), row-major [rows, d_in]. */
  recon?: Float32Array | undefined;
}

export interface LoadedSae {
  dir: string;
  config: RunConfig;
  spec: ModelSpec;
  arch: Arch;
  dIn: number;
  dSae: number;
  /** The weights on the host (SAELens layout, row-major). */
  weights: SaeParams<Float32Array>;
  /** The same as tensors (owned by this object; call dispose()). */
  tensors: Params;
  /** f/μ (and log σ², x̂) for a batch tensor [B, d_in]; tensors the caller disposes. */
  forward(x: tf.Tensor2D): { act: tf.Tensor2D; logVar?: tf.Tensor2D | undefined; recon: tf.Tensor2D };
  /** Encodes rows (row-major [rows, d_in]) in batches of `batchSize` (default 4096). */
  encode(rows: Float32Array, opts?: { batchSize?: number; variance?: boolean; recon?: boolean }): Promise<EncodeResult>;
  dispose(): void;
}

/** Reads a run (or SAELens) directory's config and weights and puts them on the backend. */
export async function loadSae(dir: string): Promise<LoadedSae> {
  const config = readRunConfig(dir);
  const weightsFile = path.join(dir, RUN_FILES.weights);
  if (!fs.existsSync(weightsFile)) {
    throw new InputError(dir, 'has no sae_weights.safetensors yet: the run has not written a checkpoint; wait for it or train it first');
  }
  const v = config.vsae;
  const arch = v.arch;
  if (!ARCHS.includes(arch)) throw new InputError(path.join(dir, RUN_FILES.config), `vsae.arch is ${JSON.stringify(arch)}, expected one of ${ARCHS.join(', ')}`);
  const st = readSafetensors(weightsFile);
  const dIn = config.d_in;
  const dSae = config.d_sae;
  const varHead = st.tensors.has('W_enc_var');
  const spec: ModelSpec = {
    arch,
    dIn,
    dSae,
    varFlag: varHead ? 1 : 0,
    varActivation: v.var_activation === 'relu' ? 'relu' : 'linear',
    reduction: v.reduction === 'sum' ? 'sum' : 'mean',
    nCorrelatedPairs: typeof v.n_correlated_pairs === 'number' ? v.n_correlated_pairs : 0,
    nAnticorrelatedPairs: typeof v.n_anticorrelated_pairs === 'number' ? v.n_anticorrelated_pairs : 0,
    priorMean: 1,
    corrRate: typeof v.corr_rate === 'number' ? v.corr_rate : undefined,
    multiKl: v.multi_kl === 'batch-moments' ? 'batch-moments' : 'per-row',
  };
  if (config.apply_b_dec_to_input === false) {
    throw new InputError(path.join(dir, RUN_FILES.config), 'has apply_b_dec_to_input: false, which this loader does not support (vsae subtracts b_dec from the input, as SAELens standard SAEs do)');
  }
  if (config.normalize_activations !== undefined && config.normalize_activations !== 'none' && config.normalize_activations !== null) {
    throw new InputError(
      path.join(dir, RUN_FILES.config),
      `has normalize_activations "${String(config.normalize_activations)}"; fold the scaling factor into the weights first (SAELens: fold_activation_norm_scaling_factor)`,
    );
  }
  const shapes: Record<string, number[]> = { W_enc: [dIn, dSae], b_enc: [dSae], W_dec: [dSae, dIn], b_dec: [dIn], W_enc_var: [dIn, dSae], b_enc_var: [dSae] };
  const weights = {} as SaeParams<Float32Array>;
  for (const name of PARAM_NAMES) {
    if (!st.tensors.has(name)) {
      if (name === 'W_enc_var' || name === 'b_enc_var') continue;
      throw new InputError(weightsFile, `has no tensor "${name}"; expected the SAELens layout (W_enc, b_enc, W_dec, b_dec)`);
    }
    const t = st.getFloat32(name);
    if (t.shape.join(',') !== shapes[name]!.join(',')) {
      throw new InputError(weightsFile, `"${name}" has shape [${t.shape.join(', ')}] but cfg.json (d_in ${dIn}, d_sae ${dSae}) needs [${shapes[name]!.join(', ')}]`);
    }
    weights[name] = t.data;
  }
  if (varHead && !weights.b_enc_var) throw new InputError(weightsFile, 'has W_enc_var but no b_enc_var');
  const tensors = paramsToTensors(spec, weights);

  const forward = (x: tf.Tensor2D) =>
    tidy(() => {
      const e = encodeRows(spec, tensors, x);
      return { act: e.act, logVar: e.logVar, recon: decodeLatents(tensors, e.act) };
    });

  return {
    dir,
    config,
    spec,
    arch,
    dIn,
    dSae,
    weights,
    tensors,
    forward,
    async encode(rows, opts = {}) {
      const n = Math.floor(rows.length / dIn);
      if (n * dIn !== rows.length) throw new InputError(dir, `encode() got ${rows.length} values, not a multiple of d_in ${dIn}`);
      const bs = opts.batchSize ?? 4096;
      const act = new Float32Array(n * dSae);
      const variance = opts.variance && arch !== 'sae' ? new Float32Array(n * dSae) : undefined;
      const recon = opts.recon ? new Float32Array(n * dIn) : undefined;
      if (variance && !varHead) variance.fill(1);
      for (let start = 0; start < n; start += bs) {
        const m = Math.min(bs, n - start);
        const x = tf.tensor2d(rows.subarray(start * dIn, (start + m) * dIn), [m, dIn]);
        const out = forward(x);
        act.set(await out.act.data(), start * dSae);
        if (variance && out.logVar) {
          const v = tf.exp(out.logVar);
          variance.set(await v.data(), start * dSae);
          v.dispose();
        }
        if (recon) recon.set(await out.recon.data(), start * dIn);
        tf.dispose([x, out.act, out.recon, ...(out.logVar ? [out.logVar] : [])]);
      }
      return { act, variance, recon };
    },
    dispose() {
      disposeParams(tensors);
    },
  };
}
