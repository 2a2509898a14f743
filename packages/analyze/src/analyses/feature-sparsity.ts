/**
 * Feature sparsity: how often each latent fires (act > ACTIVE_THRESHOLD), its mean and maximum
 * when it does, a histogram of its activations over (0, max] (pass 2, once max is known),
 * encoder–decoder cosine and, for VSAEs, mean σ² → features.arrow; dead share, alive share,
 * median frequency and L0 → summary.
 */
import { ANALYZE_DEFAULTS } from '../options.js';
import type { Pass1Result } from '../passes.js';
import { featureColumns } from '../tables.js';
import type { AnalysisModule } from './module.js';

export const featureSparsity: AnalysisModule = {
  name: 'feature-sparsity',
  summaryKeys: ['percent_dead_neurons', 'frac_alive', 'median_activation_frequency', 'l0'],
  start(ctx) {
    const bins = ANALYZE_DEFAULTS.histBins;
    return {
      pass1: { variance: ctx.isVsae },
      afterPass1: (p1) => ({ hist: { max: p1.latents.max, bins } }),
      async finish(p1, p2) {
        if (!p1 || !p2?.hist) return;
        const lat = p1.latents;
        const { dSae } = ctx.sae;
        const rows = ctx.rows;
        const meanVar = p1.varSum ? Float32Array.from(p1.varSum, (v) => v / rows) : undefined;
        await ctx.write('features', featureColumns(lat, rows, p2.hist, bins, ctx.encDec(), meanVar, ctx.latents));
        const freq = Float64Array.from(lat.count, (c) => c / rows).sort();
        const dead = lat.count.filter((c) => c === 0).length;
        ctx.summary.percent_dead_neurons = (100 * dead) / dSae;
        ctx.summary.frac_alive = (dSae - dead) / dSae;
        ctx.summary.median_activation_frequency = dSae % 2 ? freq[(dSae - 1) / 2]! : (freq[dSae / 2 - 1]! + freq[dSae / 2]!) / 2;
        ctx.summary.l0 = l0(p1);
        ctx.params.histogram = { bins, over: '(0, max_act]' };
      },
    };
  },
};

/** Mean number of latents firing per analysed row. */
export function l0(p1: Pass1Result): number {
  let s = 0;
  for (const c of p1.latents.count) s += c;
  return s / p1.rows;
}
