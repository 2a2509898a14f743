import { activeBackend, tf } from './backend.js';

/**
 * Whether the active backend runs products with a transposed operand much slower than plain
 * ones, so that materialising the transpose first pays. True for wasm without the native BLAS
 * of @vsae/blas (XNNPACK handles only
 * the plain layout: `a·bᵀ` ~10× and `aᵀ·b` ~15× slower, an explicit transpose costs ~5% of a
 * product); false for the native TensorFlow backends (free) and the plain cpu backend (uniformly slow).
 */
export function transposeIsSlow(backend: string = tf.getBackend()): boolean {
  // With @vsae/blas installed every transpose variant runs at full speed (OpenBLAS).
  return backend === 'wasm' && !(activeBackend()?.tfName === 'wasm' && activeBackend()?.blas);
}

/** `op(a)·op(b)` on the fast path of the active backend (no gradient). */
export function fastMatMul(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false): tf.Tensor2D {
  if (!transposeIsSlow() || (!transposeA && !transposeB)) return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b));
}

/**
 * `op(a)·op(b)` for 2-D tensors, like `tf.matMul`, with a custom gradient whose backward
 * products also take the fast path (`dA`, `dB` are themselves products with transposed
 * operands, which is where a naive wasm training step spends its time).
 */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false): tf.Tensor2D {
  if (a.rank !== 2 || b.rank !== 2) throw new RangeError(`matMul takes 2-D tensors, got ranks ${a.rank} and ${b.rank}`);
  const k1 = transposeA ? a.shape[0] : a.shape[1];
  const k2 = transposeB ? b.shape[1] : b.shape[0];
  if (k1 !== k2) {
    throw new RangeError(
      `matMul: inner sizes differ (${transposeA ? 'aᵀ' : 'a'} [${transposeA ? [a.shape[1], a.shape[0]] : a.shape}] · ${transposeB ? 'bᵀ' : 'b'} [${transposeB ? [b.shape[1], b.shape[0]] : b.shape}])`,
    );
  }
  if (!transposeIsSlow()) return tf.matMul(a, b, transposeA, transposeB);
  const f = tf.customGrad((x, y, save) => {
    const A = x as tf.Tensor2D;
    const B = y as tf.Tensor2D;
    (save as tf.GradSaveFunc)([A, B]);
    return {
      value: fastMatMul(A, B, transposeA, transposeB),
      gradFunc: (dy, saved) => {
        const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
        const g = dy as tf.Tensor2D;
        if (!transposeA && !transposeB) return [fastMatMul(g, sb, false, true), fastMatMul(sa, g, true, false)];
        if (transposeA && !transposeB) return [fastMatMul(sb, g, false, true), fastMatMul(sa, g, false, false)];
        if (!transposeA && transposeB) return [fastMatMul(g, sb, false, false), fastMatMul(g, sa, true, false)];
        return [fastMatMul(sb, g, true, true), fastMatMul(g, sa, true, true)];
      },
    };
  });
  return f(a, b) as tf.Tensor2D;
}
