import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Field, Int32, List, makeTable, tableToIPC, vectorFromArray } from 'apache-arrow';
import { expectAllClose, webgpuUnavailable } from '@vsae/compute/testing';
import { openDataset, readMetrics, readSafetensors } from '@vsae/data';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, binRunner, expectOneLineError } from './bin.js';

// `--backend webgpu` end to end through the real bin, on whatever adapter Dawn finds (CI: Mesa's
// lavapipe, a software adapter that .ci/run installs), against wasm and the PyTorch goldens.
const ROOT = path.resolve(path.dirname(bin), '../../..');
const FIX = path.join(ROOT, 'packages/transformer/test/fixtures');
const REAL = path.resolve(ROOT, '../shared/fixtures/tiny-random-gpt2');
const why = await webgpuUnavailable();
if (why) console.warn(`skipping the webgpu end-to-end tests: ${why}`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-cli-webgpu-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const vsae = binRunner(tmp);

describe('--backend webgpu without an adapter', () => {
  it('exits 1 with one line saying what is missing and how to get it', () => {
    const none = binRunner(tmp, { env: { VK_ICD_FILENAMES: path.join(tmp, 'no-such-icd.json'), VK_DRIVER_FILES: '' } });
    for (const args of [['info', '--backend', 'webgpu'], ['train', '--backend', 'webgpu', '--input', path.join(tmp, 'absent.arrow'), '-o', path.join(tmp, 'never')]]) {
      const r = none(args);
      expectOneLineError(r, 1, args[0]!, /backend "webgpu" is not available: .*(VK_ICD_FILENAMES|Vulkan).*Install .*Vulkan driver/);
    }
  });
});

describe.skipIf(why !== undefined)('--backend webgpu on an adapter', () => {
  it('vsae info names the adapter: vendor, description, software or hardware', () => {
    const r = vsae(['info', '--backend', 'webgpu', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.out) as { active: { name: string }; webgpu: { adapter: { vendor: string; description: string; software: boolean } } };
    expect(info.active.name).toBe('webgpu');
    expect(typeof info.webgpu.adapter.software).toBe('boolean');
    const text = vsae(['info', '--backend', 'webgpu']);
    expect(text.out).toMatch(/^webgpu adapter: .+ \(.*, (software|hardware)\)$/m);
  });

  it('trains 20 steps with the loss of wasm (1e-3 relative) at every step and final weights within 1e-2', () => {
    const toy = path.join(tmp, 'toy.arrow');
    const t = vsae(['toy', '--rows', '4096', '--toy-steps', '200', '--seed', '3', '-o', toy, '-q']);
    expect(t.status, t.stderr).toBe(0);
    const runs: Record<string, string> = {};
    for (const backend of ['wasm', 'webgpu']) {
      runs[backend] = path.join(tmp, `run-${backend}`);
      const r = vsae(['train', '--arch', 'sae', '--input', toy, '-o', runs[backend]!, '--steps', '20', '--batch-size', '256', '--log-every', '1', '--backend', backend, '-q']);
      expect(r.status, r.stderr).toBe(0);
    }
    const loss = (run: string): number[] => readMetrics(path.join(run, 'metrics.arrows')).rows.map((row) => Number(row.loss));
    const [a, b] = [loss(runs.wasm!), loss(runs.webgpu!)];
    expect(a.length).toBe(20);
    expectAllClose(b, a, { rtol: 1e-3, atol: 0, what: 'loss per step, webgpu vs wasm' });
    const [wa, wb] = [readSafetensors(path.join(runs.wasm!, 'sae_weights.safetensors')), readSafetensors(path.join(runs.webgpu!, 'sae_weights.safetensors'))];
    for (const name of ['W_enc', 'b_enc', 'W_dec', 'b_dec']) expectAllClose(wb.getFloat32(name), wa.getFloat32(name), { atol: 1e-2, rtol: 0, what: name });
  });

  /** Extracts the golden windows (an Arrow tokens column, one window per row) and compares every hook. */
  async function checkGoldens(model: string, golden: string, hooks: string[]): Promise<void> {
    const g = readSafetensors(golden);
    const t = g.tensors.get('tokens')!;
    const [B, T] = [t.shape[0]!, t.shape[1]!];
    const ids = new Int32Array(t.bytes.slice().buffer);
    const windows = Array.from({ length: B }, (_, b) => ids.slice(b * T, (b + 1) * T));
    const corpus = path.join(tmp, `${path.basename(golden)}.tokens.arrow`);
    const list = vectorFromArray(windows, new List(new Field('item', new Int32(), true)));
    fs.writeFileSync(corpus, tableToIPC(makeTable({ tokens: list.data[0] as never }) as never, 'file'));
    const out = path.join(tmp, `${path.basename(golden)}.acts`);
    const r = vsae(['extract', '--backend', 'webgpu', '--model', model, '--hook', hooks.join(','), '--dataset', corpus, '--context', String(T), '--doc-separator', 'none', '-o', out, '-q']);
    expect(r.status, r.stderr).toBe(0);
    for (const h of hooks) {
      const ds = await openDataset(hooks.length > 1 ? path.join(out, `${h}.arrow`) : out);
      const acts: number[] = [];
      for await (const batch of ds.batches()) for (const v of batch.act) acts.push(v);
      await ds.close();
      const want = g.getFloat32(h);
      expectAllClose({ data: acts, shape: [B * T, ds.dIn] }, { data: want.data, shape: [B * T, want.shape.at(-1)!] }, { atol: 1e-4, rtol: 0, what: h });
    }
  }

  it('extracts GPT-2 activations equal to the PyTorch goldens within 1e-4', async () => {
    await checkGoldens(path.join(FIX, 'gpt2-tiny'), path.join(FIX, 'gpt2-tiny.golden.safetensors'), ['blocks.0.mlp.hook_post', 'blocks.1.hook_resid_post']);
  });

  it.skipIf(!fs.existsSync(REAL))('and for the real tiny-random-gpt2 checkpoint', async () => {
    await checkGoldens(REAL, path.join(FIX, 'tiny-random-gpt2.golden.safetensors'), ['blocks.0.mlp.hook_post', 'blocks.4.hook_resid_post']);
  });
});
