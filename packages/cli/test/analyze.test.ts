import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readTable } from '@vsae/data';
import { train } from '@vsae/sae';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binRunner, expectOneLineError as expectBinError, type Run } from './bin.js';

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
  });

  it('--help lists the five analysis flags', () => {
    const r = vsae(['analyze', '--help']);
    expect(r.status).toBe(0);
    for (const f of ['--feature-sparsity', '--reconstruction-quality', '--dictionary-similarity', '--neuron-activations', '--latent-space', '--compare RUN2', '--model DIR', '--n-samples']) expect(r.stdout.toString()).toContain(f);
  });
});
