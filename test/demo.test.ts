/**
 * `vsae demo --quick` end to end through the real bin: it writes the toy dataset, seven runs,
 * their analyses and one comparison report, and every figure in the table it prints is the one
 * its analysis wrote (nothing in the table is computed anywhere else, except the chance row).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'packages', 'cli', 'bin', 'vsae.js');
const ARCHS = ['sae', 'vsae-iso', 'vsae-mix', 'vsae-multi', 'topk', 'vsae-topk', 'vsae-topk-kl0'];

let tmp: string;
let out: string;
let result: { status: number | null; stdout: string; stderr: string };

const demo = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, 'demo', '--quick', '--out', out, ...args], { encoding: 'utf8', cwd: tmp, timeout: 600_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
const summary = (run: string) => JSON.parse(fs.readFileSync(path.join(out, 'runs', run, 'analysis', 'summary.json'), 'utf8')) as Record<string, number>;
const alive = (s: Record<string, number>) => s.frac_alive ?? 1 - s.percent_dead_neurons! / 100;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-demo-'));
  out = path.join(tmp, 'demo');
  result = demo();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('vsae demo --quick', () => {
  it('exits 0 and writes the dataset, the seven runs with their analyses, and the report', () => {
    expect(result.status, result.stderr).toBe(0);
    expect(fs.existsSync(path.join(out, 'toy.arrow'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'toy.truth.safetensors'))).toBe(true);
    for (const arch of ARCHS) {
      for (const f of ['cfg.json', 'sae_weights.safetensors', 'metrics.arrows', 'analysis/summary.json', 'analysis/features.arrow', 'analysis/ground_truth.arrow', 'analysis/embedding.arrow']) {
        expect(fs.existsSync(path.join(out, 'runs', arch, f)), `${arch}/${f}`).toBe(true);
      }
    }
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html.startsWith('<!doctype html>') || html.startsWith('<!DOCTYPE html>')).toBe(true);
    for (const arch of ARCHS) expect(html).toContain(path.join(out, 'runs', arch).replace(/</g, '\\u003c'));
  });

  it('prints a table whose figures are those of each run\'s summary.json', () => {
    const lines = result.stdout.split('\n');
    for (const arch of ARCHS) {
      const row = lines.find((l) => l.startsWith(`${arch} `));
      expect(row, `a table row for ${arch} in:\n${result.stdout}`).toBeDefined();
      const [, l0, ev, dead, fracAlive, mmcs, rep] = row!.trim().split(/\s+/);
      const s = summary(arch);
      expect(l0).toBe(s.l0!.toFixed(2));
      expect(ev).toBe(s.explained_variance!.toFixed(3));
      expect(dead).toBe(s.percent_dead_neurons!.toFixed(1));
      expect(fracAlive).toBe(alive(s).toFixed(2));
      expect(mmcs).toBe(s.mmcs!.toFixed(3));
      expect(rep).toBe(s.mmcs_represented!.toFixed(3));
    }
    expect(lines.some((l) => /^random dictionary\s+0\.\d{3}\s+0\.\d{3}/.test(l))).toBe(true);
    expect(result.stdout).toMatch(/Report: .*report\.html/);
  });

  it('closes with plain sentences that quote this run\'s figures', () => {
    const vt = summary('vsae-topk');
    const vt0 = summary('vsae-topk-kl0');
    const pct = (x: number) => `${Math.round(100 * x)} %`;
    expect(result.stdout).toContain(`vSAE-TopK keeps ${pct(alive(vt))} of its latents alive with it and ${pct(alive(vt0))} without it (KL coefficient 0, the same learning rate); TopK keeps ${pct(alive(summary('topk')))}.`);
    expect(result.stdout).toMatch(new RegExp(`At the same k = 5, TopK and vSAE-TopK .*: MMCS ${summary('topk').mmcs_represented!.toFixed(3)} and ${vt.mmcs_represented!.toFixed(3)} on the represented features`));
  });

  it('--json carries every row with its alive fraction, TopK and vSAE-TopK included', () => {
    const r = demo('--json', '--quiet');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { rows: Array<{ name: string; arch: string; frac_alive: number; l0: number }> };
    expect(j.rows.map((x) => [x.name, x.arch])).toEqual([['sae', 'sae'], ['vsae-iso', 'vsae-iso'], ['vsae-mix', 'vsae-mix'], ['vsae-multi', 'vsae-multi'], ['topk', 'topk'], ['vsae-topk', 'vsae-topk'], ['vsae-topk-kl0', 'vsae-topk']]);
    for (const x of j.rows) expect(x.frac_alive, x.name).toBe(alive(summary(x.name)));
  });

  it('trains a vanilla SAE that recovers the represented toy features', () => {
    // The demo's settings were chosen so the SAE recovers the directions the toy model represents;
    // a regression in training or analysis shows here first.
    const s = summary('sae');
    expect(s.mmcs_represented).toBeGreaterThan(0.85);
    expect(s.l0).toBeLessThan(20);
  });
});
