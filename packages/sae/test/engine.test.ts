/**
 * The device-side training state: unit-norm decoder rows after every step, no tensor leaked per
 * step, dead-latent tracking and resampling as docs/math.md describes them ("Training schedule, dead latents and resampling").
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, initBackend, randomNormalTensor, tf } from '@vsae/compute';
import { expectAllClose } from '@vsae/compute/testing';
import { SaeEngine } from '../src/engine.js';
import { initParams, paramsToTensors } from '../src/model.js';
import { buildPrior } from '../src/prior.js';
import { modelSpec } from './helpers.js';

const spec = modelSpec;

beforeAll(async () => {
  await initBackend('wasm');
});

describe('SaeEngine', () => {
  for (const arch of ['sae', 'vsae-mix'] as const) {
    it(`${arch}: decoder rows have unit norm after every step, and no tensor is leaked per step`, async () => {
      const s = spec({ arch, varFlag: arch === 'sae' ? 0 : 1, nCorrelatedPairs: 2 });
      const rng = new Rng(4);
      const e = new SaeEngine(s, buildPrior(s), { params: paramsToTensors(s, initParams(s, rng)) });
      let live = -1;
      for (let step = 0; step < 6; step++) {
        const x = randomNormalTensor(rng, [32, 6], 0, 2) as tf.Tensor2D;
        const eps = arch === 'sae' ? undefined : (randomNormalTensor(rng, [32, 24]) as tf.Tensor2D);
        const m = await e.step(x, { eps, lr: 0.05, coeff: 0.1, stepIndex: step, metrics: step % 2 === 0, deadWindow: 400 });
        m?.dispose();
        x.dispose();
        eps?.dispose();
        const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(e.params.W_dec), 1)).dataSync());
        expectAllClose(norms, new Float32Array(24).fill(1), { rtol: 0, atol: 2e-6, what: `row norms after step ${step + 1}` });
        if (step >= 1) {
          if (live < 0) live = tf.memory().numTensors;
          expect(tf.memory().numTensors, `live tensors after step ${step + 1}`).toBe(live);
        }
      }
      e.dispose();
    });
  }

  it('tracks dead latents over a window and resamples them from the worst-reconstructed rows', async () => {
    const s = spec();
    const rng = new Rng(9);
    const host = initParams(s, rng);
    // Latents 0..4 can never fire: a very negative encoder bias.
    for (let j = 0; j < 5; j++) host.b_enc[j] = -1e6;
    const e = new SaeEngine(s, buildPrior(s), { params: paramsToTensors(s, host) });
    const xs: tf.Tensor2D[] = [];
    for (let step = 0; step < 3; step++) {
      const x = randomNormalTensor(rng, [20, 6]) as tf.Tensor2D;
      xs.push(x);
      await e.step(x, { lr: 0, coeff: 0, stepIndex: step, metrics: false, deadWindow: 3 }); // lr 0: weights unchanged
    }
    expect(await e.deadLatents(4)).toEqual([]); // only 3 steps without firing
    const dead = await e.deadLatents(3);
    expect(dead.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
    // Expected new columns, computed here from the same batch in plain JS.
    const x = xs[2]!;
    const W = (await e.params.W_enc.data()).slice() as Float32Array;
    const bEnc = await e.params.b_enc.data();
    const Wd = await e.params.W_dec.data();
    const bDec = await e.params.b_dec.data();
    const xd = await x.data();
    const B = 20, D = 6, S = 24;
    const loss: number[] = [];
    const xc: number[][] = [];
    for (let r = 0; r < B; r++) {
      const c = Array.from({ length: D }, (_, k) => xd[r * D + k]! - bDec[k]!);
      xc.push(c);
      const f = Array.from({ length: S }, (_, j) => Math.max(0, c.reduce((a, v, k) => a + v * W[k * S + j]!, bEnc[j]!)));
      let l = 0;
      for (let k = 0; k < D; k++) l += (f.reduce((a, v, j) => a + v * Wd[j * D + k]!, bDec[k]!) - xd[r * D + k]!) ** 2;
      loss.push(l);
    }
    const order = loss.map((l, i) => [l, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => i);
    const colNorm = (j: number) => Math.sqrt(Array.from({ length: D }, (_, k) => W[k * S + j]! ** 2).reduce((a, b) => a + b, 0));
    const alive = Array.from({ length: S }, (_, j) => j).filter((j) => !dead.includes(j));
    const target = (0.2 * alive.reduce((a, j) => a + colNorm(j), 0)) / alive.length;
    expect(await e.resample(x, dead)).toBe(dead.length);
    const W2 = await e.params.W_enc.data();
    const b2 = await e.params.b_enc.data();
    dead.forEach((j, k) => {
      const c = xc[order[k % B]!]!;
      const n = Math.hypot(...c);
      expectAllClose(Array.from({ length: D }, (_, r) => W2[r * S + j]!), c.map((v) => (v / n) * target), { rtol: 1e-5, atol: 1e-7, what: `column ${j}` });
      expect(b2[j]).toBe(0);
    });
    for (const j of alive) {
      expectAllClose(Array.from({ length: D }, (_, r) => W2[r * S + j]!), Array.from({ length: D }, (_, r) => W[r * S + j]!), { rtol: 0, atol: 0 });
      expect(b2[j]).toBe(bEnc[j]);
    }
    tf.dispose(xs);
    e.dispose();
  });
});
