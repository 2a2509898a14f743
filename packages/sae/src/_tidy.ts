import { tf } from '@vsae/compute';

/** tf.tidy for results typed as interfaces (tfjs's TensorContainer type wants index signatures). */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}
