/** Learning-rate schedules and warm-ups of spec/math.md; `step` counts from 0. */

export type LrDecay = 'constant' | 'linear' | 'cosine' | 'cosine-quarter';
export const LR_DECAYS: readonly LrDecay[] = ['constant', 'linear', 'cosine', 'cosine-quarter'];

/** The decay factor s(step) of a schedule over `steps` steps. */
export function decayFactor(decay: LrDecay, step: number, steps: number): number {
  switch (decay) {
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
  return o.lr * warmupFactor(step, o.lrWarmupSteps) * decayFactor(o.lrDecay, step, o.steps);
}

/** The L1/KL coefficient at `step`: coeff · warm-up. */
export function coeffAt(coeff: number, coeffWarmupSteps: number, step: number): number {
  return coeff * warmupFactor(step, coeffWarmupSteps);
}
