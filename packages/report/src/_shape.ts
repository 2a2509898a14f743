/**
 * Data shaping before embedding: binning, even sampling, rounding and summary statistics.
 * Pure functions over plain arrays, so they are easy to test against hand-worked cases.
 */
import type { Histogram, Num, Stats } from './types.js';

/** A finite number rounded to `digits` significant digits; null for NaN/±Infinity/null. */
export function round(x: number | null | undefined, digits: number): Num {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  if (x === 0 || Number.isInteger(x)) return x;
  return Number(x.toPrecision(digits));
}

export function roundAll(values: ArrayLike<number | null>, digits: number, at?: readonly number[]): Num[] {
  const idx = at ?? range(values.length);
  return idx.map((i) => round(values[i], digits));
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * `k` indices spread evenly over 0..n−1, ascending, without repeats; the first and the last
 * index are always included (when k ≥ 2). All indices when k ≥ n.
 */
export function evenIndices(n: number, k: number): number[] {
  if (n <= 0 || k <= 0) return [];
  if (k >= n) return range(n);
  if (k === 1) return [n - 1];
  const out: number[] = [];
  for (let j = 0; j < k; j++) out.push(Math.round((j * (n - 1)) / (k - 1)));
  return out;
}

/**
 * Counts finite values into `bins` equal bins over [lo, hi] (the last bin includes hi).
 * The range defaults to the values' min and max; a zero-width range is widened by 0.5 on
 * each side. Values outside [lo, hi] and non-finite ones are counted in `skipped`.
 */
export function histogram(values: Iterable<number>, bins: number, lo?: number, hi?: number): Histogram {
  const vals: number[] = [];
  let skipped = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) {
      skipped++;
      continue;
    }
    vals.push(v);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  let a = lo ?? (vals.length ? min : 0);
  let b = hi ?? (vals.length ? max : 1);
  if (!(b > a)) {
    a -= 0.5;
    b += 0.5;
  }
  const n = Math.max(1, Math.floor(bins));
  const width = (b - a) / n;
  const counts = new Array<number>(n).fill(0);
  for (const v of vals) {
    if (v < a || v > b) {
      skipped++;
      continue;
    }
    const i = Math.min(n - 1, Math.floor((v - a) / width));
    counts[i]!++;
  }
  const edges = Array.from({ length: n + 1 }, (_, i) => (i === n ? b : a + i * width));
  return { edges, counts, skipped };
}

/** Count, mean, standard deviation (population), median, min and max of the finite values. */
export function stats(values: ArrayLike<number>): Stats {
  const v: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (Number.isFinite(x)) v.push(x);
  }
  const n = v.length;
  if (n === 0) return { n, mean: null, std: null, median: null, min: null, max: null };
  let sum = 0;
  for (const x of v) sum += x;
  const mean = sum / n;
  let ss = 0;
  for (const x of v) ss += (x - mean) * (x - mean);
  v.sort((x, y) => x - y);
  const mid = n >> 1;
  const median = n % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { n, mean, std: Math.sqrt(ss / n), median, min: v[0]!, max: v[n - 1]! };
}

export function roundStats(s: Stats, digits: number): Stats {
  return { n: s.n, mean: round(s.mean, digits), std: round(s.std, digits), median: round(s.median, digits), min: round(s.min, digits), max: round(s.max, digits) };
}

/**
 * The window of a token context kept around index `at`: at most `radius` tokens on each
 * side. Returns the start and end (exclusive) into the context.
 */
export function contextWindow(length: number, at: number | null, radius: number): [number, number] {
  if (at === null || at < 0 || at >= length) return [Math.max(0, length - (2 * radius + 1)), length];
  return [Math.max(0, at - radius), Math.min(length, at + radius + 1)];
}

/** Interns strings into a table so repeated tokens are embedded once. */
export class StringTable {
  readonly strings: string[] = [];
  private readonly index = new Map<string, number>();
  add(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

/** JSON for a `<script type="application/json">` element: `<` escaped so no tag can close it. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
