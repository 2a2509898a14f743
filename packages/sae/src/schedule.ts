/** Learning-rate schedules and warm-ups (docs/math.md, "Training schedule"); `step` counts from 0. */

export type LrDecay = 'constant' | 'linear' | 'cosine' | 'cosine-quarter' | 'linear-tail';
export const LR_DECAYS: readonly LrDecay[] = ['constant', 'linear', 'cosine', 'cosine-quarter', 'linear-tail'];

/** Where `linear-tail` starts decaying: the last 20 % of the steps (the TopK trainers' schedule). */
export const TAIL_START = 0.8;

/** The decay factor s(step) of a schedule over `steps` steps. */
export function decayFactor(decay: LrDecay, step: number, steps: number, warmup = 0): number {
  switch (decay) {
    case 'linear-tail': {
      // Linear decay to 0 from 80 % of the steps; dropped when it would start before the warm-up ends.
      const start = Math.floor(TAIL_START * steps);
      return start >= warmup && step >= start ? (steps - step) / (steps - start) : 1;
    }
    case 'constant':
      return 1;
    case 'linear':
      return 1 - step / steps;
    case 'cosine':
      return 0.5 * (1 + Math.cos((Math.PI * step) / steps));
    case 'cosine-quarter':
      // The original's quarter cosine, cos(½π · step/(steps − 1)).
      return steps > 1 ? Math.cos((0.5 * Math.PI * step) / (steps - 1)) : 1;
  }
}

/** Linear warm-up factor min(1, (step + 1) / warmup) (1 when warmup is 0), as SAELens. */
export function warmupFactor(step: number, warmup: number): number {
  return warmup > 0 ? Math.min(1, (step + 1) / warmup) : 1;
}

/** The learning rate at `step`: lr · warm-up · s(step). */
export function lrAt(o: { lr: number; lrDecay: LrDecay; lrWarmupSteps: number; steps: number }, step: number): number {
  return o.lr * warmupFactor(step, o.lrWarmupSteps) * decayFactor(o.lrDecay, step, o.steps, o.lrWarmupSteps);
}

/** The L1/KL coefficient at `step`: coeff · warm-up. */
export function coeffAt(coeff: number, coeffWarmupSteps: number, step: number): number {
  return coeff * warmupFactor(step, coeffWarmupSteps);
}
