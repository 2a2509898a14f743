import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADAM_DEFAULTS, adam, initBackend, matMul, releaseBackend, Rng, tf } from '../src/index.js';
import { expectAllClose, webgpuUnavailable } from '../src/testing.js';

// The webgpu backend on whatever adapter Dawn finds (CI: Mesa's lavapipe, a software one),
// against float64 references computed here in JS. GPU tensors are read back with `await data()`.
const why = await webgpuUnavailable();
if (why) console.warn(`skipping the webgpu tests: ${why}`);
const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(new URL('../dist/index.js', import.meta.url));

function random(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  rng.fillNormal(a, 0, 1);
  return a;
}

/** a [m,k] · b [k,n] in float64. */
function mm(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) c[i * n + j]! += a[i * k + p]! * b[p * n + j]!;
  return c;
}

function transpose(a: ArrayLike<number>, r: number, c: number): Float64Array {
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[i * c + j]!;
  return t;
}

describe.skipIf(why !== undefined)('the webgpu backend', () => {
  beforeAll(async () => {
    const b = await initBackend('webgpu');
    expect(b.tfName).toBe('webgpu');
    expect(b.adapter?.vendor).toBeTypeOf('string');
  });
  afterAll(() => releaseBackend());

  it('computes products in every transpose layout within 1e-4 of float64', async () => {
    const rng = new Rng(1);
    const [m, k, n] = [33, 70, 21];
    const a = random(rng, m * k);
    const b = random(rng, k * n);
    const want = mm(a, b, m, k, n);
    const A = tf.tensor2d(a, [m, k]);
    const B = tf.tensor2d(b, [k, n]);
    const At = tf.tensor2d(Float32Array.from(transpose(a, m, k)), [k, m]);
    const Bt = tf.tensor2d(Float32Array.from(transpose(b, k, n)), [n, k]);
    for (const [x, y, ta, tb] of [[A, B, false, false], [At, B, true, false], [A, Bt, false, true], [At, Bt, true, true]] as const) {
      const c = matMul(x, y, ta, tb);
      expectAllClose({ data: await c.data(), shape: c.shape }, { data: want, shape: [m, n] }, { atol: 1e-4, rtol: 1e-5, what: `matMul ${ta ? 'aᵀ' : 'a'}·${tb ? 'bᵀ' : 'b'}` });
      c.dispose();
    }
    tf.dispose([A, B, At, Bt]);
  });

  it('takes gradients and Adam steps as a float64 reference does, leaking no tensors and keeping GPU memory bounded', async () => {
    const rng = new Rng(2);
    const [m, k, n] = [32, 64, 64];
    const x = random(rng, m * k);
    const y = random(rng, m * n);
    const w0 = random(rng, k * n);
    const lr = 1e-2;
    // Reference: loss = Σ (xW − y)², dW = 2 xᵀ(xW − y), then PyTorch's Adam.
    const w = Float64Array.from(w0);
    const m1 = new Float64Array(k * n);
    const m2 = new Float64Array(k * n);
    const xt = transpose(x, m, k);
    const X = tf.tensor2d(x, [m, k]);
    const Y = tf.tensor2d(y, [m, n]);
    const W0 = tf.tensor2d(w0, [k, n]);
    const W = tf.variable(W0);
    const opt = adam(lr);
    const before = tf.memory().numTensors;
    let allocated = 0;
    for (let step = 1; step <= 20; step++) {
      const r = mm(x, w, m, k, n).map((v, i) => v - y[i]!);
      const g = mm(xt, r, k, m, n).map((v) => 2 * v);
      for (let i = 0; i < w.length; i++) {
        m1[i] = ADAM_DEFAULTS.beta1 * m1[i]! + (1 - ADAM_DEFAULTS.beta1) * g[i]!;
        m2[i] = ADAM_DEFAULTS.beta2 * m2[i]! + (1 - ADAM_DEFAULTS.beta2) * g[i]! * g[i]!;
        const mh = m1[i]! / (1 - ADAM_DEFAULTS.beta1 ** step);
        const vh = m2[i]! / (1 - ADAM_DEFAULTS.beta2 ** step);
        w[i] = w[i]! - (lr * mh) / (Math.sqrt(vh) + ADAM_DEFAULTS.epsilon);
      }
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(tf.sub(tf.matMul(X, W), Y))) as tf.Scalar, [W]);
      if (step === 1) expectAllClose({ data: await grads[W.name]!.data(), shape: [k, n] }, { data: g, shape: [k, n] }, { atol: 1e-3, rtol: 1e-4, what: 'dW' });
      opt.applyGradients(grads as Parameters<typeof opt.applyGradients>[0]);
      tf.dispose([value, ...Object.values(grads)]);
      await W.data(); // one read per step, as training does: the queue is flushed
      // Steady state after the first steps: the buffer pool may round sizes (a few bytes of
      // uniforms), but a step's tensors (16 KiB for W alone) must not pile up.
      const gpuBytes = (tf.memory() as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU ?? 0;
      if (step === 5) allocated = gpuBytes;
      if (step > 5) expect(gpuBytes, `GPU bytes at step ${step}`).toBeLessThanOrEqual(allocated + 4096);
    }
    expectAllClose({ data: await W.data(), shape: W.shape }, { data: w, shape: [k, n] }, { atol: 1e-4, rtol: 1e-3, what: 'W after 20 Adam steps' });
    // Adam's two moments per variable (and its step counter) are the only tensors it keeps.
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(3);
    opt.dispose();
    tf.dispose([X, Y, W, W0]);
    expect((tf.memory() as { numBytesInGPU?: number }).numBytesInGPU).toBe(0);
  });
});

describe.skipIf(why !== undefined || !built)('releasing the GPU', () => {
  it('a process that used webgpu exits by itself, with status 0, once releaseBackend() has run', () => {
    const script =
      "const m = await import('@vsae/compute'); await m.initBackend('webgpu'); const t = m.tf.matMul(m.tf.ones([64, 64]), m.tf.ones([64, 64])); " +
      "const d = await t.data(); t.dispose(); if (d[0] !== 64) throw new Error(String(d[0])); m.releaseBackend(); console.log('done');";
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: pkgDir, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
    expect(out).toBe('done\n');
  });
});
