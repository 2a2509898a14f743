/**
 * Dictionary similarity: cosine statistics of the decoder directions computed block by block
 * (never the whole d_sae² matrix), the most similar pairs, an all-pairs sample, encoder–decoder
 * alignment, and best matches of one set of directions in another (ground truth, --compare).
 */
import { fastMatMul, tf } from '@vsae/compute';
import { TopPairs } from './accumulators.js';

/** Rows of a row-major [rows, cols] matrix scaled to unit norm (zero rows stay zero), with their norms. */
export function unitRows(w: Float32Array, rows: number, cols: number): { unit: Float32Array; norms: Float64Array } {
  const unit = new Float32Array(rows * cols);
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c]! ** 2;
    const n = Math.sqrt(s);
    norms[r] = n;
    if (n > 0) for (let c = 0; c < cols; c++) unit[r * cols + c] = w[r * cols + c]! / n;
  }
  return { unit, norms };
}

/** Columns of a row-major [rows, cols] matrix as rows (the transpose). */
export function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c]!;
  return t;
}

/**
 * cos(W_enc[:, j], W_dec[j, :]) per latent (W_enc [d_in, d_sae], W_dec [d_sae, d_in]);
 * 0 where either is zero.
 */
export function encoderDecoderCosine(wEnc: Float32Array, wDec: Float32Array, dIn: number, dSae: number): Float32Array {
  const out = new Float32Array(dSae);
  const dot = new Float64Array(dSae);
  const ne = new Float64Array(dSae);
  const nd = new Float64Array(dSae);
  for (let i = 0; i < dIn; i++) {
    for (let j = 0; j < dSae; j++) {
      const e = wEnc[i * dSae + j]!;
      const d = wDec[j * dIn + i]!;
      dot[j]! += e * d;
      ne[j]! += e * e;
      nd[j]! += d * d;
    }
  }
  for (let j = 0; j < dSae; j++) out[j] = ne[j]! > 0 && nd[j]! > 0 ? dot[j]! / Math.sqrt(ne[j]! * nd[j]!) : 0;
  return out;
}

export interface DecoderSimilarity {
  /** Mean and maximum cosine over distinct pairs of non-zero decoder rows. */
  meanCos: number;
  maxCos: number;
  pairs: Array<{ value: number; a: number; b: number }>;
  /** Pairs counted. */
  nPairs: number;
}

/**
 * Cosine statistics of every distinct pair of decoder rows (W_dec [d_sae, d_in]), `blockRows`
 * rows against all at a time, keeping the `topPairs` most similar pairs (a < b).
 */
export async function decoderSimilarity(wDec: Float32Array, dSae: number, dIn: number, blockRows: number, topPairs: number): Promise<DecoderSimilarity> {
  const { unit, norms } = unitRows(wDec, dSae, dIn);
  const alive = Uint8Array.from(norms, (n) => (n > 0 ? 1 : 0));
  const heap = new TopPairs(topPairs);
  let sum = 0;
  let count = 0;
  let max = -Infinity;
  const all = tf.tensor2d(unit, [dSae, dIn]);
  const allT = tf.tidy(() => tf.transpose(all) as tf.Tensor2D);
  try {
    for (let s = 0; s < dSae; s += blockRows) {
      const b = Math.min(blockRows, dSae - s);
      const blockT = tf.tidy(() => fastMatMul(tf.slice(all, [s, 0], [b, dIn]) as tf.Tensor2D, allT));
      const S = (await blockT.data()) as Float32Array;
      blockT.dispose();
      for (let i = 0; i < b; i++) {
        const a = s + i;
        if (!alive[a]) continue;
        const base = i * dSae;
        let floor = heap.floor;
        for (let j = a + 1; j < dSae; j++) {
          if (!alive[j]) continue;
          const c = S[base + j]!;
          sum += c;
          count++;
          if (c > max) max = c;
          if (c > floor) {
            heap.push(c, a, j);
            floor = heap.floor;
          }
        }
      }
    }
  } finally {
    tf.dispose([all, allT]);
  }
  return { meanCos: count > 0 ? sum / count : NaN, maxCos: count > 0 ? max : NaN, pairs: heap.sorted(), nPairs: count };
}

/** All pairs (including a = b) of the given latents' decoder rows: row-major [n, n] cosines. */
export function sampleCosines(wDec: Float32Array, dIn: number, latents: readonly number[]): Float32Array {
  const n = latents.length;
  const out = new Float32Array(n * n);
  const norm = latents.map((l) => Math.sqrt(rowDot(wDec, l, l, dIn)));
  for (let p = 0; p < n; p++) {
    for (let q = 0; q < n; q++) {
      const d = norm[p]! * norm[q]!;
      out[p * n + q] = d > 0 ? rowDot(wDec, latents[p]!, latents[q]!, dIn) / d : 0;
    }
  }
  return out;
}

function rowDot(w: Float32Array, a: number, b: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += w[a * d + k]! * w[b * d + k]!;
  return s;
}

export interface BestMatch {
  /** Per row of A: index of the row of B with the highest cosine (−1 when A's row is zero). */
  best: Int32Array;
  /** That (signed) cosine (0 when A's row is zero). */
  cosine: Float32Array;
  /** ‖A_i‖. */
  norms: Float64Array;
}

/**
 * For each row of A [nA, d], the row of B [nB, d] with the highest signed cosine. Zero rows of
 * B are never chosen; zero rows of A get best −1.
 */
export async function bestMatches(A: Float32Array, nA: number, B: Float32Array, nB: number, d: number, blockRows: number): Promise<BestMatch> {
  const a = unitRows(A, nA, d);
  const b = unitRows(B, nB, d);
  const best = new Int32Array(nA).fill(-1);
  const cosine = new Float32Array(nA);
  const bT = tf.tensor2d(transpose(b.unit, nB, d), [d, nB]);
  const mask = tf.tensor1d(Float32Array.from(b.norms, (n) => (n > 0 ? 0 : -1e30)));
  try {
    for (let s = 0; s < nA; s += blockRows) {
      const m = Math.min(blockRows, nA - s);
      const [mx, arg] = tf.tidy(() => {
        const S = tf.add(fastMatMul(tf.tensor2d(a.unit.subarray(s * d, (s + m) * d), [m, d]), bT), mask);
        return [tf.max(S, 1), tf.argMax(S, 1)];
      });
      const mv = (await mx!.data()) as Float32Array;
      const av = (await arg!.data()) as Int32Array;
      tf.dispose([mx!, arg!]);
      for (let i = 0; i < m; i++) {
        if (a.norms[s + i]! > 0 && mv[i]! > -1e29) {
          best[s + i] = av[i]!;
          cosine[s + i] = mv[i]!;
        }
      }
    }
  } finally {
    tf.dispose([bT, mask]);
  }
  return { best, cosine, norms: a.norms };
}

/** MMCS: mean of the best cosines over the rows selected (non-zero rows of A, and `keep` when given). */
export function mmcs(m: BestMatch, keep?: (i: number) => boolean): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < m.best.length; i++) {
    if (m.best[i]! < 0 || (keep && !keep(i))) continue;
    s += m.cosine[i]!;
    n++;
  }
  return n > 0 ? s / n : NaN;
}
