/**
 * One and three full training steps (forward, loss, hand-written gradients, decoder-gradient
 * projection, Adam, unit-norm rows) against the independent PyTorch reference written by
 * tools/reference/sae_step.py (autograd + torch.optim.Adam in float64). Tolerance after one
 * step: rtol 1e-5, atol 1e-7, elementwise on every parameter and Adam moment (float32
 * against float64: what one step's rounding leaves).
 * After three steps float32 rounding has compounded (the gradients of steps 2 and 3 are taken at
 * weights that already differ by ~1e-7 relative), and first-moment elements near zero — sums
 * that cancel — differ by up to ~2e-7: atol 1e-6 there, rtol unchanged.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@vsae/compute';
import { expectAllClose } from '@vsae/compute/testing';
import { readSafetensors, type SafeTensors } from '@vsae/data';
import { buildPrior, matrixPrior, type Prior } from '../src/prior.js';
import { disposeParams, type Params } from '../src/model.js';
import { adamUpdate, disposePriorTensors, lossAndGrads, priorTensors, zeroMoments, type AdamMoments } from '../src/step.js';
import type { ModelSpec, ParamName } from '../src/types.js';
import { tidy } from '../src/_tidy.js';

const dir = fileURLToPath(new URL('./golden/', import.meta.url));
const cases = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).map((f) => f.replace('.safetensors', ''));
const TOL = { rtol: 1e-5, atol: 1e-7 };
const TOL_STEP3 = { rtol: 1e-5, atol: 1e-6 };

interface GoldenCfg {
  arch: ModelSpec['arch'];
  coeff: number;
  lr: number;
  var_flag: 0 | 1;
  var_activation: 'linear' | 'relu';
  reduction: 'mean' | 'sum';
  n_correlated_pairs: number;
  n_anticorrelated_pairs: number;
  corr_rate: number | null;
  corr_matrix: boolean;
  multi_kl: 'per-row' | 'batch-moments';
  decode?: 'z' | 'mu';
  d_in: number;
  d_sae: number;
  batch: number;
  steps: number;
}

function load(name: string): { st: SafeTensors; cfg: GoldenCfg; spec: ModelSpec; prior: Prior } {
  const st = readSafetensors(`${dir}${name}.safetensors`);
  const cfg = JSON.parse(st.metadata.config!) as GoldenCfg;
  const spec: ModelSpec = {
    arch: cfg.arch,
    dIn: cfg.d_in,
    dSae: cfg.d_sae,
    varFlag: cfg.var_flag,
    varActivation: cfg.var_activation,
    reduction: cfg.reduction,
    nCorrelatedPairs: cfg.n_correlated_pairs,
    nAnticorrelatedPairs: cfg.n_anticorrelated_pairs,
    priorMean: 1,
    corrRate: cfg.corr_rate ?? undefined,
    multiKl: cfg.multi_kl,
    decode: cfg.decode ?? 'z',
  };
  const prior = cfg.corr_matrix ? matrixPrior(Float64Array.from(st.getFloat32('corr').data), cfg.d_sae) : buildPrior(spec);
  return { st, cfg, spec, prior };
}

function tensorOf(st: SafeTensors, key: string): tf.Tensor {
  const { data, shape } = st.getFloat32(key);
  return tf.tensor(data, shape);
}

function paramNames(st: SafeTensors): ParamName[] {
  return (['W_enc', 'b_enc', 'W_dec', 'b_dec', 'W_enc_var', 'b_enc_var'] as ParamName[]).filter((n) => st.tensors.has(`init.${n}`));
}

/** Runs `steps` steps from the golden's initial weights; returns the state after step 1 and after the last. */
function run(name: string) {
  const { st, cfg, spec, prior } = load(name);
  const pt = priorTensors(prior);
  const names = paramNames(st);
  let params = Object.fromEntries(names.map((n) => [n, tensorOf(st, `init.${n}`)])) as unknown as Params;
  let mom: AdamMoments = zeroMoments(params);
  const snapshots: Record<string, Record<string, Float32Array>> = {};
  let terms: number[] = [];
  for (let k = 0; k < cfg.steps; k++) {
    const next = tidy(() => {
      const x = tensorOf(st, `x.${k}`) as tf.Tensor2D;
      const eps = st.tensors.has(`eps.${k}`) ? (tensorOf(st, `eps.${k}`) as tf.Tensor2D) : undefined;
      const r = lossAndGrads(spec, pt, params, x, eps, cfg.coeff);
      const u = adamUpdate(params, r.grads, mom, cfg.lr);
      return { u, terms: tf.stack([r.loss, r.recon, r.sparsity]) };
    });
    if (k === 0) terms = Array.from(next.terms.dataSync());
    next.terms.dispose();
    disposeParams(params);
    disposeParams(mom.m);
    disposeParams(mom.v);
    params = next.u.params;
    mom = { m: next.u.m, v: next.u.v, t: mom.t + 1 };
    if (k === 0 || k === cfg.steps - 1) {
      const tag = k === 0 ? 'step1' : `step${cfg.steps}`;
      const snap: Record<string, Float32Array> = {};
      for (const n of names) {
        snap[`${tag}.${n}`] = params[n]!.dataSync() as Float32Array;
        snap[`${tag}.m.${n}`] = mom.m[n]!.dataSync() as Float32Array;
        snap[`${tag}.v.${n}`] = mom.v[n]!.dataSync() as Float32Array;
      }
      snapshots[tag] = snap;
    }
  }
  disposeParams(params);
  disposeParams(mom.m);
  disposeParams(mom.v);
  disposePriorTensors(pt);
  return { st, cfg, names, snapshots, terms };
}

describe('training step against the PyTorch reference', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('has golden files for every architecture', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  for (const name of cases) {
    it(`${name}: loss terms, weights and Adam moments after 1 and 3 steps`, () => {
      const { st, cfg, names, snapshots, terms } = run(name);
      const [loss, recon, sparsity] = terms;
      expectAllClose([loss!, recon!, sparsity!], [
        st.getFloat32('step1.loss').data[0]!,
        st.getFloat32('step1.recon').data[0]!,
        st.getFloat32('step1.sparsity').data[0]!,
      ], { ...TOL, what: `${name} loss/recon/sparsity` });
      for (const tag of ['step1', `step${cfg.steps}`]) {
        for (const n of names) {
          for (const key of [`${tag}.${n}`, `${tag}.m.${n}`, `${tag}.v.${n}`]) {
            const ref = st.getFloat32(key);
            expectAllClose({ data: snapshots[tag]![key]!, shape: ref.shape }, ref, { ...(tag === 'step1' ? TOL : TOL_STEP3), what: `${name} ${key}` });
          }
        }
      }
    });
  }
});
