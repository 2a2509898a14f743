import { initBackend, tf } from '@vsae/compute';
import { beforeAll, describe, expect, it } from 'vitest';
import { FeatureGenerator, toyActivations, toyRng, trainToyModel, withToyDefaults, xavierNormal } from '../src/index.js';

beforeAll(async () => {
  await initBackend(process.env.VSAE_BACKEND ?? 'auto');
});

const small = withToyDefaults({ nFeatures: 20, nHidden: 5, featureProbability: 0.05, toySteps: 400, toyBatchSize: 256, toyLr: 1e-2, seed: 3 });

describe('toy model training', () => {
  it('the loss goes down: the mean of the last tenth of logged losses is under 60% of the first', async () => {
    const m = await trainToyModel({ ...small, logEvery: 10, quiet: true });
    expect(m.losses.length).toBe(41);
    expect(m.losses[0]!.step).toBe(0);
    expect(m.losses.at(-1)!.step).toBe(399);
    const first = m.losses[0]!.loss;
    const tail = m.losses.slice(-4).map((l) => l.loss);
    const last = tail.reduce((a, b) => a + b, 0) / tail.length;
    expect(first).toBeGreaterThan(0);
    expect(last).toBeLessThan(0.6 * first);
    expect(m.W.length).toBe(5 * 20);
    expect(m.bFinal.length).toBe(20);
    expect(m.W.every(Number.isFinite)).toBe(true);
  });

  it('the same seed gives the same model on the same backend; no tensors are left behind', async () => {
    const opts = { ...small, toySteps: 30, quiet: true };
    const before = tf.memory().numTensors;
    const a = await trainToyModel(opts);
    const b = await trainToyModel(opts);
    expect(tf.memory().numTensors).toBe(before);
    expect(Buffer.from(a.W.buffer).equals(Buffer.from(b.W.buffer))).toBe(true);
    expect(Buffer.from(a.bFinal.buffer).equals(Buffer.from(b.bFinal.buffer))).toBe(true);
    const c = await trainToyModel({ ...opts, seed: 4 });
    expect(Buffer.from(a.W.buffer).equals(Buffer.from(c.W.buffer))).toBe(false);
  });

  it('with zero steps the model is its Xavier-normal init from the seed', async () => {
    const m = await trainToyModel({ ...small, toySteps: 0, quiet: true });
    const w = xavierNormal(toyRng(small.seed, 'init'), 5, 20);
    expect(Array.from(m.W)).toEqual(Array.from(w));
    expect(Array.from(m.bFinal)).toEqual(new Array(20).fill(0));
    expect(m.losses).toEqual([]);
  });
});

describe('Xavier-normal init', () => {
  it('has mean 0 and std √(2/(fan_in+fan_out)) within sampling tolerance', () => {
    const w = xavierNormal(toyRng(9, 'init'), 40, 200);
    const n = w.length;
    const mean = w.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    const want = Math.sqrt(2 / 240);
    expect(Math.abs(mean)).toBeLessThan((5 * want) / Math.sqrt(n));
    expect(Math.abs(std / want - 1)).toBeLessThan(5 / Math.sqrt(2 * n));
  });
});

describe('toyActivations', () => {
  it('equals a dense h = W x per row (atol 1e-5)', () => {
    const nf = 30;
    const nh = 7;
    const rows = 300;
    const W = xavierNormal(toyRng(1, 'init'), nh, nf);
    const x = new FeatureGenerator({ nFeatures: nf, featureProbability: 0.2, nCorrelatedPairs: 2, nAnticorrelatedPairs: 2, corrRate: undefined }).generate(toyRng(2, 'rows'), rows);
    const act = toyActivations({ W, nHidden: nh, nFeatures: nf }, x, rows);
    expect(act.length).toBe(rows * nh);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < nh; k++) {
        let want = 0;
        for (let i = 0; i < nf; i++) want += W[k * nf + i]! * x[r * nf + i]!;
        expect(Math.abs(act[r * nh + k]! - want)).toBeLessThan(1e-5);
      }
    }
  });
});
