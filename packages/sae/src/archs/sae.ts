import type { ArchDescriptor } from './types.js';

/** The vanilla SAE: ReLU code, L1 penalty, unit-norm decoder rows, resampling of dead latents. */
export const sae: ArchDescriptor = {
  name: 'sae',
  impliedFlags: ['vanilla_sae'],
  summary: 'vanilla SAE: ReLU code with an L1 penalty',
  prior: 'none',
  family: 'classic',
  variational: false,
  samples: () => false,
  code: 'f = ReLU((x − b_dec)·W_enc + b_enc)',
  options: ['l1Coeff', 'reduction', 'coeffWarmupSteps', 'resampleEvery', 'deadWindow'],
  defaults: () => ({}),
  coeff: { option: 'l1Coeff', default: 0.2, term: 'l1' },
  terms: ['l1'],
  saelens: () => ({ architecture: 'standard', apply_b_dec_to_input: true, activation_fn_str: 'relu' }),
};
