/**
 * Neuron activations: each live latent's top-k examples and samples near quantiles of its
 * activations, with token context (pass 2) → top_examples.arrow; co-activation of the most
 * frequent latents → coactivation.arrow; with --model, each latent's top and bottom tokens of
 * W_dec (· W_out) · W_U → logits.arrow.
 */
import { findTokenizer, logitEffects, logitPath, tokenText, type LanguageModel } from '../lm.js';
import { ANALYZE_DEFAULTS } from '../options.js';
import type { ContextRequest } from '../passes.js';
import { coactivationColumns, collectExamples, exampleColumns, exampleContext, type Example } from '../tables.js';
import type { AnalysisContext, AnalysisModule } from './module.js';

export const neuronActivations: AnalysisModule = {
  name: 'neuron-activations',
  summaryKeys: ['mean_coactivation'],
  start(ctx) {
    const { o, ds } = ctx;
    const withContext = ds.has.token && o.contextWindow > 0;
    let examples: Example[] = [];
    let coLatents = new Int32Array(0);
    return {
      pass1: {},
      afterPass1(p1) {
        const lat = p1.latents;
        const byCount = [...lat.count.keys()].filter((j) => lat.count[j]! > 0).sort((a, b) => lat.count[b]! - lat.count[a]! || a - b);
        coLatents = Int32Array.from(byCount.slice(0, ANALYZE_DEFAULTS.coactivationLatents)).sort();
        examples = collectExamples(lat, o.quantiles, o.perQuantile, ctx.latents);
        return {
          coLatents,
          ...(withContext ? { context: { requests: examples.map((e): ContextRequest => ({ latent: e.latent, row: e.row })), window: o.contextWindow } } : {}),
        };
      },
      async finish(p1, p2) {
        if (!p1 || !p2?.co) return;
        const lm = ctx.languageModel();
        let context;
        if (withContext && p2.context) {
          const t = findTokenizer(ds, lm);
          if (t.note) ctx.note(t.note);
          const cache = new Map<number, string>();
          const decode = (id: number): string => {
            let s = cache.get(id);
            if (s === undefined) cache.set(id, (s = tokenText(t.tokenizer, id)));
            return s;
          };
          context = exampleContext(examples, p2.context, o.contextWindow, decode);
        }
        await ctx.write('topExamples', exampleColumns(examples, context));
        const co = coactivationColumns(coLatents, p2.co);
        await ctx.write('coactivation', co.columns);
        ctx.summary.mean_coactivation = co.meanJaccard;
        ctx.params.examples = {
          top_k: o.topK,
          quantiles: o.quantiles,
          per_quantile: o.perQuantile,
          reservoir: ANALYZE_DEFAULTS.reservoir,
          context_window: withContext ? o.contextWindow : 0,
          latents_with_examples: new Set(examples.map((e) => e.latent)).size,
          ...(ctx.latents ? { latents: 'those given to --latents' } : {}),
        };
        ctx.params.coactivation = { latents: coLatents.length, chosen_by: 'firing frequency', mean_coactivation: 'mean Jaccard index over distinct pairs' };
        if (lm) await logitTable(ctx, lm);
      },
    };
  },
};

/** logits.arrow: each latent's (of --latents, when given) top and bottom tokens of its direct logit effect. */
async function logitTable(ctx: AnalysisContext, lm: LanguageModel): Promise<void> {
  const { dIn, dSae } = ctx.sae;
  const hook = ctx.ds.meta.hook ?? ctx.cfg.hook_name ?? '';
  const via = logitPath(lm, hook, dIn);
  if (!via) {
    ctx.note(`logit effects need a hook of width d_model or an MLP hook_post; ${hook || "this run's hook"} is neither, so logits.arrow was not written`);
    return;
  }
  const ids = ctx.latents ?? Int32Array.from({ length: dSae }, (_, j) => j);
  const wDec = ctx.latents ? pickRows(ctx.sae.weights.W_dec, dIn, ids) : ctx.sae.weights.W_dec;
  const le = await logitEffects(lm, wDec, ids.length, dIn, via, ANALYZE_DEFAULTS.logitK, 0.2 * ctx.plan.budgetBytes);
  const rowsN = ids.length * 2 * le.k;
  const cols = { latent: new Int32Array(rowsN), kind: [] as string[], rank: new Int32Array(rowsN), token: new Int32Array(rowsN), token_str: [] as string[], value: new Float32Array(rowsN) };
  let r = 0;
  for (let i = 0; i < ids.length; i++) {
    for (const kind of ['top', 'bottom'] as const) {
      for (let q = 0; q < le.k; q++, r++) {
        const tok = kind === 'top' ? le.topTok[i * le.k + q]! : le.botTok[i * le.k + q]!;
        cols.latent[r] = ids[i]!;
        cols.kind.push(kind);
        cols.rank[r] = q;
        cols.token[r] = tok;
        cols.token_str.push(tokenText(lm.tokenizer, tok));
        cols.value[r] = kind === 'top' ? le.topVal[i * le.k + q]! : le.botVal[i * le.k + q]!;
      }
    }
  }
  await ctx.write('logits', { ...cols, kind: { type: 'utf8', values: cols.kind }, token_str: { type: 'utf8', values: cols.token_str } });
  ctx.params.logits = { k: le.k, through: via.wOut ? `W_out of ${hook} then W_U` : 'W_U' };
}

/** Rows `ids` of a row-major [*, d] matrix. */
function pickRows(m: Float32Array, d: number, ids: Int32Array): Float32Array {
  const out = new Float32Array(ids.length * d);
  ids.forEach((j, i) => out.set(m.subarray(j * d, (j + 1) * d), i * d));
  return out;
}
