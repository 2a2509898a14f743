import * as fs from 'node:fs';
import * as path from 'node:path';
import { expectAllClose } from '@vsae/compute/testing';
import { readJson, writeSafetensors } from '@vsae/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type AnalyzeResult } from '../src/index.js';
import { table, tmpDir, writeRows, writeSaeDir } from './helpers.js';

// Golden values from tools/reference/analyze_golden.py (PyTorch, float64). Our side runs the SAE
// in float32 on the tensor backend, so tolerances are float32-sized: rtol 1e-4, atol 1e-5.
interface Golden {
  d_in: number; d_sae: number; n: number;
  W_enc: number[]; b_enc: number[]; W_dec: number[]; b_dec: number[]; x: number[];
  mse: number[]; cosine: number[]; dim_mse: number[];
  mse_mean: number; mse_std: number; mse_median: number; cosine_mean: number; cosine_std: number;
  explained_variance: number; l0: number; l2_ratio: number;
  frequency: number[]; mean_act: Array<number | null>; max_act: number[];
  mean_cosine_sim: number; max_cosine_sim: number; top_pairs: Array<[number, number, number]>; enc_dec_cos: number[];
  truth: number[]; truth_best: number[]; truth_cos: number[]; truth_norm: number[]; mmcs: number; mmcs_represented: number;
  other: number[]; mmcs_a_to_b: number; mmcs_b_to_a: number; a_to_b_best: number[]; b_to_a_best: number[];
}
const g = readJson<Golden>(new URL('./golden/analyze_golden.json', import.meta.url).pathname);
const TOL = { rtol: 1e-4, atol: 1e-5 };
const tmp = tmpDir();
let res: AnalyzeResult;
const out = path.join(tmp, 'run', 'analysis');

beforeAll(async () => {
  const f = (a: number[]) => Float32Array.from(a);
  await writeSaeDir(path.join(tmp, 'run'), g.d_in, g.d_sae, { W_enc: f(g.W_enc), b_enc: f(g.b_enc), W_dec: f(g.W_dec), b_dec: f(g.b_dec) });
  await writeSaeDir(path.join(tmp, 'other'), g.d_in, 16, { W_enc: new Float32Array(g.d_in * 16), b_enc: new Float32Array(16), W_dec: f(g.other), b_dec: new Float32Array(g.d_in) });
  // Ground truth W is [n_hidden, n_features]: the golden's feature rows transposed.
  const nF = g.truth.length / g.d_in;
  const W = new Float32Array(g.d_in * nF);
  for (let i = 0; i < nF; i++) for (let k = 0; k < g.d_in; k++) W[k * nF + i] = g.truth[i * g.d_in + k]!;
  await writeSafetensors(path.join(tmp, 'data.truth.safetensors'), { W: { data: W, shape: [g.d_in, nF] } });
  // Small record batches, so the passes cross batch boundaries.
  await writeRows(path.join(tmp, 'data.arrow'), f(g.x), g.d_in, { groundTruth: path.join(tmp, 'data.truth.safetensors'), batchRows: 10 });
  res = await analyze({ run: path.join(tmp, 'run'), input: path.join(tmp, 'data.arrow'), compare: path.join(tmp, 'other'), quiet: true, umapEpochs: 50 });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('against the PyTorch reference', () => {
  it('per-row MSE and cosine, per-dim MSE', () => {
    const r = table(out, 'reconstruction.arrow');
    expect(r.numbers('row')).toEqual(Float64Array.from({ length: g.n }, (_, i) => i));
    expectAllClose(r.numbers('mse'), g.mse, { ...TOL, what: 'mse' });
    expectAllClose(r.numbers('cosine'), g.cosine, { ...TOL, what: 'cosine' });
    expectAllClose(table(out, 'reconstruction_dims.arrow').numbers('mse'), g.dim_mse, { ...TOL, what: 'dim mse' });
  });

  it('summary reconstruction figures: MSE mean/std/median, cosine mean/std, explained variance, L0, L2 ratio', () => {
    const s = res.summary;
    expectAllClose(
      [s.mse_mean!, s.mse_std!, s.mse_median!, s.cosine_sim_mean!, s.cosine_sim_std!, s.explained_variance!, s.l0!, s.l2_ratio!],
      [g.mse_mean, g.mse_std, g.mse_median, g.cosine_mean, g.cosine_std, g.explained_variance, g.l0, g.l2_ratio],
      { ...TOL, what: 'summary' },
    );
    expect(s.n_rows).toBe(g.n);
  });

  it('per-latent frequency, mean when active (NaN for the dead latent 3), max, dead flag', () => {
    const t = table(out, 'features.arrow');
    expectAllClose(t.numbers('frequency'), g.frequency, { ...TOL, what: 'frequency' });
    expectAllClose(t.numbers('mean_act'), g.mean_act.map((v) => v ?? NaN), { ...TOL, what: 'mean_act' });
    expectAllClose(t.numbers('max_act'), g.max_act, { ...TOL, what: 'max_act' });
    expect(t.column('dead')).toEqual(g.frequency.map((f) => f === 0));
    expect(t.column('dead')[3]).toBe(true);
    expectAllClose(t.numbers('enc_dec_cos'), g.enc_dec_cos, { ...TOL, what: 'enc_dec_cos' });
    expect(res.summary.percent_dead_neurons).toBeCloseTo((100 * g.frequency.filter((f) => f === 0).length) / g.d_sae, 10);
  });

  it('decoder cosine statistics and the most similar pairs', () => {
    expectAllClose([res.summary.mean_cosine_sim!, res.summary.max_cosine_sim!], [g.mean_cosine_sim, g.max_cosine_sim], { ...TOL, what: 'cosine stats' });
    const t = table(out, 'similarity.arrow');
    expect(t.numRows).toBe((g.d_sae * (g.d_sae - 1)) / 2); // fewer pairs than 1000: all of them
    expect(t.column('latent_a').slice(0, 10)).toEqual(g.top_pairs.map((p) => p[0]));
    expect(t.column('latent_b').slice(0, 10)).toEqual(g.top_pairs.map((p) => p[1]));
    expectAllClose(t.numbers('cosine').slice(0, 10), g.top_pairs.map((p) => p[2]), { ...TOL, what: 'top pairs' });
    expect(res.summary.mean_diagonal_alignment).toBeCloseTo(g.enc_dec_cos.reduce((a, b) => a + b, 0) / g.d_sae, 4);
  });

  it('ground truth: best latent, signed cosine, norm, MMCS (zero-norm feature left out) and MMCS over represented features', () => {
    const t = table(out, 'ground_truth.arrow');
    const nz = g.truth_norm.map((n) => n > 0);
    expect(t.column('best_latent').filter((_, i) => nz[i])).toEqual(g.truth_best.filter((_, i) => nz[i]));
    expect(t.column('best_latent')[9]).toBe(-1);
    expect(t.column('best_latent')[0]).toBe(7);
    expectAllClose(t.numbers('cosine').filter((_, i) => nz[i]), g.truth_cos.filter((_, i) => nz[i]), { ...TOL, what: 'truth cosine' });
    expectAllClose(t.numbers('norm'), g.truth_norm, { ...TOL, what: 'norm' });
    expect(t.column('represented')).toEqual(g.truth_norm.map((n) => n >= 0.5));
    expectAllClose([res.summary.mmcs!, res.summary.mmcs_represented!], [g.mmcs, g.mmcs_represented], { ...TOL, what: 'mmcs' });
  });

  it('--compare: MMCS both ways and each latent\'s best match', () => {
    expectAllClose([res.summary.mmcs_a_to_b!, res.summary.mmcs_b_to_a!], [g.mmcs_a_to_b, g.mmcs_b_to_a], { ...TOL, what: 'compare mmcs' });
    const t = table(out, 'compare.arrow');
    const dir = t.strings('direction');
    expect(t.column('best_latent').filter((_, i) => dir[i] === 'a_to_b')).toEqual(g.a_to_b_best);
    expect(t.column('best_latent').filter((_, i) => dir[i] === 'b_to_a')).toEqual(g.b_to_a_best);
  });
});
