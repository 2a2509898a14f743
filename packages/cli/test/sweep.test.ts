import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { readFrontier, readJson, readMetrics, runStatus } from '@vsae/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, binRunner, expectOneLineError as expectBinError, type Run } from './bin.js';
import { sweepValues } from '../src/commands/sweep.js';
import { planSweep } from '../src/sweep.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-cli-sweep-'));
const vsae = binRunner(tmp, { env: { VSAE_BACKEND: 'wasm' } });
const expectOneLineError = (r: Run, code: number, pattern: RegExp): void => expectBinError(r, code, 'sweep', pattern);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('planSweep', () => {
  const plan = (archs: string[], flags: Record<string, Array<string | number | boolean>>) => planSweep({ out: 's', input: 'toy.arrow', archs, flags });

  it('trains the product of the lists, each swept flag only for the architectures that take it', () => {
    const p = plan(['sae', 'topk', 'vsae-topk'], { k: [2, 5], 'kl-coeff': [0, 1], steps: [100], 'l1-coeff': [0.3] });
    expect(p.swept).toEqual([{ flag: 'k', column: 'k' }, { flag: 'kl-coeff', column: 'kl_coeff' }]);
    expect(p.runs.map((r) => r.name)).toEqual(['sae', 'topk-k2', 'topk-k5', 'vsae-topk-k2-kl-coeff0', 'vsae-topk-k2-kl-coeff1', 'vsae-topk-k5-kl-coeff0', 'vsae-topk-k5-kl-coeff1']);
    expect(p.runs[0]).toEqual({ name: 'sae', arch: 'sae', setting: { k: null, kl_coeff: null }, train: ['--arch', 'sae', '--steps', '100', '--l1-coeff', '0.3'] });
    expect(p.runs[4]).toEqual({ name: 'vsae-topk-k2-kl-coeff1', arch: 'vsae-topk', setting: { k: 2, kl_coeff: 1 }, train: ['--arch', 'vsae-topk', '--k', '2', '--kl-coeff', '1', '--steps', '100'] });
  });

  it('refuses what vsae train would refuse, before anything runs', () => {
    expect(() => plan(['topk'], { 'l1-coeff': [0.1, 0.3], k: [4] })).toThrow(/^--l1-coeff does not apply to --arch topk \(it is taken by sae\)$/);
    expect(() => plan(['topk'], { steps: [10] })).toThrow(/--arch topk needs --k N/);
    expect(() => plan(['sae'], { 'lr-decay': ['linear', 'cosine'] })).toThrow(/^--lr-decay takes one value: lists are for numeric flags/);
    expect(() => plan(['topk'], { k: [] })).toThrow(/^--k needs a value$/);
    expect(() => plan(['topk'], { k: [200], 'd-sae': [160] })).toThrow(/--k 200 is larger than --d-sae 160/);
    expect(() => plan(['nope'], {})).toThrow(/^--arch must be one of sae, /);
    expect(() => planSweep({ out: 's', input: '-', archs: ['sae'], flags: {} })).toThrow(/cannot be swept/);
  });
});

describe('sweepValues', () => {
  it('splits the lists of numeric flags and --arch and checks each value as train does', () => {
    expect(sweepValues('k', '2, 5,10')).toEqual([2, 5, 10]);
    expect(sweepValues('lr', '1e-3,3e-4')).toEqual([1e-3, 3e-4]);
    expect(sweepValues('arch', 'topk,vsae-topk')).toEqual(['topk', 'vsae-topk']);
    expect(sweepValues('input', 'a,b.arrow')).toEqual(['a,b.arrow']);
    expect(() => sweepValues('k', '2,')).toThrow(/^--k has an empty value in "2,"/);
    expect(() => sweepValues('k', '2.5')).toThrow(/^--k needs a whole number, not "2.5"$/);
    expect(() => sweepValues('k', '0')).toThrow(/^--k must be at least 1/);
    expect(() => sweepValues('arch', 'topk,nope')).toThrow(/^--arch must be one of /);
    expect(() => sweepValues('var-flag', '0,1')).toThrow(/^--var-flag takes one value \(got "0,1"\): lists are for --arch and the numeric flags /);
  });
});

describe('vsae sweep', () => {
  beforeAll(() => {
    const r = vsae(['toy', '--n-features', '30', '--n-hidden', '10', '--rows', '3000', '--toy-steps', '200', '--feature-probability', '0.2', '--seed', '3', '-o', 'toy.arrow', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
  });
  const base = ['--d-sae', '40', '--steps', '150', '--batch-size', '256', '--log-every', '50', '--input', 'toy.arrow', '-o', 's', '--n-samples', '2000', '--quiet'];

  it('trains and analyses each setting and writes frontier.arrow, one row per run', () => {
    const r = vsae(['sweep', '--arch', 'topk', '--k', '3,6', ...base]);
    expect(r.status, r.stderr).toBe(0);
    const f = readFrontier(path.join(tmp, 's'));
    expect(f.swept).toEqual(['k']);
    expect(f.rows.map((x) => [x.run, x.arch, x.setting.k])).toEqual([['topk-k3', 'topk', 3], ['topk-k6', 'topk', 6]]);
    expect(f.metrics).toEqual(['l0', 'explained_variance', 'mse', 'frac_alive', 'mmcs', 'mmcs_represented', 'train_s']);
    // TopK keeps k latents per row (fewer only where fewer pre-activations are positive).
    expect(f.rows[0]!.values.l0).toBeGreaterThan(2.5);
    expect(f.rows[0]!.values.l0).toBeLessThanOrEqual(3);
    expect(f.rows[1]!.values.l0).toBeGreaterThan(5);
    expect(f.rows[1]!.values.l0).toBeLessThanOrEqual(6);
    // Each row is its run's analysis and metrics, read back independently.
    for (const row of f.rows) {
      const s = readJson(path.join(tmp, 's', row.run, 'analysis', 'summary.json')) as Record<string, number>;
      expect(row.values.l0).toBe(s.l0);
      expect(row.values.explained_variance).toBe(s.explained_variance);
      expect(row.values.mse).toBe(s.mse_mean);
      expect(row.values.mmcs_represented).toBe(s.mmcs_represented);
      expect(row.values.frac_alive).toBeCloseTo(s.frac_alive ?? 1 - s.percent_dead_neurons! / 100, 12);
      const m = readMetrics(path.join(tmp, 's', row.run, 'metrics.arrows')).rows;
      expect(row.values.train_s).toBe(m[m.length - 1]!.elapsed_s);
    }
    // The printed table is the frontier.
    const out = r.out.trim().split('\n');
    expect(out[0]).toMatch(/^run\s+arch\s+k\s+L0\s+expl\. var\s+MSE\s+alive\s+MMCS\s+MMCS \(repr\.\)\s+train s$/);
    expect(out.slice(2).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([['topk-k3', 'topk', '3'], ['topk-k6', 'topk', '6']]);
  });

  it('skips finished runs on a rerun and analyses a run that was only trained', () => {
    const frontier = path.join(tmp, 's', 'frontier.arrow');
    const before = readFrontier(path.join(tmp, 's'));
    fs.rmSync(path.join(tmp, 's', 'topk-k6', 'analysis'), { recursive: true });
    const r = vsae(['sweep', '--arch', 'topk', '--k', '3,6', ...base, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.out) as { done: Record<string, string>; rows: Array<Record<string, unknown>> };
    expect(j.done).toEqual({ 'topk-k3': 'skipped', 'topk-k6': 'analysed' });
    expect(j.rows.map((x) => [x.run, x.k, typeof x.frac_alive])).toEqual([['topk-k3', 3, 'number'], ['topk-k6', 6, 'number']]);
    // Same weights, same analysis: the same frontier.
    expect(readFrontier(path.join(tmp, 's')).rows).toEqual(before.rows);
    expect(fs.existsSync(frontier)).toBe(true);
  });

  it('refuses to reuse a run directory trained with other settings', () => {
    const r = vsae(['sweep', '--arch', 'topk', '--k', '3,6', ...base.map((a) => (a === '150' ? '160' : a))]);
    expectOneLineError(r, 1, /topk-k3: exists but was not trained by this sweep's settings \(--arch topk --d-sae 40 --k 3 --steps 150 .*\); give another -o DIR or remove it$/);
  });

  it('stops with exit 2 and one line for an empty list, a bad value, a list on a flag that takes one, an unused flag', () => {
    expectOneLineError(vsae(['sweep', '--arch', 'topk', '--k', '', ...base]), 2, /--k has an empty value/);
    expectOneLineError(vsae(['sweep', '--arch', 'topk', '--k', '3,six', ...base]), 2, /--k needs a number, not "six"/);
    expectOneLineError(vsae(['sweep', '--arch', 'topk', '--k', '3', '--lr-decay', 'linear,cosine', ...base]), 2, /--lr-decay takes one value \(got "linear,cosine"\)/);
    expectOneLineError(vsae(['sweep', '--arch', 'topk,vsae-topk', '--k', '3', '--l1-coeff', '0.1,0.3', ...base]), 2, /--l1-coeff does not apply to --arch topk,vsae-topk \(it is taken by sae\)/);
    expectOneLineError(vsae(['sweep', '--arch', 'topk,', '--k', '3', ...base]), 2, /--arch has an empty value/);
    expect(fs.existsSync(path.join(tmp, 'nothing'))).toBe(false);
  });

  it('stops on SIGINT with exit 130 and checkpointed runs, and the same command resumes them', async () => {
    const args = ['sweep', '--arch', 'topk', '--k', '2,4', ...base.map((a) => (a === '150' ? '2500' : a === 's' ? 'r' : a))];
    const child = spawn(process.execPath, [bin, ...args], { cwd: tmp, env: { ...process.env, VSAE_BACKEND: 'wasm' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const logged = (run: string): number => {
      try {
        return readMetrics(path.join(tmp, 'r', run, 'metrics.arrows')).rows.length;
      } catch {
        return 0;
      }
    };
    const end = Date.now() + 120_000;
    while (Date.now() < end && (logged('topk-k2') < 2 || logged('topk-k4') < 2)) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr.trimEnd().split('\n').pop()).toBe('vsae sweep: interrupted; the runs in progress saved checkpoints: run the same command again to resume');
    expect(fs.existsSync(path.join(tmp, 'r', 'frontier.arrow'))).toBe(false);
    const before: Record<string, unknown[]> = {};
    for (const run of ['topk-k2', 'topk-k4']) {
      const st = runStatus(path.join(tmp, 'r', run))!;
      expect(st.status, run).toBe('interrupted');
      expect(st.step).toBeLessThan(2500);
      before[run] = readMetrics(path.join(tmp, 'r', run, 'metrics.arrows')).rows;
      expect(fs.existsSync(path.join(tmp, 'r', run, 'checkpoints', 'latest')), run).toBe(true);
    }
    const r = vsae([...args, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.out) as { done: unknown }).done).toEqual({ 'topk-k2': 'resumed', 'topk-k4': 'resumed' });
    for (const run of ['topk-k2', 'topk-k4']) {
      expect(runStatus(path.join(tmp, 'r', run))).toMatchObject({ status: 'complete', step: 2500 });
      // Resumed, not restarted: the rows logged before the interruption are still the first ones,
      // and the steps run on from there.
      const rows = readMetrics(path.join(tmp, 'r', run, 'metrics.arrows')).rows;
      expect(rows.slice(0, before[run]!.length)).toEqual(before[run]);
      const steps = rows.map((x) => Number(x.step));
      expect(steps.every((v, i) => i === 0 || v > steps[i - 1]!)).toBe(true);
    }
    expect(readFrontier(path.join(tmp, 'r')).rows.map((x) => x.run)).toEqual(['topk-k2', 'topk-k4']);
  });
});
