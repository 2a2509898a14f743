import type { ArchDescriptor } from './types.js';
import { topk } from './topk.js';

/**
 * BatchTopK SAE: the k·B largest activations over the whole batch (rows may hold more or fewer
 * than k). Saved as SAELens `jumprelu` with the learned inference threshold θ.
 */
export const batchtopk: ArchDescriptor = {
  ...topk,
  name: 'batchtopk',
  selection: 'batch',
  summary: 'BatchTopK SAE: the k·B largest ReLU activations of the batch (θ-threshold at inference)',
  code: 'ReLU((x − b_dec)·W_enc + b_enc) above the learned threshold θ (batch top-k before θ is set)',
  saelens: ({ k, threshold }) => ({ architecture: 'jumprelu', k, threshold: threshold ?? null, apply_b_dec_to_input: true, activation_fn_str: 'relu' }),
};
