/**
 * Reconstruction quality, accumulated row by row on the host in float64: per-row MSE (mean over
 * dims) and cosine(x, x̂), per-dim squared error, and the sums behind explained variance
 * (SAELens: 1 − Σ‖x − x̂‖² / Σ‖x − x̄‖², residual not centred) and the L2 ratio (mean ‖x̂‖/‖x‖).
 * Per-row values are kept for the first `rowCap` rows only (memory stays bounded).
 */
export class ReconStats {
  n = 0;
  private sqErr = 0;
  private readonly sumX: Float64Array;
  private readonly sumX2: Float64Array;
  readonly dimSqErr: Float64Array;
  private mseSum = 0;
  private mseSq = 0;
  private cosSum = 0;
  private cosSq = 0;
  private ratioSum = 0;
  private ratioN = 0;
  readonly rowIndex: Float64Array;
  readonly rowMse: Float32Array;
  readonly rowCos: Float32Array;
  kept = 0;

  constructor(
    readonly dIn: number,
    readonly rowCap: number,
  ) {
    this.sumX = new Float64Array(dIn);
    this.sumX2 = new Float64Array(dIn);
    this.dimSqErr = new Float64Array(dIn);
    this.rowIndex = new Float64Array(rowCap);
    this.rowMse = new Float32Array(rowCap);
    this.rowCos = new Float32Array(rowCap);
  }

  /** x and x̂ row-major [rows, d_in] of the dataset rows `at` (the first row's index, or each row's). */
  add(x: Float32Array, xHat: Float32Array, rows: number, at: number | ArrayLike<number>): void {
    const d = this.dIn;
    for (let i = 0; i < rows; i++) {
      let se = 0;
      let dot = 0;
      let nx = 0;
      let nr = 0;
      for (let k = 0, o = i * d; k < d; k++, o++) {
        const a = x[o]!;
        const b = xHat[o]!;
        const e = b - a;
        se += e * e;
        dot += a * b;
        nx += a * a;
        nr += b * b;
        this.sumX[k]! += a;
        this.sumX2[k]! += a * a;
        this.dimSqErr[k]! += e * e;
      }
      const mse = se / d;
      const cos = rowCosine(dot, nx, nr);
      this.sqErr += se;
      this.mseSum += mse;
      this.mseSq += mse * mse;
      this.cosSum += cos;
      this.cosSq += cos * cos;
      if (nx > 0) {
        this.ratioSum += Math.sqrt(nr / nx);
        this.ratioN++;
      }
      if (this.kept < this.rowCap) {
        this.rowIndex[this.kept] = typeof at === 'number' ? at + i : at[i]!;
        this.rowMse[this.kept] = mse;
        this.rowCos[this.kept] = cos;
        this.kept++;
      }
      this.n++;
    }
  }

  /** Total variance Σ‖x − x̄‖² from the per-dim sums. */
  totalVariance(): number {
    let v = 0;
    for (let k = 0; k < this.dIn; k++) v += Math.max(0, this.sumX2[k]! - (this.sumX[k]! * this.sumX[k]!) / this.n);
    return v;
  }

  summary(): { mse_mean: number; mse_std: number; mse_median: number; cosine_sim_mean: number; cosine_sim_std: number; explained_variance: number; l2_ratio: number } {
    const n = this.n;
    const mseMean = this.mseSum / n;
    const cosMean = this.cosSum / n;
    const tv = this.totalVariance();
    return {
      mse_mean: mseMean,
      // Population standard deviations (numpy's default, as the original).
      mse_std: Math.sqrt(Math.max(0, this.mseSq / n - mseMean * mseMean)),
      mse_median: median(this.rowMse.subarray(0, this.kept)),
      cosine_sim_mean: cosMean,
      cosine_sim_std: Math.sqrt(Math.max(0, this.cosSq / n - cosMean * cosMean)),
      explained_variance: tv > 0 ? 1 - this.sqErr / tv : this.sqErr === 0 ? 1 : -Infinity,
      l2_ratio: this.ratioN > 0 ? this.ratioSum / this.ratioN : NaN,
    };
  }
}

/** cos(x, x̂) from the dot product and squared norms; 1 when both are zero, 0 when one is. */
export function rowCosine(dot: number, nx: number, nr: number): number {
  if (nx === 0 && nr === 0) return 1;
  if (nx === 0 || nr === 0) return 0;
  return dot / Math.sqrt(nx * nr);
}

/** Median (mean of the two middle values for an even count); NaN when empty. */
export function median(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  const s = Float64Array.from(values).sort();
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}
