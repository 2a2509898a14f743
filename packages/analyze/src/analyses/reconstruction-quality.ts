/**
 * Reconstruction quality: per-row MSE and cosine, per-dim MSE, explained variance, L0, L2 ratio
 * → reconstruction.arrow, reconstruction_dims.arrow; with --model, the model's next-token CE
 * and KL with the SAE spliced in and with the hook zero-ablated (CE loss and KL scores).
 */
import { checkModelHook, modelScores, readWindows } from '../lm.js';
import { reconstructionColumns } from '../tables.js';
import { l0 } from './feature-sparsity.js';
import type { AnalysisContext, AnalysisModule } from './module.js';

export const reconstructionQuality: AnalysisModule = {
  name: 'reconstruction-quality',
  summaryKeys: [
    'mse_mean', 'mse_std', 'mse_median', 'cosine_sim_mean', 'cosine_sim_std', 'explained_variance', 'l0', 'l2_ratio',
    'ce_loss_orig', 'ce_loss_sae', 'ce_loss_zero', 'ce_loss_recovered', 'ce_loss_score', 'kl_div_with_sae', 'kl_div_with_ablation', 'kl_div_score',
  ],
  start(ctx) {
    return {
      pass1: { recon: true },
      async finish(p1) {
        if (p1?.recon) {
          const r = p1.recon;
          const t = reconstructionColumns(r);
          await ctx.write('reconstruction', t.rows);
          await ctx.write('reconstructionDims', t.dims);
          Object.assign(ctx.summary, r.summary(), { l0: l0(p1) });
          ctx.params.reconstruction_rows_kept = r.kept;
          if (r.kept < r.n) ctx.note(`reconstruction.arrow holds the first ${r.kept} of ${r.n} analysed rows (memory budget); the means use every row, the median those kept`);
        }
        if (ctx.o.model !== undefined) await languageModelScores(ctx);
      },
    };
  },
};

/** CE loss and KL scores over up to --ce-windows complete token windows of the dataset. */
async function languageModelScores(ctx: AnalysisContext): Promise<void> {
  const lm = ctx.languageModel()!;
  const { ds } = ctx;
  if (!ds.has.token || !ds.has.seq || !ds.has.pos) {
    ctx.note('the dataset has no token/seq/pos columns, so the cross-entropy and KL metrics were skipped');
    return;
  }
  const hook = checkModelHook(lm, ds.meta.hook ?? ctx.cfg.hook_name, ctx.o.input);
  const w = await readWindows(ds, ctx.o.ceWindows);
  if (w.windows === 0) {
    ctx.note('the dataset holds no complete token window, so the cross-entropy and KL metrics were skipped');
    return;
  }
  // Windows per forward: about six [windows·length, d_vocab] float32 arrays live at once (logits,
  // log-probabilities clean and patched, the KL's temporaries), within a fifth of the budget.
  const perWindow = 6 * 4 * w.length * lm.cfg.dVocab;
  const batch = Math.max(1, Math.min(4, Math.floor((0.2 * ctx.plan.budgetBytes) / perWindow)));
  const s = await modelScores(lm, ctx.sae, hook, w.tokens, w.windows, w.length, batch);
  Object.assign(ctx.summary, {
    ce_loss_orig: s.ce_loss_orig,
    ce_loss_sae: s.ce_loss_sae,
    ce_loss_zero: s.ce_loss_zero,
    ce_loss_recovered: s.ce_loss_recovered,
    ce_loss_score: s.ce_loss_recovered,
    kl_div_with_sae: s.kl_div_with_sae,
    kl_div_with_ablation: s.kl_div_with_ablation,
    kl_div_score: s.kl_div_score,
  });
  ctx.params.ce = { windows: s.windows, tokens_per_window: s.length, windows_per_forward: batch, hook, model: ctx.o.model, kl: 'KL(clean ‖ patched) of the next-token distributions, summed over the vocabulary, mean over every position' };
}
