import { Rng } from '@vsae/compute';

/**
 * The randomness the toy package needs: @vsae/compute's seeded `Rng` (plain JS, so the same
 * seed gives the same numbers on every backend). One seed yields three independent streams —
 * model init, training batches, dataset rows — so the dataset's features depend only on the
 * seed and the feature options, not on the training settings.
 */

/** What the feature generator draws from: uniform numbers in [0, 1). `Rng` is one. */
export interface UniformSource {
  uniform(): number;
}

export type ToyStream = 'init' | 'train' | 'rows';

/** The seeded stream `stream` of `seed` (the Rng hashes the string into its seed). */
export function toyRng(seed: number, stream: ToyStream): Rng {
  return new Rng(`vsae-toy:${stream}:${seed}`);
}
