/**
 * What an architecture declares about itself. Descriptors are plain data (no tensor engine), so
 * the CLI, the report and the dashboard can read them without loading TensorFlow.js; the tensor
 * math lives in the family module the descriptor names (`classic.ts` for the SAE and the
 * Iso/Mix/Multi VSAEs, `topk-family.ts` for TopK, BatchTopK and vSAE-TopK).
 */
import type { TrainOptions } from '../options.js';

/** The option keys an architecture may take beyond the common ones (data, schedule, logging). */
export type ArchOptionKey =
  | 'l1Coeff'
  | 'klCoeff'
  | 'reduction'
  | 'varFlag'
  | 'varActivation'
  | 'nCorrelatedPairs'
  | 'nAnticorrelatedPairs'
  | 'corrRate'
  | 'corrMatrix'
  | 'multiKl'
  | 'decode'
  | 'k'
  | 'auxCoeff'
  | 'deadTokens'
  | 'gradClip'
  | 'coeffWarmupSteps'
  | 'resampleEvery'
  | 'deadWindow';

export type Family = 'classic' | 'topk';

export interface ArchDescriptor {
  /** The `--arch` value. */
  name: string;
  /** Flags of the original project that select it (`--vsae_iso`). */
  impliedFlags: readonly string[];
  /** One line for help and reports. */
  summary: string;
  family: Family;
  /** TopK family: the k largest per row, or the k·B largest of the batch (BatchTopK). */
  selection?: 'row' | 'batch' | undefined;
  /** Classic family: the prior of its KL (none: the SAE's L1; the TopK family's math has its own). */
  prior: 'none' | 'isotropic' | 'mixture' | 'multivariate';
  /** Has a KL term (a VSAE of some kind). */
  variational: boolean;
  /** Samples noise during training for these options (the decoded z differs from the analysed code). */
  samples(o: Pick<TrainOptions, 'varFlag'>): boolean;
  /** What analysis measures, in words (README and report). */
  code: string;
  /** The options it takes besides the common ones; any other arch-specific flag is refused. */
  options: readonly ArchOptionKey[];
  /** Its defaults where they differ from the common ones (the paper's learning rate, …). */
  defaults(o: Pick<TrainOptions, 'steps' | 'batchSize'> & { dSae: number }): Partial<TrainOptions>;
  /** The option holding its sparsity coefficient, and the metrics column of that term. */
  coeff?: { option: 'l1Coeff' | 'klCoeff'; default: number; term: 'l1' | 'kl' } | undefined;
  /** Loss-term metrics columns it logs besides loss and recon (e.g. `kl`, `auxk`). */
  terms: readonly string[];
  /** SAELens cfg.json fields (architecture, k, apply_b_dec_to_input, …). */
  saelens(spec: { k?: number | undefined; threshold?: number | undefined }): Record<string, unknown>;
}
