/**
 * Loading runs for analysis and encoding: runs written before the architecture registry (old
 * cfg.json fields only), SAELens TopK directories, unknown architectures, and `encodeDataset`'s
 * sparse codes against a plain-JS encoder written here from the weights.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, initBackend } from '@vsae/compute';
import { expectAllClose } from '@vsae/compute/testing';
import { createDatasetWriter, readTable, writeJsonAtomicSync } from '@vsae/data';
import { encodeDataset } from '../src/encode.js';
import { loadSae } from '../src/load.js';
import { writeWeights } from '../src/runfiles.js';
import { tmpDir } from './helpers.js';

const D = 5, S = 12, N = 40;
const dir = tmpDir('vsae-load-');
const rng = new Rng(11);
const rand = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rng.uniform() - 0.5) * 2 * scale);
const W = { W_enc: rand(D * S), b_enc: rand(S, 0.2), W_dec: rand(S * D), b_dec: rand(D, 0.2) };
const X = rand(N * D, 2);

/** Plain JS: pre = (x − b_dec)·W_enc + b_enc (or x·W_enc + b_enc), ReLU, optionally top-k per row. */
function jsCodes(centre: boolean, k?: number): Float32Array {
  const out = new Float32Array(N * S);
  for (let r = 0; r < N; r++) {
    const row = new Float32Array(S);
    for (let j = 0; j < S; j++) {
      let s = W.b_enc[j]!;
      for (let i = 0; i < D; i++) s += (X[r * D + i]! - (centre ? W.b_dec[i]! : 0)) * W.W_enc[i * S + j]!;
      row[j] = Math.max(0, s);
    }
    if (k !== undefined) {
      const kth = [...row].sort((a, b) => b - a)[k - 1]!;
      for (let j = 0; j < S; j++) if (row[j]! < kth) row[j] = 0;
    }
    out.set(row, r * S);
  }
  return out;
}

function writeRun(name: string, cfg: Record<string, unknown>): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  writeWeights(d, { dIn: D, dSae: S }, W);
  writeJsonAtomicSync(path.join(d, 'cfg.json'), { d_in: D, d_sae: S, normalize_activations: 'none', ...cfg });
  return d;
}

beforeAll(async () => {
  await initBackend('wasm');
  const w = await createDatasetWriter(path.join(dir, 'x.arrow'), { meta: { dIn: D, source: 'test' }, columns: { seq: true } });
  await w.write({ numRows: N, act: X, seq: BigInt64Array.from({ length: N }, (_, i) => BigInt(100 + i)) });
  await w.close();
});

describe('loadSae', () => {
  it('loads a run written before the registry (cfg.json with the old fields only) and encodes μ', async () => {
    const d = writeRun('old-iso', { architecture: 'standard', apply_b_dec_to_input: true, vsae: { arch: 'vsae-iso', var_flag: 0, reduction: 'mean', var_activation: 'linear' } });
    const sae = await loadSae(d);
    expect(sae.variational).toBe(true);
    expectAllClose((await sae.encode(X)).act, jsCodes(true), { rtol: 1e-5, atol: 1e-6, what: 'μ of an old VSAE-Iso run' });
    sae.dispose();
  });

  it('loads a SAELens TopK directory and encodes its top-k code', async () => {
    const d = writeRun('saelens-topk', { architecture: 'topk', k: 3, apply_b_dec_to_input: true });
    const sae = await loadSae(d);
    expect(sae.arch).toBe('topk');
    expectAllClose((await sae.encode(X)).act, jsCodes(true, 3), { rtol: 1e-5, atol: 1e-6, what: 'top-3 code' });
    sae.dispose();
  });

  it('refuses an unknown architecture and a config whose b_dec centring contradicts it, in one line each', async () => {
    const bad = writeRun('bad-arch', { architecture: 'standard', apply_b_dec_to_input: true, vsae: { arch: 'vae' } });
    await expect(loadSae(bad)).rejects.toThrow(/vsae\.arch is "vae", expected one of sae, vsae-iso, vsae-mix, vsae-multi, topk, batchtopk, vsae-topk/);
    const wrong = writeRun('wrong-centre', { architecture: 'topk', apply_b_dec_to_input: true, vsae: { arch: 'vsae-topk', k: 3 } });
    await expect(loadSae(wrong)).rejects.toThrow(/apply_b_dec_to_input: true, which vsae-topk does not use/);
  });
});

describe('encodeDataset', () => {
  it('writes each row\'s firing latents (indices, values) with row and seq, equal to a plain-JS vSAE-TopK encoder', async () => {
    const d = writeRun('vtopk', { architecture: 'topk', k: 4, apply_b_dec_to_input: false, vsae: { arch: 'vsae-topk', k: 4, var_flag: 0 } });
    const out = path.join(dir, 'codes.arrow');
    const r = await encodeDataset({ run: d, input: path.join(dir, 'x.arrow'), out, batchSize: 7, quiet: true });
    expect(r).toMatchObject({ rows: N, status: 'complete' });
    const t = readTable(out);
    expect(t.numRows).toBe(N);
    expect(t.column('row')).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(t.column('seq')).toEqual(Array.from({ length: N }, (_, i) => 100 + i));
    const want = jsCodes(false, 4);
    const dense = new Float32Array(N * S);
    const idx = t.column('indices') as number[][];
    const val = t.column('values') as number[][];
    for (let row = 0; row < N; row++) {
      expect(idx[row]!.length).toBeLessThanOrEqual(4);
      idx[row]!.forEach((j, q) => (dense[row * S + j] = val[row]![q]!));
    }
    expectAllClose(dense, want, { rtol: 1e-5, atol: 1e-6, what: 'codes from indices/values' });
    await expect(encodeDataset({ run: d, input: path.join(dir, 'x.arrow'), out, quiet: true })).rejects.toThrow(/codes\.arrow already exists/);
  });
});
