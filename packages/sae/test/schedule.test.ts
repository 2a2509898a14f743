import { describe, expect, it } from 'vitest';
import { expectAllClose } from '@vsae/compute/testing';
import { coeffAt, decayFactor, lrAt, warmupFactor } from '../src/schedule.js';

describe('learning-rate schedules (step counts from 0)', () => {
  it('constant, linear, cosine and the original quarter cosine', () => {
    const T = 100;
    const at = (d: Parameters<typeof decayFactor>[0]) => [0, 25, 50, 99].map((s) => decayFactor(d, s, T));
    expect(at('constant')).toEqual([1, 1, 1, 1]);
    expectAllClose(at('linear'), [1, 0.75, 0.5, 0.01], { rtol: 1e-12 });
    expectAllClose(at('cosine'), [1, 0.5 * (1 + Math.SQRT1_2), 0.5, 0.5 * (1 + Math.cos((Math.PI * 99) / 100))], { rtol: 1e-12 });
    // cos(½π · step/(steps − 1)): exactly 0 at the last step.
    expectAllClose(at('cosine-quarter'), [1, Math.cos((0.5 * Math.PI * 25) / 99), Math.cos((0.5 * Math.PI * 50) / 99), 0], { rtol: 1e-12, atol: 1e-15 });
  });

  it('linear warm-ups min(1, (step + 1) / W) for the learning rate and the coefficient', () => {
    expect([0, 1, 9, 10, 50].map((s) => warmupFactor(s, 10))).toEqual([0.1, 0.2, 1, 1, 1]);
    expect(warmupFactor(0, 0)).toBe(1);
    const o = { lr: 1e-3, lrDecay: 'linear' as const, lrWarmupSteps: 4, steps: 8 };
    expectAllClose([0, 1, 3, 4, 7].map((s) => lrAt(o, s)), [1e-3 * 0.25 * 1, 1e-3 * 0.5 * (7 / 8), 1e-3 * 1 * (5 / 8), 1e-3 * (4 / 8), 1e-3 * (1 / 8)], { rtol: 1e-12 });
    expectAllClose([0, 2, 5].map((s) => coeffAt(0.4, 3, s)), [0.4 / 3, 0.4, 0.4], { rtol: 1e-12 });
  });
});
