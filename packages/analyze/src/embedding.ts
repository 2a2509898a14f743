/**
 * Latent space: 2-D PCA (exact eigenvectors, ml-matrix), 2-D UMAP on the leading components
 * (umap-js, seeded with our Rng so a seed gives the same picture) and DBSCAN clusters
 * (density-clustering) of the UMAP coordinates, with eps read off the k-distance graph.
 */
import { createRequire } from 'node:module';
import type { Rng } from '@vsae/compute';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
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
 * Principal components, exactly: eigenvectors (ml-matrix's symmetric eigendecomposition) of the
 * d×d covariance of the centred rows when d ≤ n, else of the n×n Gram matrix, whose scaled
 * eigenvectors give the same projections (μ rows have d = d_sae, far more columns than rows).
 * Returns the rows' coordinates on the first k components (row-major [n, k]) and each
 * component's share of the total variance. (ml-pca was tried: its NIPALS gives a wrong second
 * component on simple data, and its covariance path is ~25× slower than these loops.)
 */
export function pcaProject(rows: number[][], k: number): { coords: Float64Array; k: number; explained: number[]; method: string } {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  const kk = Math.max(0, Math.min(k, n, d));
  const coords = new Float64Array(n * kk);
  if (n < 2 || d === 0 || kk === 0) return { coords, k: kk, explained: [], method: 'none' };
  const means = new Float64Array(d);
  for (const r of rows) for (let c = 0; c < d; c++) means[c]! += r[c]! / n;
  const xc = rows.map((r) => Float64Array.from(r, (v, c) => v - means[c]!));
  const gramPath = d > n;
  const m = gramPath ? n : d;
  const S = new Float64Array(m * m);
  if (gramPath) {
    for (let i = 0; i < n; i++) {
      const a = xc[i]!;
      for (let j = i; j < n; j++) {
        const b = xc[j]!;
        let s = 0;
        for (let c = 0; c < d; c++) s += a[c]! * b[c]!;
        S[i * m + j] = s;
      }
    }
  } else {
    for (const a of xc) {
      for (let p = 0; p < d; p++) {
        const ap = a[p]!;
        if (ap === 0) continue;
        const row = p * m;
        for (let q = p; q < d; q++) S[row + q]! += ap * a[q]!;
      }
    }
  }
  const M = new Matrix(m, m);
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      M.set(i, j, S[i * m + j]!);
      M.set(j, i, S[i * m + j]!);
    }
  }
  const e = new EigenvalueDecomposition(M, { assumeSymmetric: true });
  const lambda = e.realEigenvalues.map((v) => Math.max(0, v));
  const total = lambda.reduce((a, b) => a + b, 0);
  const order = lambda.map((v, i) => [v, i] as const).sort((p, q) => q[0] - p[0]).slice(0, kk);
  const V = e.eigenvectorMatrix;
  order.forEach(([l, idx], c) => {
    if (gramPath) {
      const s = Math.sqrt(l);
      for (let i = 0; i < n; i++) coords[i * kk + c] = V.get(i, idx) * s;
    } else {
      const v = Float64Array.from({ length: d }, (_, q) => V.get(q, idx));
      for (let i = 0; i < n; i++) {
        let s = 0;
        const a = xc[i]!;
        for (let q = 0; q < d; q++) s += a[q]! * v[q]!;
        coords[i * kk + c] = s;
      }
    }
  });
  return { coords, k: kk, explained: order.map(([l]) => (total > 0 ? l / total : 0)), method: gramPath ? 'Gram-matrix eigenvectors' : 'covariance eigenvectors' };
}

/** Projection on the two leading principal components (centred, not scaled). */
export function pca2(rows: number[][]): { x: Float32Array; y: Float32Array; explained: number[] } {
  const n = rows.length;
  const p = pcaProject(rows, 2);
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = p.k > 0 ? p.coords[i * p.k]! : 0;
    y[i] = p.k > 1 ? p.coords[i * p.k + 1]! : 0;
  }
  return { x, y, explained: p.explained };
}

/** UMAP epochs by default (umap-learn's choice for large inputs; umap-js would take 500 below 10000 points, ~2× slower). */
export const UMAP_EPOCHS = 200;
/** Principal components UMAP runs on (the usual reduction before UMAP; exact when the rank is lower). */
export const UMAP_PCA_DIMS = 50;

/** UMAP to 2-D; fewer than 4 points are left at the origin. */
export function umap2(rows: number[][], rng: Rng, opts: { nNeighbors?: number; minDist?: number; nEpochs?: number | undefined } = {}): { x: Float32Array; y: Float32Array; params: Record<string, unknown> } {
  const n = rows.length;
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const nNeighbors = Math.max(2, Math.min(opts.nNeighbors ?? 15, n - 1));
  const minDist = opts.minDist ?? 0.1;
  const nEpochs = opts.nEpochs ?? UMAP_EPOCHS;
  const params: Record<string, unknown> = { n_neighbors: nNeighbors, min_dist: minDist, n_epochs: nEpochs, metric: 'euclidean' };
  if (n < 4) return { x, y, params: { ...params, skipped: 'fewer than 4 points' } };
  const umap = new UMAP({ nComponents: 2, nNeighbors, minDist, nEpochs, random: () => rng.uniform() });
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

/** PCA, UMAP (on the leading principal components) and DBSCAN of the rows (row-major [n, d]). */
export function embed(values: Float32Array, n: number, d: number, rng: Rng, opts: { nEpochs?: number | undefined; minPts: number }): Embedding2D {
  const rows = toRows(values, n, d);
  const p = pcaProject(rows, UMAP_PCA_DIMS);
  const pcaX = new Float32Array(n);
  const pcaY = new Float32Array(n);
  const reduced: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    pcaX[i] = p.k > 0 ? p.coords[i * p.k]! : 0;
    pcaY[i] = p.k > 1 ? p.coords[i * p.k + 1]! : 0;
    reduced[i] = Array.from(p.coords.subarray(i * p.k, (i + 1) * p.k));
  }
  const u = umap2(p.k > 0 ? reduced : rows, rng, { nEpochs: opts.nEpochs });
  const k = Math.min(opts.minPts, Math.max(1, n - 1));
  const eps = n > 1 ? kneeEps(kDistances(u.x, u.y, k)) : 1e-6;
  const cluster = n > 1 ? dbscan(u.x, u.y, eps, opts.minPts) : new Int32Array(n).fill(-1);
  return {
    pcaX,
    pcaY,
    umapX: u.x,
    umapY: u.y,
    cluster,
    params: {
      points: n,
      pca: { method: `${p.method} (ml-matrix)`, explained_variance: p.explained.slice(0, 2), components_for_umap: p.k, variance_kept_for_umap: p.explained.reduce((a, b) => a + b, 0) },
      umap: { ...u.params, input: `first ${p.k} principal components` },
      dbscan: { on: 'umap coordinates', eps, min_pts: opts.minPts, eps_from: `knee of the sorted ${k}-distance graph`, n_clusters: new Set(cluster).size - (cluster.includes(-1) ? 1 : 0), noise: cluster.filter((c) => c < 0).length },
    },
  };
}
