import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { initBackend } from '@vsae/compute';
import { openDataset, readSafetensors } from '@vsae/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureGenerator, featureImportance, makeToyDataset, toyRng, toyTruthLocation } from '../src/index.js';
import type { ToyDatasetResult } from '../src/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-toy-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const opts = {
  nFeatures: 24,
  nHidden: 6,
  nCorrelatedPairs: 2,
  nAnticorrelatedPairs: 1,
  featureProbability: 0.1,
  toySteps: 60,
  toyBatchSize: 128,
  toyLr: 1e-2,
  rows: 20_000,
  seed: 5,
  quiet: true,
};

/** Reads a whole dataset with our reader. */
async function readAll(file: string) {
  const ds = await openDataset(file);
  const acts: Float32Array[] = [];
  const feats: Float32Array[] = [];
  const seq: bigint[] = [];
  for await (const b of ds.batches()) {
    acts.push(b.act.slice());
    feats.push(b.features!.slice());
    for (const v of b.seq!) seq.push(v);
  }
  await ds.close();
  const cat = (parts: Float32Array[]): Float32Array => {
    const outArr = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      outArr.set(p, o);
      o += p.length;
    }
    return outArr;
  };
  return { ds, act: cat(acts), features: cat(feats), seq };
}

let res: ToyDatasetResult;
const out = path.join(tmp, 'sub', 'toy.arrow');
beforeAll(async () => {
  await initBackend(process.env.VSAE_BACKEND ?? 'auto');
  res = await makeToyDataset({ ...opts, out });
});

describe('makeToyDataset', () => {
  it('writes rows of act [d_in = n_hidden] and features [n_features] with the toy metadata', async () => {
    const { ds } = await readAll(out);
    expect(ds.numRows).toBe(opts.rows);
    expect(ds.dIn).toBe(6);
    expect(ds.nFeatures).toBe(24);
    expect(ds.has).toMatchObject({ seq: true, features: true });
    expect(ds.meta.source).toBe('toy');
    expect(ds.meta.raw['vsae:ground_truth']).toBe('toy.truth.safetensors');
    expect(path.resolve(ds.meta.groundTruth!)).toBe(path.resolve(tmp, 'sub', 'toy.truth.safetensors'));
    expect(ds.meta.config).toEqual({
      n_features: 24,
      n_hidden: 6,
      n_correlated_pairs: 2,
      n_anticorrelated_pairs: 1,
      corr_rate: null,
      feature_probability: 0.1,
      toy_steps: 60,
      toy_batch_size: 128,
      toy_lr: 1e-2,
      rows: 20_000,
      seed: 5,
      backend: res.backend,
    });
  });

  it('writes the ground truth beside it: W [n_hidden, n_features], b_final, importance, feature_probability', () => {
    expect(res.truth).toBe(path.join(tmp, 'sub', 'toy.truth.safetensors'));
    const st = readSafetensors(res.truth);
    expect([...st.tensors.keys()].sort()).toEqual(['W', 'b_final', 'feature_probability', 'importance']);
    for (const t of st.tensors.values()) expect(t.dtype).toBe('F32');
    const W = st.getFloat32('W');
    expect(W.shape).toEqual([6, 24]);
    expect(Array.from(W.data)).toEqual(Array.from(res.model.W));
    expect(st.getFloat32('b_final').shape).toEqual([24]);
    expect(Array.from(st.getFloat32('b_final').data)).toEqual(Array.from(res.model.bFinal));
    expect(Array.from(st.getFloat32('importance').data)).toEqual(Array.from(featureImportance(24)));
    const fp = st.getFloat32('feature_probability');
    expect(fp.shape).toEqual([1]);
    expect(fp.data[0]).toBeCloseTo(0.1, 7);
    expect(JSON.parse(st.metadata['vsae:config']!).n_correlated_pairs).toBe(2);
  });

  it('act is h = W x of the row\'s features (atol 1e-5), features come from the seed\'s rows stream, seq is the toy batch index', async () => {
    const { act, features, seq } = await readAll(out);
    const want = new FeatureGenerator({ ...opts, corrRate: undefined }).generate(toyRng(opts.seed, 'rows'), opts.rows);
    expect(Buffer.from(features.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    const W = readSafetensors(res.truth).getFloat32('W').data;
    for (let r = 0; r < opts.rows; r += 7) {
      for (let k = 0; k < 6; k++) {
        let h = 0;
        for (let i = 0; i < 24; i++) h += W[k * 24 + i]! * features[r * 24 + i]!;
        expect(Math.abs(act[r * 6 + k]! - h)).toBeLessThan(1e-5);
      }
    }
    expect(seq[0]).toBe(0n);
    expect(seq[127]).toBe(0n);
    expect(seq[128]).toBe(1n);
    expect(seq.at(-1)).toBe(BigInt(Math.floor((opts.rows - 1) / 128)));
  });

  it('in the file, each correlated pair is present together on every row where either is, and anti-correlated pairs never together', () => {
    // Read with apache-arrow directly, independently of our reader.
    const table = tableFromIPC(fs.readFileSync(out));
    expect(table.numRows).toBe(opts.rows);
    const feats = table.getChild('features')!;
    let pairRows = 0;
    for (let r = 0; r < table.numRows; r++) {
      const f = feats.get(r)!.toArray() as Float32Array;
      for (const a of [0, 2]) {
        expect(f[a]! > 0).toBe(f[a + 1]! > 0);
        if (f[a]! > 0) pairRows++;
      }
      expect(f[4]! > 0 && f[5]! > 0).toBe(false);
    }
    expect(pairRows).toBeGreaterThan(0.1 * opts.rows * 2 * 0.8);
  });

  it('the same seed gives the same dataset and truth on the same backend', async () => {
    const again = path.join(tmp, 'again.arrow');
    await makeToyDataset({ ...opts, out: again });
    const a = await readAll(out);
    const b = await readAll(again);
    expect(Buffer.from(b.act.buffer).equals(Buffer.from(a.act.buffer))).toBe(true);
    expect(Buffer.from(b.features.buffer).equals(Buffer.from(a.features.buffer))).toBe(true);
    expect(fs.readFileSync(path.join(tmp, 'again.truth.safetensors')).equals(fs.readFileSync(res.truth))).toBe(true);
  });

  it('corr_rate mode records its rate, and a sharded directory keeps _truth.safetensors inside (pyarrow.dataset skips names starting with _)', async () => {
    const dir = path.join(tmp, 'sharded');
    const r = await makeToyDataset({ ...opts, nCorrelatedPairs: 0, nAnticorrelatedPairs: 0, corrRate: 0.3, rows: 3000, toySteps: 5, shardRows: 1000, out: dir });
    expect(r.truth).toBe(path.join(dir, '_truth.safetensors'));
    const ds = await openDataset(dir);
    expect(ds.numRows).toBe(3000);
    expect(ds.meta.config!.corr_rate).toBe(0.3);
    expect(ds.meta.raw['vsae:ground_truth']).toBe('_truth.safetensors');
    expect(fs.existsSync(ds.meta.groundTruth!)).toBe(true);
    await ds.close();
  });
});

describe('ground-truth location', () => {
  it('is <stem>.truth.safetensors beside a file, --truth when given, and required with -o -', () => {
    expect(toyTruthLocation('data/run.v2.arrow', undefined, false)).toEqual({ truth: path.join('data', 'run.v2.truth.safetensors'), ref: 'run.v2.truth.safetensors' });
    expect(toyTruthLocation('data/toy.arrow', 'gt/w.safetensors', false)).toEqual({ truth: 'gt/w.safetensors', ref: '../gt/w.safetensors' });
    expect(toyTruthLocation('-', 'gt.safetensors', false)).toEqual({ truth: 'gt.safetensors', ref: path.resolve('gt.safetensors') });
    expect(() => toyTruthLocation('-', undefined, false)).toThrow(/--truth PATH/);
    expect(() => toyTruthLocation('a.arrow', 'a.arrow', false)).toThrow(/is the dataset path itself/);
  });

  it('makeToyDataset refuses bad options before training', async () => {
    await expect(makeToyDataset({ ...opts, out: path.join(tmp, 'x.arrow'), featureProbability: 0 })).rejects.toThrow(/--feature-probability/);
    expect(fs.existsSync(path.join(tmp, 'x.arrow'))).toBe(false);
  });
});
