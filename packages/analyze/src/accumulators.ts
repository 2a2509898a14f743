/**
 * Streaming per-latent accumulators. Memory is fixed by d_sae (never by the number of rows):
 * counts, sums, maxima, a bounded min-heap of the top-k activations with their rows, and a
 * reservoir sample of active values (for quantile examples), all in typed arrays.
 */
import type { Rng } from '@vsae/compute';

export class LatentStats {
  readonly count: Float64Array;
  readonly sum: Float64Array;
  readonly max: Float32Array;
  /** Top-k min-heaps, latent j at [j·k, (j+1)·k); `topN[j]` entries used. */
  readonly topVal: Float32Array;
  readonly topRow: Float64Array;
  readonly topN: Int32Array;
  /** Reservoir of active values and their rows, latent j at [j·r, (j+1)·r). */
  readonly resVal: Float32Array;
  readonly resRow: Float64Array;

  constructor(
    readonly dSae: number,
    readonly k: number,
    readonly r: number,
    private readonly rng: Rng,
  ) {
    this.count = new Float64Array(dSae);
    this.sum = new Float64Array(dSae);
    this.max = new Float32Array(dSae);
    this.topVal = new Float32Array(dSae * k);
    this.topRow = new Float64Array(dSae * k);
    this.topN = new Int32Array(dSae);
    this.resVal = new Float32Array(dSae * r);
    this.resRow = new Float64Array(dSae * r);
  }

  static bytes(dSae: number, k: number, r: number): number {
    return dSae * (8 + 8 + 4 + 4 + k * 12 + r * 12);
  }

  /**
   * Adds a batch of activations (row-major [rows, d_sae]) of the dataset rows `at` (the first
   * row's index when they are consecutive, else each row's). Values ≤ threshold do not count as firing.
   */
  add(act: Float32Array, rows: number, at: number | ArrayLike<number>, threshold: number): void {
    const { dSae, k, r, count, sum, max, topVal, topN, resVal, resRow } = this;
    for (let i = 0; i < rows; i++) {
      const base = i * dSae;
      const row = typeof at === 'number' ? at + i : at[i]!;
      for (let j = 0; j < dSae; j++) {
        const a = act[base + j]!;
        if (!(a > threshold)) continue;
        const c = ++count[j]!;
        sum[j]! += a;
        if (a > max[j]!) max[j] = a;
        // Top-k: a min-heap whose root is the smallest kept value.
        const h = j * k;
        const n = topN[j]!;
        if (n < k) {
          this.heapPush(h, n, a, row);
          topN[j] = n + 1;
        } else if (a > topVal[h]!) {
          this.heapReplaceRoot(h, k, a, row);
        }
        // Reservoir (Algorithm R): every active value has the same chance r/c of being kept.
        if (c <= r) {
          resVal[j * r + c - 1] = a;
          resRow[j * r + c - 1] = row;
        } else {
          const s = Math.floor(this.rng.uniform() * c);
          if (s < r) {
            resVal[j * r + s] = a;
            resRow[j * r + s] = row;
          }
        }
      }
    }
  }

  /** Top-k of latent j, largest first (ties: earlier row first). */
  top(j: number): Array<{ value: number; row: number }> {
    const out: Array<{ value: number; row: number }> = [];
    for (let i = 0; i < this.topN[j]!; i++) out.push({ value: this.topVal[j * this.k + i]!, row: this.topRow[j * this.k + i]! });
    return out.sort((a, b) => b.value - a.value || a.row - b.row);
  }

  /** The reservoir of latent j, ascending by value. */
  sample(j: number): Array<{ value: number; row: number }> {
    const n = Math.min(this.count[j]!, this.r);
    const out: Array<{ value: number; row: number }> = [];
    for (let i = 0; i < n; i++) out.push({ value: this.resVal[j * this.r + i]!, row: this.resRow[j * this.r + i]! });
    return out.sort((a, b) => a.value - b.value || a.row - b.row);
  }

  private heapPush(h: number, n: number, v: number, row: number): void {
    const { topVal, topRow } = this;
    let i = n;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (topVal[h + p]! <= v) break;
      topVal[h + i] = topVal[h + p]!;
      topRow[h + i] = topRow[h + p]!;
      i = p;
    }
    topVal[h + i] = v;
    topRow[h + i] = row;
  }

  private heapReplaceRoot(h: number, n: number, v: number, row: number): void {
    const { topVal, topRow } = this;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const rr = l + 1;
      const c = rr < n && topVal[h + rr]! < topVal[h + l]! ? rr : l;
      if (topVal[h + c]! >= v) break;
      topVal[h + i] = topVal[h + c]!;
      topRow[h + i] = topRow[h + c]!;
      i = c;
    }
    topVal[h + i] = v;
    topRow[h + i] = row;
  }
}

/** Bin of an active value in `bins` equal bins over (0, max]: bin b holds (b·max/bins, (b+1)·max/bins]. */
export function histBin(a: number, max: number, bins: number): number {
  const b = Math.ceil((a / max) * bins) - 1;
  return b < 0 ? 0 : b >= bins ? bins - 1 : b;
}

/**
 * Picks quantile examples from a latent's ascending sample: for each q, the `per` entries
 * nearest rank q·(n−1) (centre first, then alternately above and below).
 */
export function quantileExamples<T extends { value: number }>(sorted: readonly T[], quantiles: readonly number[], per: number): Array<{ q: number; rank: number; item: T }> {
  const out: Array<{ q: number; rank: number; item: T }> = [];
  const n = sorted.length;
  if (n === 0) return out;
  for (const q of quantiles) {
    const c = Math.round(q * (n - 1));
    const picks: number[] = [];
    for (let d = 0; picks.length < Math.min(per, n); d++) {
      if (c + d < n && !picks.includes(c + d)) picks.push(c + d);
      if (picks.length < Math.min(per, n) && c - d >= 0 && !picks.includes(c - d)) picks.push(c - d);
    }
    picks.forEach((i, rank) => out.push({ q, rank, item: sorted[i]! }));
  }
  return out;
}

/** A bounded min-heap of the `cap` largest (value, a, b) triples (for the most similar pairs). */
export class TopPairs {
  readonly val: Float32Array;
  readonly a: Int32Array;
  readonly b: Int32Array;
  n = 0;
  constructor(readonly cap: number) {
    this.val = new Float32Array(cap);
    this.a = new Int32Array(cap);
    this.b = new Int32Array(cap);
  }

  /** The smallest value kept once full (−∞ before). */
  get floor(): number {
    return this.n < this.cap ? -Infinity : this.val[0]!;
  }

  push(v: number, a: number, b: number): void {
    const { val } = this;
    if (this.n < this.cap) {
      let i = this.n++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (val[p]! <= v) break;
        this.move(p, i);
        i = p;
      }
      this.set(i, v, a, b);
      return;
    }
    if (!(v > val[0]!)) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.n) break;
      const r = l + 1;
      const c = r < this.n && val[r]! < val[l]! ? r : l;
      if (val[c]! >= v) break;
      this.move(c, i);
      i = c;
    }
    this.set(i, v, a, b);
  }

  /** Entries, largest value first (ties by a, then b). */
  sorted(): Array<{ value: number; a: number; b: number }> {
    const out = [];
    for (let i = 0; i < this.n; i++) out.push({ value: this.val[i]!, a: this.a[i]!, b: this.b[i]! });
    return out.sort((x, y) => y.value - x.value || x.a - y.a || x.b - y.b);
  }

  private move(from: number, to: number): void {
    this.val[to] = this.val[from]!;
    this.a[to] = this.a[from]!;
    this.b[to] = this.b[from]!;
  }

  private set(i: number, v: number, a: number, b: number): void {
    this.val[i] = v;
    this.a[i] = a;
    this.b[i] = b;
  }
}
