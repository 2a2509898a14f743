import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readTable } from '@vsae/data';
import { train } from '@vsae/sae';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, binRunner, expectOneLineError as expectBinError, type Run } from './bin.js';

// End-to-end: the real, built bin on a real toy dataset and a real (short) training run.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-cli-analyze-'));
const vsae = binRunner(tmp);
const expectOneLineError = (r: Run, code: number, pattern: RegExp): void => expectBinError(r, code, 'analyze', pattern);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TABLES = ['coactivation.arrow', 'embedding.arrow', 'features.arrow', 'ground_truth.arrow', 'reconstruction.arrow', 'reconstruction_dims.arrow', 'similarity.arrow', 'similarity_sample.arrow', 'summary.json', 'top_examples.arrow'];

beforeAll(async () => {
  const t = vsae(['toy', '--rows', '3000', '--toy-steps', '200', '--n-correlated-pairs', '2', '--n-anticorrelated-pairs', '1', '-o', 'toy.arrow', '-q']);
  expect(t.status, t.stderr).toBe(0);
  await train({ input: path.join(tmp, 'toy.arrow'), out: path.join(tmp, 'runs', 'sae'), arch: 'sae', steps: 100, batchSize: 256, lr: 3e-3, quiet: true, handleSignals: false });
  const w = vsae(['toy', '--rows', '100', '--toy-steps', '1', '--n-hidden', '7', '-o', 'wide.arrow', '-q']);
  expect(w.status, w.stderr).toBe(0);
}, 300_000);

describe('vsae analyze', () => {
  it('on a toy run writes every table to RUN/analysis and says so on stderr', () => {
    const r = vsae(['analyze', 'runs/sae', '--input', 'toy.arrow', '--umap-epochs', '50']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/vsae analyze: 5 analyses of 3000 rows → runs\/sae\/analysis \(10 files\); L0 [\d.]+, dead [\d.]+%, explained variance [\d.]+, MMCS [\d.]+, \d+ clusters?; \d+s\n$/);
    expect(fs.readdirSync(path.join(tmp, 'runs/sae/analysis')).sort()).toEqual(TABLES);
    expect(readTable(path.join(tmp, 'runs/sae/analysis/features.arrow')).numRows).toBe(160);
  });

  it('a partial re-analysis prints and writes only its own figures (the earlier ones under sources)', () => {
    const r = vsae(['analyze', 'runs/sae', '--input', 'toy.arrow', '--n-samples', '10', '--feature-sparsity']);
    expect(r.status, r.stderr).toBe(0);
    const last = r.stderr.trimEnd().split('\n').at(-1)!;
    expect(last).toMatch(/^vsae analyze: 1 analysis of 10 rows → runs\/sae\/analysis \(2 files\); L0 [\d.]+, dead [\d.]+%; \d+s$/);
    const s = JSON.parse(fs.readFileSync(path.join(tmp, 'runs/sae/analysis/summary.json'), 'utf8'));
    expect(s).toMatchObject({ n_rows: 10, analyses: ['feature-sparsity'] });
    expect(s.mmcs).toBeUndefined();
    expect(s.explained_variance).toBeUndefined();
    expect(s.sources.mmcs).toMatchObject({ analysis: 'dictionary-similarity', n_rows: 3000 });
    expect(s.sources.explained_variance).toMatchObject({ analysis: 'reconstruction-quality', n_rows: 3000 });
    // The tables of the analyses not rerun are still there (their figures are the sources').
    expect(fs.existsSync(path.join(tmp, 'runs/sae/analysis/similarity.arrow'))).toBe(true);
  });

  it('--sample random --seed and --latents reach the analysis', () => {
    const r = vsae(['analyze', 'runs/sae', '--input', 'toy.arrow', '--json', '-q', '-o', 'sampled', '--n-samples', '400', '--sample', 'random', '--seed', '3', '--latents', '5,2,9', '--feature-sparsity', '--neuron-activations']);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.out);
    expect(s).toMatchObject({ n_rows: 400, parameters: { sample: 'random', seed: 3, latents: [2, 5, 9] } });
    expect(typeof s.frac_alive).toBe('number');
    expect(Array.from(readTable(path.join(tmp, 'sampled/features.arrow')).numbers('latent'))).toEqual([2, 5, 9]);
    expectOneLineError(vsae(['analyze', 'runs/sae', '--input', 'toy.arrow', '--latents', '3,x']), 2, /--latents takes latent numbers separated by commas/);
    expectOneLineError(vsae(['analyze', 'runs/sae', '--input', 'toy.arrow', '--sample', 'middle']), 2, /--sample must be one of first, random/);
  });

  it('-o naming an existing file: one line, exit 1, the file untouched', () => {
    fs.writeFileSync(path.join(tmp, 'afile'), 'keep');
    expectOneLineError(vsae(['analyze', 'runs/sae', '--input', 'toy.arrow', '-o', 'afile']), 1, /afile: is a file; -o names the folder/);
    expect(fs.readFileSync(path.join(tmp, 'afile'), 'utf8')).toBe('keep');
  });

  it('--compare without --dictionary-similarity is a usage mistake (exit 2), not silently ignored', () => {
    expectOneLineError(vsae(['analyze', 'runs/sae', '--input', 'toy.arrow', '--feature-sparsity', '--compare', 'runs/sae']), 2, /--compare needs the dictionary-similarity analysis: add --dictionary-similarity/);
  });

  it('Ctrl-C: one line, exit 130, nothing written', async () => {
    const big = vsae(['toy', '--rows', '200000', '--toy-steps', '20', '-o', 'big.arrow', '-q']);
    expect(big.status, big.stderr).toBe(0);
    const p = spawn(process.execPath, [bin, 'analyze', 'runs/sae', '--input', 'big.arrow', '--n-samples', '0', '--max-memory', '8', '-o', 'stopped'], { cwd: tmp, env: { ...process.env, VSAE_BACKEND: process.env.VSAE_BACKEND ?? 'auto' } });
    let err = '';
    let sent = false;
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (!sent && err.includes('analyze pass 1')) {
        sent = true;
        p.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((res) => p.on('exit', (c) => res(c)));
    expect(code, err).toBe(130);
    const lines = err.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('vsae analyze: interrupted; nothing was written (stopped is as it was)');
    expect(err).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(tmp, 'stopped'))).toBe(false);
  }, 120_000);

  it('--json prints the summary on stdout (and -o puts the tables elsewhere)', () => {
    const r = vsae(['analyze', 'runs/sae', '--input', 'toy.arrow', '--json', '-o', 'elsewhere', '--n_samples', '1000', '-q', '--reconstruction-quality', '--dictionary-similarity']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const s = JSON.parse(r.stdout.toString());
    expect(s).toMatchObject({ run: 'runs/sae', arch: 'sae', d_in: 20, d_sae: 160, n_rows: 1000, analyses: ['reconstruction-quality', 'dictionary-similarity'] });
    for (const k of ['mse_mean', 'explained_variance', 'l0', 'l2_ratio', 'mean_cosine_sim', 'mmcs', 'mmcs_represented']) expect(typeof s[k]).toBe('number');
    expect(s.percent_dead_neurons).toBeUndefined();
    expect(fs.readdirSync(path.join(tmp, 'elsewhere')).sort()).toEqual(['ground_truth.arrow', 'reconstruction.arrow', 'reconstruction_dims.arrow', 'similarity.arrow', 'similarity_sample.arrow', 'summary.json']);
  });

  it('reads a dataset piped on stdin (--input -)', () => {
    const stream = vsae(['toy', '--rows', '500', '--toy-steps', '200', '-o', '-', '--truth', 'piped.truth.safetensors', '-q']);
    expect(stream.status, stream.stderr).toBe(0);
    const r = vsae(['analyze', 'runs/sae', '--input', '-', '--json', '-q', '-o', 'piped', '--feature-sparsity', '--neuron-activations'], { input: stream.stdout });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.toString()).n_rows).toBe(500);
  });

  it('a dataset of another width: one line, exit 1', () => {
    expectOneLineError(vsae(['analyze', 'runs/sae', '--input', 'wide.arrow']), 1, /wide\.arrow: has activations of width 7, but the run runs\/sae takes width 20/);
  });

  it('a run without weights: one line saying to train first, exit 1', () => {
    fs.mkdirSync(path.join(tmp, 'runs/empty'), { recursive: true });
    fs.copyFileSync(path.join(tmp, 'runs/sae/cfg.json'), path.join(tmp, 'runs/empty/cfg.json'));
    expectOneLineError(vsae(['analyze', 'runs/empty', '--input', 'toy.arrow']), 1, /runs\/empty: has no sae_weights\.safetensors yet.*train it first/);
    expectOneLineError(vsae(['analyze', 'runs/none', '--input', 'toy.arrow']), 1, /runs\/none: no such run directory/);
  });

  it('usage mistakes: unknown flag, no --input, no RUN — one line, exit 2', () => {
    expectOneLineError(vsae(['analyze', 'runs/sae', '--input', 'toy.arrow', '--bogus']), 2, /unknown option --bogus/);
    expectOneLineError(vsae(['analyze', 'runs/sae']), 2, /needs --input PATH/);
    expectOneLineError(vsae(['analyze', '--input', 'toy.arrow']), 2, /needs RUN/);
    expectOneLineError(vsae(['analyze', 'runs/sae', '--input', 'toy.arrow', '--max-memory', '2']), 2, /--max-memory must be at least 8/);
    expectOneLineError(vsae(['analyze', 'runs/sae', '--input', 'toy.arrow', '--max-memory', '4M']), 2, /--max-memory must be at least 8/);
    expectOneLineError(vsae(['analyze', 'runs/sae', '--input', 'toy.arrow', '--max-memory', 'lots']), 2, /--max-memory takes a size such as 512M, 2G/);
  });

  it('--help lists the five analysis flags', () => {
    const r = vsae(['analyze', '--help']);
    expect(r.status).toBe(0);
    for (const f of ['--feature-sparsity', '--reconstruction-quality', '--dictionary-similarity', '--neuron-activations', '--latent-space', '--compare RUN2', '--model DIR', '--n-samples']) expect(r.stdout.toString()).toContain(f);
  });
});
