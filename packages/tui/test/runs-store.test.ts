import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunsStore } from '../src/runs-store.js';
import { HOSTILE_TOKEN, metricsRowAt, tempRunsDir, writeFixtureRuns, writeRun } from './fixtures.js';

const roots: string[] = [];
function fresh(): string {
  const r = tempRunsDir('vsae-tui-store-');
  roots.push(r);
  return r;
}
afterAll(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

/** Waits until `cond` holds, polling the store's timers. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('RunsStore', () => {
  it('lists each run with its config, status, last metrics and analysis summary', () => {
    const root = fresh();
    const { toy, lm, live } = writeFixtureRuns(root);
    const store = new RunsStore(root);
    store.refresh();
    const runs = store.snapshot().runs;
    expect(runs.map((r) => r.name)).toEqual(['gpt2-vsae', 'live-sae', 'toy-sae']);
    const t = runs.find((r) => r.name === 'toy-sae')!;
    expect(t).toMatchObject({ dir: toy.dir, arch: 'sae', dIn: 20, dSae: 160, hook: 'toy', status: 'complete', step: 1000, steps: 1000, logged: 20, problems: [] });
    expect(t.last).toEqual(metricsRowAt('sae', 1000));
    expect(t.summary).toMatchObject({ mmcs: 0.912, percent_dead_neurons: 20, d_sae: 160 });
    expect(t.summary).not.toHaveProperty('run'); // strings are not kept
    const g = runs.find((r) => r.name === 'gpt2-vsae')!;
    expect(g).toMatchObject({ arch: 'vsae-iso', hook: 'blocks.0.mlp.hook_post', step: 2000, steps: 2000 });
    expect(g.last).toEqual(metricsRowAt('vsae-iso', 2000));
    expect(g.summary?.mmcs).toBeUndefined();
    const l = runs.find((r) => r.name === 'live-sae')!;
    expect(l).toMatchObject({ status: 'running', step: 200, steps: 5000, logged: 4 });
    expect(store.metrics(lm.dir).values.step).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 100));
    live.writer!.close();
  });

  it('follows a live run: new steps appear on refresh, and subscribers hear about them', () => {
    const root = fresh();
    const run = writeRun(root, { name: 'r', steps: 1000, done: 100, logEvery: 50, keepOpen: true });
    const store = new RunsStore(root);
    let heard = 0;
    store.subscribe(() => heard++);
    store.refresh();
    expect(store.snapshot().runs[0]!.step).toBe(100);
    const before = store.snapshot();
    store.refresh();
    expect(store.snapshot()).toBe(before); // nothing changed: same snapshot, no notification
    const heardBefore = heard;
    run.writer!.append(metricsRowAt('sae', 150));
    store.refresh();
    expect(store.snapshot().runs[0]!.step).toBe(150);
    expect(store.snapshot().runs[0]!.last?.loss).toBe(metricsRowAt('sae', 150).loss);
    expect(heard).toBe(heardBefore + 1);
    run.writer!.close();
  });

  it('polls on its own once started', async () => {
    const root = fresh();
    const store = new RunsStore(root, { intervalMs: 20 });
    store.start();
    try {
      expect(store.snapshot().runs).toEqual([]);
      const run = writeRun(root, { name: 'late', steps: 100, done: 50, logEvery: 50, keepOpen: true });
      await until(() => store.snapshot().runs.length === 1);
      run.writer!.append(metricsRowAt('sae', 100));
      await until(() => store.snapshot().runs[0]!.step === 100);
      run.writer!.close();
    } finally {
      store.stop();
    }
  });

  it('shows damaged or hostile files as sanitized problems instead of failing', () => {
    const root = fresh();
    writeRun(root, { name: 'ok', steps: 100, done: 100 });
    const bad = path.join(root, `evil${HOSTILE_TOKEN}name`);
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'cfg.json'), '{"d_in": 3, "d_sae": '); // cut off mid-write
    const half = writeRun(root, { name: 'half', steps: 100, done: 100 });
    fs.writeFileSync(path.join(half.dir, 'metrics.arrows'), 'garbage that is not arrow');
    fs.mkdirSync(path.join(half.dir, 'analysis'));
    fs.writeFileSync(path.join(half.dir, 'analysis', 'summary.json'), '{"mmcs": 0.');
    const store = new RunsStore(root);
    expect(() => store.refresh()).not.toThrow();
    const runs = store.snapshot().runs;
    expect(runs).toHaveLength(3);
    const evil = runs.find((r) => r.dir === bad)!;
    expect(evil.name).toBe('evil␛[2Jname');
    expect(evil.status).toBe('unknown');
    expect(evil.problems.join(' ')).toMatch(/cfg\.json: is not valid JSON/);
    expect(evil.problems.join(' ')).not.toContain('\x1b');
    const h = runs.find((r) => r.name === 'half')!;
    expect(h.problems.some((p) => p.includes('metrics.arrows'))).toBe(true);
    expect(h.problems.some((p) => p.includes('summary.json'))).toBe(true);
    expect(h.logged).toBe(0);
    // Everything meant for display is clean; only `dir` (a path to read from) keeps the raw name.
    const shown = store.snapshot().runs.map(({ dir: _dir, ...rest }) => rest);
    expect(JSON.stringify(shown)).not.toMatch(/\\u001b/);
  });

  it('says when the runs directory itself is missing, and lists it once it appears', () => {
    const root = path.join(fresh(), 'not-yet');
    const store = new RunsStore(root);
    store.refresh();
    expect(store.snapshot().message).toMatch(/not-yet: no such directory/);
    writeRun(root, { name: 'a', steps: 10, done: 10, logEvery: 5 });
    store.refresh();
    expect(store.snapshot().message).toBeUndefined();
    expect(store.snapshot().runs.map((r) => r.name)).toEqual(['a']);
  });

  it('loads the analysis tables of a run on request, tokens sanitized, and reloads them when they change', async () => {
    const root = fresh();
    const { lm, toy } = writeFixtureRuns(root);
    const store = new RunsStore(root);
    store.refresh();
    expect(store.analysis(lm.dir).features).toBeUndefined(); // loading
    await until(() => store.analysis(lm.dir).features !== undefined);
    const a = store.analysis(lm.dir);
    expect(a.problem).toBeUndefined();
    expect(a.features!.latents).toHaveLength(128);
    const ex = a.examples!.get(1)!;
    expect(ex.map((e) => [e.kind, e.rank])).toEqual([['top', 0], ['top', 1], ['quantile', 0]]);
    expect(ex[0]!.tokens).toContain('␛[2J');
    expect(ex[1]!.tokens).toContain('ab\\u202ecd');
    expect(ex.flatMap((e) => e.tokens ?? []).join('')).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202e]/);
    // vsae analyze runs again: the store notices on its next refresh.
    fs.rmSync(path.join(lm.dir, 'analysis', 'top_examples.arrow'));
    store.refresh();
    expect(store.analysis(lm.dir).examples).toBeNull();
    store.analysis(toy.dir);
    await until(() => store.analysis(toy.dir).features !== undefined);
    expect(store.analysis(toy.dir).examples!.get(1)![0]!.tokens).toBeUndefined();
  });
});
