/**
 * The TopK family's training step (TopK, BatchTopK, vSAE-TopK with var_flag 0 and 1) against
 * two independent references:
 *  - tools/reference/topk_step.py (ours: autograd + torch.optim.Adam in float64 from the written
 *    math), two full steps through SaeEngine — weights, Adam moments, the rows-since-fired
 *    counters — and step 1's loss terms and clipped gradients;
 *  - ../shared/fixtures/topk-goldens (a transcription of the authors' trainers by someone else):
 *    one update, skipped with a notice where that folder is absent.
 * Tolerance: rtol 1e-5, atol 1e-7 after one step (float32 against float64); atol 1e-6 after two.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@vsae/compute';
import { expectAllClose } from '@vsae/compute/testing';
import { readSafetensors, type SafeTensors } from '@vsae/data';
import { tidy } from '../src/_tidy.js';
import { SaeEngine } from '../src/engine.js';
import { disposeParams, type Params } from '../src/model.js';
import { buildPrior } from '../src/prior.js';
import { clipGlobalNorm, firedLatents, projectTopkDecoder, topkForward, topkLossAndGrads, updateSinceFired } from '../src/topk-family.js';
import type { ModelSpec, ParamName, SaeParams } from '../src/types.js';
import { modelSpec } from './helpers.js';

const dir = fileURLToPath(new URL('./golden/topk/', import.meta.url));
const cases = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).map((f) => f.replace('.safetensors', ''));
const TOL = { rtol: 1e-5, atol: 1e-7 };
const TOL_STEP2 = { rtol: 1e-5, atol: 1e-6 };
const PARAMS: ParamName[] = ['W_enc', 'b_enc', 'W_dec', 'b_dec', 'W_enc_var', 'b_enc_var'];

interface Cfg {
  arch: string;
  k: number;
  aux_coeff: number;
  dead_tokens: number;
  grad_clip: number;
  lr: number;
  var_flag: 0 | 1;
  kl_coeff?: number;
  d_in: number;
  d_sae: number;
  batch: number;
  steps: number;
}

function specOf(cfg: Cfg): ModelSpec {
  return modelSpec({ arch: cfg.arch, dIn: cfg.d_in, dSae: cfg.d_sae, varFlag: cfg.var_flag, k: cfg.k, auxCoeff: cfg.aux_coeff, deadTokens: cfg.dead_tokens, gradClip: cfg.grad_clip });
}

const t = (st: SafeTensors, key: string) => {
  const { data, shape } = st.getFloat32(key);
  return tf.tensor(data, shape);
};

beforeAll(async () => {
  await initBackend('wasm');
});

describe('TopK family: training steps against the PyTorch reference (tools/reference/topk_step.py)', () => {
  it('has a golden for TopK, BatchTopK and vSAE-TopK with both var flags', () => {
    expect(cases.sort()).toEqual(['batchtopk', 'topk', 'topk_noclip', 'vsae_topk_var0', 'vsae_topk_var1']);
  });

  for (const name of cases) {
    it(`${name}: loss terms and clipped gradients of step 1; weights, Adam moments and counters after steps 1 and 2`, async () => {
      const st = readSafetensors(`${dir}${name}.safetensors`);
      const cfg = JSON.parse(st.metadata.config!) as Cfg;
      const spec = specOf(cfg);
      const names = PARAMS.filter((n) => st.tensors.has(`init.${n}`));
      const init = Object.fromEntries(names.map((n) => [n, st.getFloat32(`init.${n}`).data])) as unknown as SaeParams<Float32Array>;
      const since0 = st.getFloat32('since0').data;
      const eps = (s: number) => (cfg.var_flag === 1 ? (t(st, `eps.${s}`) as tf.Tensor2D) : undefined);

      // Step 1's terms and clipped gradients, from the family's functions.
      const p0 = Object.fromEntries(names.map((n) => [n, t(st, `init.${n}`)])) as unknown as Params;
      const step1 = tidy(() => {
        const x = t(st, 'x.0') as tf.Tensor2D;
        const f = topkForward(spec, p0, x, eps(0));
        const since = updateSinceFired(tf.tensor1d(since0), firedLatents(spec, f), cfg.batch);
        const dead = tf.cast(tf.greaterEqual(since, cfg.dead_tokens), 'float32') as tf.Tensor1D;
        const nDead = Array.from(dead.dataSync()).filter((v) => v > 0).length;
        const r = topkLossAndGrads(spec, p0, x, f, cfg.kl_coeff ?? 0, dead, nDead);
        const c = clipGlobalNorm(projectTopkDecoder(spec, p0, r.grads), cfg.grad_clip);
        return { terms: tf.stack([r.loss, r.recon, r.kl, r.auxk, c.norm]), grads: c.grads };
      });
      const terms = Array.from(step1.terms.dataSync());
      const want = ['loss', 'recon', 'kl', 'auxk', 'grad_norm'].map((k) => st.getFloat32(`step1.${k}`).data[0]!);
      expectAllClose(Float32Array.from(terms), Float32Array.from(want), { ...TOL, what: 'step 1 [loss, recon, kl, auxk, grad norm]' });
      for (const n of names) expectAllClose(step1.grads[n]!.dataSync(), st.getFloat32(`step1.grad.${n}`).data, { ...TOL, what: `step 1 clipped gradient of ${n}` });
      tf.dispose([step1.terms, ...Object.values(step1.grads)]);
      disposeParams(p0);

      // Two steps through the engine the trainer uses.
      const params = Object.fromEntries(names.map((n) => [n, t(st, `init.${n}`)])) as unknown as Params;
      const zeros = Object.fromEntries(names.map((n) => [n, new Float32Array(init[n]!.length)])) as unknown as SaeParams<Float32Array>;
      const engine = new SaeEngine(spec, buildPrior(spec), { params, state: { m: zeros, v: zeros, t: 0, sinceFired: since0 } });
      for (let s = 0; s < cfg.steps; s++) {
        const x = t(st, `x.${s}`) as tf.Tensor2D;
        const e = eps(s);
        const m = await engine.step(x, { eps: e, lr: cfg.lr, coeff: cfg.kl_coeff ?? 0, stepIndex: s, metrics: true, deadWindow: 1 });
        m?.dispose();
        tf.dispose([x, ...(e ? [e] : [])]);
        const state = await engine.exportState();
        const tag = `step${s + 1}`;
        const tol = s === 0 ? TOL : TOL_STEP2;
        for (const n of names) {
          expectAllClose(state.params[n]!, st.getFloat32(`${tag}.${n}`).data, { ...tol, what: `${n} after ${tag}` });
          expectAllClose(state.m[n]!, st.getFloat32(`${tag}.m.${n}`).data, { ...tol, what: `Adam m of ${n} after ${tag}` });
          expectAllClose(state.v[n]!, st.getFloat32(`${tag}.v.${n}`).data, { ...tol, what: `Adam v of ${n} after ${tag}` });
        }
        expectAllClose(state.sinceFired, st.getFloat32(`${tag}.since`).data, { rtol: 0, atol: 0, what: `rows since fired after ${tag}` });
      }
      engine.dispose();
    });
  }
});

/** The independent goldens: nn.Linear layout (W_e [F, D], W_d [D, F]) transposed to vsae's. */
const shared = fileURLToPath(new URL('../../../../shared/fixtures/topk-goldens/golden_topk.json', import.meta.url));
const haveShared = fs.existsSync(shared);
if (!haveShared) console.log(`topk-golden: ${shared} is absent; the cross-check against the independent goldens is skipped`);

describe.runIf(haveShared)('TopK family: cross-check against the independent goldens of the authors\' trainers', () => {
  const g = haveShared ? (JSON.parse(fs.readFileSync(shared, 'utf8')) as Record<string, Record<string, unknown>>) : {};
  const T2 = (a: number[][]): Float32Array => {
    const r = a.length, c = a[0]!.length;
    const out = new Float32Array(r * c);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i]![j]!;
    return out;
  };
  const flat = (a: number[] | number[][]): Float32Array => Float32Array.from((a as number[]).flat ? (a as number[][]).flat() : (a as number[]));
  for (const name of ['topk', 'vsae_topk_var0', 'vsae_topk_var1']) {
    it(`${name}: loss terms, clipped gradients and weights after one update`, async () => {
      const c = g[name] as { dims: { D: number; F: number; k: number; B: number }; dead_threshold_tokens: number; auxk_alpha: number; lr_eff: number; kl_coeff?: number; inputs: Record<string, number[][] | number[] | null>; outputs: Record<string, unknown> };
      const { D, F, k, B } = c.dims;
      const vsae = name !== 'topk';
      const varFlag = name === 'vsae_topk_var1' ? 1 : 0;
      const spec = modelSpec({ arch: vsae ? 'vsae-topk' : 'topk', dIn: D, dSae: F, varFlag, k, auxCoeff: c.auxk_alpha, deadTokens: c.dead_threshold_tokens, gradClip: 1 });
      const inp = c.inputs;
      const host: SaeParams<Float32Array> = {
        W_enc: T2(inp.W_e as number[][]),
        b_enc: flat(inp.b_e as number[]),
        W_dec: T2(inp.W_d as number[][]),
        b_dec: flat((inp.b_dec ?? inp.b_d) as number[]),
      };
      if (varFlag) {
        host.W_enc_var = T2(inp.W_v as number[][]);
        host.b_enc_var = flat(inp.b_v as number[]);
      }
      const names = PARAMS.filter((n) => host[n] !== undefined);
      const goldName: Record<string, string> = { W_enc: 'W_e', b_enc: 'b_e', W_dec: 'W_d', b_dec: vsae ? 'b_d' : 'b_dec', W_enc_var: 'W_v', b_enc_var: 'b_v' };
      const out = c.outputs as { grads_after_clip: Record<string, number[][] | number[]>; params_after: Record<string, number[][] | number[]>; num_tokens_since_fired_after: number[] } & Record<string, number>;
      const asOurs = (n: ParamName, v: number[][] | number[]) => (n === 'W_enc' || n === 'W_dec' || n === 'W_enc_var' ? T2(v as number[][]) : flat(v as number[]));

      const x = tf.tensor2d(flat(inp.x as number[][]), [B, D]);
      const e = varFlag ? tf.tensor2d(flat(inp.eps as number[][]), [B, F]) : undefined;
      const p = Object.fromEntries(names.map((n) => [n, tf.tensor(host[n]!, n.startsWith('W_') ? (n === 'W_dec' ? [F, D] : [D, F]) : [host[n]!.length])])) as unknown as Params;
      const since0 = flat(inp.num_tokens_since_fired_before as number[]);
      const r = tidy(() => {
        const f = topkForward(spec, p, x, e);
        const since = updateSinceFired(tf.tensor1d(since0), firedLatents(spec, f), B);
        const dead = tf.cast(tf.greaterEqual(since, c.dead_threshold_tokens), 'float32') as tf.Tensor1D;
        const nDead = Array.from(dead.dataSync()).filter((v) => v > 0).length;
        const l = topkLossAndGrads(spec, p, x, f, c.kl_coeff ?? 0, dead, nDead);
        const cl = clipGlobalNorm(projectTopkDecoder(spec, p, l.grads), 1);
        return { since, terms: tf.stack([l.loss, l.auxk, l.auxDenom, cl.norm]), grads: cl.grads };
      });
      expectAllClose(r.since.dataSync(), flat(out.num_tokens_since_fired_after), { rtol: 0, atol: 0, what: 'rows since fired' });
      expectAllClose(r.terms.dataSync(), Float32Array.from([out.loss, out.auxk_normalized, out.auxk_denom, out.grad_total_norm_before_clip]), { ...TOL, what: '[loss, AuxK, AuxK denominator, gradient norm]' });
      for (const n of names) expectAllClose(r.grads[n]!.dataSync(), asOurs(n, out.grads_after_clip[goldName[n]!]!), { ...TOL, what: `clipped gradient of ${n}` });
      tf.dispose([r.since, r.terms, ...Object.values(r.grads)]);

      const engine = new SaeEngine(spec, buildPrior(spec), {
        params: p,
        state: { m: Object.fromEntries(names.map((n) => [n, new Float32Array(host[n]!.length)])) as unknown as SaeParams<Float32Array>, v: Object.fromEntries(names.map((n) => [n, new Float32Array(host[n]!.length)])) as unknown as SaeParams<Float32Array>, t: 0, sinceFired: since0 },
      });
      (await engine.step(x, { eps: e, lr: c.lr_eff, coeff: c.kl_coeff ?? 0, stepIndex: 0, metrics: false, deadWindow: 1 }))?.dispose();
      const state = await engine.exportState();
      for (const n of names) expectAllClose(state.params[n]!, asOurs(n, out.params_after[goldName[n]!]!), { ...TOL, what: `${n} after one update` });
      engine.dispose();
      tf.dispose([x, ...(e ? [e] : [])]);
    });
  }
});
