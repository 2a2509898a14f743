import { UsageError, type FlagSpec } from '@vsae/data';

/** Options of the toy model and of the dataset made from it (defaults: docs/math.md, "Toy model of superposition"). */
export interface ToyOptions {
  nFeatures: number;
  nHidden: number;
  nCorrelatedPairs: number;
  nAnticorrelatedPairs: number;
  /** Uniform correlation of all features (`corr_rate` mode); needs both pair counts 0. */
  corrRate?: number | undefined;
  featureProbability: number;
  toySteps: number;
  toyBatchSize: number;
  toyLr: number;
  rows: number;
  seed: number;
}

/** A toy flag: @vsae/data's FlagSpec with the ToyOptions field it sets. */
export type ToyOptionDef = FlagSpec & { key: keyof ToyOptions; default?: number };

/**
 * The toy model's flags, defined once: `vsae toy` derives its flags and help from them and
 * TOY_DEFAULTS is built from them. No tensor engine is loaded here (`@vsae/toy/options`).
 */
export const TOY_OPTIONS = {
  'n-features': { type: 'int', key: 'nFeatures', help: 'number of true features', default: 100, min: 1 },
  'n-hidden': { type: 'int', key: 'nHidden', help: "hidden width: the activations' d_in", default: 20, min: 1 },
  'n-correlated-pairs': { type: 'int', key: 'nCorrelatedPairs', help: 'pairs of features that are present together (first columns)', default: 0, min: 0 },
  'n-anticorrelated-pairs': { type: 'int', key: 'nAnticorrelatedPairs', help: 'pairs of features never present together (next columns)', default: 0, min: 0 },
  'corr-rate': { type: 'number', key: 'corrRate', help: 'correlate all features uniformly at this rate, in (−1/(n−1), 1); not with pairs', value: 'R' },
  'feature-probability': { type: 'number', key: 'featureProbability', help: 'probability that a feature is present, in (0, 1]', default: 0.05, value: 'P' },
  'toy-steps': { type: 'int', key: 'toySteps', help: 'training steps of the toy model', default: 5000, min: 0 },
  'toy-batch-size': { type: 'int', key: 'toyBatchSize', help: 'batch size of the toy model', default: 1024, min: 1 },
  'toy-lr': { type: 'number', key: 'toyLr', help: 'Adam learning rate of the toy model', default: 1e-3, value: 'X' },
  rows: { type: 'int', key: 'rows', help: 'activation rows to write', default: 100_000, min: 1 },
  seed: { type: 'int', key: 'seed', help: 'random seed (the same seed and backend give the same dataset)', default: 42 },
} as const satisfies Record<string, ToyOptionDef>;

/** Defaults (docs/math.md, "Toy model of superposition"), from TOY_OPTIONS. */
export const TOY_DEFAULTS: Readonly<ToyOptions> = {
  ...(Object.fromEntries((Object.values(TOY_OPTIONS) as ToyOptionDef[]).map((d) => [d.key, d.default])) as unknown as ToyOptions),
};

/** Fills in defaults for the options not given. */
export function withToyDefaults(opts: Partial<ToyOptions> = {}): ToyOptions {
  const out: ToyOptions = { ...TOY_DEFAULTS };
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  return out;
}

const isInt = (v: number, min: number): boolean => Number.isSafeInteger(v) && v >= min;

/**
 * Checks the options where they enter, so a bad value fails with a sentence naming the flag.
 * Throws UsageError (exit code 2).
 */
export function validateToyOptions(o: ToyOptions): void {
  const need = (ok: boolean, msg: string): void => {
    if (!ok) throw new UsageError(msg);
  };
  need(isInt(o.nFeatures, 1), `--n-features must be a whole number ≥ 1 (got ${o.nFeatures})`);
  need(isInt(o.nHidden, 1), `--n-hidden must be a whole number ≥ 1 (got ${o.nHidden})`);
  need(isInt(o.nCorrelatedPairs, 0), `--n-correlated-pairs must be a whole number ≥ 0 (got ${o.nCorrelatedPairs})`);
  need(isInt(o.nAnticorrelatedPairs, 0), `--n-anticorrelated-pairs must be a whole number ≥ 0 (got ${o.nAnticorrelatedPairs})`);
  const paired = 2 * (o.nCorrelatedPairs + o.nAnticorrelatedPairs);
  need(
    paired <= o.nFeatures,
    `${o.nCorrelatedPairs} correlated and ${o.nAnticorrelatedPairs} anti-correlated pairs need ${paired} features but --n-features is ${o.nFeatures}; raise --n-features or use fewer pairs`,
  );
  const p = o.featureProbability;
  need(Number.isFinite(p) && p > 0 && p <= 1, `--feature-probability must be in (0, 1] (got ${p})`);
  need(
    o.nAnticorrelatedPairs === 0 || p <= 0.5,
    `--feature-probability must be at most 0.5 with anti-correlated pairs, which are present with probability 2p (got ${p})`,
  );
  if (o.corrRate !== undefined) {
    const r = o.corrRate;
    need(paired === 0, '--corr-rate correlates all features and cannot be combined with --n-correlated-pairs or --n-anticorrelated-pairs; use one or the other');
    need(o.nFeatures >= 2, '--corr-rate needs at least 2 features (--n-features ≥ 2)');
    const lo = -1 / (o.nFeatures - 1);
    need(
      Number.isFinite(r) && r > lo && r < 1,
      `--corr-rate must be in (−1/(n−1), 1) = (${lo.toPrecision(4)}, 1) for ${o.nFeatures} features, so the correlation matrix is positive definite (got ${r})`,
    );
  }
  need(isInt(o.toySteps, 0), `--toy-steps must be a whole number ≥ 0 (got ${o.toySteps})`);
  need(isInt(o.toyBatchSize, 1), `--toy-batch-size must be a whole number ≥ 1 (got ${o.toyBatchSize})`);
  need(Number.isFinite(o.toyLr) && o.toyLr > 0, `--toy-lr must be a positive number (got ${o.toyLr})`);
  need(isInt(o.rows, 1), `--rows must be a whole number ≥ 1 (got ${o.rows})`);
  need(Number.isSafeInteger(o.seed), `--seed must be a whole number (got ${o.seed})`);
}

/** The options as the `vsae:config` JSON (the original project's snake_case names). */
export function toyConfigJson(o: ToyOptions): Record<string, unknown> {
  return {
    n_features: o.nFeatures,
    n_hidden: o.nHidden,
    n_correlated_pairs: o.nCorrelatedPairs,
    n_anticorrelated_pairs: o.nAnticorrelatedPairs,
    corr_rate: o.corrRate ?? null,
    feature_probability: o.featureProbability,
    toy_steps: o.toySteps,
    toy_batch_size: o.toyBatchSize,
    toy_lr: o.toyLr,
    rows: o.rows,
    seed: o.seed,
  };
}
