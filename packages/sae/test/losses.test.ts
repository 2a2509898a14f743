/**
 * Loss terms against values computed by hand (docs/math.md), the closed forms against the
 * dense formulas, and the hand-written backward against tfjs autodiff.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, initBackend, randomNormalTensor, tf } from '@vsae/compute';
import { expectAllClose } from '@vsae/compute/testing';
import { forward, lossTerms, type Params } from '../src/model.js';
import { buildPrior, matrixPrior, mixPriorMeans, uniformPrior } from '../src/prior.js';
import { lossAndGrads, priorTensors, disposePriorTensors } from '../src/step.js';
import type { ModelSpec } from '../src/types.js';
import { tidy } from '../src/_tidy.js';
import { modelSpec } from './helpers.js';

const base: ModelSpec = modelSpec({ dIn: 2, dSae: 3 });

/** A tiny model whose forward pass is easy to do by hand. */
function tiny(withVar = false): Params {
  const p: Params = {
    W_enc: tf.tensor2d([[1, 0, -1], [0, 1, 1]]), // [2, 3]
    b_enc: tf.tensor1d([0, 0, 0.5]),
    W_dec: tf.tensor2d([[1, 0], [0, 1], [0.6, 0.8]]), // unit rows
    b_dec: tf.tensor1d([0.5, 0]),
  };
  if (withVar) {
    p.W_enc_var = tf.tensor2d([[0.5, 0, 0], [0, 0, -20]]);
    p.b_enc_var = tf.tensor1d([0, 1, 3]);
  }
  return p;
}
// x rows: [1.5, 2] and [0.5, -1]  →  xc = x − b_dec = [1, 2], [0, −1]
// pre = xc·W_enc + b_enc: row0 [1, 2, 1.5], row1 [0, −1, −0.5]  →  f = [1, 2, 1.5], [0, 0, 0]
// x̂ = f·W_dec + b_dec: row0 [1 + 0.9 + 0.5, 2 + 1.2] = [2.4, 3.2]; row1 [0.5, 0]
// err: row0 [0.9, 1.2] (0.81 + 1.44 = 2.25), row1 [0, 1] (1)  →  recon = (2.25 + 1)/2 = 1.625
const X = [[1.5, 2], [0.5, -1]];

beforeAll(async () => {
  await initBackend('wasm');
});

function terms(spec: ModelSpec, p: Params, eps?: number[][], coeff = 1) {
  return tidy(() => {
    const x = tf.tensor2d(X);
    const f = forward(spec, p, x, eps ? tf.tensor2d(eps) : undefined);
    const t = lossTerms(spec, buildPrior(spec), f, x, coeff);
    return { loss: t.loss.dataSync()[0]!, recon: t.recon.dataSync()[0]!, sparsity: t.sparsity.dataSync()[0]! };
  });
}

describe('loss terms by hand', () => {
  it('SAE: recon is the per-row mean of squared errors, L1 the per-row mean of Σ|f| (sum: the batch sum)', () => {
    const p = tiny();
    const t = terms(base, p, undefined, 0.1);
    expectAllClose([t.recon, t.sparsity, t.loss], [1.625, 4.5 / 2, 1.625 + 0.1 * 2.25], { rtol: 1e-6 });
    const s = terms({ ...base, reduction: 'sum' }, p, undefined, 0.1);
    expectAllClose([s.recon, s.sparsity], [1.625, 4.5], { rtol: 1e-6 });
  });

  it('VSAE-Iso without the variance head: z = μ + ε, KL = ½ Σ μ² per row', () => {
    const p = tiny();
    const eps = [[0, 0, 0], [1, 0, 0]];
    const spec: ModelSpec = { ...base, arch: 'vsae-iso' };
    const t = terms(spec, p, eps);
    // row1: z = [1, 0, 0] → x̂ = [1.5, 0], err [1, 1] → 2;  recon = (2.25 + 2)/2
    expectAllClose([t.recon, t.sparsity], [(2.25 + 2) / 2, (0.5 * (1 + 4 + 2.25)) / 2], { rtol: 1e-6 });
    const s = terms({ ...spec, reduction: 'sum' }, p, eps);
    expectAllClose(s.sparsity, 0.5 * (1 + 4 + 2.25), { rtol: 1e-6 });
  });

  it('VSAE-Iso with the variance head: linear log σ² clamped to [−6, 2]; relu as the original', () => {
    const p = tiny(true);
    const eps = [[0, 0, 0], [0, 0, 0]];
    // lvPre = xc·W_enc_var + b_enc_var: row0 [0.5, 1, 3 − 40] = [0.5, 1, −37]; row1 [0, 1, 3 + 20] = [0, 1, 23]
    const kl = (lv: number[][], mu: number[][]) =>
      lv.reduce((a, row, r) => a + row.reduce((b, l, i) => b - 0.5 * (1 + l - mu[r]![i]! ** 2 - Math.exp(l)), 0), 0);
    const mu = [[1, 2, 1.5], [0, 0, 0]];
    const lin = [[0.5, 1, -6], [0, 1, 2]];
    const rel = [[0.5, 1, 0], [0, 1, 23]];
    const t = terms({ ...base, arch: 'vsae-iso', varFlag: 1 }, p, eps);
    expectAllClose(t.sparsity, kl(lin, mu) / 2, { rtol: 1e-6 });
    const r = terms({ ...base, arch: 'vsae-iso', varFlag: 1, varActivation: 'relu', reduction: 'sum' }, p, eps);
    expectAllClose(r.sparsity, kl(rel, mu), { rtol: 1e-6 });
  });

  it('VSAE-Mix: μ = 0 and log σ² = 0 give KL = ½ Σ μp² (per row)', () => {
    const spec: ModelSpec = { ...base, arch: 'vsae-mix', dIn: 4, dSae: 10, nCorrelatedPairs: 2, nAnticorrelatedPairs: 1, varFlag: 1 };
    const means = mixPriorMeans(spec);
    expect(Array.from(means)).toEqual([1, 1, 1, 1, 1, -1, 0, 0, 0, 0]);
    const zero: Params = {
      W_enc: tf.zeros([4, 10]),
      b_enc: tf.fill([10], -1), // ReLU(−1) = 0 → μ = 0
      W_dec: tf.zeros([10, 4]),
      b_dec: tf.zeros([4]),
      W_enc_var: tf.zeros([4, 10]),
      b_enc_var: tf.zeros([10]),
    };
    const kl = tidy(() => {
      const x = tf.ones([3, 4]) as tf.Tensor2D;
      const f = forward(spec, zero, x, tf.zeros([3, 10]) as tf.Tensor2D);
      return lossTerms(spec, buildPrior(spec), f, x, 1).sparsity.dataSync()[0]!;
    });
    expectAllClose(kl, 0.5 * 6, { rtol: 1e-6 });
    // The original averaged the Mix KL over the batch: --reduction sum keeps it a mean.
    const kls = tidy(() => {
      const s2 = { ...spec, reduction: 'sum' as const };
      const x = tf.ones([3, 4]) as tf.Tensor2D;
      return lossTerms(s2, buildPrior(s2), forward(s2, zero, x, tf.zeros([3, 10]) as tf.Tensor2D), x, 1).sparsity.dataSync()[0]!;
    });
    expectAllClose(kls, 3, { rtol: 1e-6 });
    tf.dispose(Object.values(zero));
  });

  it('VSAE-Multi with ρ = 0 equals VSAE-Iso exactly', () => {
    const rng = new Rng(5);
    const spec: ModelSpec = { ...base, dIn: 6, dSae: 12, varFlag: 1, arch: 'vsae-iso' };
    const p: Params = {
      W_enc: randomNormalTensor(rng, [6, 12]),
      b_enc: randomNormalTensor(rng, [12]),
      W_dec: randomNormalTensor(rng, [12, 6]),
      b_dec: randomNormalTensor(rng, [6]),
      W_enc_var: randomNormalTensor(rng, [6, 12], 0, 0.3),
      b_enc_var: randomNormalTensor(rng, [12], 0, 0.3),
    };
    const x = randomNormalTensor(rng, [5, 6]) as tf.Tensor2D;
    const eps = randomNormalTensor(rng, [5, 12]) as tf.Tensor2D;
    const kl = (s: ModelSpec) => tidy(() => lossTerms(s, buildPrior(s), forward(s, p, x, eps), x, 1).sparsity.dataSync()[0]!);
    const iso = kl(spec);
    expectAllClose(kl({ ...spec, arch: 'vsae-multi', corrRate: 0 }), iso, { rtol: 1e-6 });
    expectAllClose(kl({ ...spec, arch: 'vsae-multi' }), iso, { rtol: 1e-6 });
    tf.dispose([...Object.values(p), x, eps]);
  });
});

describe('VSAE-Multi closed forms', () => {
  for (const [d, rho] of [[7, 0.3], [7, -0.1], [12, 0.9], [30, -1 / 29 + 1e-3]] as const) {
    it(`equal the dense formula for d = ${d}, ρ = ${rho.toFixed(4)}`, () => {
      const dense = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) dense[i * d + j] = i === j ? 1 : rho;
      const m = matrixPrior(dense, d);
      const u = uniformPrior(rho, d);
      expectAllClose(u.logDet, m.logDet, { rtol: 1e-9, atol: 1e-9 });
      expectAllClose(new Float64Array(d).fill(u.pDiag), Float64Array.from(m.pDiag), { rtol: 1e-6 });
      // Full per-row KL through both code paths, with learned variances.
      const rng = new Rng(d);
      const spec: ModelSpec = { ...base, arch: 'vsae-multi', dIn: 4, dSae: d, varFlag: 1 };
      const p: Params = {
        W_enc: randomNormalTensor(rng, [4, d]),
        b_enc: randomNormalTensor(rng, [d]),
        W_dec: randomNormalTensor(rng, [d, 4]),
        b_dec: randomNormalTensor(rng, [4]),
        W_enc_var: randomNormalTensor(rng, [4, d], 0, 0.3),
        b_enc_var: randomNormalTensor(rng, [d], 0, 0.3),
      };
      const x = randomNormalTensor(rng, [6, 4]) as tf.Tensor2D;
      const eps = randomNormalTensor(rng, [6, d]) as tf.Tensor2D;
      for (const multiKl of ['per-row', 'batch-moments'] as const) {
        const s = { ...spec, multiKl };
        const viaClosed = tidy(() => lossTerms(s, u, forward(s, p, x, eps), x, 1).sparsity.dataSync()[0]!);
        const viaMatrix = tidy(() => lossTerms(s, m, forward(s, p, x, eps), x, 1).sparsity.dataSync()[0]!);
        expectAllClose(viaClosed, viaMatrix, { rtol: 2e-5, atol: 1e-5, what: multiKl });
      }
      tf.dispose([...Object.values(p), x, eps]);
    });
  }

  it('the float64 inverse of a general matrix is its inverse', () => {
    const rng = new Rng(3);
    const d = 9;
    const a = new Float64Array(d * d);
    const g = Array.from({ length: d * d }, () => rng.normal());
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let s = i === j ? 1 : 0;
      for (let k = 0; k < d; k++) s += 0.3 * g[i * d + k]! * g[j * d + k]!;
      a[i * d + j] = s;
    }
    const m = matrixPrior(a, d);
    const prod = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += a[i * d + k]! * m.P[k * d + j]!;
      prod[i * d + j] = s;
    }
    const eye = new Float64Array(d * d);
    for (let i = 0; i < d; i++) eye[i * d + i] = 1;
    expectAllClose(prod, eye, { rtol: 0, atol: 1e-5 }); // P is stored as float32
  });
});

describe('hand-written backward equals autodiff', () => {
  const cases: Array<[string, Partial<ModelSpec>]> = [
    ['sae', { arch: 'sae' }],
    ['sae sum', { arch: 'sae', reduction: 'sum' }],
    ['iso var0', { arch: 'vsae-iso' }],
    ['iso linear', { arch: 'vsae-iso', varFlag: 1 }],
    ['iso relu', { arch: 'vsae-iso', varFlag: 1, varActivation: 'relu' }],
    ['mix', { arch: 'vsae-mix', varFlag: 1, nCorrelatedPairs: 2, nAnticorrelatedPairs: 1 }],
    ['multi ρ 0.2', { arch: 'vsae-multi', varFlag: 1, corrRate: 0.2 }],
    ['multi moments', { arch: 'vsae-multi', varFlag: 1, corrRate: -0.05, multiKl: 'batch-moments' }],
  ];
  for (const [name, over] of cases) {
    it(name, () => {
      const spec: ModelSpec = { ...base, dIn: 5, dSae: 16, ...over };
      const rng = new Rng(17);
      const p: Params = {
        W_enc: randomNormalTensor(rng, [5, 16], 0, 0.5),
        b_enc: randomNormalTensor(rng, [16], 0, 0.3),
        W_dec: randomNormalTensor(rng, [16, 5], 0, 0.5),
        b_dec: randomNormalTensor(rng, [5], 0, 0.3),
      };
      if (spec.varFlag === 1) {
        p.W_enc_var = randomNormalTensor(rng, [5, 16], 0, 1.5);
        p.b_enc_var = randomNormalTensor(rng, [16], 0, 1);
      }
      const x = randomNormalTensor(rng, [7, 5]) as tf.Tensor2D;
      const eps = spec.arch === 'sae' ? undefined : (randomNormalTensor(rng, [7, 16]) as tf.Tensor2D);
      const prior = buildPrior(spec);
      const pt = priorTensors(prior);
      const names = Object.keys(p) as Array<keyof Params>;
      const auto = tf.grads((...ts: tf.Tensor[]) => {
        const q = Object.fromEntries(names.map((n, i) => [n, ts[i]!])) as unknown as Params;
        return lossTerms(spec, prior, forward(spec, q, x, eps), x, 0.7).loss;
      })(names.map((n) => p[n]!));
      const hand = tidy(() => lossAndGrads(spec, pt, p, x, eps, 0.7).grads);
      names.forEach((n, i) => expectAllClose(hand[n]!, auto[i]!, { rtol: 1e-4, atol: 1e-5, what: `d${n}` }));
      tf.dispose([...Object.values(p), x, ...(eps ? [eps] : []), ...auto, ...Object.values(hand)]);
      disposePriorTensors(pt);
    });
  }
});
