/**
 * The TopK family's pieces that the goldens do not isolate: the host quickselect against
 * tf.topk, the geometric median against its defining property, and a memory check of the step.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, initBackend, randomNormalTensor, tf } from '@vsae/compute';
import { expectAllClose } from '@vsae/compute/testing';
import { SaeEngine } from '../src/engine.js';
import { paramsToTensors } from '../src/model.js';
import { buildPrior } from '../src/prior.js';
import { geometricMedian, kthLargest, kthLargestHost, maskAbove, maskFromKth, thresholdBelow, topkInitParams } from '../src/topk-family.js';
import { modelSpec } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('TopK selection', () => {
  it('the host quickselect gives tf.topk\'s k-th largest value of non-negative scores, per row and over the batch, ties and zeros included', () => {
    const rng = new Rng(3);
    const B = 37, d = 211;
    const a = new Float32Array(B * d);
    rng.fillNormal(a);
    // Scores are never negative (ReLU activations, or |z|): about half exact zeros, as after a ReLU.
    for (let i = 0; i < a.length; i++) a[i] = i % 3 === 0 ? Math.abs(a[i]!) : Math.max(0, a[i]!);
    for (let i = 0; i < a.length; i += 7) a[i] = 0.5; // ties
    for (const k of [1, 5, 60, 211]) {
      const t = tf.tensor2d(a, [B, d]);
      expectAllClose(kthLargestHost(a, B, d, k, 'row'), kthLargest(t, k, 'row').dataSync(), { rtol: 0, atol: 0, what: `row k=${k}` });
      expectAllClose(kthLargestHost(a, B, d, k, 'batch'), kthLargest(t, k, 'batch').dataSync(), { rtol: 0, atol: 0, what: `batch k=${k}` });
      // The host path's one-comparison mask equals the three-pass one: kept and positive.
      const kth = tf.tensor2d(kthLargestHost(a, B, d, k, 'row'), [B, 1]);
      const t1 = tf.tensor2d(thresholdBelow(kthLargestHost(a, B, d, k, 'row')), [B, 1]);
      expectAllClose(maskAbove(t, t1).dataSync(), maskFromKth(t, kth).dataSync(), { rtol: 0, atol: 0, what: `masks k=${k}` });
      tf.dispose([kth, t1]);
      t.dispose();
    }
  });

  it('the geometric median minimises the sum of distances (Weiszfeld), and moves less than the mean for an outlier', () => {
    const rng = new Rng(5);
    const n = 50, d = 4;
    const rows = new Float32Array(n * d);
    rng.fillNormal(rows);
    for (let c = 0; c < d; c++) rows[c] = 1000; // one far outlier
    const g = geometricMedian(rows, n, d);
    const cost = (p: ArrayLike<number>) => {
      let s = 0;
      for (let r = 0; r < n; r++) {
        let q = 0;
        for (let c = 0; c < d; c++) q += (rows[r * d + c]! - p[c]!) ** 2;
        s += Math.sqrt(q);
      }
      return s;
    };
    for (let c = 0; c < d; c++) for (const delta of [-1e-3, 1e-3]) {
      const p = Array.from(g);
      p[c]! += delta;
      expect(cost(p)).toBeGreaterThan(cost(g) - 1e-9);
    }
    expect(Math.abs(g[0]!)).toBeLessThan(1); // the mean's first coordinate is ~20
  });

  for (const arch of ['topk', 'batchtopk', 'vsae-topk']) {
    it(`${arch}: keeps k per row (k·B per batch), and leaks no tensor per step`, async () => {
      const s = modelSpec({ arch, dIn: 6, dSae: 24, k: 4, auxCoeff: 1 / 32, deadTokens: 64, gradClip: 1, varFlag: arch === 'vsae-topk' ? 1 : 0 });
      const rng = new Rng(7);
      const e = new SaeEngine(s, buildPrior(s), { params: paramsToTensors(s, topkInitParams(s, rng)) });
      let live = -1;
      for (let step = 0; step < 6; step++) {
        const x = randomNormalTensor(rng, [32, 6], 0, 2) as tf.Tensor2D;
        const eps = arch === 'vsae-topk' ? (randomNormalTensor(rng, [32, 24]) as tf.Tensor2D) : undefined;
        const m = await e.step(x, { eps, lr: 1e-2, coeff: 0.5, stepIndex: step, metrics: true, deadWindow: 1 });
        const v = await m!.data();
        m!.dispose();
        const l0 = v[arch === 'vsae-topk' ? 4 : 3]!; // after loss, recon and the terms
        if (arch === 'batchtopk') expect(l0).toBeCloseTo(4, 5);
        else expect(l0).toBeLessThanOrEqual(4 + 1e-6);
        x.dispose();
        eps?.dispose();
        if (step >= 2) {
          if (live < 0) live = tf.memory().numTensors;
          expect(tf.memory().numTensors, `live tensors after step ${step + 1}`).toBe(live);
        }
      }
      e.dispose();
    });
  }
});
