import type { ArchDescriptor } from './types.js';
import { CLASSIC_VSAE_OPTIONS, vsaeIso } from './vsae-iso.js';

/** VSAE with a multivariate Gaussian prior N(0, Σp): uniform correlation or a matrix from a file. */
export const vsaeMulti: ArchDescriptor = {
  ...vsaeIso,
  name: 'vsae-multi',
  prior: 'multivariate',
  impliedFlags: ['vsae_multi'],
  summary: 'VSAE, multivariate Gaussian prior N(0, Σp)',
  options: [...CLASSIC_VSAE_OPTIONS, 'corrRate', 'corrMatrix', 'multiKl'],
};
