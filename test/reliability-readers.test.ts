/**
 * Readers beside a writer (docs/reliability.md): a real `vsae train` runs while `vsae dash` (plain table:
 * stdout is not a terminal), `vsae report` and `vsae analyze` are run against its run directory
 * over and over. Every reader must exit 0 (analyze may refuse with one line before the first
 * weights exist), print no stack trace, and see only complete data: the report's curve holds
 * logged steps only, in order; the step counts the dash and the report show never go back and
 * never pass what the trainer has logged. Then the trainer is interrupted (exit 130) and the
 * readers run once more on the interrupted run.
 *
 * How long the readers run beside the trainer: VSAE_STRESS_LIVE_SECONDS (20; 120 under VSAE_STRESS).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, readMetrics, runStatus } from '@vsae/data';
import { BIN, size, vsae, writeSparseDataset } from '@vsae/testkit/harness';

const SECONDS = size('VSAE_STRESS_LIVE_SECONDS', 20, 120);
const STEPS = 1_000_000;
const LOG_EVERY = 5;

let tmp: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-rel-readers-'));
  await writeSparseDataset(path.join(tmp, 'd.arrow'), { rows: 20_000, dIn: 24, seed: 3 });
  fs.mkdirSync(path.join(tmp, 'runs'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The report's embedded data (the page's one JSON script). */
function reportData(file: string): { runs: Array<{ name: string; status: { step: number | null } | null; metrics: { rows: number; step: number[] } | null; notes: Array<{ file: string; state: string }> }> } {
  const html = fs.readFileSync(file, 'utf8');
  expect(html).toMatch(/<\/html>\s*$/);
  const m = /<script type="application\/json"[^>]*>([\s\S]*?)<\/script>/.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]!);
}

const noStack = (stderr: string) => expect(stderr, 'a stack trace').not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('dash, report and analyze beside a live vsae train', () => {
  it(`read only complete data and never crash (${SECONDS} s of readers)`, async () => {
    const run = path.join(tmp, 'runs', 'live');
    const trainer = spawn(process.execPath, [BIN, 'train', '--input', 'd.arrow', '-o', 'runs/live', '--arch', 'vsae-iso', '--dict-mult', '4', '--steps', String(STEPS), '--batch-size', '256', '--log-every', String(LOG_EVERY), '--checkpoint-every', '50', '-q'], {
      cwd: tmp,
      env: { ...process.env, VSAE_BACKEND: process.env.VSAE_BACKEND ?? 'wasm' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let trainerErr = '';
    trainer.stderr.on('data', (d: Buffer) => (trainerErr += d));
    const ended = new Promise<number | null>((resolve) => trainer.on('close', (code) => resolve(code)));
    const counts = { dash: 0, report: 0, analyze: 0, analyzeRefused: 0 };
    let lastDashStep = 0;
    let lastReportStep = 0;
    try {
      // Wait for the run to exist, then read it over and over.
      const t0 = Date.now();
      while (!fs.existsSync(path.join(run, 'cfg.json'))) {
        expect(Date.now() - t0, trainerErr).toBeLessThan(120_000);
        await new Promise((r) => setTimeout(r, 100));
      }
      const end = Date.now() + SECONDS * 1000;
      for (let i = 0; Date.now() < end || counts.analyze === 0; i++) {
        expect(Date.now() - end, `analyze never succeeded: ${trainerErr}`).toBeLessThan(120_000);
        const logged = () => readMetrics(path.join(run, 'metrics.arrows')).rows.at(-1)?.step ?? 0;

        const d = vsae(['dash', 'runs'], { cwd: tmp });
        expect(d.code, d.stderr).toBe(0);
        noStack(d.stderr);
        const row = d.stdout.split('\n').find((l) => /^live\s/.test(l));
        expect(row, d.stdout).toBeDefined();
        const shown = /(\d+)\/1000000/.exec(row!);
        if (shown) {
          const step = Number(shown[1]);
          expect(step).toBeGreaterThanOrEqual(lastDashStep);
          expect(step).toBeLessThanOrEqual(logged());
          lastDashStep = step;
        }
        counts.dash++;

        const out = path.join(tmp, `report-${i}.html`);
        const r = vsae(['report', 'runs/live', '-o', out], { cwd: tmp });
        expect(r.code, r.stderr).toBe(0);
        noStack(r.stderr);
        const data = reportData(out).runs[0]!;
        if (data.metrics) {
          const steps = data.metrics.step;
          expect(data.metrics.rows).toBeGreaterThanOrEqual(steps.length);
          steps.forEach((s, k) => {
            expect(s % LOG_EVERY, `step ${s} is not a logged step`).toBe(0);
            if (k > 0) expect(s).toBeGreaterThan(steps[k - 1]!);
          });
          const last = steps.at(-1) ?? 0;
          expect(last).toBeGreaterThanOrEqual(lastReportStep);
          expect(last).toBeLessThanOrEqual(logged());
          lastReportStep = last;
        }
        fs.rmSync(out);
        counts.report++;

        if (i % 2 === 0) {
          const a = vsae(['analyze', 'runs/live', '--input', 'd.arrow', '--feature-sparsity', '--reconstruction-quality', '--n-samples', '4000', '-q'], { cwd: tmp });
          noStack(a.stderr);
          if (a.code === 0) {
            const s = readJson<{ parameters: { run_status?: string; notes?: string[] } }>(path.join(run, 'analysis', 'summary.json'));
            expect(s.parameters.run_status).toBe('running');
            counts.analyze++;
          } else {
            expect(a.code, a.stderr).toBe(1);
            expect(a.stderr).toMatch(/has no sae_weights\.safetensors yet/);
            counts.analyzeRefused++;
          }
        }
      }
      expect(trainer.exitCode, `the trainer stopped early: ${trainerErr}`).toBeNull();
    } finally {
      trainer.kill('SIGINT');
    }
    expect(await ended, trainerErr).toBe(130);
    expect(runStatus(run)).toMatchObject({ status: 'interrupted' });
    // And once more on the interrupted run.
    const d = vsae(['dash', 'runs'], { cwd: tmp });
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/live\s.*interrupted/);
    const r = vsae(['report', 'runs/live'], { cwd: tmp });
    expect(r.code, r.stderr).toBe(0);
    const final = reportData(path.join(run, 'report.html')).runs[0]!;
    expect(final.metrics!.step.at(-1)).toBe(readMetrics(path.join(run, 'metrics.arrows')).rows.at(-1)!.step);
    console.log(`reliability-readers: ${SECONDS} s beside the trainer: ${JSON.stringify(counts)}, last step logged ${final.metrics!.step.at(-1)}`);
  }, 600_000);
});
