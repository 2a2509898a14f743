import type { Rng } from '@vsae/compute';

/** `k` distinct latents (all when k ≥ n), ascending, chosen with the seeded generator. */
export function sampleLatents(n: number, k: number, rng: Rng): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  return Array.from(rng.permutation(n).slice(0, k)).sort((a, b) => a - b);
}
