/**
 * Dictionary similarity: cosines of decoder rows in blocks (never d_sae² at once) → the most
 * similar pairs (similarity.arrow) and a 64-latent all-pairs sample (similarity_sample.arrow);
 * for toy data each true feature's best latent (ground_truth.arrow, MMCS); with --compare the
 * best matches between two dictionaries, both ways (compare.arrow).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, readRunConfig, readSafetensors, REPRESENTED_NORM, RUN_FILES, type ActivationDataset } from '@vsae/data';
import { ANALYZE_DEFAULTS } from '../options.js';
import { sampleLatents } from '../sample.js';
import { bestMatches, decoderSimilarity, mmcs, sampleCosines, transpose } from '../similarity.js';
import type { AnalysisContext, AnalysisModule } from './module.js';

export const dictionarySimilarity: AnalysisModule = {
  name: 'dictionary-similarity',
  summaryKeys: ['mean_cosine_sim', 'max_cosine_sim', 'mean_diagonal_alignment', 'mmcs', 'mmcs_represented', 'mmcs_a_to_b', 'mmcs_b_to_a'],
  start(ctx) {
    return {
      async finish() {
        const { sae, plan } = ctx;
        const { dIn, dSae } = sae;
        const wDec = sae.weights.W_dec;
        const sim = await decoderSimilarity(wDec, dSae, dIn, plan.blockRows, ANALYZE_DEFAULTS.similarPairs);
        await ctx.write('similarity', {
          latent_a: Int32Array.from(sim.pairs, (p) => p.a),
          latent_b: Int32Array.from(sim.pairs, (p) => p.b),
          cosine: Float32Array.from(sim.pairs, (p) => p.value),
        });
        const sample = sampleLatents(dSae, ANALYZE_DEFAULTS.similaritySample, ctx.rng.fork());
        const sc = sampleCosines(wDec, dIn, sample);
        await ctx.write('similaritySample', {
          latent_a: Int32Array.from(sc, (_, i) => sample[Math.floor(i / sample.length)]!),
          latent_b: Int32Array.from(sc, (_, i) => sample[i % sample.length]!),
          cosine: sc,
        });
        ctx.summary.mean_cosine_sim = sim.meanCos;
        ctx.summary.max_cosine_sim = sim.maxCos;
        ctx.summary.mean_diagonal_alignment = mean(ctx.encDec());
        ctx.params.similarity = { pairs_kept: sim.pairs.length, pairs_counted: sim.nPairs, block_rows: plan.blockRows, sample_latents: sample.length };
        await groundTruthMatches(ctx);
        if (ctx.o.compare !== undefined) await compareWith(ctx, ctx.o.compare);
      },
    };
  },
};

/** Toy data: each true feature's closest decoder row, MMCS over all and over represented features. */
async function groundTruthMatches(ctx: AnalysisContext): Promise<void> {
  const { dIn, dSae } = ctx.sae;
  const truth = groundTruth(ctx.ds, dIn, (m) => ctx.note(m));
  if (!truth) return;
  const m = await bestMatches(truth.features, truth.n, ctx.sae.weights.W_dec, dSae, dIn, ctx.plan.blockRows);
  await ctx.write('groundTruth', {
    feature: Int32Array.from({ length: truth.n }, (_, i) => i),
    best_latent: m.best,
    cosine: m.cosine,
    norm: Float32Array.from(m.norms),
    represented: { type: 'bool', values: Array.from(m.norms, (n) => n >= REPRESENTED_NORM) },
  });
  ctx.summary.mmcs = mmcs(m);
  ctx.summary.mmcs_represented = mmcs(m, (i) => m.norms[i]! >= REPRESENTED_NORM);
  ctx.params.ground_truth = { file: truth.file, features: truth.n, represented: Array.from(m.norms).filter((n) => n >= REPRESENTED_NORM).length, zero_norm: Array.from(m.norms).filter((n) => n === 0).length };
}

/** --compare: best matches from this dictionary into the other's and back. */
async function compareWith(ctx: AnalysisContext, dir: string): Promise<void> {
  const { dIn, dSae } = ctx.sae;
  const wDec = ctx.sae.weights.W_dec;
  const other = readDecoder(dir, dIn);
  const ab = await bestMatches(wDec, dSae, other.wDec, other.dSae, dIn, ctx.plan.blockRows);
  const ba = await bestMatches(other.wDec, other.dSae, wDec, dSae, dIn, ctx.plan.blockRows);
  const n = dSae + other.dSae;
  await ctx.write('compare', {
    direction: { type: 'utf8', values: Array.from({ length: n }, (_, i) => (i < dSae ? 'a_to_b' : 'b_to_a')) },
    latent: Int32Array.from({ length: n }, (_, i) => (i < dSae ? i : i - dSae)),
    best_latent: Int32Array.from({ length: n }, (_, i) => (i < dSae ? ab.best[i]! : ba.best[i - dSae]!)),
    cosine: Float32Array.from({ length: n }, (_, i) => (i < dSae ? ab.cosine[i]! : ba.cosine[i - dSae]!)),
  });
  ctx.summary.mmcs_a_to_b = mmcs(ab);
  ctx.summary.mmcs_b_to_a = mmcs(ba);
  ctx.params.compare = { run: dir, d_sae: other.dSae };
}

/** Toy ground truth (W [n_hidden, n_features]) as feature rows [n_features, n_hidden], when the dataset names one. */
function groundTruth(ds: ActivationDataset, dIn: number, note: (m: string) => void): { features: Float32Array; n: number; file: string } | undefined {
  const file = ds.meta.groundTruth;
  if (!file) return undefined;
  if (!fs.existsSync(file)) {
    note(`the dataset names the ground truth ${file}, which does not exist; MMCS was skipped`);
    return undefined;
  }
  const W = readSafetensors(file).getFloat32('W');
  const [h, n] = W.shape;
  if (W.shape.length !== 2 || h !== dIn || n === undefined) {
    note(`the ground truth ${file} has W of shape [${W.shape.join(', ')}], not [${dIn}, n_features]; MMCS was skipped`);
    return undefined;
  }
  return { features: transpose(W.data, h, n), n, file };
}

/** Decoder of the run given to --compare (its width must match). */
function readDecoder(dir: string, dIn: number): { wDec: Float32Array; dSae: number } {
  const cfg = readRunConfig(dir);
  if (cfg.d_in !== dIn) throw new InputError(dir, `takes width ${cfg.d_in}, but the run analysed takes ${dIn}; --compare needs two dictionaries over the same activations`);
  const file = path.join(dir, RUN_FILES.weights);
  if (!fs.existsSync(file)) throw new InputError(dir, 'has no sae_weights.safetensors yet; train it first (vsae train -o DIR)');
  const t = readSafetensors(file).getFloat32('W_dec');
  if (t.shape.length !== 2 || t.shape[0] !== cfg.d_sae || t.shape[1] !== dIn) throw new InputError(file, `W_dec has shape [${t.shape.join(', ')}], expected [${cfg.d_sae}, ${dIn}]`);
  return { wDec: t.data, dSae: cfg.d_sae };
}

const mean = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return a.length ? s / a.length : NaN;
};
