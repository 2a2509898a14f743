/**
 * train() end to end on real files: the run directory of the contract, determinism, resume
 * equal to an uninterrupted run, and the failure modes of docs/reliability.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@vsae/compute';
import { expectAllClose } from '@vsae/compute/testing';
import { createDatasetWriter, readJson, readMetrics, readRunConfig, readSafetensors, runStatus } from '@vsae/data';
import { train } from '../src/trainer.js';
import { loadSae } from '../src/load.js';
import { readCheckpoint } from '../src/checkpoint.js';
import type { TrainOptionsInput } from '../src/options.js';
import { tmpDir, writeSparseDataset } from './helpers.js';

let dir: string;
let data: string;
const D = 8;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tmpDir();
  data = path.join(dir, 'data.arrow');
  await writeSparseDataset(data, { rows: 1500, dIn: D, seed: 3, config: { n_correlated_pairs: 1, n_anticorrelated_pairs: 1 } });
});

const quick = (out: string, over: Partial<TrainOptionsInput> = {}): TrainOptionsInput => ({
  input: data,
  out: path.join(dir, out),
  dictMult: 4,
  steps: 30,
  batchSize: 64,
  lr: 3e-3,
  logEvery: 5,
  checkpointEvery: 10,
  quiet: true,
  handleSignals: false,
  ...over,
});

function weights(run: string): Record<string, Float32Array> {
  const st = readSafetensors(path.join(run, 'sae_weights.safetensors'));
  return Object.fromEntries([...st.tensors.keys()].map((k) => [k, st.getFloat32(k).data]));
}

describe('train()', () => {
  it('writes cfg.json, weights, metrics, _run.json and a checkpoint as the contract says', async () => {
    const r = await train(quick('sae', { arch: 'sae' }));
    expect(r.status).toBe('complete');
    expect(r.step).toBe(30);
    const cfg = readRunConfig(r.runDir);
    expect(cfg).toMatchObject({ architecture: 'standard', d_in: D, d_sae: 32, dtype: 'float32', apply_b_dec_to_input: true, normalize_activations: 'none', activation_fn_str: 'relu' });
    expect(cfg.metadata).toMatchObject({ hook_name: expect.any(String), model_name: 'test' });
    expect(cfg.vsae).toMatchObject({ arch: 'sae', seed: 42, dataset: data, steps: 30, batch_size: 64, lr: 3e-3, reduction: 'mean' });
    const st = readSafetensors(path.join(r.runDir, 'sae_weights.safetensors'));
    expect([...st.tensors.keys()].sort()).toEqual(['W_dec', 'W_enc', 'b_dec', 'b_enc']);
    expect(st.tensors.get('W_enc')!.shape).toEqual([D, 32]);
    expect(st.tensors.get('W_dec')!.shape).toEqual([32, D]);
    expect(st.tensors.get('W_enc')!.dtype).toBe('F32');
    const m = readMetrics(path.join(r.runDir, 'metrics.arrows'));
    expect(m.columns.map((c) => c.name)).toEqual(['step', 'lr', 'loss', 'recon', 'l1', 'coeff', 'l0', 'dead_frac', 'explained_variance', 'elapsed_s', 'skipped_rows']);
    expect(m.rows.map((row) => row.step)).toEqual([5, 10, 15, 20, 25, 30]);
    expect(m.ended).toBe(true);
    expect(m.metadata).toMatchObject({ 'vsae:arch': 'sae', 'vsae:d_in': String(D), 'vsae:d_sae': '32' });
    expect(m.rows.every((row) => Number.isFinite(row.loss!) && row.l0! > 0)).toBe(true);
    expect(m.rows.at(-1)!.loss!).toBeLessThan(m.rows[0]!.loss!);
    expect(runStatus(r.runDir)).toMatchObject({ status: 'complete', step: 30, steps: 30 });
    expect(readCheckpoint(r.runDir).meta.step).toBe(30);
  });

  it('a VSAE with the variance head saves W_enc_var and b_enc_var; metrics log kl', async () => {
    const r = await train(quick('iso', { arch: 'vsae-iso', varFlag: 1, steps: 10 }));
    expect(Object.keys(weights(r.runDir)).sort()).toEqual(['W_dec', 'W_enc', 'W_enc_var', 'b_dec', 'b_enc', 'b_enc_var']);
    expect(readMetrics(path.join(r.runDir, 'metrics.arrows')).columns.map((c) => c.name)).toContain('kl');
  });

  it('a VSAE logs the reconstruction of μ (what analysis measures) as recon, and the sampled z\'s beside it', async () => {
    const r = await train(quick('iso-mu', { arch: 'vsae-iso', varFlag: 0, steps: 10, logEvery: 10 }));
    const m = readMetrics(path.join(r.runDir, 'metrics.arrows'));
    expect(m.columns.map((c) => c.name)).toEqual(expect.arrayContaining(['recon', 'recon_z', 'explained_variance', 'explained_variance_z']));
    const row = m.rows.at(-1)!;
    // With σ² = 1 on every latent the sample is far noisier than μ: the two figures must differ that way.
    expect(row.recon_z!).toBeGreaterThan(row.recon!);
    expect(row.explained_variance!).toBeGreaterThan(row.explained_variance_z!);
    // A model that does not sample logs no *_z columns.
    const s = await train(quick('sae-cols', { arch: 'sae', steps: 10, logEvery: 10 }));
    expect(readMetrics(path.join(s.runDir, 'metrics.arrows')).columns.map((c) => c.name)).not.toContain('recon_z');
  });

  it('the same seed gives the same weights; another seed does not', async () => {
    const a = await train(quick('seed-a', { arch: 'vsae-mix', varFlag: 1, steps: 12 }));
    const b = await train(quick('seed-b', { arch: 'vsae-mix', varFlag: 1, steps: 12 }));
    const c = await train(quick('seed-c', { arch: 'vsae-mix', varFlag: 1, steps: 12, seed: 7 }));
    const wa = weights(a.runDir);
    const wb = weights(b.runDir);
    for (const k of Object.keys(wa)) expectAllClose(wb[k]!, wa[k]!, { rtol: 0, atol: 0, what: k });
    expect(Array.from(weights(c.runDir).W_enc!)).not.toEqual(Array.from(wa.W_enc!));
    // The Mix prior took its pair counts from the dataset's vsae:config.
    expect(readRunConfig(a.runDir).vsae).toMatchObject({ n_correlated_pairs: 1, n_anticorrelated_pairs: 1 });
  });

  for (const arch of ['sae', 'vsae-iso'] as const) {
    it(`${arch}: interrupted and resumed, the final weights equal an uninterrupted run's`, async () => {
      const over = { arch, steps: 40, resampleEvery: 12, deadWindow: 3, ...(arch === 'vsae-iso' ? { varFlag: 1 as const } : {}) };
      const full = await train(quick(`full-${arch}`, over));
      const ac = new AbortController();
      const part = await train(quick(`part-${arch}`, { ...over, signal: ac.signal, onLog: (row) => row.step === 15 && ac.abort() }));
      expect(part.status).toBe('interrupted');
      expect(part.step).toBe(15);
      expect(runStatus(part.runDir)).toMatchObject({ status: 'interrupted', step: 15 });
      const resumed = await train({ input: data, out: part.runDir, resume: true, quiet: true, handleSignals: false });
      expect(resumed.status).toBe('complete');
      expect(resumed.step).toBe(40);
      const wf = weights(full.runDir);
      const wr = weights(part.runDir);
      for (const k of Object.keys(wf)) expectAllClose(wr[k]!, wf[k]!, { rtol: 0, atol: 1e-6, what: k });
      // metrics: one row per logged step, none duplicated across the resume
      expect(readMetrics(path.join(part.runDir, 'metrics.arrows')).rows.map((r) => r.step)).toEqual([5, 10, 15, 20, 25, 30, 35, 40]);
    });
  }

  it('leaks no tensor: the live count is the same before and after a run', async () => {
    const before = tf.memory().numTensors;
    await train(quick('leak', { arch: 'vsae-multi', varFlag: 1, corrRate: 0.1, steps: 8 }));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses to overwrite a run without --resume, and --resume without a checkpoint', async () => {
    await expect(train(quick('sae', { arch: 'sae' }))).rejects.toThrow(/already holds a training run; pass --resume/);
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    await expect(train({ input: data, out: empty, resume: true, quiet: true })).rejects.toThrow(/no checkpoint to resume from/);
  });

  it('resuming with a dataset of another width stops with a clear message', async () => {
    const other = path.join(dir, 'other.arrow');
    await writeSparseDataset(other, { rows: 200, dIn: D + 2 });
    const ac = new AbortController();
    const r = await train(quick('width', { arch: 'sae', signal: ac.signal, onLog: () => ac.abort() }));
    expect(r.status).toBe('interrupted');
    await expect(train({ input: other, out: r.runDir, resume: true, quiet: true, handleSignals: false })).rejects.toThrow(
      /other\.arrow has rows of width 10 but the run in .* was trained on width 8; resume with the dataset the run started on/,
    );
    expect(runStatus(r.runDir)?.status).toBe('interrupted');
  });

  it('pair counts that do not fit in d_sae, and --corr-rate outside (−1/(d−1), 1), stop with a message', async () => {
    await expect(train(quick('pairs', { arch: 'vsae-mix', nCorrelatedPairs: 10, nAnticorrelatedPairs: 7 }))).rejects.toThrow(
      /10 correlated and 7 anti-correlated pairs need 34 latents but d_sae is 32/,
    );
    await expect(train(quick('rho1', { arch: 'vsae-multi', corrRate: 1 }))).rejects.toThrow(/--corr-rate must lie in \(−1\/\(d_sae−1\), 1\) = \(-0\.03226, 1\) for d_sae 32/);
    await expect(train(quick('rho2', { arch: 'vsae-multi', corrRate: -0.05 }))).rejects.toThrow(/--corr-rate must lie/);
    expect(fs.existsSync(path.join(dir, 'rho2', 'cfg.json'))).toBe(false);
  });

  it('a NaN/Inf loss stops training with a message and keeps the last good checkpoint', async () => {
    // Rows are fine until 1200; from there on they are 1e20, whose squares overflow float32.
    const bad = path.join(dir, 'overflow.arrow');
    await writeSparseDataset(bad, { rows: 1500, dIn: D, poison: Array.from({ length: 300 }, (_, i) => [1200 + i, 1e20] as [number, number]) });
    const out = path.join(dir, 'nan');
    await expect(train(quick('nan', { input: bad, arch: 'sae', steps: 60, bufferRows: 64, checkpointEvery: 4, logEvery: 1 }))).rejects.toThrow(
      /training diverged: the loss became NaN or infinite at step (\d+).*last good checkpoint is kept/,
    );
    const status = runStatus(out)!;
    expect(status.status).toBe('failed');
    const ck = readCheckpoint(out);
    expect(ck.meta.step).toBeGreaterThan(0);
    expect(ck.meta.step).toBeLessThan(status.step);
    for (const a of Object.values(ck.engine.params)) expect((a as Float32Array).every((v) => Number.isFinite(v))).toBe(true);
  });

  it('NaN rows stop training with their index, or are dropped and counted with skipBadRows', async () => {
    const holes = path.join(dir, 'holes.arrow');
    await writeSparseDataset(holes, { rows: 400, dIn: D, poison: [[123, NaN], [301, -Infinity]] });
    await expect(train(quick('holes', { input: holes, arch: 'sae' }))).rejects.toThrow(/holes\.arrow: row 123 holds NaN or Inf in "act".*--skip-bad-rows/);
    const r = await train(quick('holes-skip', { input: holes, arch: 'sae', skipBadRows: true, steps: 10 }));
    const rows = readMetrics(path.join(r.runDir, 'metrics.arrows')).rows;
    expect(rows.at(-1)!.skipped_rows).toBeGreaterThanOrEqual(2);
  });

  it('stdin is read once: training ends with a message when it runs out', async () => {
    const chunks: Buffer[] = [];
    const sink = new Writable({ write(c, _e, cb) { chunks.push(c as Buffer); cb(); } });
    const w = await createDatasetWriter('-', { meta: { source: 'test', dIn: D }, stdout: sink, batchRows: 100 });
    const act = new Float32Array(500 * D).map((_, i) => Math.sin(i));
    await w.write({ numRows: 500, act });
    await w.close();
    const r = await train(quick('stdin', { input: '-', stdin: Readable.from([Buffer.concat(chunks)]), arch: 'sae', steps: 100, bufferRows: 128 }));
    expect(r.status).toBe('input-ended');
    expect(r.step).toBe(7); // 500 rows: 7 batches of 64
    expect(r.message).toMatch(/stdin ran out after 500 rows at step 7 of 100/);
    expect(runStatus(r.runDir)).toMatchObject({ status: 'complete', step: 7 });
  });

  it('--normalize-activations expected-average folds the scale into the saved weights (as SAELens)', async () => {
    const r = await train(quick('norm', { arch: 'sae', normalizeActivations: 'expected-average', steps: 10 }));
    const cfg = readRunConfig(r.runDir);
    const s = cfg.vsae.norm_scaling_factor as number;
    expect(cfg.normalize_activations).toBe('none');
    expect(s).toBeGreaterThan(1); // rows here have mean norm < √8
    // Saved (folded) weights on raw x give the checkpoint's (scaled-space) latents, and x̂ = x̂_scaled / s.
    const ck = readCheckpoint(r.runDir);
    const sae = await loadSae(r.runDir);
    const x = new Float32Array(16 * D).map((_, i) => Math.cos(i) * 0.3);
    const raw = await sae.encode(x, { recon: true });
    const p = ck.engine.params;
    const xs = x.map((v) => v * s);
    const act = new Float32Array(16 * 32);
    for (let r2 = 0; r2 < 16; r2++) for (let j = 0; j < 32; j++) {
      let a = p.b_enc[j]!;
      for (let k = 0; k < D; k++) a += (xs[r2 * D + k]! - p.b_dec[k]!) * p.W_enc[k * 32 + j]!;
      act[r2 * 32 + j] = Math.max(0, a);
    }
    expectAllClose(raw.act, act, { rtol: 1e-4, atol: 1e-5 });
    sae.dispose();
  });

  it('--tensorboard writes an event file with the logged scalars', async () => {
    const r = await train(quick('tb', { arch: 'sae', tensorboard: true, steps: 10 }));
    const ev = fs.readdirSync(r.runDir).filter((f) => f.startsWith('events.out.tfevents.'));
    expect(ev.length).toBe(1);
    const bytes = fs.readFileSync(path.join(r.runDir, ev[0]!));
    for (const tag of ['train/loss', 'train/l0', 'train/dead_frac']) expect(bytes.includes(Buffer.from(tag))).toBe(true);
  });
});

describe('loadSae', () => {
  it('reads a run and a plain SAELens directory, and encodes in batches like one forward pass', async () => {
    const run = path.join(dir, 'sae');
    const sae = await loadSae(run);
    expect(sae.arch).toBe('sae');
    const x = new Float32Array(10 * D).map((_, i) => Math.sin(i * 0.7));
    const whole = await sae.encode(x, { recon: true });
    const parts = await sae.encode(x, { batchSize: 3, recon: true });
    expectAllClose(parts.act, whole.act, { rtol: 1e-6, atol: 1e-7 });
    expectAllClose(parts.recon!, whole.recon!, { rtol: 1e-6, atol: 1e-7 });
    sae.dispose();
    // SAELens layout: cfg.json without a vsae block, same weights file.
    const lens = path.join(dir, 'lens');
    fs.mkdirSync(lens);
    const cfg = readJson<Record<string, unknown>>(path.join(run, 'cfg.json'));
    delete cfg.vsae;
    fs.writeFileSync(path.join(lens, 'cfg.json'), JSON.stringify(cfg));
    fs.copyFileSync(path.join(run, 'sae_weights.safetensors'), path.join(lens, 'sae_weights.safetensors'));
    const l = await loadSae(lens);
    expect(l.arch).toBe('sae');
    expectAllClose((await l.encode(x)).act, whole.act, { rtol: 0, atol: 0 });
    l.dispose();
  });
});
