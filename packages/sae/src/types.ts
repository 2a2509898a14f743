import { archOf, ARCH_NAMES } from './archs/index.js';

/** An architecture name of the registry (archs/index.ts). */
export type Arch = string;
/** Every architecture name, from the registry. */
export const ARCHS: readonly Arch[] = ARCH_NAMES;

/** Everything that fixes the model's shape and loss (not the schedule or the data). */
export interface ModelSpec {
  arch: Arch;
  dIn: number;
  dSae: number;
  /** VSAEs: 1 learns log σ² with its own encoder head (W_enc_var, b_enc_var); 0 fixes σ² = 1 (vsae-topk: no sampling). */
  varFlag: 0 | 1;
  /** VSAEs with varFlag 1: `linear` (log σ² clamped to [−6, 2]) or `relu` (the original). */
  varActivation: 'linear' | 'relu';
  /** `mean`: every term a per-row mean. `sum`: the original's reductions (L1 and Iso/Multi KL summed over the batch). */
  reduction: 'mean' | 'sum';
  /** VSAE-Mix prior: pair counts (latents 2i, 2i+1) and the mean magnitude s (default 1). */
  nCorrelatedPairs: number;
  nAnticorrelatedPairs: number;
  priorMean: number;
  /** VSAE-Multi: uniform correlation of the prior (undefined = identity), or a matrix file (key `corr`). */
  corrRate?: number | undefined;
  corrMatrix?: string | undefined;
  /** VSAE-Multi: `per-row` closed forms (default) or the original's `batch-moments`. */
  multiKl: 'per-row' | 'batch-moments';
  /** Classic VSAEs: the decoder reads the sampled z (default) or the mean μ. */
  decode?: 'z' | 'mu' | undefined;
  /** TopK models: latents kept per row (BatchTopK: k·B per batch). */
  k?: number | undefined;
  /** TopK models: AuxK coefficient, dead horizon in rows, global gradient-norm clip (0 = off). */
  auxCoeff?: number | undefined;
  deadTokens?: number | undefined;
  gradClip?: number | undefined;
}

/** Parameters in the SAELens layout. */
export interface SaeParams<T> {
  W_enc: T; // [d_in, d_sae]
  b_enc: T; // [d_sae]
  W_dec: T; // [d_sae, d_in]
  b_dec: T; // [d_in]
  W_enc_var?: T | undefined; // [d_in, d_sae]
  b_enc_var?: T | undefined; // [d_sae]
}
export type ParamName = 'W_enc' | 'b_enc' | 'W_dec' | 'b_dec' | 'W_enc_var' | 'b_enc_var';
export const PARAM_NAMES: readonly ParamName[] = ['W_enc', 'b_enc', 'W_dec', 'b_dec', 'W_enc_var', 'b_enc_var'];

export function isVariational(arch: Arch): boolean {
  return archOf(arch).variational;
}

/** Whether the model has the learned variance head. */
export function hasVarHead(spec: Pick<ModelSpec, 'arch' | 'varFlag'>): boolean {
  return isVariational(spec.arch) && spec.varFlag === 1;
}

/** The parameter shapes of a model (SAELens layout): the one table of them. */
export function paramShapes(spec: Pick<ModelSpec, 'arch' | 'varFlag' | 'dIn' | 'dSae'>): Partial<Record<ParamName, number[]>> {
  const { dIn, dSae } = spec;
  const s: Partial<Record<ParamName, number[]>> = { W_enc: [dIn, dSae], b_enc: [dSae], W_dec: [dSae, dIn], b_dec: [dIn] };
  if (hasVarHead(spec)) {
    s.W_enc_var = [dIn, dSae];
    s.b_enc_var = [dSae];
  }
  return s;
}

/** Every parameter's shape, present or not (for reading files that may hold the variance head). */
export function allParamShapes(dIn: number, dSae: number): Record<ParamName, number[]> {
  return { W_enc: [dIn, dSae], b_enc: [dSae], W_dec: [dSae, dIn], b_dec: [dIn], W_enc_var: [dIn, dSae], b_enc_var: [dSae] };
}
