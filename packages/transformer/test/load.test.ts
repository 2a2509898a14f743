import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@vsae/compute';
import { expectAllClose } from '@vsae/compute/testing';
import { InputError, VsaeError, readSafetensors, writeSafetensorsSync } from '@vsae/data';
import { getActName, hookWidth, loadModel } from '../src/index.js';
import type { LoadedModel } from '../src/index.js';

const FIX = path.join(import.meta.dirname, 'fixtures');
const REAL = path.resolve(import.meta.dirname, '../../../../shared/fixtures/tiny-random-gpt2');

let tmp: string;
beforeAll(async () => {
  await initBackend(process.env.VSAE_BACKEND ?? 'wasm');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-load-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A copy of a fixture directory to break. */
function copyFixture(name: string, as: string): string {
  const dir = path.join(tmp, as);
  fs.cpSync(path.join(FIX, name), dir, { recursive: true });
  return dir;
}

describe('loadModel errors (one InputError each, naming the file)', () => {
  it('a missing directory, a file, a directory without config.json or without weights', async () => {
    await expect(loadModel(path.join(tmp, 'nowhere'))).rejects.toThrow(/no such model directory/);
    await expect(loadModel(path.join(FIX, 'views.pth'))).rejects.toThrow(/is a file/);
    fs.mkdirSync(path.join(tmp, 'empty'));
    await expect(loadModel(path.join(tmp, 'empty'))).rejects.toThrow(/has no config.json/);
    const noW = copyFixture('gpt2-tiny', 'noweights');
    fs.rmSync(path.join(noW, 'model.safetensors'));
    await expect(loadModel(noW)).rejects.toThrow(/has no weights: expected model.safetensors/);
    const noPth = copyFixture('gelu1l-tiny', 'nopth');
    fs.rmSync(path.join(noPth, 'model_final.pth'));
    await expect(loadModel(noPth)).rejects.toThrow(/has no weights: expected model_final.pth/);
  });

  it('truncated safetensors and .pth files', async () => {
    for (const [fixture, file] of [['gpt2-tiny', 'model.safetensors'], ['gelu1l-tiny', 'model_final.pth']] as const) {
      const dir = copyFixture(fixture, `trunc-${fixture}`);
      const f = path.join(dir, file);
      fs.truncateSync(f, Math.floor(fs.statSync(f).size * 0.7));
      const err = await loadModel(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toContain(file);
      expect((err as Error).message).toMatch(/truncated|corrupt/);
    }
  });

  it('tensor shapes that disagree with config.json', async () => {
    const dir = copyFixture('gpt2-tiny', 'badshape');
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, n_inner: 48 }));
    await expect(loadModel(dir)).rejects.toThrow(/"transformer\.h\.0\.mlp\.c_fc\.weight" has shape \[16, 64\] but config\.json implies \[16, 48\]/);
    const dir2 = copyFixture('gelu1l-tiny', 'badshape-tl');
    const cfg2 = JSON.parse(fs.readFileSync(path.join(dir2, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir2, 'config.json'), JSON.stringify({ ...cfg2, n_ctx: 64 }));
    await expect(loadModel(dir2)).rejects.toThrow(/"pos_embed\.W_pos" has shape \[32, 16\] but config\.json implies \[64, 16\]/);
  });

  it('a model kind vsae does not run', async () => {
    const dir = copyFixture('gelu1l-tiny', 'solu');
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, act_fn: 'solu_ln' }));
    await expect(loadModel(dir)).rejects.toThrow(/SoLU models/);
  });
});

describe('GPT-2 checkpoint variants', () => {
  it('reads keys without the transformer. prefix', async () => {
    const dir = copyFixture('gpt2-tiny', 'noprefix');
    const st = readSafetensors(path.join(FIX, 'gpt2-tiny', 'model.safetensors'));
    const t: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const k of st.tensors.keys()) t[k.replace(/^transformer\./, '')] = st.getFloat32(k);
    writeSafetensorsSync(path.join(dir, 'model.safetensors'), t);
    const a = await loadModel(dir);
    const b = await loadModel(path.join(FIX, 'gpt2-tiny'));
    const ids = [[0, 5, 17, 300, 999]];
    const la = a.model.run(ids).logits!;
    const lb = b.model.run(ids).logits!;
    expectAllClose(la, lb, { atol: 0, rtol: 0 });
    tf.dispose([la, lb]);
    a.model.dispose();
    b.model.dispose();
  });
});

describe('running a model', () => {
  let m: LoadedModel;
  beforeAll(async () => {
    m = await loadModel(path.join(FIX, 'gpt2-tiny'));
  });
  afterAll(() => m.model.dispose());

  it('refuses a context longer than the model, a token id beyond the vocabulary and unknown hooks', () => {
    expect(() => m.model.run([Array.from({ length: 33 }, () => 1)])).toThrow(/longer than the model's context of 32/);
    expect(() => m.model.run([[1, 2, 1000]])).toThrow(VsaeError);
    expect(() => m.model.run([[1, 2, 1000]])).toThrow(/token id 1000 .* vocabulary of 1000/);
    const e = (() => {
      try {
        m.model.run([[1, 2]], { capture: ['blocks.0.mlp.hook_postt'] });
      } catch (err) {
        return err as Error;
      }
    })();
    expect(e).toBeInstanceOf(VsaeError);
    expect(e!.message).toMatch(/hook "blocks\.0\.mlp\.hook_postt" does not exist.*valid hooks: hook_embed, .*blocks\.0\.mlp\.hook_post,/);
  });

  it('runs a full-length window', () => {
    const { captures } = m.model.run([Array.from({ length: 32 }, (_, i) => i)], { capture: ['blocks.1.hook_resid_post'] });
    expect(captures.get('blocks.1.hook_resid_post')!.shape).toEqual([1, 32, 16]);
    tf.dispose([...captures.values()]);
  });

  it('stops after the last hook it needs: later layers never run', () => {
    const boom = (): tf.Tensor => {
      throw new Error('layer 1 ran');
    };
    const { captures, logits } = m.model.run([[0, 1, 2]], { capture: ['blocks.0.mlp.hook_post'], splice: { 'blocks.1.hook_resid_pre': boom } });
    expect(logits).toBeUndefined();
    expect(captures.get('blocks.0.mlp.hook_post')!.shape).toEqual([1, 3, 64]);
    tf.dispose([...captures.values()]);
    expect(() => m.model.run([[0, 1, 2]], { capture: ['blocks.1.hook_resid_post'], splice: { 'blocks.1.hook_resid_pre': boom } })).toThrow('layer 1 ran');
  });

  it('a splice changes everything downstream of its hook and nothing upstream', () => {
    const ids = [[0, 7, 8, 9]];
    const cap = ['blocks.0.hook_resid_mid', 'blocks.0.mlp.hook_post', 'blocks.1.hook_resid_pre'];
    const a = m.model.run(ids, { capture: cap });
    const b = m.model.run(ids, { capture: cap, splice: { 'blocks.0.mlp.hook_post': (x) => tf.zerosLike(x) } });
    expectAllClose(b.captures.get('blocks.0.hook_resid_mid')!, a.captures.get('blocks.0.hook_resid_mid')!, { atol: 0, rtol: 0 });
    expect(tf.max(tf.abs(b.captures.get('blocks.0.mlp.hook_post')!)).dataSync()[0]).toBe(0);
    // with hook_post zeroed, resid_pre of block 1 = resid_mid + b_out of the MLP
    const diff = tf.sub(b.captures.get('blocks.1.hook_resid_pre')!, a.captures.get('blocks.1.hook_resid_pre')!);
    expect(tf.max(tf.abs(diff)).dataSync()[0]).toBeGreaterThan(1e-3);
    tf.dispose([diff, ...a.captures.values(), ...b.captures.values()]);
    expect(() => m.model.run(ids, { splice: { 'blocks.0.mlp.hook_post': () => tf.zeros([1, 2]) } })).toThrow(/must return a tensor of shape \[1, 4, 64\]/);
  });
});

describe('hook names', () => {
  it("resolves TransformerLens's get_act_name shorthands", () => {
    expect(getActName('post', 0)).toBe('blocks.0.mlp.hook_post');
    expect(getActName('pre', 2)).toBe('blocks.2.mlp.hook_pre');
    expect(getActName('mid', 0)).toBe('blocks.0.hook_resid_mid');
    expect(getActName('resid_post', 3)).toBe('blocks.3.hook_resid_post');
    expect(getActName('k6')).toBe('blocks.6.attn.hook_k');
    expect(getActName('scale4ln1')).toBe('blocks.4.ln1.hook_scale');
    expect(getActName('normalized', 27, 'ln2')).toBe('blocks.27.ln2.hook_normalized');
    expect(getActName('embed')).toBe('hook_embed');
    expect(getActName('scale')).toBe('ln_final.hook_scale');
    expect(getActName('attn', 1)).toBe('blocks.1.attn.hook_pattern');
    expect(getActName('blocks.0.hook_mlp_out')).toBe('blocks.0.hook_mlp_out');
  });

  it('gives per-token widths (heads flattened) and none for attention maps', async () => {
    const { config } = await loadModel(path.join(FIX, 'gelu1l-tiny'), { tokenizer: false });
    expect(hookWidth(config, 'blocks.0.mlp.hook_post')).toBe(64);
    expect(hookWidth(config, 'blocks.0.attn.hook_z')).toBe(16);
    expect(hookWidth(config, 'blocks.0.ln1.hook_scale')).toBe(1);
    expect(hookWidth(config, 'blocks.0.attn.hook_pattern')).toBeUndefined();
  });
});

describe.skipIf(!fs.existsSync(REAL))('the real Hugging Face checkpoint hf-internal-testing/tiny-random-gpt2', () => {
  it('loads, tokenizes with its own tokenizer.json and matches the PyTorch reference', async () => {
    const m = await loadModel(REAL);
    expect(m.config).toMatchObject({ nLayers: 5, dModel: 32, nHeads: 4, dMlp: 128, dVocab: 1000, nCtx: 512 });
    expect(m.tokenizer!.bos).toBe(0); // its tokenizer's <|endoftext|>, not config.json's 98
    const g = readSafetensors(path.join(FIX, 'tiny-random-gpt2.golden.safetensors'));
    const ids = [0, ...m.tokenizer!.encode(g.metadata.text!).slice(0, 11)];
    expect(ids).toEqual(Array.from(new Int32Array(g.tensors.get('tokens')!.bytes.slice().buffer)));
    const { captures, logits } = m.model.run([ids], { capture: ['blocks.0.mlp.hook_post', 'blocks.4.hook_resid_post'], logits: true });
    for (const h of ['blocks.0.mlp.hook_post', 'blocks.4.hook_resid_post']) expectAllClose(captures.get(h)!, g.getFloat32(h), { atol: 1e-4, rtol: 0, what: h });
    expectAllClose(logits!, g.getFloat32('logits'), { atol: 1e-4, rtol: 0, what: 'logits' });
    tf.dispose([...captures.values(), logits!]);
    m.model.dispose();
  });
});
if (!fs.existsSync(REAL)) console.warn(`skipping the real-checkpoint test: ${REAL} is absent`);
