import { describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';

describe('Rng', () => {
  it('xoshiro128** matches the reference output for the state {1, 2, 3, 4}', () => {
    // Reference values of the published C implementation (prng.di.unimi.it/xoshiro128starstar.c).
    const r = Rng.fromState({ s: [1, 2, 3, 4], spare: null });
    const out = Array.from({ length: 6 }, () => r.nextUint32());
    expect(out).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
    expect(r.getState().s).toEqual([1110993931, 286554632, 2431677446, 2165318166]);
  });

  it('same seed gives the same stream; different seeds differ', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 100 }, () => a.nextUint32());
    const xb = Array.from({ length: 100 }, () => b.nextUint32());
    const xc = Array.from({ length: 100 }, () => c.nextUint32());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
    expect(new Rng('run-a').nextUint32()).not.toBe(new Rng('run-b').nextUint32());
    expect(new Rng(2 ** 32 + 1).nextUint32()).not.toBe(new Rng(1).nextUint32());
  });

  it('a saved state resumes the exact stream, including a cached Box–Muller value', () => {
    const r = new Rng(7);
    r.normal(); // leaves a spare
    const saved = JSON.parse(JSON.stringify(r.getState())) as ReturnType<Rng['getState']>;
    const cont = [r.normal(), r.normal(), r.uniform(), ...r.fillNormal(new Float64Array(5))];
    const s = Rng.fromState(saved);
    const again = [s.normal(), s.normal(), s.uniform(), ...s.fillNormal(new Float64Array(5))];
    expect(again).toEqual(cont);
  });

  it('fillNormal gives the same sequence as repeated normal() calls', () => {
    const a = new Rng(5);
    const b = new Rng(5);
    a.normal(); // odd start: spare pending
    b.normal();
    const filled = Array.from(a.fillNormal(new Float64Array(7)));
    const one = Array.from({ length: 7 }, () => b.normal());
    expect(filled).toEqual(one);
    expect(a.normal()).toBe(b.normal());
  });

  it('normals follow Box–Muller on the raw uniforms', () => {
    const raw = new Rng(9);
    const u1 = 1 - raw.nextUint32() / 2 ** 32;
    const u2 = raw.nextUint32() / 2 ** 32;
    const r = Math.sqrt(-2 * Math.log(u1));
    const g = new Rng(9);
    expect(g.normal()).toBe(r * Math.cos(2 * Math.PI * u2));
    expect(g.normal()).toBe(r * Math.sin(2 * Math.PI * u2));
  });

  it('uniforms and normals have the right moments (n = 200000, 5-sigma bounds)', () => {
    const n = 200_000;
    const r = new Rng(123);
    const u = r.fillUniform(new Float64Array(n));
    const z = r.fillNormal(new Float64Array(n));
    const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const varOf = (a: Float64Array, m: number) => a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length;
    const mu = mean(u);
    const mz = mean(z);
    expect(Math.abs(mu - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(varOf(u, mu) - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / n));
    expect(Math.abs(mz)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(varOf(z, mz) - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(u.every((v) => v >= 0 && v < 1)).toBe(true);
    // Fourth moment of a normal is 3: catches a wrong transform that still has unit variance.
    const k = z.reduce((s, v) => s + (v - mz) ** 4, 0) / n;
    expect(Math.abs(k - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
  });

  it('int(n) is uniform over [0, n) and permutation() is a permutation', () => {
    const r = new Rng(1);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[r.int(6)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(5 * Math.sqrt(10_000 * (5 / 6)));
    const p = r.permutation(1000);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(() => r.int(0)).toThrow(/1 ≤ n/);
  });

  it('rejects a malformed saved state', () => {
    expect(() => Rng.fromState({ s: [0, 0, 0, 0], spare: null })).toThrow(/all zeros/);
    expect(() => Rng.fromState({ s: [1, 2, 3] as unknown as [number, number, number, number], spare: null })).toThrow(/four/);
  });

  it('fillNormalZiggurat: normal by a Kolmogorov–Smirnov test and its moments (n = 200000)', () => {
    const n = 200_000;
    const z = new Rng(77).fillNormalZiggurat(new Float64Array(n));
    const sorted = Float64Array.from(z).sort();
    // Φ(x) by erfc (W. J. Cody's rational approximation via Numerical Recipes erfcc, |err| < 1.2e-7).
    const erfc = (x: number) => {
      const t = 1 / (1 + 0.5 * Math.abs(x));
      const y = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
      return x >= 0 ? y : 2 - y;
    };
    const phi = (x: number) => 0.5 * erfc(-x / Math.SQRT2);
    let dMax = 0;
    for (let i = 0; i < n; i++) {
      const f = phi(sorted[i]!);
      dMax = Math.max(dMax, Math.abs(f - i / n), Math.abs(f - (i + 1) / n));
    }
    // 1% critical value of the KS statistic: 1.63 / √n.
    expect(dMax).toBeLessThan(1.63 / Math.sqrt(n));
    const mean = z.reduce((a, b) => a + b, 0) / n;
    const v = z.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    const k = z.reduce((a, b) => a + (b - mean) ** 4, 0) / n / (v * v);
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(v - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(k - 3)).toBeLessThan(5 * Math.sqrt(24 / n));
    // The tails: P(|z| > 3) = 0.0026998, P(|z| > 3.5) (beyond the base layer R ≈ 3.44) = 4.65e-4.
    const p3 = z.filter((x) => Math.abs(x) > 3).length / n;
    const p35 = z.filter((x) => Math.abs(x) > 3.5).length / n;
    expect(Math.abs(p3 - 0.0026998)).toBeLessThan(5 * Math.sqrt(0.0027 / n));
    expect(Math.abs(p35 - 4.652e-4)).toBeLessThan(5 * Math.sqrt(4.65e-4 / n));
  });

  it('fillNormalZiggurat is deterministic and continues from a saved state', () => {
    const a = new Rng(3);
    const b = new Rng(3);
    expect(Array.from(a.fillNormalZiggurat(new Float32Array(1000)))).toEqual(Array.from(b.fillNormalZiggurat(new Float32Array(1000))));
    const saved = a.getState();
    const next = Array.from(a.fillNormalZiggurat(new Float32Array(5000), 2, 3));
    expect(Array.from(Rng.fromState(saved).fillNormalZiggurat(new Float32Array(5000), 2, 3))).toEqual(next);
    // Chunked fills give the same stream as one fill.
    const whole = new Rng(8).fillNormalZiggurat(new Float64Array(3000));
    const c = new Rng(8);
    const parts = [...c.fillNormalZiggurat(new Float64Array(1234)), ...c.fillNormalZiggurat(new Float64Array(1766))];
    expect(parts).toEqual(Array.from(whole));
  });
});
