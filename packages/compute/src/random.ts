import { tf } from './backend.js';
import type { Rng } from './rng.js';

/** Number of elements of a shape, checking it is a list of non-negative integers. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

/** A float32 tensor of N(mean, std²) draws from `rng` (row-major fill order). */
export function randomNormalTensor(rng: Rng, shape: number[], mean = 0, std = 1): tf.Tensor {
  return tf.tensor(rng.fillNormal(new Float32Array(sizeOf(shape)), mean, std), shape, 'float32');
}

/** A float32 tensor of U[lo, hi) draws from `rng` (row-major fill order). */
export function randomUniformTensor(rng: Rng, shape: number[], lo = 0, hi = 1): tf.Tensor {
  return tf.tensor(rng.fillUniform(new Float32Array(sizeOf(shape)), lo, hi), shape, 'float32');
}

/**
 * PyTorch's `nn.init.kaiming_uniform_` (a = 0, fan_in mode, leaky_relu gain √2) for a 2-D
 * tensor of `shape` = [rows, cols]: U(−b, b) with b = √(6 / cols), since PyTorch takes
 * fan_in = size(1). Returned as a Float32Array, row-major.
 */
export function kaimingUniform(rng: Rng, shape: [number, number]): Float32Array {
  const bound = Math.sqrt(6 / shape[1]);
  return rng.fillUniform(new Float32Array(shape[0] * shape[1]), -bound, bound);
}
