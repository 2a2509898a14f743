import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@vsae/compute';
import { expectAllClose } from '@vsae/compute/testing';
import { readSafetensors } from '@vsae/data';
import type { SafeTensors } from '@vsae/data';
import { loadModel } from '../src/index.js';
import type { AttentionMode, LoadedModel } from '../src/index.js';

const FIX = path.join(import.meta.dirname, 'fixtures');
/** Every hook and the logits within 1e-4 absolute of the PyTorch reference (float64): float32 math cannot match it exactly. */
const ATOL = 1e-4;

/** Compares a tensor that may hold −∞ (masked attention scores): same infinities, finite parts close. */
function expectCloseWithInf(actual: tf.Tensor, expected: { data: Float32Array; shape: number[] }, what: string): void {
  expect(actual.shape, what).toEqual(expected.shape);
  const a = actual.dataSync();
  const fa = new Float32Array(a.length);
  const fe = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const e = expected.data[i]!;
    if (!Number.isFinite(e)) {
      expect(a[i], `${what}[${i}]`).toBe(e);
    } else {
      fa[i] = a[i]!;
      fe[i] = e;
    }
  }
  expectAllClose(fa, fe, { atol: ATOL, rtol: 0, what });
}

for (const [name, dir] of [['GPT-2 (Hugging Face safetensors)', 'gpt2-tiny'], ['GELU-1L (TransformerLens torch.save)', 'gelu1l-tiny']] as const) {
  for (const attention of ['per-head', 'batched'] as AttentionMode[]) {
    describe(`${name}, ${attention} attention`, () => {
      let m: LoadedModel;
      let golden: SafeTensors;
      let tokens: Int32Array;
      let shape: [number, number];
      beforeAll(async () => {
        await initBackend(process.env.VSAE_BACKEND ?? 'wasm');
        m = await loadModel(path.join(FIX, dir), { attention });
        golden = readSafetensors(path.join(FIX, `${dir}.golden.safetensors`));
        const t = golden.tensors.get('tokens')!;
        tokens = new Int32Array(t.bytes.slice().buffer);
        shape = [t.shape[0]!, t.shape[1]!];
      });
      afterAll(() => m.model.dispose());

      it('gives every hook within 1e-4 of the reference, in TransformerLens shapes', () => {
        const hooks = m.model.hooks;
        const { captures, logits } = m.model.run(tokens, { shape, capture: hooks, logits: true });
        expect([...captures.keys()].sort()).toEqual([...hooks].sort());
        for (const h of hooks) {
          const exp = golden.getFloat32(h);
          const act = captures.get(h)!;
          if (h.endsWith('hook_attn_scores')) expectCloseWithInf(act, exp, h);
          else expectAllClose(act, exp, { atol: ATOL, rtol: 0, what: h });
        }
        expectAllClose(logits!, golden.getFloat32('logits'), { atol: ATOL, rtol: 0, what: 'logits' });
        for (const t of captures.values()) t.dispose();
        logits!.dispose();
      });

      it('gives the per-window next-token cross-entropy, plain and with the MLP zero-ablated', async () => {
        expectAllClose(await m.model.ceLoss(tokens, { shape }), golden.getFloat32('ce'), { atol: ATOL, rtol: 0, what: 'ce' });
        const zero = { 'blocks.0.mlp.hook_post': (a: tf.Tensor) => tf.zerosLike(a) };
        expectAllClose(await m.model.ceLoss(tokens, { shape, splice: zero }), golden.getFloat32('ablated.ce'), { atol: ATOL, rtol: 0, what: 'ablated ce' });
        const { logits } = m.model.run(tokens, { shape, splice: zero });
        const V = m.config.dVocab;
        const last = tf.tidy(() => tf.reshape(tf.slice(logits!, [0, shape[1] - 1, 0], [shape[0], 1, V]), [shape[0], V]));
        expectAllClose(last, golden.getFloat32('ablated.logits_last'), { atol: ATOL, rtol: 0, what: 'ablated logits' });
        last.dispose();
        logits!.dispose();
      });

      it('leaks no tensors across runs', async () => {
        const run = async (): Promise<void> => {
          const { captures } = m.model.run(tokens, { shape, capture: ['blocks.0.attn.hook_pattern', 'blocks.0.mlp.hook_post'] });
          for (const t of captures.values()) t.dispose();
          await m.model.ceLoss(tokens, { shape, splice: { 'blocks.0.hook_resid_mid': (a) => tf.mul(a, 0.5) } });
        };
        await run();
        const before = tf.memory().numTensors;
        await run();
        await run();
        expect(tf.memory().numTensors).toBe(before);
      });
    });
  }
}
