import type { ArchDescriptor } from './types.js';
import { CLASSIC_VSAE_OPTIONS, vsaeIso } from './vsae-iso.js';

/** VSAE with a Gaussian-mixture prior: ±s means on the latents of correlated / anti-correlated pairs. */
export const vsaeMix: ArchDescriptor = {
  ...vsaeIso,
  name: 'vsae-mix',
  prior: 'mixture',
  impliedFlags: ['vsae_mix'],
  summary: 'VSAE, Gaussian-mixture prior for correlated and anti-correlated pairs',
  options: [...CLASSIC_VSAE_OPTIONS, 'nCorrelatedPairs', 'nAnticorrelatedPairs'],
};
