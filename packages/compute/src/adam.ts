import { tf } from './backend.js';

/** PyTorch's Adam defaults (tfjs's default ε is 1e-7; these match torch.optim.Adam). */
export const ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;

/** `tf.train.adam` with PyTorch's β1, β2 and ε. */
export function adam(learningRate: number): tf.AdamOptimizer {
  return tf.train.adam(learningRate, ADAM_DEFAULTS.beta1, ADAM_DEFAULTS.beta2, ADAM_DEFAULTS.epsilon);
}
