import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '@vsae/compute';
import { expectAllClose } from '@vsae/compute/testing';
import { openDataset, readSafetensors } from '@vsae/data';
import { extract } from '@vsae/extract';
import { loadSae, train } from '@vsae/sae';
import { loadModel } from '@vsae/transformer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, loadLanguageModel, modelScores, type AnalysisSummary } from '../src/index.js';
import { table, tmpDir } from './helpers.js';

// A real (tiny, random) GPT-2 from the transformer package's fixtures, real activations of a
// State of the Union text, a real short SAE run; then the --model metrics are checked against
// the model itself (CE with and without splices) and a float64 W_dec · W_U.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const modelDir = path.join(root, 'packages/transformer/test/fixtures/gpt2-tiny');
const text = path.join(root, 'datasets/sotu-1790-1809.txt');
const tmp = tmpDir();
const HOOK = 'blocks.1.hook_resid_post';
const MLP = 'blocks.0.mlp.hook_post';
const data = path.join(tmp, 'resid.arrow');
const run = path.join(tmp, 'run');
let s: AnalysisSummary;

interface Rows { seq: number[]; pos: number[]; token: number[] }
async function readRows(file: string): Promise<Rows> {
  const ds = await openDataset(file);
  const r: Rows = { seq: [], pos: [], token: [] };
  for await (const b of ds.batches({ columns: ['seq', 'pos', 'token'] })) {
    for (let i = 0; i < b.numRows; i++) {
      r.seq.push(Number(b.seq![i]));
      r.pos.push(b.pos![i]!);
      r.token.push(b.token![i]!);
    }
  }
  await ds.close();
  return r;
}

beforeAll(async () => {
  for (const [hook, out] of [[HOOK, data], [MLP, path.join(tmp, 'mlp.arrow')]] as const) {
    await extract({ model: modelDir, hooks: [hook], text, context: 16, prependBos: true, maxTokens: 2048, out, quiet: true });
  }
  await train({ input: data, out: run, arch: 'sae', dictMult: 4, steps: 200, batchSize: 128, lr: 3e-3, quiet: true, handleSignals: false });
  await train({ input: path.join(tmp, 'mlp.arrow'), out: path.join(tmp, 'run-mlp'), arch: 'sae', dictMult: 1, steps: 50, batchSize: 128, lr: 3e-3, quiet: true, handleSignals: false });
  s = (await analyze({ run, input: data, model: modelDir, ceWindows: 8, quiet: true, umapEpochs: 30 })).summary;
}, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The first 8 full windows of the dataset (16 tokens each: BOS + 15 text tokens), in dataset order. */
async function firstWindows(): Promise<number[][]> {
  const rows = await readRows(data);
  const windows: number[][] = [];
  for (let i = 0; i < rows.seq.length && windows.length < 8; i++) {
    if (rows.pos[i] !== 0) continue;
    const w = rows.token.slice(i, i + 16);
    if (rows.seq.slice(i, i + 16).every((q) => q === rows.seq[i]) && w.length === 16) windows.push(w);
  }
  return windows;
}

describe('with --model on a language-model run', () => {
  it('CE loss: original, SAE spliced in, zero-ablated, and recovered, equal to the model\'s own ceLoss on the same windows', async () => {
    const windows = await firstWindows();
    const { model } = await loadModel(modelDir);
    const sae = await loadSae(run);
    const ids = Int32Array.from(windows.flat());
    const shape = [windows.length, 16] as const;
    const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
    const orig = mean(await model.ceLoss(ids, { shape }));
    const zero = mean(await model.ceLoss(ids, { shape, splice: { [HOOK]: (a) => tf.zerosLike(a) } }));
    const withSae = mean(await model.ceLoss(ids, { shape, splice: { [HOOK]: (a) => tf.reshape(sae.forward(tf.reshape(a, [-1, sae.dIn]) as tf.Tensor2D).recon, a.shape) } }));
    model.dispose();
    sae.dispose();
    expectAllClose([s.ce_loss_orig!, s.ce_loss_zero!, s.ce_loss_sae!], [orig, zero, withSae], { rtol: 1e-5 });
    expect(s.ce_loss_recovered).toBeCloseTo((s.ce_loss_zero! - s.ce_loss_sae!) / (s.ce_loss_zero! - s.ce_loss_orig!), 12);
    expectAllClose(s.ce_loss_recovered!, (zero - withSae) / (zero - orig), { rtol: 1e-5 });
    expect(s.parameters.ce).toMatchObject({ windows: 8, tokens_per_window: 16, hook: HOOK });
  });

  it('KL scores: KL(clean ‖ patched) of the next-token distributions, by hand in float64 on the model\'s logits; ce_loss_score is ce_loss_recovered', async () => {
    const windows = await firstWindows();
    const { model } = await loadModel(modelDir);
    const sae = await loadSae(run);
    const ids = Int32Array.from(windows.flat());
    const shape = [windows.length, 16] as const;
    const logits = (splice: Record<string, (a: tf.Tensor) => tf.Tensor>): Float32Array => {
      const r = model.run(ids, { shape, logits: true, splice });
      const v = r.logits!.dataSync() as Float32Array;
      r.logits!.dispose();
      return v;
    };
    const clean = logits({});
    const withSae = logits({ [HOOK]: (a) => tf.reshape(sae.forward(tf.reshape(a, [-1, sae.dIn]) as tf.Tensor2D).recon, a.shape) });
    const zero = logits({ [HOOK]: (a) => tf.zerosLike(a) });
    const V = clean.length / ids.length;
    model.dispose();
    sae.dispose();
    const logSoftmax = (l: Float32Array, at: number): Float64Array => {
      let m = -Infinity;
      for (let v = 0; v < V; v++) m = Math.max(m, l[at + v]!);
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(l[at + v]! - m);
      return Float64Array.from({ length: V }, (_, v) => l[at + v]! - m - Math.log(z));
    };
    const meanKl = (patched: Float32Array): number => {
      let s2 = 0;
      for (let t = 0; t < ids.length; t++) {
        const p = logSoftmax(clean, t * V);
        const q = logSoftmax(patched, t * V);
        for (let v = 0; v < V; v++) s2 += Math.exp(p[v]!) * (p[v]! - q[v]!);
      }
      return s2 / ids.length;
    };
    const klSae = meanKl(withSae);
    const klZero = meanKl(zero);
    expect(klZero).toBeGreaterThan(klSae);
    expectAllClose([s.kl_div_with_sae!, s.kl_div_with_ablation!], [klSae, klZero], { rtol: 1e-4, atol: 1e-7 });
    expectAllClose(s.kl_div_score!, (klZero - klSae) / klZero, { rtol: 1e-4 });
    expect(s.ce_loss_score).toBe(s.ce_loss_recovered);
  });

  it('modelScores leaves no tensor behind, and gives the same figures in one batch or several', async () => {
    const lm = loadLanguageModel(modelDir);
    const sae = await loadSae(run);
    const rows = await readRows(data);
    const start = rows.pos.indexOf(0);
    const tokens = Int32Array.from(rows.token.slice(start, start + 16 * 3));
    await modelScores(lm, sae, HOOK, tokens, 3, 16, 4); // the model caches a few tensors (mask, W_U) on its first run
    const before = tf.memory().numTensors;
    const one = await modelScores(lm, sae, HOOK, tokens, 3, 16, 1);
    const all = await modelScores(lm, sae, HOOK, tokens, 3, 16, 4);
    expect(tf.memory().numTensors).toBe(before);
    lm.model.dispose();
    sae.dispose();
    expectAllClose([one.ce_loss_sae, one.kl_div_with_sae, one.kl_div_with_ablation], [all.ce_loss_sae, all.kl_div_with_sae, all.kl_div_with_ablation], { rtol: 1e-5 });
  });

  it('logits.arrow: each latent\'s top and bottom 10 tokens of W_dec · W_U (float64 reference), with their text', async () => {
    const st = readSafetensors(path.join(modelDir, 'model.safetensors'));
    const wte = st.getFloat32('transformer.wte.weight'); // [V, d]: GPT-2 ties W_U to it
    const [V, d] = wte.shape as [number, number];
    const wDec = readSafetensors(path.join(run, 'sae_weights.safetensors')).getFloat32('W_dec').data;
    const t = table(path.join(run, 'analysis'), 'logits.arrow');
    const rows = t.rows();
    const { tokenizer } = await loadModel(modelDir);
    for (const j of [0, 7, 63]) {
      const l = Array.from({ length: V }, (_, v) => {
        let x = 0;
        for (let k = 0; k < d; k++) x += wDec[j * d + k]! * wte.data[v * d + k]!;
        return { v, x };
      }).sort((a, b) => b.x - a.x);
      for (const [kind, want] of [['top', l.slice(0, 10)], ['bottom', l.slice(-10).reverse()]] as const) {
        const got = rows.filter((r) => r.latent === j && r.kind === kind).sort((a, b) => (a.rank as number) - (b.rank as number));
        expect(got.map((r) => r.token)).toEqual(want.map((w) => w.v));
        expectAllClose(got.map((r) => r.value as number), want.map((w) => w.x), { rtol: 1e-4, atol: 1e-6, what: `latent ${j} ${kind}` });
        expect(got.map((r) => r.token_str)).toEqual(want.map((w) => tokenizer!.decode([w.v])));
      }
    }
  });

  it('top examples carry decoded token context from the example\'s own sequence, and this latent\'s activation on each token', async () => {
    const rows = await readRows(data);
    const { tokenizer } = await loadModel(modelDir);
    const t = table(path.join(run, 'analysis'), 'top_examples.arrow');
    expect(t.fields.map((f) => f.name)).toEqual(['latent', 'kind', 'rank', 'quantile', 'row', 'activation', 'seq', 'pos', 'token', 'context_tokens', 'context_acts', 'context_index']);
    const ex = t.rows();
    expect(ex.length).toBeGreaterThan(100);
    for (const e of ex) {
      const row = e.row as number;
      const ci = e.context_index as number;
      const toks = e.context_tokens as string[];
      const acts = e.context_acts as number[];
      expect(e.seq).toBe(rows.seq[row]);
      expect(e.pos).toBe(rows.pos[row]);
      expect(e.token).toBe(rows.token[row]);
      expect(acts[ci]).toBe(e.activation);
      const first = row - ci;
      const want: string[] = [];
      for (let r = first; r < first + toks.length; r++) {
        expect(rows.seq[r]).toBe(rows.seq[row]);
        want.push(tokenizer!.decode([rows.token[r]!]));
      }
      expect(toks).toEqual(want);
      // The window is ±8 tokens, cut only at the sequence's ends.
      expect(ci).toBe(Math.min(8, rows.pos[row]!));
      expect(toks.length - ci - 1).toBe(Math.min(8, 15 - rows.pos[row]!));
    }
  });

  it('an MLP hook_post run reaches the logits through W_out', async () => {
    const runMlp = path.join(tmp, 'run-mlp');
    await analyze({ run: runMlp, input: path.join(tmp, 'mlp.arrow'), model: modelDir, quiet: true, analyses: ['neuron-activations'], nSamples: 500 });
    const st = readSafetensors(path.join(modelDir, 'model.safetensors'));
    const wOut = st.getFloat32('transformer.h.0.mlp.c_proj.weight'); // [d_mlp, d] (Conv1D layout)
    const wte = st.getFloat32('transformer.wte.weight');
    const [V, d] = wte.shape as [number, number];
    const dMlp = wOut.shape[0]!;
    const wDec = readSafetensors(path.join(runMlp, 'sae_weights.safetensors')).getFloat32('W_dec').data;
    const j = 3;
    const dir = Array.from({ length: d }, (_, m) => {
      let x = 0;
      for (let k = 0; k < dMlp; k++) x += wDec[j * dMlp + k]! * wOut.data[k * d + m]!;
      return x;
    });
    const l = Array.from({ length: V }, (_, v) => dir.reduce((x, dm, m) => x + dm * wte.data[v * d + m]!, 0));
    const best = [...l.keys()].sort((a, b) => l[b]! - l[a]!).slice(0, 10);
    const rows = table(path.join(runMlp, 'analysis'), 'logits.arrow').rows().filter((r) => r.latent === j && r.kind === 'top');
    expect(rows.map((r) => r.token)).toEqual(best);
    expectAllClose(rows.map((r) => r.value as number), best.map((v) => l[v]!), { rtol: 1e-4, atol: 1e-6 });
  });
});
