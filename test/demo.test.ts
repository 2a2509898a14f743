/**
 * `vsae demo --quick` end to end through the real bin: it writes the toy dataset, four runs,
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
const ARCHS = ['sae', 'vsae-iso', 'vsae-mix', 'vsae-multi'];

let tmp: string;
let out: string;
let result: { status: number | null; stdout: string; stderr: string };

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-demo-'));
  out = path.join(tmp, 'demo');
  const r = spawnSync(process.execPath, [BIN, 'demo', '--quick', '--out', out], { encoding: 'utf8', cwd: tmp, timeout: 600_000 });
  result = { status: r.status, stdout: r.stdout, stderr: r.stderr };
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('vsae demo --quick', () => {
  it('exits 0 and writes the dataset, the four runs with their analyses, and the report', () => {
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
      const [, l0, ev, dead, mmcs, rep] = row!.trim().split(/\s+/);
      const s = JSON.parse(fs.readFileSync(path.join(out, 'runs', arch, 'analysis', 'summary.json'), 'utf8')) as Record<string, number>;
      expect(l0).toBe(s.l0!.toFixed(2));
      expect(ev).toBe(s.explained_variance!.toFixed(3));
      expect(dead).toBe(s.percent_dead_neurons!.toFixed(1));
      expect(mmcs).toBe(s.mmcs!.toFixed(3));
      expect(rep).toBe(s.mmcs_represented!.toFixed(3));
    }
    expect(lines.some((l) => /^random dictionary\s+0\.\d{3}\s+0\.\d{3}/.test(l))).toBe(true);
    expect(result.stdout).toMatch(/Report: .*report\.html/);
  });

  it('trains a vanilla SAE that recovers the represented toy features', () => {
    // The demo's settings were chosen so the SAE recovers the directions the toy model represents;
    // a regression in training or analysis shows here first.
    const s = JSON.parse(fs.readFileSync(path.join(out, 'runs', 'sae', 'analysis', 'summary.json'), 'utf8')) as Record<string, number>;
    expect(s.mmcs_represented).toBeGreaterThan(0.85);
    expect(s.l0).toBeLessThan(20);
  });
});
