import type { ArchDescriptor } from './types.js';

/** What the TopK models take: k, AuxK, dead-latent horizon in rows, global gradient clipping. */
export const TOPK_OPTIONS = ['k', 'auxCoeff', 'deadTokens', 'gradClip'] as const;

/** Learning rate of dictionary_learning's TopK trainer: 2e-4 scaled by 1/√(d_sae / 2¹⁴). */
export function topkDefaultLr(dSae: number): number {
  return 2e-4 / Math.sqrt(dSae / 2 ** 14);
}

/**
 * TopK SAE: keep each row's k largest ReLU pre-activations. AuxK revives dead latents (no
 * resampling); b_dec starts at the geometric median of the first batch; decoder rows unit-norm.
 */
export const topk: ArchDescriptor = {
  name: 'topk',
  impliedFlags: [],
  summary: 'TopK SAE: the k largest ReLU activations of each row, AuxK for dead latents',
  prior: 'none',
  family: 'topk',
  selection: 'row',
  variational: false,
  samples: () => false,
  code: 'the top-k of ReLU((x − b_dec)·W_enc + b_enc) per row',
  options: TOPK_OPTIONS,
  defaults: ({ dSae }) => ({ lr: topkDefaultLr(dSae), normalizeActivations: 'unit-mean-square' }),
  terms: ['auxk'],
  saelens: ({ k }) => ({ architecture: 'topk', k, apply_b_dec_to_input: true, activation_fn_str: 'topk' }),
};
