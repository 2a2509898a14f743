import { describe, expect, it } from 'vitest';
import { demoConclusions, demoSettings, formatDemoTable, randomDictionaryMmcs, type DemoResult, type DemoRow } from '../src/demo.js';

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

const row = (name: string, arch: string, l0: number, ev: number, dead: number, mmcsRep: number, t = 10): DemoRow => ({
  name,
  arch,
  run: name,
  l0,
  explained_variance: ev,
  percent_dead: dead,
  frac_alive: 1 - dead / 100,
  mmcs: mmcsRep - 0.2,
  mmcs_represented: mmcsRep,
  train_seconds: t,
});

describe('formatDemoTable', () => {
  it('prints every measured figure with its column and the chance row', () => {
    const r = {
      rows: [row('sae', 'sae', 5.714, 0.8921, 1.25, 0.9894, 21.2), row('vsae-iso', 'vsae-iso', 64.8, 0.949, 0.625, 0.578, 70), row('vsae-topk-kl0', 'vsae-topk', 5, 0.944, 0, 0.99, 33)],
      random: { mmcs: 0.5712, mmcs_represented: 0.5801 },
    } as unknown as DemoResult;
    const lines = formatDemoTable(r).split('\n');
    expect(lines[0]).toMatch(/^run\s+L0\s+expl\. var\s+dead %\s+alive\s+MMCS\s+MMCS \(repr\.\)\s+train s$/);
    expect(lines[2]!.trim().split(/\s+/)).toEqual(['sae', '5.71', '0.892', '1.3', '0.99', '0.789', '0.989', '21']);
    expect(lines[3]!.trim().split(/\s+/)).toEqual(['vsae-iso', '64.80', '0.949', '0.6', '0.99', '0.378', '0.578', '70']);
    expect(lines[4]!.trim().split(/\s+/)).toEqual(['vsae-topk-kl0', '5.00', '0.944', '0.0', '1.00', '0.790', '0.990', '33']);
    expect(lines[5]).toMatch(/^random dictionary\s+0\.571\s+0\.580\s*$/);
  });
});

describe('demoSettings', () => {
  it('trains TopK and vSAE-TopK at the same k, the control at KL coefficient 0, with the same learning rate', () => {
    for (const quick of [false, true]) {
      const s = demoSettings(quick, 42);
      const flag = (run: keyof typeof s.train, f: string) => s.train[run][s.train[run].lastIndexOf(f) + 1];
      expect(flag('topk', '--k')).toBe(String(s.k));
      expect(flag('vsae-topk', '--k')).toBe(String(s.k));
      expect(flag('vsae-topk-kl0', '--k')).toBe(String(s.k));
      expect(flag('vsae-topk', '--kl-coeff')).toBe('1');
      expect(flag('vsae-topk-kl0', '--kl-coeff')).toBe('0');
      // Only the KL coefficient differs between vSAE-TopK and its control.
      expect(s.train['vsae-topk'].filter((a) => a !== '1' && a !== '0')).toEqual(s.train['vsae-topk-kl0'].filter((a) => a !== '1' && a !== '0'));
    }
  });
});

describe('demoConclusions', () => {
  const settings = demoSettings(false, 42);
  const random = { mmcs: 0.574, mmcs_represented: 0.566 };
  const rows = [
    row('sae', 'sae', 5.71, 0.892, 1.3, 0.989),
    row('vsae-iso', 'vsae-iso', 64.8, 0.949, 0.6, 0.578),
    row('vsae-mix', 'vsae-mix', 63.09, 0.94, 0.6, 0.576),
    row('vsae-multi', 'vsae-multi', 75.23, 0.955, 0.6, 0.578),
    row('topk', 'topk', 5, 0.952, 0, 0.99),
    row('vsae-topk', 'vsae-topk', 4.68, 0.922, 44.375, 0.979),
    row('vsae-topk-kl0', 'vsae-topk', 5, 0.944, 0, 0.99),
  ];

  it('says what the table shows, quoting its figures', () => {
    expect(demoConclusions({ rows, random, settings })).toEqual([
      'The SAE finds the features: L0 5.71, and a decoder row within a cosine of 0.989 of the represented features on average (random directions: 0.566).',
      'The three Gaussian-prior VSAEs reconstruct as well as or better than the SAE (explained variance 0.940–0.955 against 0.892), with codes of L0 63.09–75.23, and their dictionaries score no better than random directions (MMCS 0.576–0.578).',
      'At the same k = 5, TopK and vSAE-TopK both recover the features: MMCS 0.990 and 0.979 on the represented features, L0 5.00 and 4.68, explained variance 0.952 and 0.922.',
      'The KL term leaves fewer latents alive: vSAE-TopK keeps 56 % of its latents alive with it and 100 % without it (KL coefficient 0, the same learning rate); TopK keeps 100 %.',
    ]);
  });

  it('changes its words when the figures say otherwise', () => {
    const other = rows.map((r) => (r.name === 'vsae-topk' ? { ...r, frac_alive: 0.98, mmcs_represented: 0.7 } : r.name === 'vsae-iso' ? { ...r, mmcs_represented: 0.9, explained_variance: 0.5 } : r));
    const text = demoConclusions({ rows: other, random, settings });
    expect(text[1]).toContain('reconstruct about as well as the SAE (explained variance 0.500–0.955 against 0.892)');
    expect(text[1]).toContain('score above random directions (MMCS 0.576–0.900)');
    expect(text[2]).toMatch(/^At the same k = 5, TopK and vSAE-TopK reach: MMCS 0\.990 and 0\.700/);
    expect(text[3]).toMatch(/^The KL term barely changes how many latents stay alive: vSAE-TopK keeps 98 % /);
  });
});
