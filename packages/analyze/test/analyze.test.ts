import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectAllClose } from '@vsae/compute/testing';
import { createDatasetWriter, openDataset, readJson } from '@vsae/data';
import { loadSae, train } from '@vsae/sae';
import { makeToyDataset } from '@vsae/toy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type AnalysisSummary } from '../src/index.js';
import { table, tmpDir } from './helpers.js';

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
      'analyses', 'arch', 'cosine_sim_mean', 'cosine_sim_std', 'created', 'd_in', 'd_sae', 'explained_variance', 'l0', 'l2_ratio', 'max_cosine_sim', 'mean_coactivation',
      'mean_cosine_sim', 'mean_diagonal_alignment', 'median_activation_frequency', 'mmcs', 'mmcs_represented', 'mse_mean', 'mse_median', 'mse_std', 'n_clusters', 'n_rows', 'parameters', 'percent_dead_neurons', 'run',
    ]);
    expect(s.n_rows).toBe(ROWS);
    expect(s.analyses).toEqual(['feature-sparsity', 'reconstruction-quality', 'dictionary-similarity', 'neuron-activations', 'latent-space']);
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
    // A rerun of one analysis keeps the other analyses' summary keys.
    const s2 = readJson<AnalysisSummary>(path.join(A(runVsae), 'summary.json'));
    expect(s2.percent_dead_neurons).toBe(s.percent_dead_neurons);
    expect(s2.analyses).toEqual(['feature-sparsity', 'latent-space']);
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
