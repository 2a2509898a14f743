#!/usr/bin/env node
/**
 * The webgpu backend against wasm on this machine: one SAE training step (encoder, ReLU,
 * decoder, MSE + L1 loss, gradients by tf.variableGrads, Adam), timed in ms per step, on each
 * backend in a child process of its own, in the same run. It names the adapter: on a software
 * one (Mesa's lavapipe) the figure says what the code path costs on the CPU, not what a GPU does.
 *
 *   node tools/bench/webgpu.mjs [--sizes 768x6144x1024,128x1024x256] [--iters 3]
 *
 * Progress on stderr, one JSON line on stdout. Without a WebGPU adapter it says why and skips.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const here = path.dirname(new URL(import.meta.url).pathname);
const compute = path.resolve(here, '../../packages/compute/dist/index.js');
if (!fs.existsSync(compute)) {
  console.error(`webgpu bench: ${compute} is missing; build first: npx turbo run build --filter=@vsae/compute...`);
  process.exit(1);
}
const { values } = parseArgs({ options: { sizes: { type: 'string', default: '768x6144x1024,128x1024x256' }, iters: { type: 'string', default: '3' }, child: { type: 'string' } }, strict: false });
const log = (s) => process.stderr.write(`${s}\n`);

if (values.child) {
  // One backend, every size: prints { backend, adapter, steps: { size: ms } }.
  const { initBackend, releaseBackend, tf, matMul, adam, Rng } = await import(compute);
  const b = await initBackend(values.child);
  const out = { backend: b.name, products: b.matmul, adapter: b.adapter ?? null, ms: {} };
  for (const size of values.sizes.split(',')) {
    const [dIn, dSae, B] = size.split('x').map(Number);
    const rng = new Rng(1);
    const init = (r, c, s) => tf.variable(tf.tensor2d(rng.fillNormal(new Float32Array(r * c), 0, s), [r, c]));
    const Wenc = init(dIn, dSae, 1 / Math.sqrt(dIn));
    const Wdec = init(dSae, dIn, 1 / Math.sqrt(dSae));
    const benc = tf.variable(tf.zeros([dSae]));
    const bdec = tf.variable(tf.zeros([dIn]));
    const x = tf.tensor2d(rng.fillNormal(new Float32Array(B * dIn)), [B, dIn]);
    const opt = adam(1e-4);
    const step = async () => {
      const { value, grads } = tf.variableGrads(() => {
        const f = tf.relu(tf.add(matMul(tf.sub(x, bdec), Wenc), benc));
        const recon = tf.add(matMul(f, Wdec), bdec);
        return tf.add(tf.mean(tf.sum(tf.square(tf.sub(recon, x)), 1)), tf.mul(0.05, tf.mean(tf.sum(f, 1))));
      });
      opt.applyGradients(grads);
      tf.dispose(Object.values(grads));
      await value.data(); // the step is done when its loss is on the host
      value.dispose();
    };
    await step(); // warm-up: shader compilation, buffer pools
    const t0 = performance.now();
    for (let i = 0; i < Number(values.iters); i++) await step();
    out.ms[size] = (performance.now() - t0) / Number(values.iters);
    tf.dispose([Wenc, Wdec, benc, bdec, x]);
    opt.dispose();
    log(`  ${b.name} ${size}: ${out.ms[size].toFixed(1)} ms/step`);
  }
  releaseBackend();
  process.stdout.write(JSON.stringify(out) + '\n');
} else {
  const { vulkanMissing } = await import(compute);
  const run = (backend) => {
    log(`webgpu bench: ${backend}`);
    const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--child', backend, '--sizes', values.sizes, '--iters', values.iters], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const last = (r.stdout ?? '').trim().split('\n').pop();
    return r.status === 0 && last?.startsWith('{') ? JSON.parse(last) : { error: `exit ${r.status}` };
  };
  const missing = vulkanMissing();
  const gpu = missing ? { skipped: missing } : run('webgpu');
  if (missing) log(`webgpu bench: no WebGPU adapter (${missing}); wasm only`);
  const wasm = run('wasm');
  const ratio = {};
  if (gpu.ms && wasm.ms) for (const k of Object.keys(wasm.ms)) ratio[k] = gpu.ms[k] / wasm.ms[k];
  process.stdout.write(JSON.stringify({ webgpu: gpu, wasm, webgpu_over_wasm: ratio }) + '\n');
}
