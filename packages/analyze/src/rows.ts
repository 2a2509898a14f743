/**
 * Which rows of the dataset are analysed: the first N, or a uniform random sample of N chosen
 * with a seeded generator (selection sampling, Knuth's Algorithm S: one pass over the row
 * indices, the chosen ones come out ascending, nothing but their indices is held). Both passes
 * walk the dataset forward and ask `taker()` row by row.
 */
import { Rng } from '@vsae/compute';

export type SampleMode = 'first' | 'random';
export const SAMPLE_MODES: readonly SampleMode[] = ['first', 'random'];

export interface RowSelection {
  mode: SampleMode;
  /** Rows chosen. */
  count: number;
  /** One past the last chosen row. */
  end: number;
  /** The chosen rows, ascending; undefined when they are [0, count). */
  indices: Float64Array | undefined;
}

/** N rows (all when N is 0 or at least `total`) of a dataset of `total` rows. */
export function selectRows(total: number, nSamples: number, mode: SampleMode, seed: number): RowSelection {
  const n = nSamples === 0 ? total : Math.min(nSamples, total);
  if (mode === 'first' || n === total) return { mode, count: n, end: n, indices: undefined };
  // Its own generator, so that the other random choices of an analysis do not depend on the mode.
  const rng = new Rng(`${seed}:rows`);
  const indices = new Float64Array(n);
  let k = 0;
  for (let r = 0; r < total && k < n; r++) {
    // Row r is taken with probability (rows still to take) / (rows left): every n-subset is equally likely.
    if (rng.uniform() * (total - r) < n - k) indices[k++] = r;
  }
  return { mode, count: n, end: n > 0 ? indices[n - 1]! + 1 : 0, indices };
}

/** A membership test for rows asked in ascending order (each pass makes its own). */
export function taker(sel: RowSelection): (row: number) => boolean {
  const idx = sel.indices;
  if (!idx) return (row) => row < sel.count;
  let p = 0;
  return (row) => {
    while (p < idx.length && idx[p]! < row) p++;
    return p < idx.length && idx[p] === row;
  };
}

/** A membership test, for ascending rows, of the union of [centre − w, centre + w] over `centres`. */
export function windowTaker(centres: readonly number[], w: number): { has: (row: number) => boolean; end: number } {
  const sorted = [...centres].sort((a, b) => a - b);
  let p = 0;
  return {
    end: sorted.length ? sorted[sorted.length - 1]! + w + 1 : 0,
    has: (row) => {
      while (p < sorted.length && sorted[p]! + w < row) p++;
      return p < sorted.length && sorted[p]! - w <= row;
    },
  };
}
