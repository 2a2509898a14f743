import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatasetWriter, parseSize, readMetrics, readRunConfig, readSafetensors, runStatus } from '@vsae/data';
import { DEFAULT_COEFF, TRAIN_DEFAULTS } from '@vsae/sae';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, binRunner, expectOneLineError as expectBinError, type Run } from './bin.js';
import { command } from '../src/commands/train.js';

// End-to-end: the real, built bin.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-cli-train-'));
const vsae = binRunner(tmp, { env: { VSAE_BACKEND: 'wasm' } });
const expectOneLineError = (r: Run, code: number, pattern: RegExp): void => expectBinError(r, code, 'train', pattern);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function dataset(file: string, rows: number, dIn: number, config?: Record<string, unknown>): Promise<void> {
  const act = new Float32Array(rows * dIn);
  let s = 7;
  for (let i = 0; i < act.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    act[i] = s / 2 ** 32 < 0.2 ? s / 2 ** 31 : 0;
  }
  const w = await createDatasetWriter(file, { meta: { source: 'test', dIn, config } });
  await w.write({ numRows: rows, act });
  await w.close();
}

beforeAll(async () => {
  await dataset(path.join(tmp, 'd.arrow'), 2000, 6, { n_correlated_pairs: 1, n_anticorrelated_pairs: 1 });
  await dataset(path.join(tmp, 'wide.arrow'), 300, 9);
});

describe('vsae train', () => {
  it('the help text shows the defaults of @vsae/sae', () => {
    const o = command.options;
    expect(o.arch!.default).toBe(TRAIN_DEFAULTS.arch);
    expect(o['dict-mult']!.default).toBe(TRAIN_DEFAULTS.dictMult);
    expect(o.steps!.default).toBe(TRAIN_DEFAULTS.steps);
    expect(o['batch-size']!.default).toBe(TRAIN_DEFAULTS.batchSize);
    expect(o.lr!.default).toBe(TRAIN_DEFAULTS.lr);
    expect(o['lr-decay']!.default).toBe(TRAIN_DEFAULTS.lrDecay);
    expect(o['resample-every']!.default).toBe(TRAIN_DEFAULTS.resampleEvery);
    expect(o['dead-window']!.default).toBe(TRAIN_DEFAULTS.deadWindow);
    expect(o.seed!.default).toBe(TRAIN_DEFAULTS.seed);
    expect(o['checkpoint-every']!.default).toBe(TRAIN_DEFAULTS.checkpointEvery);
    expect(o['var-flag']!.default).toBe(TRAIN_DEFAULTS.varFlag);
    expect(o['l1-coeff']!.help).toContain(String(DEFAULT_COEFF.sae));
    expect(o['kl-coeff']!.help).toContain(String(DEFAULT_COEFF['vsae-iso']));
    expect(parseSize('m', '512M')).toBe(512 * 2 ** 20);
    expect(parseSize('m', '1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(() => parseSize('max-memory', 'lots')).toThrow(/--max-memory takes a size/);
  });

  it('trains into a run directory and says so in one line', () => {
    const r = vsae(['train', '--arch', 'sae', '--input', 'd.arrow', '-o', 'runs/sae', '--steps', '20', '--batch-size', '64', '--dict-mult', '2', '--log-every', '5']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.out).toBe('');
    expect(r.stderr.trimEnd().split('\n').pop()).toMatch(/^vsae train: trained 20 steps \(.*wasm\): loss .*, L0 .*, dead .*%, explained variance .*; run in runs\/sae$/);
    const run = path.join(tmp, 'runs/sae');
    expect(readRunConfig(run)).toMatchObject({ d_in: 6, d_sae: 12, vsae: { arch: 'sae', steps: 20 } });
    expect(readMetrics(path.join(run, 'metrics.arrows')).rows.map((x) => x.step)).toEqual([5, 10, 15, 20]);
    expect(runStatus(run)?.status).toBe('complete');
  });

  it("accepts the original project's spellings", () => {
    const r = vsae(['train', '--vsae_mix', '--input', 'd.arrow', '-o', 'runs/orig', '--steps', '6', '--batch_size', '64', '--dict_mult', '2', '--kl_coeff', '0.01', '--l1_coeff', '5', '--var_flag', '1', '--lr_decay', 'cosine', '--use_tensorboard', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/--l1-coeff is ignored by vsae-mix/);
    const summary = JSON.parse(r.out);
    expect(summary).toMatchObject({ status: 'complete', step: 6, steps: 6, backend: 'wasm' });
    const run = path.join(tmp, 'runs/orig');
    expect(readRunConfig(run).vsae).toMatchObject({ arch: 'vsae-mix', var_flag: 1, lr_decay: 'cosine', kl_coeff: 0.01, tensorboard: true, n_correlated_pairs: 1, n_anticorrelated_pairs: 1 });
    expect(fs.readdirSync(run).some((f) => f.startsWith('events.out.tfevents.'))).toBe(true);
    expect(readSafetensors(path.join(run, 'sae_weights.safetensors')).tensors.has('W_enc_var')).toBe(true);
  });

  it('usage mistakes and impossible options exit 2 with one line', () => {
    expectOneLineError(vsae(['train', '-o', 'runs/x']), 2, /needs --input PATH/);
    expectOneLineError(vsae(['train', '--input', 'd.arrow']), 2, /needs -o DIR/);
    expectOneLineError(vsae(['train', '--arch', 'vae', '--input', 'd.arrow', '-o', 'runs/x']), 2, /--arch must be one of sae, vsae-iso, vsae-mix, vsae-multi, topk, batchtopk, vsae-topk/);
    expectOneLineError(vsae(['train', '--arch', 'vsae-mix', '--n-correlated-pairs', '30', '--input', 'd.arrow', '-o', 'runs/x', '--dict-mult', '2']), 2, /30 correlated and 1 anti-correlated pairs need 62 latents but d_sae is 12/);
    expectOneLineError(vsae(['train', '--arch', 'vsae-multi', '--corr-rate', '-0.5', '--input', 'd.arrow', '-o', 'runs/x', '--dict-mult', '2']), 2, /--corr-rate must lie in \(−1\/\(d_sae−1\), 1\)/);
    expectOneLineError(vsae(['train', '--input', 'missing.arrow', '-o', 'runs/x']), 1, /missing\.arrow/);
    expectOneLineError(vsae(['train', '--input', 'd.arrow', '-o', 'runs/sae']), 2, /already holds a training run; pass --resume/);
    expectOneLineError(vsae(['train', '--resume', '--steps', '50', '--lr', '0.5', '--input', 'd.arrow', '-o', 'runs/sae']), 2, /--resume continues the run with its saved options, and these differ: --steps \(saved 20, given 50\), --lr \(saved 0\.001, given 0\.5\)/);
    // The TopK models' flags: k in 1…d_sae, and only for the architectures that take them.
    expectOneLineError(vsae(['train', '--arch', 'topk', '--input', 'd.arrow', '-o', 'runs/x']), 2, /--arch topk needs --k N/);
    expectOneLineError(vsae(['train', '--arch', 'topk', '--k', '0', '--input', 'd.arrow', '-o', 'runs/x']), 2, /--k must be at least 1/);
    expectOneLineError(vsae(['train', '--arch', 'topk', '--k', '13', '--dict-mult', '2', '--input', 'd.arrow', '-o', 'runs/x']), 2, /--k 13 is larger than d_sae 12/);
    expectOneLineError(vsae(['train', '--arch', 'sae', '--k', '3', '--input', 'd.arrow', '-o', 'runs/x']), 2, /--k does not apply to --arch sae \(it is taken by topk, batchtopk, vsae-topk\)/);
    expectOneLineError(vsae(['train', '--arch', 'vsae-iso', '--aux-coeff', '0.1', '--input', 'd.arrow', '-o', 'runs/x']), 2, /--aux-coeff does not apply to --arch vsae-iso/);
    expectOneLineError(vsae(['train', '--arch', 'topk', '--k', '3', '--resample-every', '100', '--input', 'd.arrow', '-o', 'runs/x']), 2, /--resample-every does not apply to --arch topk/);
    expectOneLineError(vsae(['train', '--arch', 'sae', '--var-flag', '1', '--input', 'd.arrow', '-o', 'runs/x']), 2, /--var-flag does not apply to --arch sae/);
    expectOneLineError(vsae(['train', '--vsae_iso', '--vanilla_sae', '--input', 'd.arrow', '-o', 'runs/x']), 2, /--arch is given twice with different values \(vsae-iso and sae\)/);
  });

  it('--resume accepts the flags of the command that started the run, when they are equal', () => {
    const base = ['train', '--arch', 'sae', '--input', 'd.arrow', '-o', 'runs/again', '--steps', '10', '--batch-size', '64', '--dict-mult', '2', '--checkpoint-every', '5'];
    expect(vsae([...base, '-q']).status).toBe(0);
    const r = vsae([...base, '--steps', '10', '--resume', '-q']);
    expect(r.status).toBe(1); // equal flags pass the check; the run is already complete
    expect(r.stderr).toMatch(/the run is already complete \(10 of 10 steps\)/);
  });

  it('--resume of a run whose checkpoint is gone says so and stops (it never silently starts over)', () => {
    const base = ['train', '--arch', 'sae', '--input', 'd.arrow', '-o', 'runs/lost', '--steps', '10', '--batch-size', '64', '--dict-mult', '2', '--checkpoint-every', '5', '-q'];
    expect(vsae(base).status).toBe(0);
    fs.rmSync(path.join(tmp, 'runs/lost/checkpoints/latest'), { recursive: true, force: true });
    expectOneLineError(vsae(['train', '--resume', '--input', 'd.arrow', '-o', 'runs/lost']), 1, /checkpoints\/latest is missing or unreadable, so the run cannot continue where it stopped/);
  });

  it('a run whose stdin ends before --steps exits 1 with the step reached, or 0 with --allow-short-input', () => {
    const stream = vsae(['toy', '--rows', '300', '--toy-steps', '5', '--n-features', '10', '--n-hidden', '6', '-o', '-', '--truth', 'short.truth.safetensors', '-q']);
    expect(stream.status, stream.stderr).toBe(0);
    const args = (out: string) => ['train', '--arch', 'sae', '--input', '-', '-o', out, '--steps', '50', '--batch-size', '64', '--dict-mult', '2', '--json'];
    const short = vsae(args('runs/short'), { input: stream.stdout });
    expect(short.status, short.stderr).toBe(1);
    expect(JSON.parse(short.out)).toMatchObject({ status: 'input-ended' });
    expect(JSON.parse(short.out).step).toBeLessThan(50);
    const allowed = vsae([...args('runs/short2'), '--allow-short-input'], { input: stream.stdout });
    expect(allowed.status, allowed.stderr).toBe(0);
  });

  it('trains the TopK models and writes SAELens topk configs', () => {
    for (const arch of ['topk', 'vsae-topk', 'batchtopk']) {
      const r = vsae(['train', '--arch', arch, '--k', '3', '--input', 'd.arrow', '-o', `runs/${arch}`, '--steps', '20', '--batch-size', '64', '--dict-mult', '2', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const summary = JSON.parse(r.out);
      expect(summary.l0, arch).toBeLessThanOrEqual(3 + 1e-6);
      const cfg = readRunConfig(path.join(tmp, `runs/${arch}`)) as unknown as Record<string, unknown>;
      expect(cfg.architecture).toBe(arch === 'batchtopk' ? 'jumprelu' : 'topk');
      expect(cfg.k).toBe(3);
      expect(cfg.apply_b_dec_to_input).toBe(arch !== 'vsae-topk');
      const cols = readMetrics(path.join(tmp, `runs/${arch}`, 'metrics.arrows')).columns.map((c) => c.name);
      expect(cols).toContain('auxk');
      if (arch === 'vsae-topk') expect(cols).toContain('kl');
    }
  });

  it('a run directory has one writer: a second training or a --resume of a live run is refused naming the first', async () => {
    const args = ['train', '--arch', 'sae', '--input', 'd.arrow', '-o', 'runs/busy', '--steps', '100000', '--batch-size', '64', '--dict-mult', '2', '--log-every', '1'];
    const first = spawn(process.execPath, [bin, ...args], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, VSAE_BACKEND: 'wasm' } });
    try {
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          if (fs.existsSync(path.join(tmp, 'runs/busy/metrics.arrows'))) {
            clearInterval(t);
            resolve();
          }
        }, 50);
      });
      const pid = String(first.pid);
      const again = vsae(['train', '--arch', 'sae', '--input', 'd.arrow', '-o', 'runs/busy', '--steps', '10', '--dict-mult', '2']);
      expect(again.status).not.toBe(0);
      expect(again.stderr).toMatch(/already holds a training run|is in use/);
      const resume = vsae(['train', '--resume', '--input', 'd.arrow', '-o', 'runs/busy']);
      expectOneLineError(resume, 1, new RegExp(`runs/busy is in use: vsae train \\(pid ${pid}`));
    } finally {
      first.kill('SIGKILL');
      await new Promise((r) => first.on('close', r));
    }
    // (Taking over the stale lock of a killed writer is tested with real processes in @vsae/data.)
  }, 120_000);

  it('SIGINT writes a checkpoint and exits 130; --resume finishes; another width is refused', async () => {
    const args = ['train', '--arch', 'vsae-iso', '--input', 'd.arrow', '-o', 'runs/cut', '--steps', '400', '--batch-size', '64', '--dict-mult', '2', '--log-every', '1'];
    const code = await new Promise<number | null>((resolve) => {
      const p = spawn(process.execPath, [bin, ...args], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, VSAE_BACKEND: 'wasm' } });
      const timer = setInterval(() => {
        if (fs.existsSync(path.join(tmp, 'runs/cut/metrics.arrows')) && readMetrics(path.join(tmp, 'runs/cut/metrics.arrows')).rows.length >= 5) {
          clearInterval(timer);
          p.kill('SIGINT');
        }
      }, 50);
      p.on('close', (c) => {
        clearInterval(timer);
        resolve(c);
      });
    });
    expect(code).toBe(130);
    const st = runStatus(path.join(tmp, 'runs/cut'))!;
    expect(st.status).toBe('interrupted');
    expectOneLineError(vsae(['train', '--resume', '--input', 'wide.arrow', '-o', 'runs/cut']), 1, /wide\.arrow has rows of width 9 but the run in runs\/cut was trained on width 6/);
    const r = vsae(['train', '--resume', '--input', 'd.arrow', '-o', 'runs/cut', '-q']);
    expect(r.status, r.stderr).toBe(0);
    expect(runStatus(path.join(tmp, 'runs/cut'))).toMatchObject({ status: 'complete', step: 400 });
  });
});
