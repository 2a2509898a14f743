import type { ArchDescriptor } from './types.js';

/** Shared by the three classic VSAEs: what they take besides their prior's own flags. */
export const CLASSIC_VSAE_OPTIONS = ['klCoeff', 'reduction', 'varFlag', 'varActivation', 'decode', 'coeffWarmupSteps', 'resampleEvery', 'deadWindow'] as const;

/** VSAE with an isotropic Gaussian prior N(0, I). */
export const vsaeIso: ArchDescriptor = {
  name: 'vsae-iso',
  impliedFlags: ['vsae_iso'],
  summary: 'VSAE, isotropic Gaussian prior N(0, I)',
  prior: 'isotropic',
  family: 'classic',
  variational: true,
  samples: () => true,
  code: 'μ = ReLU((x − b_dec)·W_enc + b_enc)',
  options: CLASSIC_VSAE_OPTIONS,
  defaults: () => ({}),
  coeff: { option: 'klCoeff', default: 0.05, term: 'kl' },
  terms: ['kl'],
  saelens: () => ({ architecture: 'standard', apply_b_dec_to_input: true, activation_fn_str: 'relu' }),
};
