import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core registers no gradients by itself (the @tensorflow/tfjs bundle does).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { blasInfo, gemm, installBlasMatMul, uninstallBlasMatMul } from '../src/index.js';

const info = blasInfo();
if (!info.available) console.warn(`[@vsae/blas] skipping native tests: ${info.error}`);
const describeBlas = info.available ? describe : describe.skip;

/** Deterministic pseudo-random values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Plain triple loop in float64: the independent reference. */
function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number, tA: boolean, tB: boolean): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[tA ? p * m + i : i * k + p]! * b[tB ? j * k + p : p * n + j]!;
      c[i * n + j] = s;
    }
  return c;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) - rtol * Math.abs(expected[i]!);
    if (!(err <= atol) && (worst < 0 || err > worstErr)) {
      worst = i;
      worstErr = err;
    }
  }
  expect(worst, worst < 0 ? '' : `index ${worst}: ${actual[worst]} vs ${expected[worst]}`).toBe(-1);
}

describeBlas('gemm on Float32Arrays', () => {
  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('matches a float64 triple loop for transA=%s transB=%s', (tA, tB) => {
    const [m, n, k] = [37, 45, 29];
    const a = values(m * k, 1);
    const b = values(k * n, 2);
    expectClose(gemm(a, b, m, n, k, { transA: tA, transB: tB }), reference(a, b, m, n, k, tA, tB), 1e-5, 1e-5);
  });

  it('multiplies a batch with a broadcast right operand', () => {
    const [batch, m, n, k] = [3, 8, 5, 6];
    const a = values(batch * m * k, 3);
    const b = values(k * n, 4);
    const c = gemm(a, b, m, n, k, { batch, broadcastB: true });
    for (let i = 0; i < batch; i++) {
      expectClose(c.subarray(i * m * n, (i + 1) * m * n), reference(a.subarray(i * m * k, (i + 1) * m * k), b, m, n, k, false, false), 1e-5, 1e-5);
    }
  });

  it('refuses operands outside their buffers', () => {
    expect(() => gemm(new Float32Array(4), new Float32Array(4), 4, 4, 4)).toThrow(/outside/);
  });
});

for (const backend of ['wasm', 'cpu'] as const) {
  describeBlas(`BatchMatMul kernel on the ${backend} backend`, () => {
    beforeAll(async () => {
      if (backend === 'wasm') {
        const require = createRequire(import.meta.url);
        setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
      }
      expect(await tf.setBackend(backend)).toBe(true);
    });

    const shapes: Array<[number[], number[], boolean, boolean]> = [
      [[64, 48], [48, 80], false, false],
      [[48, 64], [48, 80], true, false],
      [[64, 48], [80, 48], false, true],
      [[48, 64], [80, 48], true, true],
      [[4, 40, 32], [4, 32, 36], false, false],
      [[2, 3, 40, 32], [2, 3, 36, 32], false, true],
      [[4, 40, 32], [32, 36], false, false],
      [[40, 32], [5, 32, 36], false, false],
      [[3, 3], [3, 3], false, false], // tiny: the backend's own kernel
    ];
    it.each(shapes)('a %j · b %j (transA=%s, transB=%s) equals the backend\'s own kernel', (sa, sb, tA, tB) => {
      const a = tf.tensor(values(sa.reduce((p, d) => p * d, 1), 5), sa);
      const b = tf.tensor(values(sb.reduce((p, d) => p * d, 1), 6), sb);
      uninstallBlasMatMul(backend);
      const want = tf.matMul(a, b, tA, tB);
      expect(installBlasMatMul(backend).installed).toBe(true);
      const got = tf.matMul(a, b, tA, tB);
      expect(got.shape).toEqual(want.shape);
      expectClose(got.dataSync(), want.dataSync(), 1e-4, 1e-4);
      tf.dispose([a, b, got, want]);
    });

    it('gives the same gradients as the backend\'s own kernel and leaks no tensor', () => {
      const x = tf.tensor(values(50 * 60, 7), [50, 60]);
      const w = tf.tensor(values(60 * 70, 8), [60, 70]);
      const f = (p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(tf.relu(tf.matMul(p, q)), q, false, true)));
      uninstallBlasMatMul(backend);
      const want = tf.grads(f)([x, w]);
      installBlasMatMul(backend);
      const before = tf.memory().numTensors;
      const got = tf.grads(f)([x, w]);
      expect(tf.memory().numTensors).toBe(before + 2);
      for (let i = 0; i < 2; i++) expectClose(got[i]!.dataSync(), want[i]!.dataSync(), 1e-2, 1e-4);
      tf.dispose([x, w, ...got, ...want]);
    });
  });
}
