import type { ArchDescriptor } from './types.js';
import { TOPK_OPTIONS } from './topk.js';

/**
 * vSAE-TopK of the paper: a Gaussian posterior whose sample (or, with var_flag 0, its mean) goes
 * through a top-k by magnitude; KL to N(0, I) over all latents before the top-k; no decoder
 * normalisation. Defaults are the paper's runs (lr 8e-4, KL coefficient 1, var_flag 0), not the
 * authors' code defaults (lr 5e-4, KL 500, which collapse the toy to L0 0).
 */
export const vsaeTopk: ArchDescriptor = {
  name: 'vsae-topk',
  impliedFlags: [],
  summary: 'vSAE-TopK: Gaussian posterior, KL over all latents, then top-k by magnitude',
  prior: 'none',
  family: 'topk',
  selection: 'row',
  variational: true,
  samples: (o) => o.varFlag === 1,
  code: 'the top-k of μ = ReLU(x·W_enc + b_enc) per row',
  options: [...TOPK_OPTIONS, 'klCoeff', 'varFlag', 'coeffWarmupSteps'],
  defaults: ({ steps }) => ({ lr: 8e-4, normalizeActivations: 'unit-mean-square', coeffWarmupSteps: Math.floor(steps / 10) }),
  coeff: { option: 'klCoeff', default: 1, term: 'kl' },
  terms: ['kl', 'auxk'],
  // μ ≥ 0 and z = μ at inference, so SAELens's ReLU-then-top-k forward without b_dec centring is the same model.
  saelens: ({ k }) => ({ architecture: 'topk', k, apply_b_dec_to_input: false, activation_fn_str: 'topk' }),
};
