import { adam, initBackend, matMul, tf } from '@vsae/compute';
import type { Rng } from '@vsae/compute';
import { Progress } from '@vsae/data';
import { FeatureGenerator, featureImportance } from './features.js';
import type { ToyOptions } from './options.js';
import { toyRng } from './rng.js';

/** A trained toy model: `h = W x`, `x' = ReLU(Wᵀ h + b_final)`. */
export interface ToyModel {
  nFeatures: number;
  nHidden: number;
  /** Row-major [nHidden, nFeatures]: column i is the direction feature i takes in h. */
  W: Float32Array;
  bFinal: Float32Array;
  importance: Float32Array;
  featureProbability: number;
  /** Loss at the logged steps (always the first and the last step when training ran). */
  losses: Array<{ step: number; loss: number }>;
}

export type ToyTrainOptions = Pick<
  ToyOptions,
  'nFeatures' | 'nHidden' | 'nCorrelatedPairs' | 'nAnticorrelatedPairs' | 'corrRate' | 'featureProbability' | 'toySteps' | 'toyBatchSize' | 'toyLr' | 'seed'
> & {
  /** Tensor backend name for initBackend (default: VSAE_BACKEND or auto). */
  backend?: string | undefined;
  /** Record the loss every this many steps (default: about 100 points over the run). */
  logEvery?: number | undefined;
  /** No progress line on stderr. */
  quiet?: boolean | undefined;
};

/** Xavier-normal init of W [nHidden, nFeatures]: N(0, 2 / (fan_in + fan_out)). */
export function xavierNormal(rng: Rng, nHidden: number, nFeatures: number): Float32Array {
  return rng.fillNormal(new Float32Array(nHidden * nFeatures), 0, Math.sqrt(2 / (nHidden + nFeatures)));
}

/** Importance-weighted reconstruction loss `mean_{batch,features} importance_i (x_i − x'_i)²` as a tensor. */
export function toyLoss(W: tf.Tensor2D, b: tf.Tensor1D, importance: tf.Tensor1D, x: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const h = matMul(x, W, false, true); // [B, nHidden] = x Wᵀ, i.e. h = W x per row
    const out = tf.relu(tf.add(matMul(h, W), b)); // [B, nFeatures] = ReLU(Wᵀ h + b)
    return tf.mean(tf.mul(importance, tf.squaredDifference(x, out)));
  });
}

/**
 * Trains one toy model with Adam (β 0.9/0.999, ε 1e-8 as PyTorch) on fresh feature batches.
 * W is initialised from the seed's `init` stream and batches come from its `train` stream.
 */
export async function trainToyModel(opts: ToyTrainOptions): Promise<ToyModel> {
  await initBackend(opts.backend);
  const { nFeatures, nHidden, toySteps: steps, toyBatchSize: batch } = opts;
  const importance = featureImportance(nFeatures);
  const w0 = xavierNormal(toyRng(opts.seed, 'init'), nHidden, nFeatures);
  const gen = new FeatureGenerator(opts);
  const rng = toyRng(opts.seed, 'train');
  const logEvery = Math.max(1, Math.floor(opts.logEvery ?? Math.max(1, Math.round(steps / 100))));

  // Inside tidy so the initial-value tensors are freed (variables survive a tidy).
  const W = tf.tidy(() => tf.variable(tf.tensor2d(w0, [nHidden, nFeatures]), true));
  const b = tf.tidy(() => tf.variable(tf.zeros([nFeatures]), true));
  const imp = tf.tensor1d(importance);
  const optimizer = adam(opts.toyLr);
  const buf = new Float32Array(batch * nFeatures);
  const losses: ToyModel['losses'] = [];
  const progress = new Progress({ unit: 'step', total: steps, label: 'toy model', quiet: opts.quiet });
  let lastLoss = NaN;
  try {
    for (let step = 0; step < steps; step++) {
      gen.generate(rng, batch, buf);
      const x = tf.tensor2d(buf, [batch, nFeatures]);
      const cost = optimizer.minimize(() => toyLoss(W as tf.Variable<tf.Rank.R2>, b as tf.Variable<tf.Rank.R1>, imp, x), true, [W, b]);
      x.dispose();
      const log = step % logEvery === 0 || step === steps - 1;
      if (log && cost) {
        lastLoss = (await cost.data())[0]!;
        losses.push({ step, loss: lastLoss });
      }
      cost?.dispose();
      progress.update(step + 1, { loss: lastLoss });
    }
    progress.finish({ loss: lastLoss });
    return {
      nFeatures,
      nHidden,
      W: (await W.data()) as Float32Array,
      bFinal: (await b.data()) as Float32Array,
      importance,
      featureProbability: opts.featureProbability,
      losses,
    };
  } finally {
    optimizer.dispose();
    W.dispose();
    b.dispose();
    imp.dispose();
  }
}

/**
 * Activations `h = W x` for rows of features, in plain JS (features are sparse, so only the
 * non-zero entries are visited). Returns row-major [rows, nHidden].
 */
export function toyActivations(model: Pick<ToyModel, 'W' | 'nHidden' | 'nFeatures'>, features: Float32Array, rows: number, out?: Float32Array): Float32Array {
  const { nHidden: nh, nFeatures: nf, W } = model;
  const act = out ?? new Float32Array(rows * nh);
  // Wᵀ [nFeatures, nHidden] so each feature's direction is contiguous.
  const wt = new Float64Array(nf * nh);
  for (let k = 0; k < nh; k++) for (let i = 0; i < nf; i++) wt[i * nh + k] = W[k * nf + i]!;
  const h = new Float64Array(nh);
  for (let r = 0; r < rows; r++) {
    h.fill(0);
    const o = r * nf;
    for (let i = 0; i < nf; i++) {
      const v = features[o + i]!;
      if (v === 0) continue;
      const wo = i * nh;
      for (let k = 0; k < nh; k++) h[k] = h[k]! + v * wt[wo + k]!;
    }
    act.set(h, r * nh);
  }
  return act;
}
