import fs from 'node:fs';
import { initBackend, tf } from '@vsae/compute';
import { beforeAll, describe, expect, it } from 'vitest';
import { denseCholesky, featureImportance, FeatureGenerator, toyActivations, toyLoss, uniformCorrelationCholesky } from '../src/index.js';

// Goldens from PyTorch: tools/reference/toy_golden.py (run with /usr/bin/python3).
interface Golden {
  importance: Record<string, number[]>;
  cholesky: Array<{ n: number; rho: number; L: number[]; u: number[]; x: number[]; x_bug: number[] }>;
  model: {
    n_features: number;
    n_hidden: number;
    batch: number;
    lr: number;
    W0: number[];
    b0: number[];
    x: number[];
    importance: number[];
    h: number[];
    loss0: number;
    grad: { W: number[]; b: number[] };
    adam_losses: number[];
    W3: number[];
    b3: number[];
  };
}
const golden = JSON.parse(fs.readFileSync(new URL('./golden/toy_golden.json', import.meta.url), 'utf8')) as Golden;

/** Elementwise |a − b| ≤ atol + rtol·|b|, with the lengths checked first. */
function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) throw new Error(`element ${i}: ${a} vs ${e} (rtol ${rtol}, atol ${atol})`);
  }
}

beforeAll(async () => {
  await initBackend(process.env.VSAE_BACKEND ?? 'auto');
});

describe('against the PyTorch reference', () => {
  it('importance equals 100^(−i/(n−1)) (rtol 1e-6, float32)', () => {
    for (const [n, want] of Object.entries(golden.importance)) expectAllClose(featureImportance(Number(n)), want, 1e-6, 0);
  });

  it('the uniform-correlation Cholesky factor equals torch.linalg.cholesky (atol 1e-12)', () => {
    for (const g of golden.cholesky) expectAllClose(denseCholesky(uniformCorrelationCholesky(g.n, g.rho)), g.L, 0, 1e-12);
  });

  it('corr_rate rows are u·Lᵀ as in the reference, not the original u·L (atol 1e-6, float32)', () => {
    for (const g of golden.cholesky) {
      const rows = g.u.length / g.n;
      // Feed the reference's u as the generator's draws, with presence draws of 0 (always kept).
      const draws: number[] = [];
      for (let r = 0; r < rows; r++) draws.push(...g.u.slice(r * g.n, (r + 1) * g.n), ...new Array<number>(g.n).fill(0));
      let i = 0;
      const x = new FeatureGenerator({ nFeatures: g.n, featureProbability: 1, nCorrelatedPairs: 0, nAnticorrelatedPairs: 0, corrRate: g.rho }).generate({ uniform: () => draws[i++]! }, rows);
      expectAllClose(x, g.x, 0, 1e-6);
      if (g.rho !== 0) expect(() => expectAllClose(x, g.x_bug, 0, 1e-6)).toThrow();
    }
  });

  const m = golden.model;
  it('h = W x matches (atol 1e-6)', () => {
    const act = toyActivations({ W: Float32Array.from(m.W0), nHidden: m.n_hidden, nFeatures: m.n_features }, Float32Array.from(m.x), m.batch);
    expectAllClose(act, m.h, 0, 1e-6);
  });

  it('the importance-weighted loss and its gradients match (rtol 1e-5, atol 1e-7)', () => {
    const W = tf.tensor2d(m.W0, [m.n_hidden, m.n_features]);
    const b = tf.tensor1d(m.b0);
    const x = tf.tensor2d(m.x, [m.batch, m.n_features]);
    const imp = tf.tensor1d(m.importance);
    const [gW, gb] = tf.grads((w: tf.Tensor, bb: tf.Tensor) => toyLoss(w as tf.Tensor2D, bb as tf.Tensor1D, imp, x))([W, b]);
    const loss = toyLoss(W, b, imp, x);
    expectAllClose(loss.dataSync(), [m.loss0], 1e-5, 0);
    expectAllClose(gW!.dataSync(), m.grad.W, 1e-5, 1e-7);
    expectAllClose(gb!.dataSync(), m.grad.b, 1e-5, 1e-7);
    tf.dispose([W, b, x, imp, gW!, gb!, loss]);
  });

  it('three Adam steps (β 0.9/0.999, ε 1e-8) land where torch.optim.Adam does (rtol 1e-4, atol 1e-6)', () => {
    const W = tf.tidy(() => tf.variable(tf.tensor2d(m.W0, [m.n_hidden, m.n_features])));
    const b = tf.tidy(() => tf.variable(tf.tensor1d(m.b0)));
    const x = tf.tensor2d(m.x, [m.batch, m.n_features]);
    const imp = tf.tensor1d(m.importance);
    const opt = tf.train.adam(m.lr, 0.9, 0.999, 1e-8);
    const losses: number[] = [];
    for (let s = 0; s < 3; s++) {
      const c = opt.minimize(() => toyLoss(W as tf.Variable<tf.Rank.R2>, b as tf.Variable<tf.Rank.R1>, imp, x), true, [W, b])!;
      losses.push(c.dataSync()[0]!);
      c.dispose();
    }
    expectAllClose(losses, m.adam_losses, 1e-5, 0);
    expectAllClose(W.dataSync(), m.W3, 1e-4, 1e-6);
    expectAllClose(b.dataSync(), m.b3, 1e-4, 1e-6);
    opt.dispose();
    tf.dispose([W, b, x, imp]);
  });
});
