/**
 * Interrupt and resume with real processes (docs/reliability.md): a training process gets SIGINT or SIGTERM
 * mid-run, writes a checkpoint, marks the run interrupted and exits 130; `resume` finishes it and
 * the final weights equal an uninterrupted run's. Runs over the built package (dist/).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAllClose } from '@vsae/compute/testing';
import { readMetrics, readSafetensors, runStatus } from '@vsae/data';
import { tmpDir, writeSparseDataset } from './helpers.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/train-child.mjs', import.meta.url));
const built = fs.existsSync(path.join(pkg, 'dist', 'index.js'));

function run(opts: Record<string, unknown>, killAtStep?: { step: number; signal: NodeJS.Signals }): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, JSON.stringify(opts)], { cwd: pkg, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VSAE_QUIET: '1' } });
    let out = '';
    let err = '';
    let sent = false;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = [...out.matchAll(/step (\d+)/g)].pop();
      if (killAtStep && !sent && m && Number(m[1]) >= killAtStep.step) {
        sent = true;
        p.kill(killAtStep.signal);
      }
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

const weights = (run: string) => {
  const st = readSafetensors(path.join(run, 'sae_weights.safetensors'));
  return Object.fromEntries([...st.tensors.keys()].map((k) => [k, st.getFloat32(k).data]));
};

const KILLS = Number(process.env.VSAE_STRESS_KILLS ?? (process.env.VSAE_STRESS ? 25 : 3));

describe.skipIf(!built)('interrupting a real training process', () => {
  let dir: string;
  let data: string;
  let base: Record<string, unknown>;
  let ref: Record<string, Float32Array>;
  beforeAll(async () => {
    dir = tmpDir('vsae-sig-');
    data = path.join(dir, 'data.arrow');
    await writeSparseDataset(data, { rows: 3000, dIn: 10, seed: 5 });
    base = { input: data, arch: 'vsae-iso', varFlag: 1, dictMult: 4, steps: 150, batchSize: 128, lr: 2e-3, logEvery: 1, checkpointEvery: 25, resampleEvery: 60, deadWindow: 20, backend: 'wasm' };
    const r = await run({ ...base, out: path.join(dir, 'ref') });
    expect(r.code, r.err).toBe(0);
    ref = weights(path.join(dir, 'ref'));
  }, 120_000);

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal}: checkpoint, status interrupted, exit 130; --resume ends equal to an uninterrupted run`, async () => {
      const out = path.join(dir, `cut-${signal}`);
      const cut = await run({ ...base, out }, { step: 30, signal });
      expect(cut.code, cut.err).toBe(130);
      const status = runStatus(out)!;
      expect(status.status).toBe('interrupted');
      expect(status.step).toBeGreaterThanOrEqual(30);
      expect(status.step).toBeLessThan(150);
      const resumed = await run({ input: data, out, resume: true, backend: 'wasm' });
      expect(resumed.code, resumed.err).toBe(0);
      expect(runStatus(out)).toMatchObject({ status: 'complete', step: 150 });
      const b = weights(out);
      for (const k of Object.keys(ref)) expectAllClose(b[k]!, ref[k]!, { rtol: 0, atol: 1e-6, what: k });
      const steps = readMetrics(path.join(out, 'metrics.arrows')).rows.map((r) => r.step);
      expect(steps).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    });
  }

  it(`SIGKILL at random moments (${KILLS}×, VSAE_STRESS_KILLS): files stay readable and resuming still ends equal`, async () => {
    const out = path.join(dir, 'killed');
    const opts = { ...base, out, checkpointEvery: 3 };
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    let started = false;
    for (let k = 0; k < KILLS; k++) {
      const resume = started && fs.existsSync(path.join(out, 'cfg.json'));
      const r = await run(resume ? { input: data, out, resume: true, backend: 'wasm', checkpointEvery: 3 } : opts, { step: 1 + Math.floor(rand() * 40), signal: 'SIGKILL' });
      if (r.code === 0) break; // finished before the kill
      started = true;
      // Whatever the moment, every file present parses as complete.
      const st = runStatus(out);
      if (st) expect(['running', 'interrupted']).toContain(st.status);
      readMetrics(path.join(out, 'metrics.arrows'));
      if (fs.existsSync(path.join(out, 'sae_weights.safetensors'))) readSafetensors(path.join(out, 'sae_weights.safetensors'));
    }
    const done = await run(fs.existsSync(path.join(out, 'cfg.json')) ? { input: data, out, resume: true, backend: 'wasm' } : opts);
    expect(done.code, done.err).toBe(0);
    const b = weights(out);
    for (const k of Object.keys(ref)) expectAllClose(b[k]!, ref[k]!, { rtol: 0, atol: 1e-6, what: k });
  });
});
