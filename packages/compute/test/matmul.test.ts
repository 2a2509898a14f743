import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installBlasMatMul, uninstallBlasMatMul } from '@vsae/blas';
import { activeBackend, initBackend, tf } from '../src/index.js';
import { matMul, fastMatMul, transposeIsSlow } from '../src/matmul.js';
import { Rng } from '../src/rng.js';
import { randomNormalTensor } from '../src/random.js';
import { expectAllClose, expectNoLeaks } from '../src/testing.js';

/** Plain float64 product of row-major matrices, an independent reference. */
function ref(a: Float32Array, [ar, ac]: number[], ta: boolean, b: Float32Array, [br, bc]: number[], tb: boolean) {
  const m = ta ? ac! : ar!;
  const k = ta ? ar! : ac!;
  const n = tb ? br! : bc!;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const x = ta ? a[p * ac! + i]! : a[i * ac! + p]!;
        const y = tb ? b[j * bc! + p]! : b[p * bc! + j]!;
        s += x * y;
      }
      out[i * n + j] = s;
    }
  }
  return { data: out, shape: [m, n] };
}

// Both ways products can run on wasm: through the native BLAS of @vsae/blas when it is
// available (transposes are then free), and with the backend's own kernels only (explicit
// transposes and the custom gradient).
describe.each(['native BLAS when available', 'wasm kernels only'])('matMul on wasm (%s)', (mode) => {
  let hadBlas = false;
  beforeAll(async () => {
    await initBackend('wasm');
    hadBlas = activeBackend()!.blas;
    if (mode === 'wasm kernels only' && hadBlas) {
      uninstallBlasMatMul('wasm');
      activeBackend()!.blas = false;
    }
  });
  afterAll(() => {
    if (hadBlas && !activeBackend()!.blas) {
      installBlasMatMul('wasm');
      activeBackend()!.blas = true;
    }
  });

  it('takes the explicit-transpose path exactly when the products run on wasm kernels', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(transposeIsSlow()).toBe(!activeBackend()!.blas);
  });

  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    it(`matches a float64 reference, value and both gradients (transposeA=${ta}, transposeB=${tb})`, () => {
      const rng = new Rng(11);
      const [m, k, n] = [40, 50, 36]; // above @vsae/blas's small-product cut-off
      const aShape = ta ? [k, m] : [m, k];
      const bShape = tb ? [n, k] : [k, n];
      const a = randomNormalTensor(rng, aShape) as tf.Tensor2D;
      const b = randomNormalTensor(rng, bShape) as tf.Tensor2D;
      const w = randomNormalTensor(rng, [m, n]) as tf.Tensor2D; // weights of the scalar loss Σ w ⊙ C
      const ad = a.dataSync() as Float32Array;
      const bd = b.dataSync() as Float32Array;
      const wd = w.dataSync() as Float32Array;

      const c = matMul(a, b, ta, tb);
      expectAllClose(c, ref(ad, aShape, ta, bd, bShape, tb), { rtol: 1e-5, atol: 1e-5, what: 'value' });
      const fast = fastMatMul(a, b, ta, tb);
      expectAllClose(fast, c, { rtol: 1e-6, atol: 1e-6, what: 'fastMatMul' });
      fast.dispose();

      // d/dA Σ w⊙(op(A)·op(B)): for op(A) = A it is w·op(B)ᵀ, for op(A) = Aᵀ its transpose.
      const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(w, matMul(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb))))([a, b]);
      const wOpBt = ref(wd, [m, n], false, bd, bShape, !tb); // w·op(B)ᵀ [m,k]
      const opAtW = ref(ad, aShape, !ta, wd, [m, n], false); // op(A)ᵀ·w [k,n]
      const gaRef = ta ? transposeRef(wOpBt.data, m, k) : wOpBt;
      const gbRef = tb ? transposeRef(opAtW.data, k, n) : opAtW;
      expectAllClose(ga!, gaRef, { rtol: 1e-5, atol: 1e-5, what: 'dA' });
      expectAllClose(gb!, gbRef, { rtol: 1e-5, atol: 1e-5, what: 'dB' });
      tf.dispose([a, b, w, c, ga!, gb!]);
    });
  }

  it('leaks no tensor through the forward and backward pass', async () => {
    const rng = new Rng(3);
    const a = randomNormalTensor(rng, [4, 6]) as tf.Tensor2D;
    const b = randomNormalTensor(rng, [5, 6]) as tf.Tensor2D;
    await expectNoLeaks(() => {
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(matMul(x as tf.Tensor2D, y as tf.Tensor2D, false, true)))([a, b]);
      tf.dispose(g);
    });
    tf.dispose([a, b]);
  });

  it('refuses mismatched inner sizes with a sentence', () => {
    const a = tf.zeros([2, 3]) as tf.Tensor2D;
    const b = tf.zeros([4, 5]) as tf.Tensor2D;
    expect(() => matMul(a, b)).toThrow(/inner sizes differ/);
    tf.dispose([a, b]);
  });
});

/** Transpose of a row-major [rows, cols] matrix, as [cols, rows]. */
function transposeRef(d: Float64Array, rows: number, cols: number) {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = d[i * cols + j]!;
  return { data: out, shape: [cols, rows] };
}
