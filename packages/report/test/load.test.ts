import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, readMetrics, readTable } from '@vsae/data';
import { HOSTILE_TOKENS, makeRun, type MadeRun } from '@vsae/testkit/make-run';
import { checkRunDir, DEFAULT_LIMITS, loadRun } from '../src/load.js';

/** Elementwise |a − b| ≤ atol + rtol·|b| over whole arrays, null standing for NaN. */
function expectClose(actual: Array<number | null>, expected: ArrayLike<number>, rtol = 1e-3, atol = 1e-9): void {
  expect(actual).toHaveLength(expected.length);
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i];
    if (!Number.isFinite(e)) {
      if (a !== null) bad.push(`[${i}] ${a} vs ${e}`);
    } else if (a === null || a === undefined || Math.abs(a - e) > atol + rtol * Math.abs(e)) bad.push(`[${i}] ${a} vs ${e}`);
  }
  expect(bad.slice(0, 5), `${bad.length} of ${expected.length} differ`).toEqual([]);
}

let tmp: string;
const runs: Record<string, MadeRun> = {};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-report-load-'));
  runs.toy = await makeRun(path.join(tmp, 'toy'), { kind: 'toy', arch: 'sae', seed: 3 });
  runs.lm = await makeRun(path.join(tmp, 'lm'), { kind: 'lm', arch: 'vsae-mix', hostile: true, seed: 4 });
  runs.trained = await makeRun(path.join(tmp, 'trained'), { parts: ['train'] });
  runs.analysed = await makeRun(path.join(tmp, 'analysed'), { parts: ['analysis'], arch: 'vsae-iso' });
  runs.live = await makeRun(path.join(tmp, 'live'), { live: true, parts: ['train'] });
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const A = (run: MadeRun, f: string) => readTable(path.join(run.dir, 'analysis', f));

describe('loadRun on a complete toy run', () => {
  it('says nothing is missing (a toy run has no logit effects to ask for)', () => {
    const r = loadRun(runs.toy!.dir);
    expect(r.notes).toEqual([]);
    expect(r).toMatchObject({ name: 'toy', arch: 'sae', dIn: 10, dSae: 48, status: { status: 'complete', step: 300, steps: 300 } });
  });

  it('embeds every logged step and each metrics column (rounded to 4 digits)', () => {
    const r = loadRun(runs.toy!.dir);
    const m = readMetrics(path.join(runs.toy!.dir, 'metrics.arrows'));
    expect(r.metrics!.rows).toBe(runs.toy!.loggedSteps);
    expect(r.metrics!.step).toEqual(m.rows.map((x) => x.step));
    expect(Object.keys(r.metrics!.series).sort()).toEqual(['coeff', 'dead_frac', 'explained_variance', 'l0', 'l1', 'loss', 'lr', 'recon']);
    for (const col of Object.keys(r.metrics!.series)) expectClose(r.metrics!.series[col]!, m.rows.map((x) => x[col]!), 5e-4);
  });

  it('embeds the feature table latent by latent, with dead latents counted apart', () => {
    const r = loadRun(runs.toy!.dir);
    const t = A(runs.toy!, 'features.arrow');
    const f = r.features!;
    expect(f.n).toBe(48);
    expect(f.latent).toEqual(Array.from(t.numbers('latent')));
    expectClose(f.log10, t.numbers('log10_density'), 5e-4);
    expectClose(f.freq, t.numbers('frequency'), 5e-4);
    expectClose(f.meanAct, t.numbers('mean_act'), 5e-4);
    expectClose(f.maxAct, t.numbers('max_act'), 5e-4);
    expectClose(f.encDec, t.numbers('enc_dec_cos'), 5e-4);
    const dead = Array.from(t.numbers('dead'));
    expect(f.dead).toEqual(dead);
    expect(f.deadCount).toBe(dead.filter(Boolean).length);
    expect(f.meanVar).toBeNull();
    // The density histogram counts every live latent once, and nothing else.
    expect(f.density.counts.reduce((a, b) => a + b, 0)).toBe(48 - f.deadCount);
    expect(f.density.skipped).toBe(0);
    const freq = t.numbers('frequency');
    expect(f.denseCount).toBe(Array.from(freq).filter((x, i) => !dead[i] && x >= 0.1).length);
    // Activation histograms as written, null for the dead.
    const hist = t.column('hist_counts') as number[][];
    f.hist.forEach((h, i) => expect(h).toEqual(dead[i] ? null : hist[i]));
    expect(f.scatter.every((i) => !dead[i])).toBe(true);
    expect(f.scatter).toHaveLength(48 - f.deadCount);
  });

  it('bins reconstruction errors and gives their statistics', () => {
    const r = loadRun(runs.toy!.dir);
    const t = A(runs.toy!, 'reconstruction.arrow');
    const mse = Array.from(t.numbers('mse'));
    const rec = r.reconstruction!;
    expect(rec.rows).toBe(mse.length);
    expect(rec.mseZero).toBe(mse.filter((x) => x === 0).length);
    expect(rec.logMse.counts.reduce((a, b) => a + b, 0) + rec.mseZero).toBe(mse.length);
    expect(rec.cosine.counts.reduce((a, b) => a + b, 0)).toBe(mse.length);
    // Mean, population std and median worked out here, compared at the 4 digits embedded.
    const mean = mse.reduce((a, b) => a + b, 0) / mse.length;
    const std = Math.sqrt(mse.reduce((a, b) => a + (b - mean) ** 2, 0) / mse.length);
    const sorted = [...mse].sort((a, b) => a - b);
    const median = (sorted[mse.length / 2 - 1]! + sorted[mse.length / 2]!) / 2;
    expectClose([rec.mse.mean, rec.mse.std, rec.mse.median, rec.mse.min, rec.mse.max], [mean, std, median, sorted[0]!, sorted.at(-1)!], 5e-4);
    expect(rec.dims!.dim).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expectClose(rec.dims!.mse, A(runs.toy!, 'reconstruction_dims.arrow').numbers('mse'), 5e-4);
  });

  it('lays the similarity sample out as a square matrix and keeps the most similar pairs first', () => {
    const r = loadRun(runs.toy!.dir);
    const s = r.similarity!;
    const t = A(runs.toy!, 'similarity_sample.arrow');
    const n = s.sample!.latents.length;
    expect(n * n).toBe(t.numRows);
    const expected = new Float64Array(n * n);
    const at = new Map(s.sample!.latents.map((l, i) => [l, i]));
    const a = t.numbers('latent_a');
    const b = t.numbers('latent_b');
    const c = t.numbers('cosine');
    for (let k = 0; k < t.numRows; k++) expected[at.get(a[k]!)! * n + at.get(b[k]!)!] = c[k]!;
    expectClose(s.sample!.cos, expected, 5e-4);
    const cos = s.pairs!.cos as number[];
    expect(cos).toHaveLength(DEFAULT_LIMITS.topPairs);
    expect(cos).toEqual([...cos].sort((x, y) => y - x));
    expect(s.pairCount).toBe(A(runs.toy!, 'similarity.arrow').numRows);
  });

  it('gives MMCS over all true features and over the represented ones', () => {
    const r = loadRun(runs.toy!.dir);
    const t = A(runs.toy!, 'ground_truth.arrow');
    const cos = Array.from(t.numbers('cosine'));
    const rep = Array.from(t.numbers('represented'));
    const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
    expect(r.groundTruth!.mmcs!).toBeCloseTo(mean(cos), 3);
    expect(r.groundTruth!.mmcsRepresented!).toBeCloseTo(mean(cos.filter((_c, i) => rep[i])), 3);
    expect(r.groundTruth!.best).toEqual(Array.from(t.numbers('best_latent')));
  });

  it('embeds each latent’s examples, without token context for a toy run', () => {
    const r = loadRun(runs.toy!.dir);
    const ex = r.examples!;
    expect(ex.latents).toEqual(runs.toy!.latentsWithExamples);
    expect(ex.latentCount).toBe(runs.toy!.latentsWithExamples.length);
    const list = ex.byLatent[String(ex.latents[0])]!;
    expect(list.filter((e) => e.kind === 'top').map((e) => e.rank)).toEqual([0, 1, 2, 3, 4]);
    expect(list.filter((e) => e.kind === 'quantile')).toHaveLength(6);
    expect(list.every((e) => e.ctx === null && e.acts === null)).toBe(true);
  });

  it('keeps the latent-space points with their coordinates', () => {
    const r = loadRun(runs.toy!.dir);
    const t = A(runs.toy!, 'embedding.arrow');
    const [dec] = r.embedding!;
    expect(dec!.kind).toBe('decoder');
    expect(dec!.total).toBe(48);
    expect(dec!.id).toEqual(Array.from(t.numbers('id')));
    expectClose(dec!.umapX, t.numbers('umap_x'), 5e-4);
    expectClose(dec!.pcaY, t.numbers('pca_y'), 5e-4);
    expect(dec!.cluster).toEqual(Array.from(t.numbers('cluster')));
  });
});

describe('loadRun on a language-model run', () => {
  it('keeps token contexts and logit effects, hostile strings included, as data', () => {
    const r = loadRun(runs.lm!.dir);
    expect(r.notes).toEqual([]);
    const ex = r.examples!;
    const top = ex.byLatent['0']!.filter((e) => e.kind === 'top');
    // Ranks 0..4 of latent 0 carry the hostile tokens at the example position.
    expect(top.map((e) => ex.strings[e.ctx![e.at!]!])).toEqual(HOSTILE_TOKENS);
    for (const e of top) expect(e.acts).toHaveLength(e.ctx!.length);
    const lg = r.logits!.byLatent['0']!;
    expect(ex.strings[lg.top[0]![0]]).toBe(HOSTILE_TOKENS[0]);
    expect(ex.strings[lg.bottom[0]![0]]).toBe(HOSTILE_TOKENS[1]);
    expect(lg.top.map((x) => x[1])).toEqual([...lg.top.map((x) => x[1])].sort((a, b) => b! - a!));
    expect(r.features!.meanVar).not.toBeNull();
    expect(r.embedding!.map((k) => k.kind)).toEqual(['decoder', 'mu']);
  });

  it('cuts the contexts and samples curves, examples and points to the limits given', () => {
    const limits = { ...DEFAULT_LIMITS, curvePoints: 7, exampleLatents: 10, scatterPoints: 20, contextRadius: 2, examplesPerKind: 3 };
    const r = loadRun(runs.lm!.dir, limits);
    const m = readMetrics(path.join(runs.lm!.dir, 'metrics.arrows'));
    expect(r.metrics!.step).toHaveLength(7);
    expect(r.metrics!.step.at(-1)).toBe(m.rows.at(-1)!.step);
    expect(r.metrics!.step[0]).toBe(m.rows[0]!.step);
    expect(r.embedding![0]!.id).toHaveLength(20);
    const ex = r.examples!;
    expect(ex.latents).toHaveLength(10);
    // Latents of the similarity sample come first, so the heatmap's cells open with examples.
    const sample = new Set(r.similarity!.sample!.latents);
    expect(ex.latents.every((l) => sample.has(l))).toBe(true);
    for (const l of ex.latents) {
      const list = ex.byLatent[String(l)]!;
      expect(list.filter((e) => e.kind === 'top')).toHaveLength(3);
      expect(list.filter((e) => e.kind === 'quantile')).toHaveLength(3);
      for (const e of list) {
        expect(e.ctx!.length).toBe(5);
        expect(e.at).toBe(2);
      }
    }
    expect(Object.keys(r.logits!.byLatent).map(Number).sort((a, b) => a - b)).toEqual(ex.latents);
  });
});

describe('loadRun on partial runs', () => {
  it('shows a trained but not analysed run and says which command makes the rest', () => {
    const dir = runs.trained!.dir;
    const r = loadRun(dir);
    expect(r.metrics!.rows).toBe(runs.trained!.loggedSteps);
    expect(r.features).toBeNull();
    expect(r.reconstruction).toBeNull();
    const missing = r.notes.filter((n) => n.state === 'missing');
    expect(missing.map((n) => n.file).sort()).toEqual(
      ['summary.json', 'features.arrow', 'reconstruction.arrow', 'similarity.arrow', 'similarity_sample.arrow', 'embedding.arrow', 'top_examples.arrow'].map((f) => path.join('analysis', f)).sort(),
    );
    for (const n of missing) expect(n.command).toBe(`vsae analyze ${dir} --input toy.arrow`);
  });

  it('shows an analysis without training files', () => {
    const r = loadRun(runs.analysed!.dir);
    expect(r.notes.map((n) => n.file).sort()).toEqual(['_run.json', 'cfg.json', 'metrics.arrows']);
    expect(r.notes.find((n) => n.file === 'cfg.json')!.command).toMatch(/^vsae train --arch ARCH --input DATA -o /);
    expect(r.arch).toBe('vsae-iso');
    expect(r.dSae).toBe(48);
    expect(r.features).not.toBeNull();
  });

  it('reads only the complete steps of a run that is still training', () => {
    const r = loadRun(runs.live!.dir);
    expect(r.status!.status).toBe('running');
    expect(runs.live!.loggedSteps).toBe(15);
    expect(r.metrics!.rows).toBe(15);
    expect(r.metrics!.step.at(-1)).toBe(150);
  });

  it('reads a metrics stream cut at any byte as its complete steps only, never failing', () => {
    // A reader beside a writer sees the file at arbitrary lengths: replay a finished stream
    // prefix by prefix (every record-batch boundary, the bytes around it, and a stride between).
    const src = fs.readFileSync(path.join(runs.trained!.dir, 'metrics.arrows'));
    const steps = readMetrics(path.join(runs.trained!.dir, 'metrics.arrows')).rows.map((r) => r.step!);
    const dir = path.join(tmp, 'follow');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(runs.trained!.dir, 'cfg.json'), path.join(dir, 'cfg.json'));
    const file = path.join(dir, 'metrics.arrows');
    // File sizes the writer left after its schema and after each row, recorded as it wrote.
    const ends = runs.trained!.metricsEnds;
    expect(ends.at(-1)! + 8).toBe(src.byteLength); // + the end-of-stream marker
    const cuts = new Set<number>();
    for (let at = 0; at <= src.byteLength; at += 29) cuts.add(at);
    for (const e of ends) for (const d of [-1, 0, 1]) cuts.add(e + d);
    let prev = -1;
    for (const at of [...cuts].sort((a, b) => a - b)) {
      fs.writeFileSync(file, src.subarray(0, at));
      const r = loadRun(dir);
      expect(r.notes.filter((n) => n.state === 'unreadable')).toEqual([]);
      const rows = r.metrics?.rows ?? 0;
      expect(rows, `cut at byte ${at}`).toBe(ends.slice(1).filter((e) => e <= at).length);
      if (r.metrics) expect(r.metrics.step).toEqual(steps.slice(0, rows));
      expect(rows).toBeGreaterThanOrEqual(prev);
      prev = rows;
    }
    expect(prev).toBe(steps.length);
  });

  it('turns damaged files into notes and shows the rest', () => {
    const dir = path.join(tmp, 'damaged');
    fs.cpSync(runs.toy!.dir, dir, { recursive: true });
    const feat = path.join(dir, 'analysis', 'features.arrow');
    fs.truncateSync(feat, Math.floor(fs.statSync(feat).size / 2));
    fs.writeFileSync(path.join(dir, 'analysis', 'summary.json'), '{"arch": "sae", ');
    fs.writeFileSync(path.join(dir, 'cfg.json'), '{"d_in": -3}');
    fs.writeFileSync(path.join(dir, 'metrics.arrows'), 'not arrow at all, just text');
    const r = loadRun(dir);
    const unreadable = Object.fromEntries(r.notes.filter((n) => n.state === 'unreadable').map((n) => [n.file, n.message]));
    expect(Object.keys(unreadable).sort()).toEqual([path.join('analysis', 'features.arrow'), path.join('analysis', 'summary.json'), 'cfg.json', 'metrics.arrows']);
    expect(unreadable['cfg.json']).toContain('d_in');
    expect(unreadable[path.join('analysis', 'summary.json')]).toContain('summary.json');
    expect(r.features).toBeNull();
    expect(r.reconstruction).not.toBeNull();
    expect(r.examples).not.toBeNull();
  });
});

describe('checkRunDir', () => {
  it('rejects a missing path, a file and a folder without run files, naming the path', () => {
    expect(() => checkRunDir(path.join(tmp, 'nope'))).toThrow(InputError);
    expect(() => checkRunDir(path.join(tmp, 'nope'))).toThrow(/nope: no such run directory/);
    expect(() => checkRunDir(path.join(runs.toy!.dir, 'cfg.json'))).toThrow(/cfg.json: is a file, not a run directory/);
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    expect(() => checkRunDir(empty)).toThrow(/is not a run directory: it has none of cfg.json, metrics.arrows, _run.json, analysis/);
    expect(() => checkRunDir(runs.trained!.dir)).not.toThrow();
  });
});
