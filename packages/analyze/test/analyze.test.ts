import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectAllClose } from '@vsae/compute/testing';
import { createDatasetWriter, openDataset, readJson } from '@vsae/data';
import { loadSae, train } from '@vsae/sae';
import { makeToyDataset } from '@vsae/toy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, Interrupted, selectRows, type AnalysisSummary } from '../src/index.js';
import { table, tmpDir, writeRows } from './helpers.js';

// A real toy dataset and real (short) training runs, analysed and checked against a direct
// computation: every row encoded at once with loadSae, statistics recomputed from scratch.
const tmp = tmpDir();
const toy = path.join(tmp, 'toy.arrow');
const runSae = path.join(tmp, 'runs', 'sae');
const runVsae = path.join(tmp, 'runs', 'vsae-iso');
const ROWS = 3000;
const child = fileURLToPath(new URL('./fixtures/child.mjs', import.meta.url));

interface Direct {
  x: Float32Array;
  act: Float32Array;
  recon: Float32Array;
  dIn: number;
  dSae: number;
}
let direct: Direct;
let summary: AnalysisSummary;

beforeAll(async () => {
  await makeToyDataset({ out: toy, rows: ROWS, toySteps: 200, nCorrelatedPairs: 2, nAnticorrelatedPairs: 1, quiet: true });
  await train({ input: toy, out: runSae, arch: 'sae', steps: 150, batchSize: 256, lr: 3e-3, quiet: true, handleSignals: false });
  await train({ input: toy, out: runVsae, arch: 'vsae-iso', varFlag: 1, steps: 150, batchSize: 256, lr: 3e-3, quiet: true, handleSignals: false });
  const res = await analyze({ run: runSae, input: toy, quiet: true, umapEpochs: 50 });
  summary = res.summary;
  const ds = await openDataset(toy);
  const parts: Float32Array[] = [];
  for await (const b of ds.batches()) parts.push(b.act.slice());
  await ds.close();
  const x = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (x.set(p, o), o + p.length), 0);
  const sae = await loadSae(runSae);
  const e = await sae.encode(x, { recon: true });
  direct = { x, act: e.act, recon: e.recon!, dIn: sae.dIn, dSae: sae.dSae };
  sae.dispose();
}, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const A = (run: string) => path.join(run, 'analysis');

describe('a toy run', () => {
  it('writes every table of the contract, and summary.json with the applicable keys only', () => {
    const files = fs.readdirSync(A(runSae)).sort();
    expect(files).toEqual(['coactivation.arrow', 'embedding.arrow', 'features.arrow', 'ground_truth.arrow', 'reconstruction.arrow', 'reconstruction_dims.arrow', 'similarity.arrow', 'similarity_sample.arrow', 'summary.json', 'top_examples.arrow']);
    const fields = (f: string) => table(A(runSae), f).fields.map((c) => `${c.name}:${c.type}`);
    expect(fields('features.arrow')).toEqual(['latent:int32', 'frequency:float64', 'log10_density:float64', 'mean_act:float32', 'max_act:float32', 'dead:bool', 'enc_dec_cos:float32', 'hist_counts:list<int32>']);
    expect(fields('reconstruction.arrow')).toEqual(['row:int64', 'mse:float32', 'cosine:float32']);
    expect(fields('reconstruction_dims.arrow')).toEqual(['dim:int32', 'mse:float64']);
    expect(fields('similarity.arrow')).toEqual(['latent_a:int32', 'latent_b:int32', 'cosine:float32']);
    expect(fields('similarity_sample.arrow')).toEqual(['latent_a:int32', 'latent_b:int32', 'cosine:float32']);
    expect(fields('ground_truth.arrow')).toEqual(['feature:int32', 'best_latent:int32', 'cosine:float32', 'norm:float32', 'represented:bool']);
    expect(fields('top_examples.arrow')).toEqual(['latent:int32', 'kind:utf8', 'rank:int32', 'quantile:float32', 'row:int64', 'activation:float32']);
    expect(fields('coactivation.arrow')).toEqual(['latent_a:int32', 'latent_b:int32', 'count:int64', 'jaccard:float32']);
    expect(fields('embedding.arrow')).toEqual(['kind:utf8', 'id:int32', 'pca_x:float32', 'pca_y:float32', 'umap_x:float32', 'umap_y:float32', 'cluster:int32']);
    const s = readJson<AnalysisSummary>(path.join(A(runSae), 'summary.json'));
    expect(Object.keys(s).sort()).toEqual([
      'analyses', 'arch', 'cosine_sim_mean', 'cosine_sim_std', 'created', 'd_in', 'd_sae', 'explained_variance', 'frac_alive', 'l0', 'l2_ratio', 'max_cosine_sim', 'mean_coactivation',
      'mean_cosine_sim', 'mean_diagonal_alignment', 'median_activation_frequency', 'mmcs', 'mmcs_represented', 'mse_mean', 'mse_median', 'mse_std', 'n_clusters', 'n_rows', 'parameters', 'percent_dead_neurons', 'run',
    ]);
    expect(s.n_rows).toBe(ROWS);
    expect(s.analyses).toEqual(['feature-sparsity', 'reconstruction-quality', 'dictionary-similarity', 'neuron-activations', 'latent-space']);
    expect(s.sources).toBeUndefined();
    // frac_alive: the share of latents that fired on some row, from the same count as the dead share.
    const dead = table(A(runSae), 'features.arrow').column('dead').filter(Boolean).length;
    expect(s.frac_alive).toBe((s.d_sae - dead) / s.d_sae);
    expect(s.frac_alive).toBeCloseTo(1 - s.percent_dead_neurons! / 100, 12);
  });

  it('features.arrow equals a direct computation over every row (frequency, mean, max, histogram)', () => {
    const { act, dSae } = direct;
    const count = new Float64Array(dSae);
    const sum = new Float64Array(dSae);
    const max = new Float64Array(dSae);
    for (let i = 0; i < ROWS; i++) for (let j = 0; j < dSae; j++) {
      const a = act[i * dSae + j]!;
      if (a > 1e-8) {
        count[j]!++;
        sum[j]! += a;
        max[j] = Math.max(max[j]!, a);
      }
    }
    const hist = Array.from({ length: dSae }, () => new Array(20).fill(0));
    for (let i = 0; i < ROWS; i++) for (let j = 0; j < dSae; j++) {
      const a = act[i * dSae + j]!;
      if (a > 1e-8) hist[j]![Math.min(19, Math.max(0, Math.ceil((a / max[j]!) * 20) - 1))]++;
    }
    const t = table(A(runSae), 'features.arrow');
    expect(t.numbers('frequency')).toEqual(Float64Array.from(count, (c) => c / ROWS));
    expectAllClose(t.numbers('mean_act'), Float64Array.from(count, (c, j) => (c > 0 ? sum[j]! / c : NaN)), { rtol: 1e-6 });
    expectAllClose(t.numbers('max_act'), max, { rtol: 0 });
    expect(t.column('hist_counts')).toEqual(hist);
    expect(t.column('dead')).toEqual(Array.from(count, (c) => c === 0));
    expectAllClose(summary.l0!, count.reduce((a, c) => a + c, 0) / ROWS, { rtol: 1e-12 });
  });

  it('reconstruction.arrow equals MSE and cosine of the SAE\'s own reconstruction, row by row', () => {
    const { x, recon, dIn } = direct;
    const mse = new Float64Array(ROWS);
    const cos = new Float64Array(ROWS);
    for (let i = 0; i < ROWS; i++) {
      let se = 0, dot = 0, nx = 0, nr = 0;
      for (let k = 0; k < dIn; k++) {
        const a = x[i * dIn + k]!, b = recon[i * dIn + k]!;
        se += (b - a) ** 2; dot += a * b; nx += a * a; nr += b * b;
      }
      mse[i] = se / dIn;
      cos[i] = nx > 0 && nr > 0 ? dot / Math.sqrt(nx * nr) : nx === nr ? 1 : 0;
    }
    const t = table(A(runSae), 'reconstruction.arrow');
    expect(t.numRows).toBe(ROWS);
    expectAllClose(t.numbers('mse'), mse, { rtol: 1e-5, atol: 1e-9 });
    expectAllClose(t.numbers('cosine'), cos, { rtol: 1e-5, atol: 1e-7 });
    expect(summary.explained_variance).toBeGreaterThan(0.5); // a trained SAE, not noise
  });

  it('top examples are each latent\'s largest activations; quantile samples are real activations of their latent', () => {
    const { act, dSae } = direct;
    const t = table(A(runSae), 'top_examples.arrow');
    const rows = t.rows();
    for (let j = 0; j < dSae; j++) {
      const want = Array.from({ length: ROWS }, (_, r) => act[r * dSae + j]!).filter((a) => a > 1e-8).sort((a, b) => b - a).slice(0, 10);
      const got = rows.filter((r) => r.latent === j && r.kind === 'top').sort((a, b) => (a.rank as number) - (b.rank as number));
      expectAllClose(got.map((r) => r.activation as number), want, { rtol: 0, what: `latent ${j} top` });
      for (const r of got) expect(act[(r.row as number) * dSae + j]).toBe(r.activation);
      const q = rows.filter((r) => r.latent === j && r.kind === 'quantile');
      for (const r of q) {
        expect(act[(r.row as number) * dSae + j]).toBe(r.activation);
        expect([0.9, 0.5, 0.1]).toContain(Number((r.quantile as number).toFixed(6)));
      }
      if (want.length > 0) expect(q.length).toBe(6);
    }
  });

  it('coactivation.arrow counts rows where both latents fire, for the 32 most active latents', () => {
    const { act, dSae } = direct;
    const t = table(A(runSae), 'coactivation.arrow');
    const la = t.column('latent_a') as number[];
    const lb = t.column('latent_b') as number[];
    const latents = [...new Set(la)];
    expect(latents.length).toBe(Math.min(32, dSae));
    const freq = (j: number) => Array.from({ length: ROWS }, (_, r) => act[r * dSae + j]! > 1e-8).filter(Boolean).length;
    const minChosen = Math.min(...latents.map(freq));
    const others = [...Array(dSae).keys()].filter((j) => !latents.includes(j));
    expect(Math.max(...others.map(freq))).toBeLessThanOrEqual(minChosen);
    const counts = t.numbers('count');
    const jac = t.numbers('jaccard');
    for (let k = 0; k < la.length; k++) {
      let both = 0, either = 0;
      for (let r = 0; r < ROWS; r++) {
        const p = act[r * dSae + la[k]!]! > 1e-8, q = act[r * dSae + lb[k]!]! > 1e-8;
        if (p && q) both++;
        if (p || q) either++;
      }
      expect(counts[k]).toBe(both);
      expect(jac[k]).toBeCloseTo(either > 0 ? both / either : 0, 6);
    }
  });

  it('ground truth: one row per true feature, the best latent really is the closest decoder row', () => {
    const t = table(A(runSae), 'ground_truth.arrow');
    expect(t.numRows).toBe(100);
    const cos = t.numbers('cosine');
    expect(cos.every((c) => c >= -1 - 1e-6 && c <= 1 + 1e-6)).toBe(true);
    const rep = t.column('represented') as boolean[];
    const norm = t.numbers('norm');
    expect(rep).toEqual(Array.from(norm, (n) => n >= 0.5));
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(summary.mmcs).toBeCloseTo(mean(Array.from(cos)), 5);
    expect(summary.mmcs_represented).toBeCloseTo(mean(Array.from(cos).filter((_, i) => rep[i])), 5);
  });

  it('the embedding covers every decoder latent (d_sae ≤ 4096), clusters labelled from −1', () => {
    const t = table(A(runSae), 'embedding.arrow');
    expect(t.numRows).toBe(direct.dSae);
    expect(t.strings('kind').every((k) => k === 'decoder')).toBe(true);
    expect(t.column('id')).toEqual([...Array(direct.dSae).keys()]);
    const c = t.numbers('cluster');
    expect(Math.min(...c)).toBeGreaterThanOrEqual(-1);
    expect(summary.n_clusters).toBe(new Set(Array.from(c).filter((v) => v >= 0)).size);
  });
});

describe('a VSAE run', () => {
  let s: AnalysisSummary;
  beforeAll(async () => {
    s = (await analyze({ run: runVsae, input: toy, quiet: true, umapEpochs: 50, muRows: 200, analyses: ['feature-sparsity', 'latent-space'] })).summary;
  }, 120_000);

  it('is analysed on μ: features carry mean σ², the embedding has μ rows of analysed rows', async () => {
    const sae = await loadSae(runVsae);
    const e = await sae.encode(direct.x, { variance: true });
    sae.dispose();
    const dSae = e.act.length / ROWS;
    const meanVar = new Float64Array(dSae);
    for (let i = 0; i < ROWS; i++) for (let j = 0; j < dSae; j++) meanVar[j]! += e.variance![i * dSae + j]! / ROWS;
    const f = table(A(runVsae), 'features.arrow');
    expectAllClose(f.numbers('mean_var'), meanVar, { rtol: 1e-5 });
    // Frequencies of μ (not of sampled latents) — deterministic, so equal to a direct count.
    const count = new Float64Array(dSae);
    for (let i = 0; i < ROWS; i++) for (let j = 0; j < dSae; j++) if (e.act[i * dSae + j]! > 1e-8) count[j]!++;
    expect(f.numbers('frequency')).toEqual(Float64Array.from(count, (c) => c / ROWS));
    const emb = table(A(runVsae), 'embedding.arrow');
    const kinds = emb.strings('kind');
    const muIds = (emb.column('id') as number[]).filter((_, i) => kinds[i] === 'mu');
    expect(muIds.length).toBe(200);
    expect(new Set(muIds).size).toBe(200);
    expect(muIds.every((r) => r >= 0 && r < ROWS)).toBe(true);
    expect(s.analyses).toEqual(['feature-sparsity', 'latent-space']);
    expect(s.explained_variance).toBeUndefined();
  });

  it('the same seed gives the same embedding', async () => {
    const before = table(A(runVsae), 'embedding.arrow');
    await analyze({ run: runVsae, input: toy, quiet: true, umapEpochs: 50, muRows: 200, analyses: ['latent-space'] });
    const after = table(A(runVsae), 'embedding.arrow');
    for (const c of ['umap_x', 'umap_y', 'pca_x', 'pca_y', 'cluster']) expect(after.numbers(c)).toEqual(before.numbers(c));
    // A rerun of one analysis holds its own figures; the other analyses' are kept under sources.
    const s2 = readJson<AnalysisSummary>(path.join(A(runVsae), 'summary.json'));
    expect(s2.percent_dead_neurons).toBeUndefined();
    expect(s2.sources?.percent_dead_neurons).toEqual({ analysis: 'feature-sparsity', n_rows: ROWS, value: s.percent_dead_neurons });
    expect(s2.analyses).toEqual(['latent-space']);
  });
});

describe('inputs and options', () => {
  it('--n-samples analyses the first N rows; stdin gives the same tables as the file', async () => {
    const out1 = path.join(tmp, 'n500-file');
    const out2 = path.join(tmp, 'n500-stdin');
    await analyze({ run: runSae, input: toy, out: out1, nSamples: 500, quiet: true, analyses: ['feature-sparsity', 'reconstruction-quality', 'neuron-activations'] });
    // The same rows as an Arrow stream, as `vsae toy -o -` would pipe them.
    const streamFile = path.join(tmp, 'toy.arrows');
    const sink = fs.createWriteStream(streamFile);
    const w = await createDatasetWriter('-', { meta: { source: 'toy', dIn: direct.dIn }, stdout: sink });
    await w.write({ numRows: ROWS, act: direct.x });
    await w.close();
    await new Promise((res) => sink.end(res));
    const r = await analyze({ run: runSae, input: '-', stdin: fs.createReadStream(streamFile), out: out2, nSamples: 500, quiet: true, analyses: ['feature-sparsity', 'reconstruction-quality', 'neuron-activations'] });
    expect(r.summary.n_rows).toBe(500);
    expect(table(out2, 'reconstruction.arrow').numRows).toBe(500);
    for (const [f, cols] of [['features.arrow', ['frequency', 'max_act', 'mean_act']], ['reconstruction.arrow', ['mse', 'cosine']], ['top_examples.arrow', ['row', 'activation']], ['coactivation.arrow', ['count']]] as const) {
      for (const c of cols) expect(table(out2, f).numbers(c)).toEqual(table(out1, f).numbers(c));
    }
  });

  it('a dataset whose width differs from the run stops with a clear message', async () => {
    const other = path.join(tmp, 'wide.arrow');
    await makeToyDataset({ out: other, rows: 100, toySteps: 1, nHidden: 7, quiet: true });
    await expect(analyze({ run: runSae, input: other, quiet: true })).rejects.toThrow(/wide\.arrow: has activations of width 7, but the run .* takes width 20 .*analyse it with a dataset of the same hook and model/);
  });

  it('a run directory without weights says to train first; a missing run says so', async () => {
    const empty = path.join(tmp, 'runs', 'not-trained');
    fs.mkdirSync(empty, { recursive: true });
    fs.copyFileSync(path.join(runSae, 'cfg.json'), path.join(empty, 'cfg.json'));
    await expect(analyze({ run: empty, input: toy, quiet: true })).rejects.toThrow(/not-trained: has no sae_weights\.safetensors yet.*train it first/);
    await expect(analyze({ run: path.join(tmp, 'nope'), input: toy, quiet: true })).rejects.toThrow(/nope: no such run directory/);
  });

  it('--compare of a run with itself: MMCS 1 both ways, every latent its own match', async () => {
    const out = path.join(tmp, 'self');
    const r = await analyze({ run: runSae, input: toy, out, compare: runSae, quiet: true, analyses: ['dictionary-similarity'] });
    expect(r.summary.mmcs_a_to_b).toBeCloseTo(1, 6);
    expect(r.summary.mmcs_b_to_a).toBeCloseTo(1, 6);
    const t = table(out, 'compare.arrow');
    expect(t.column('best_latent')).toEqual(t.column('latent'));
  });
});

/** Latent counts of the rows `rows` of the direct encoding. */
function directCounts(rows: ArrayLike<number>): Float64Array {
  const { act, dSae } = direct;
  const count = new Float64Array(dSae);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    for (let j = 0; j < dSae; j++) if (act[i * dSae + j]! > 1e-8) count[j]!++;
  }
  return count;
}

/** A log stream that records what is written, as a terminal (isTTY) or not. */
function recorder(isTTY: boolean, onWrite?: (s: string) => void): NodeJS.WriteStream & { text: string } {
  const w = { text: '', isTTY, write(s: string) { w.text += s; onWrite?.(s); return true; } };
  return w as unknown as NodeJS.WriteStream & { text: string };
}

describe('a partial re-analysis', () => {
  it('holds only its own figures at the top level; earlier ones go under sources with their row count', async () => {
    const out = path.join(tmp, 'partial');
    await analyze({ run: runSae, input: toy, out, quiet: true, umapEpochs: 30, analyses: ['feature-sparsity', 'reconstruction-quality', 'dictionary-similarity'] });
    const r = await analyze({ run: runSae, input: toy, out, quiet: true, nSamples: 10, analyses: ['feature-sparsity'] });
    const s = readJson<AnalysisSummary>(path.join(out, 'summary.json'));
    for (const x of [r.summary, s]) {
      expect(x.n_rows).toBe(10);
      expect(x.analyses).toEqual(['feature-sparsity']);
      expect(typeof x.percent_dead_neurons).toBe('number');
      for (const k of ['mmcs', 'explained_variance', 'mse_mean', 'mean_cosine_sim'] as const) expect(x[k], k).toBeUndefined();
      expect(x.sources?.mmcs).toEqual({ analysis: 'dictionary-similarity', n_rows: ROWS, value: summary.mmcs });
      expect(x.sources?.explained_variance).toEqual({ analysis: 'reconstruction-quality', n_rows: ROWS, value: summary.explained_variance });
      // l0 and the dead share were computed again now: not kept from before.
      expect(x.sources?.l0).toBeUndefined();
      expect(x.sources?.percent_dead_neurons).toBeUndefined();
    }
    expect(table(out, 'features.arrow').metadata['vsae:n_rows']).toBe('10');
  });
});

describe('rows holding NaN', () => {
  const bad = path.join(tmp, 'nan.arrow');
  const N = 100;
  beforeAll(async () => {
    const x = direct.x.slice(0, N * direct.dIn);
    x[0 * direct.dIn + 3] = NaN;
    x[7 * direct.dIn + 0] = Infinity;
    await writeRows(bad, x, direct.dIn, { batchRows: 16 });
    const late = direct.x.slice(0, N * direct.dIn);
    late[40 * direct.dIn + 1] = NaN;
    await writeRows(path.join(tmp, 'nan-late.arrow'), late, direct.dIn);
  });

  it('stop with a hint that works: --skip-bad-rows, never "--n-samples 0" (which means every row)', async () => {
    const err = await analyze({ run: runSae, input: bad, out: path.join(tmp, 'nan-out'), quiet: true, analyses: ['feature-sparsity'] }).catch((e: Error) => e);
    expect(String(err)).toMatch(/nan\.arrow: row 0 holds NaN in "act"; pass --skip-bad-rows/);
    expect(String(err)).not.toMatch(/--n-samples 0/);
    const late = await analyze({ run: runSae, input: path.join(tmp, 'nan-late.arrow'), out: path.join(tmp, 'nan-out'), quiet: true, analyses: ['feature-sparsity'] }).catch((e: Error) => e);
    expect(String(late)).toMatch(/row 40 holds NaN .*--skip-bad-rows.*--n-samples 40/);
    expect(fs.existsSync(path.join(tmp, 'nan-out'))).toBe(false);
  });

  it('--skip-bad-rows leaves them out of every figure and counts them', async () => {
    const out = path.join(tmp, 'nan-skip');
    const r = await analyze({ run: runSae, input: bad, out, quiet: true, skipBadRows: true, analyses: ['feature-sparsity', 'reconstruction-quality', 'neuron-activations'] });
    expect(r.summary.n_rows).toBe(N - 2);
    expect(r.summary.parameters.skipped_rows).toBe(2);
    expect(r.warnings.join('\n')).toMatch(/left out 2 of 100 rows holding NaN or Inf \(the first is row 0\)/);
    const good = Array.from({ length: N }, (_, i) => i).filter((i) => i !== 0 && i !== 7);
    expect(table(out, 'features.arrow').numbers('frequency')).toEqual(Float64Array.from(directCounts(good), (c) => c / good.length));
    expect(table(out, 'reconstruction.arrow').numbers('row')).toEqual(Float64Array.from(good));
    expect(Number.isFinite(r.summary.explained_variance)).toBe(true);
    const rows = table(out, 'top_examples.arrow').numbers('row');
    expect(rows.every((v) => v !== 0 && v !== 7)).toBe(true);
  });
});

describe('--sample random and --latents', () => {
  it('random: a seeded uniform sample of N rows, the same for the same seed, analysed exactly', async () => {
    const out = path.join(tmp, 'random');
    const r = await analyze({ run: runSae, input: toy, out, quiet: true, nSamples: 500, sample: 'random', seed: 7, analyses: ['feature-sparsity', 'reconstruction-quality'] });
    expect(r.summary.n_rows).toBe(500);
    expect(r.summary.parameters.sample).toBe('random');
    const rows = table(out, 'reconstruction.arrow').numbers('row');
    expect(rows).toEqual(selectRows(ROWS, 500, 'random', 7).indices);
    expect(new Set(rows).size).toBe(500);
    expect(rows[rows.length - 1]).toBeGreaterThan(2500); // not the first 500
    expect(table(out, 'features.arrow').numbers('frequency')).toEqual(Float64Array.from(directCounts(rows), (c) => c / 500));
    // MSE row by row against the direct reconstruction of those rows.
    const { x, recon, dIn } = direct;
    const mse = Float64Array.from(rows, (i) => {
      let s2 = 0;
      for (let k = 0; k < dIn; k++) s2 += (recon[i * dIn + k]! - x[i * dIn + k]!) ** 2;
      return s2 / dIn;
    });
    expectAllClose(table(out, 'reconstruction.arrow').numbers('mse'), mse, { rtol: 1e-5, atol: 1e-9 });
    const again = path.join(tmp, 'random-again');
    await analyze({ run: runSae, input: toy, out: again, quiet: true, nSamples: 500, sample: 'random', seed: 7, analyses: ['reconstruction-quality'] });
    expect(table(again, 'reconstruction.arrow').numbers('row')).toEqual(rows);
    const other = path.join(tmp, 'random-other');
    await analyze({ run: runSae, input: toy, out: other, quiet: true, nSamples: 500, sample: 'random', seed: 8, analyses: ['reconstruction-quality'] });
    expect(table(other, 'reconstruction.arrow').numbers('row')).not.toEqual(rows);
  });

  it('selectRows: distinct ascending rows, each row about equally likely', () => {
    const hits = new Float64Array(50);
    for (let seed = 0; seed < 2000; seed++) {
      const s = selectRows(50, 10, 'random', seed);
      const idx = Array.from(s.indices!);
      expect(idx.length).toBe(10);
      expect(idx).toEqual([...new Set(idx)].sort((a, b) => a - b));
      expect(s.end).toBe(idx[9]! + 1);
      for (const i of idx) hits[i]!++;
    }
    // Each row is chosen with probability 10/50: 400 of 2000 draws, binomial sd ≈ 17.9.
    for (const h of hits) expect(Math.abs(h - 400)).toBeLessThan(5 * 17.9);
    expect(selectRows(50, 0, 'random', 1)).toMatchObject({ count: 50, indices: undefined });
    expect(selectRows(50, 80, 'random', 1)).toMatchObject({ count: 50, indices: undefined });
  });

  it('--latents restricts features.arrow and top_examples.arrow to those latents (the figures stay over all)', async () => {
    const out = path.join(tmp, 'latents');
    const r = await analyze({ run: runSae, input: toy, out, quiet: true, latents: [17, 3, 42, 3], analyses: ['feature-sparsity', 'neuron-activations'] });
    const f = table(out, 'features.arrow');
    expect(Array.from(f.numbers('latent'))).toEqual([3, 17, 42]);
    expect(Array.from(f.numbers('frequency'))).toEqual([3, 17, 42].map((j) => table(A(runSae), 'features.arrow').numbers('frequency')[j]));
    const ex = new Set(table(out, 'top_examples.arrow').numbers('latent'));
    expect([...ex].every((j) => [3, 17, 42].includes(j))).toBe(true);
    expect(r.summary.percent_dead_neurons).toBe(summary.percent_dead_neurons);
    await expect(analyze({ run: runSae, input: toy, out, quiet: true, latents: [160] })).rejects.toThrow(/--latents 160 is not a latent of this run: it has 160/);
  });
});

describe('output and interruption', () => {
  it('-o naming a file: one clear error, nothing written', async () => {
    const file = path.join(tmp, 'afile');
    fs.writeFileSync(file, 'keep me');
    await expect(analyze({ run: runSae, input: toy, out: file, quiet: true })).rejects.toThrow(/afile: is a file; -o names the folder/);
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
  });

  it('--compare without dictionary-similarity is refused (a usage mistake), not ignored', async () => {
    await expect(analyze({ run: runSae, input: toy, quiet: true, compare: runSae, analyses: ['feature-sparsity'] })).rejects.toThrow(/--compare needs the dictionary-similarity analysis/);
  });

  it('on a terminal, every progress line is ended before analyze returns (nothing is glued to it)', async () => {
    const log = recorder(true);
    await analyze({ run: runSae, input: toy, out: path.join(tmp, 'tty'), log, analyses: ['feature-sparsity'] });
    expect(log.text).toMatch(/analyze pass 2\/2/);
    expect(log.text.endsWith('\n')).toBe(true);
    // Each \r redraw of a bar is followed by a newline before anything else starts.
    for (const line of log.text.split('\n').slice(0, -1)) expect(line.startsWith('\r') || line.startsWith('vsae analyze')).toBe(true);
  });

  it('an interruption writes nothing: the earlier analysis stays as it was, no staging folder is left', async () => {
    const out = path.join(tmp, 'interrupted');
    await analyze({ run: runSae, input: toy, out, quiet: true, nSamples: 1000, analyses: ['feature-sparsity', 'reconstruction-quality'] });
    const before = Object.fromEntries(fs.readdirSync(out).map((f) => [f, fs.readFileSync(path.join(out, f))]));
    const ctl = new AbortController();
    const log = recorder(false, (s) => {
      if (s.includes('analyze pass 1')) ctl.abort();
    });
    const err = await analyze({ run: runSae, input: toy, out, log, signal: ctl.signal, maxMemoryMb: 8 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Interrupted);
    expect(fs.readdirSync(out).sort()).toEqual(Object.keys(before).sort());
    for (const [f, b] of Object.entries(before)) expect(fs.readFileSync(path.join(out, f)).equals(b), f).toBe(true);
  });
});

describe('beside a run that is still training', () => {
  it('reads the weights last written and never crashes (a real training process)', async () => {
    const live = path.join(tmp, 'runs', 'live');
    const p = spawn(process.execPath, [child, 'train', JSON.stringify({ input: toy, out: live, arch: 'sae', steps: 100_000, batchSize: 64, checkpointEvery: 5, logEvery: 5, lr: 1e-3, quiet: true })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    p.stdout.on('data', (d) => (log += d));
    p.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((res) => p.on('exit', (code) => res(code)));
    try {
      const results: string[] = [];
      const deadline = Date.now() + 60_000;
      while (results.filter((r) => r.startsWith('ok')).length < 3 && Date.now() < deadline) {
        try {
          const r = await analyze({ run: live, input: toy, out: path.join(tmp, 'live-analysis'), nSamples: 500, quiet: true, analyses: ['feature-sparsity', 'reconstruction-quality'] });
          results.push(`ok ${String(r.summary.parameters.run_status)} ${String(r.summary.parameters.run_step)}`);
        } catch (e) {
          // Before the first weights are written: a clear message, nothing else.
          const m = (e as Error).message;
          expect(m, log).toMatch(/no such run directory|has no cfg\.json|has no sae_weights\.safetensors yet/);
          results.push('waiting');
          await new Promise((res) => setTimeout(res, 200));
        }
      }
      const ok = results.filter((r) => r.startsWith('ok'));
      expect(ok.length, `${results.join('\n')}\n${log}`).toBe(3);
      expect(ok.some((r) => r.startsWith('ok running'))).toBe(true);
    } finally {
      p.kill('SIGTERM');
      await exited;
    }
  }, 120_000);
});
