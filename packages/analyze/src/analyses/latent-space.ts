/**
 * Latent space: PCA, UMAP and DBSCAN of up to --umap-latents unit-norm decoder directions and,
 * for VSAEs, of μ of up to --mu-rows analysed rows (a reservoir kept in pass 1) → embedding.arrow;
 * the decoder embedding's cluster count → summary.
 */
import { embed } from '../embedding.js';
import { ANALYZE_DEFAULTS } from '../options.js';
import { sampleLatents } from '../sample.js';
import type { AnalysisModule } from './module.js';

export const latentSpace: AnalysisModule = {
  name: 'latent-space',
  summaryKeys: ['n_clusters'],
  start(ctx) {
    const muRows = ctx.isVsae ? Math.min(ctx.plan.muRows, ctx.rows) : 0;
    return {
      ...(ctx.isVsae ? { pass1: { muRows } } : {}),
      async finish(p1) {
        const { o, sae, rng } = ctx;
        const { dIn, dSae } = sae;
        const opts = { nEpochs: o.umapEpochs, minPts: ANALYZE_DEFAULTS.dbscanMinPts };
        const ids = sampleLatents(dSae, Math.min(o.umapLatents, dSae), rng.fork());
        const dec = new Float32Array(ids.length * dIn);
        ids.forEach((l, i) => {
          const row = sae.weights.W_dec.subarray(l * dIn, (l + 1) * dIn);
          let n = 0;
          for (const v of row) n += v * v;
          n = Math.sqrt(n);
          for (let k = 0; k < dIn; k++) dec[i * dIn + k] = n > 0 ? row[k]! / n : 0;
        });
        const e = embed(dec, ids.length, dIn, rng.fork(), opts);
        const kinds: string[] = ids.map(() => 'decoder');
        const cat = { id: Int32Array.from(ids), pcaX: e.pcaX, pcaY: e.pcaY, umapX: e.umapX, umapY: e.umapY, cluster: e.cluster };
        const params: Record<string, unknown> = { decoder: { latents: ids.length, of: dSae, directions: 'unit-norm decoder rows', ...e.params } };
        if (p1?.mu && p1.mu.n > 0) {
          const mu = p1.mu;
          const order = Int32Array.from({ length: mu.n }, (_, i) => i).sort((a, b) => mu.rows[a]! - mu.rows[b]!);
          const vals = new Float32Array(mu.n * dSae);
          order.forEach((s, i) => vals.set(mu.values.subarray(s * dSae, (s + 1) * dSae), i * dSae));
          const m = embed(vals, mu.n, dSae, rng.fork(), opts);
          for (let i = 0; i < mu.n; i++) kinds.push('mu');
          cat.id = concat(cat.id, Int32Array.from(order, (s) => mu.rows[s]!));
          cat.pcaX = concat(cat.pcaX, m.pcaX);
          cat.pcaY = concat(cat.pcaY, m.pcaY);
          cat.umapX = concat(cat.umapX, m.umapX);
          cat.umapY = concat(cat.umapY, m.umapY);
          cat.cluster = concat(cat.cluster, m.cluster);
          params.mu = { rows: mu.n, sampled: 'uniformly from the analysed rows (reservoir)', ...m.params };
        }
        ctx.params.embedding = params;
        await ctx.write('embedding', { kind: { type: 'utf8', values: kinds }, id: cat.id, pca_x: cat.pcaX, pca_y: cat.pcaY, umap_x: cat.umapX, umap_y: cat.umapY, cluster: cat.cluster });
        ctx.summary.n_clusters = (e.params.dbscan as { n_clusters: number }).n_clusters;
        if (dSae > ids.length) ctx.note(`the embedding shows ${ids.length} of ${dSae} latents (a random sample; --umap-latents to change)`);
      },
    };
  },
};

function concat<T extends Float32Array | Int32Array>(a: T, b: T): T {
  const o = new (a.constructor as new (n: number) => T)(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
}
