import { describe, expect, it } from 'vitest';
import { formatDemoTable, randomDictionaryMmcs, type DemoResult } from '../src/demo.js';

describe('randomDictionaryMmcs', () => {
  it('is 1 when the dictionary is dense enough to hold every direction (2-D, many latents)', async () => {
    // Two features along the axes of a 2-D space; 20000 random directions come within 1e-3 of both.
    const W = new Float32Array([1, 0, 0, 1]); // [nHidden 2, nFeatures 2]
    const r = await randomDictionaryMmcs(W, 2, 2, 20000, 1);
    expect(r.mmcs).toBeGreaterThan(0.999);
    expect(r.mmcs).toBeLessThanOrEqual(1);
  });

  it('is the same for the same seed and lower than 1 in a high-dimensional space', async () => {
    const nH = 20;
    const nF = 30;
    const W = new Float32Array(nH * nF);
    for (let i = 0; i < nF; i++) W[(i % nH) * nF + i] = i < 10 ? 0.3 : 1; // 10 weak (unrepresented) features
    const a = await randomDictionaryMmcs(W, nH, nF, 160, 7);
    const b = await randomDictionaryMmcs(W, nH, nF, 160, 7);
    expect(a).toEqual(b);
    expect(a.mmcs).toBeGreaterThan(0.3);
    expect(a.mmcs).toBeLessThan(0.8);
  });

  it('leaves zero-norm features out and counts represented ones (‖W_i‖ ≥ 0.5) apart', async () => {
    // Feature 0 is the latent direction itself once the dictionary holds it; feature 1 is zero.
    const W = new Float32Array([1, 0, 0, 0]); // nHidden 2, nFeatures 2: feature 0 = e0, feature 1 = 0
    const r = await randomDictionaryMmcs(W, 2, 2, 20000, 3);
    expect(r.mmcs).toBeCloseTo(r.mmcs_represented, 12);
  });
});

describe('formatDemoTable', () => {
  it('prints every measured figure with its column and the chance row', () => {
    const r = {
      rows: [
        { arch: 'sae', run: 'x', l0: 5.714, explained_variance: 0.8921, percent_dead: 1.25, mmcs: 0.7931, mmcs_represented: 0.9894, train_seconds: 21.2 },
        { arch: 'vsae-iso', run: 'y', l0: 64.8, explained_variance: 0.949, percent_dead: 0.625, mmcs: 0.575, mmcs_represented: 0.578, train_seconds: 70 },
      ],
      random: { mmcs: 0.5712, mmcs_represented: 0.5801 },
    } as unknown as DemoResult;
    const lines = formatDemoTable(r).split('\n');
    expect(lines[0]).toMatch(/^arch\s+L0\s+expl\. var\s+dead %\s+MMCS\s+MMCS \(repr\.\)\s+train s$/);
    expect(lines[2]!.trim().split(/\s+/)).toEqual(['sae', '5.71', '0.892', '1.3', '0.793', '0.989', '21']);
    expect(lines[3]!.trim().split(/\s+/)).toEqual(['vsae-iso', '64.80', '0.949', '0.6', '0.575', '0.578', '70']);
    expect(lines[4]).toMatch(/^random dictionary\s+0\.571\s+0\.580\s*$/);
  });
});
