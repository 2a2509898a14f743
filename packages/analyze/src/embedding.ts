/**
 * Latent space: 2-D PCA (ml-pca / ml-matrix, exact), 2-D UMAP
 * (umap-js, seeded with our Rng so a seed gives the same picture) and DBSCAN clusters
 * (density-clustering) of the UMAP coordinates, with eps read off the k-distance graph.
 */
import { createRequire } from 'node:module';
import type { Rng } from '@vsae/compute';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { PCA } from 'ml-pca';
import { UMAP } from 'umap-js';

/** density-clustering is plain CommonJS without types: the part used here. */
interface Dbscan {
  /** Clusters as arrays of point indices (points in none are noise). */
  run(dataset: number[][], epsilon: number, minPts: number): number[][];
}
const clustering = createRequire(import.meta.url)('density-clustering') as { DBSCAN: new () => Dbscan };

export interface Embedding2D {
  pcaX: Float32Array;
  pcaY: Float32Array;
  umapX: Float32Array;
  umapY: Float32Array;
  cluster: Int32Array;
  params: Record<string, unknown>;
}

/** Rows of a row-major [n, d] array as number[][] (what the libraries take). */
export function toRows(values: Float32Array, n: number, d: number): number[][] {
  const out: number[][] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = Array.from(values.subarray(i * d, (i + 1) * d));
  return out;
}

/**
 * Projection on the two leading principal components (centred, not scaled), exact: ml-pca's
 * covariance method (eigenvectors of the d×d covariance) when d ≤ n, else the eigenvectors of
 * the n×n Gram matrix of the centred rows (ml-matrix), whose scaled eigenvectors are the same
 * projections — μ rows have d = d_sae, far more columns than rows. (ml-pca's NIPALS was tried
 * and gives a wrong second component on simple data; its SVD costs O(d·n²) here.)
 */
export function pca2(rows: number[][]): { x: Float32Array; y: Float32Array; explained: number[] } {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  if (n < 3 || d === 0) return { x, y, explained: [] };
  if (d <= n) {
    const pca = new PCA(rows, { method: 'covarianceMatrix', center: true, scale: false });
    const p = pca.predict(rows, { nComponents: Math.min(2, d) });
    for (let i = 0; i < n; i++) {
      x[i] = p.get(i, 0);
      y[i] = p.columns > 1 ? p.get(i, 1) : 0;
    }
  } else {
    const means = new Float64Array(d);
    for (const r of rows) for (let k = 0; k < d; k++) means[k]! += r[k]! / n;
    const c = rows.map((r) => Float64Array.from(r, (v, k) => v - means[k]!));
    const gram = new Matrix(n, n);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        let s = 0;
        const a = c[i]!;
        const b = c[j]!;
        for (let k = 0; k < d; k++) s += a[k]! * b[k]!;
        gram.set(i, j, s);
        gram.set(j, i, s);
      }
    }
    const e = new EigenvalueDecomposition(gram, { assumeSymmetric: true });
    const vals = e.realEigenvalues;
    const order = vals.map((v, i) => [v, i] as const).sort((p, q) => q[0] - p[0]);
    const V = e.eigenvectorMatrix;
    for (const [comp, out] of [[0, x], [1, y]] as const) {
      const [lambda, idx] = order[comp] ?? [0, 0];
      const s = Math.sqrt(Math.max(0, lambda));
      for (let i = 0; i < n; i++) out[i] = V.get(i, idx) * s;
    }
  }
  // Share of the total variance each component carries.
  const total = totalVariance(rows);
  return { x, y, explained: total > 0 ? [variance(x) / total, variance(y) / total] : [] };
}

function variance(a: Float32Array): number {
  let m = 0;
  for (const v of a) m += v;
  m /= a.length;
  let s = 0;
  for (const v of a) s += (v - m) ** 2;
  return s / a.length;
}

function totalVariance(rows: number[][]): number {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  let t = 0;
  for (let k = 0; k < d; k++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += rows[i]![k]!;
    m /= n;
    for (let i = 0; i < n; i++) t += (rows[i]![k]! - m) ** 2;
  }
  return t / n;
}

/** UMAP to 2-D; fewer than 4 points are left at the origin. */
export function umap2(rows: number[][], rng: Rng, opts: { nNeighbors?: number; minDist?: number; nEpochs?: number | undefined } = {}): { x: Float32Array; y: Float32Array; params: Record<string, unknown> } {
  const n = rows.length;
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const nNeighbors = Math.max(2, Math.min(opts.nNeighbors ?? 15, n - 1));
  const minDist = opts.minDist ?? 0.1;
  const params: Record<string, unknown> = { n_neighbors: nNeighbors, min_dist: minDist, n_epochs: opts.nEpochs ?? 'umap-js default', metric: 'euclidean' };
  if (n < 4) return { x, y, params: { ...params, skipped: 'fewer than 4 points' } };
  const umap = new UMAP({ nComponents: 2, nNeighbors, minDist, random: () => rng.uniform(), ...(opts.nEpochs ? { nEpochs: opts.nEpochs } : {}) });
  const e = umap.fit(rows);
  for (let i = 0; i < n; i++) {
    x[i] = e[i]![0]!;
    y[i] = e[i]![1]!;
  }
  return { x, y, params };
}

/** Each 2-D point's distance to its k-th nearest other point (brute force), ascending. */
export function kDistances(x: ArrayLike<number>, y: ArrayLike<number>, k: number): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  const best = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    best.fill(Infinity);
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const d = (x[i]! - x[j]!) ** 2 + (y[i]! - y[j]!) ** 2;
      if (d >= best[k - 1]!) continue;
      let p = k - 1;
      while (p > 0 && best[p - 1]! > d) {
        best[p] = best[p - 1]!;
        p--;
      }
      best[p] = d;
    }
    out[i] = Math.sqrt(best[k - 1]!);
  }
  return out.sort();
}

/**
 * eps at the knee of the sorted k-distance curve: the point farthest below the chord from its
 * first to its last point, both axes scaled to [0, 1].
 */
export function kneeEps(sorted: Float64Array): number {
  const finite = sorted.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return 1e-6;
  const lo = finite[0]!;
  const hi = finite[finite.length - 1]!;
  if (!(hi > lo)) return lo > 0 ? lo : 1e-6;
  let bestI = 0;
  let bestD = -Infinity;
  for (let i = 0; i < finite.length; i++) {
    const d = i / Math.max(1, finite.length - 1) - (finite[i]! - lo) / (hi - lo);
    if (d > bestD) {
      bestD = d;
      bestI = i;
    }
  }
  return Math.max(finite[bestI]!, 1e-6);
}

/** DBSCAN labels (−1 = noise, clusters numbered from 0 in order of discovery). */
export function dbscan(x: ArrayLike<number>, y: ArrayLike<number>, eps: number, minPts: number): Int32Array {
  const pts = Array.from({ length: x.length }, (_, i) => [x[i]!, y[i]!]);
  const labels = new Int32Array(pts.length).fill(-1);
  if (pts.length === 0) return labels;
  const db = new clustering.DBSCAN();
  // density-clustering counts neighbours at distance < eps: widen by a hair so the k-th counts.
  db.run(pts, eps * (1 + 1e-9), minPts).forEach((members, c) => {
    for (const i of members) labels[i] = c;
  });
  return labels;
}

/** PCA, UMAP and DBSCAN of the rows (row-major [n, d]). */
export function embed(values: Float32Array, n: number, d: number, rng: Rng, opts: { nEpochs?: number | undefined; minPts: number }): Embedding2D {
  const rows = toRows(values, n, d);
  const p = pca2(rows);
  const u = umap2(rows, rng, { nEpochs: opts.nEpochs });
  const k = Math.min(opts.minPts, Math.max(1, n - 1));
  const eps = n > 1 ? kneeEps(kDistances(u.x, u.y, k)) : 1e-6;
  const cluster = n > 1 ? dbscan(u.x, u.y, eps, opts.minPts) : new Int32Array(n).fill(-1);
  return {
    pcaX: p.x,
    pcaY: p.y,
    umapX: u.x,
    umapY: u.y,
    cluster,
    params: {
      points: n,
      pca: { method: d <= n ? 'covariance eigenvectors (ml-pca)' : 'Gram-matrix eigenvectors (ml-matrix)', components: 2, explained_variance: p.explained },
      umap: u.params,
      dbscan: { on: 'umap coordinates', eps, min_pts: opts.minPts, eps_from: `knee of the sorted ${k}-distance graph`, n_clusters: new Set(cluster).size - (cluster.includes(-1) ? 1 : 0), noise: cluster.filter((c) => c < 0).length },
    },
  };
}
