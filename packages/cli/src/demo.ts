import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bestMatches, mmcs, transpose } from '@vsae/analyze';
import { initBackend, Rng } from '@vsae/compute';
import { formatDuration, readJson, readMetrics, readSafetensors, REPRESENTED_NORM, RUN_FILES, VsaeError } from '@vsae/data';
import { toyTruthLocation } from '@vsae/toy';

/**
 * `vsae demo`: the whole pipeline on a toy model of superposition whose true features are
 * known — vsae toy → vsae train (SAE, VSAE-Iso, VSAE-Mix, VSAE-Multi) → vsae analyze → vsae
 * report — run as the real microtools (child processes of this bin), two at a time on a
 * multi-core machine. Every number it prints is read from the files those tools wrote.
 */
export interface DemoOptions {
  out: string;
  quick: boolean;
  seed: number;
  backend?: string | undefined;
  /** Processes at a time (default: 2 on a machine with ≥ 2 cores). */
  jobs?: number | undefined;
  quiet?: boolean | undefined;
}

export interface DemoRow {
  arch: string;
  run: string;
  l0: number;
  explained_variance: number;
  percent_dead: number;
  mmcs: number;
  mmcs_represented: number;
  train_seconds: number;
}

export interface DemoResult {
  out: string;
  dataset: string;
  report: string;
  rows: DemoRow[];
  /** MMCS of a dictionary of random unit vectors of the same size: the level of chance. */
  random: { mmcs: number; mmcs_represented: number };
  seconds: number;
  settings: DemoSettings;
}

export const DEMO_ARCHS = ['sae', 'vsae-iso', 'vsae-mix', 'vsae-multi'] as const;

export interface DemoSettings {
  toy: string[];
  train: Record<(typeof DEMO_ARCHS)[number], string[]>;
  analyze: string[];
}

/**
 * The demo's settings: the toy model of the README (100 features in 20 dimensions, 2 correlated and
 * 1 anti-correlated pair, p = 0.05) and training settings that recover its features on the toy
 * data in a couple of minutes on two cores. `--quick` trains on fewer rows for fewer steps.
 */
export function demoSettings(quick: boolean, seed: number): DemoSettings {
  const toy = [
    '--n-features', '100', '--n-hidden', '20', '--n-correlated-pairs', '2', '--n-anticorrelated-pairs', '1',
    '--feature-probability', '0.05', '--rows', quick ? '20000' : '50000', '--toy-steps', quick ? '1000' : '2000', '--seed', String(seed),
  ];
  // Coefficients from a sweep on this toy (L1 0.2–0.5 gives L0 ≈ 4–8 and MMCS ≈ 0.96 on the
  // represented features); the VSAEs learn their variance (var-flag 1), as a fixed σ² = 1 buries
  // these small activations (norm ≈ 0.8) under noise from 160 unit-norm decoder rows.
  const common = ['--dict-mult', '8', '--batch-size', quick ? '512' : '1024', '--lr', '1e-3', '--steps', quick ? '1000' : '1500', '--resample-every', quick ? '500' : '750', '--seed', String(seed), '--log-every', '25'];
  return {
    toy,
    train: {
      sae: [...common, '--arch', 'sae', '--l1-coeff', '0.3'],
      'vsae-iso': [...common, '--arch', 'vsae-iso', '--kl-coeff', '0.3', '--var-flag', '1'],
      'vsae-mix': [...common, '--arch', 'vsae-mix', '--kl-coeff', '0.3', '--var-flag', '1'],
      'vsae-multi': [...common, '--arch', 'vsae-multi', '--kl-coeff', '0.3', '--var-flag', '1', '--corr-rate', '0.1'],
    },
    analyze: ['--n-samples', quick ? '10000' : '20000', '--mu-rows', '500', '--umap-epochs', '200'],
  };
}

const binPath = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'vsae.js');

interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `vsae <args>` as a child process; stderr is kept (and shown on failure). */
function vsae(args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => (e.name === 'AbortError' ? resolve({ code: 130, stdout: '', stderr: 'interrupted' }) : reject(e)));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

function check(what: string, r: ChildResult): void {
  if (r.code === 0) return;
  const last = r.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
  throw new VsaeError(`${what} failed (exit ${r.code}): ${last || 'no message'}`);
}

/** Runs tasks with at most `jobs` at a time, in order of start. */
async function pool<T>(items: readonly T[], jobs: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(jobs, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

/** A one-line status on stderr (redrawn on a TTY, a line per change otherwise). */
function statusLine(quiet: boolean) {
  const tty = Boolean(process.stderr.isTTY) && !quiet;
  let last = '';
  return {
    set(line: string) {
      if (quiet || line === last) return;
      last = line;
      process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    },
    done(line: string) {
      if (quiet) return;
      process.stderr.write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
      last = '';
    },
  };
}

/** Progress of a training run: its status file, and the last step logged in metrics.arrows. */
function runProgress(dir: string, steps: number): string {
  try {
    const s = readJson(path.join(dir, RUN_FILES.status)) as { status?: string };
    if (s.status === 'complete') return 'done';
    const rows = readMetrics(path.join(dir, RUN_FILES.metrics)).rows;
    const last = rows[rows.length - 1];
    return `${last ? Number(last.step) : 0}/${steps}`;
  } catch {
    return 'waiting';
  }
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const started = performance.now();
  const out = path.resolve(o.out);
  const runsDir = path.join(out, 'runs');
  const dataset = path.join(out, 'toy.arrow');
  const report = path.join(out, 'report.html');
  const settings = demoSettings(o.quick, o.seed);
  const jobs = Math.max(1, o.jobs ?? Math.min(2, os.availableParallelism()));
  const status = statusLine(Boolean(o.quiet));
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Children: one BLAS thread each when they run side by side (two processes already fill two cores).
  const env: NodeJS.ProcessEnv = { ...process.env, VSAE_QUIET: '1', ...(jobs > 1 && !process.env.OPENBLAS_NUM_THREADS ? { OPENBLAS_NUM_THREADS: '1' } : {}) };
  if (o.backend) env.VSAE_BACKEND = o.backend;
  try {
    fs.mkdirSync(runsDir, { recursive: true });
    for (const arch of DEMO_ARCHS) fs.rmSync(path.join(runsDir, arch), { recursive: true, force: true });
    // The demo owns its directory: a rerun replaces its dataset (vsae toy never overwrites one).
    for (const f of [dataset, path.join(out, 'toy.truth.safetensors')]) fs.rmSync(f, { force: true });

    status.set('1/4 toy model of superposition: training it and writing activations…');
    let t = performance.now();
    check('vsae toy', await vsae(['toy', ...settings.toy, '-o', dataset, '--quiet'], env, controller.signal));
    status.done(`1/4 toy dataset          ${path.relative(process.cwd(), dataset)}  (${formatDuration((performance.now() - t) / 1000)})`);

    t = performance.now();
    const trainSeconds: Record<string, number> = {};
    const ticker = setInterval(() => {
      const steps = Number(settings.train.sae[settings.train.sae.indexOf('--steps') + 1]);
      status.set(`2/4 training ${jobs > 1 ? `(${jobs} at a time) ` : ''}${DEMO_ARCHS.map((a) => `${a} ${runProgress(path.join(runsDir, a), steps)}`).join(' · ')}`);
    }, 500);
    try {
      await pool(DEMO_ARCHS, jobs, async (arch) => {
        const t0 = performance.now();
        check(`vsae train --arch ${arch}`, await vsae(['train', ...settings.train[arch], '--input', dataset, '-o', path.join(runsDir, arch), '--quiet'], env, controller.signal));
        trainSeconds[arch] = (performance.now() - t0) / 1000;
      });
    } finally {
      clearInterval(ticker);
    }
    status.done(`2/4 trained              ${DEMO_ARCHS.join(', ')}  (${formatDuration((performance.now() - t) / 1000)})`);

    t = performance.now();
    let analysed = 0;
    status.set('3/4 analysing…');
    await pool(DEMO_ARCHS, jobs, async (arch) => {
      check(`vsae analyze ${arch}`, await vsae(['analyze', path.join(runsDir, arch), '--input', dataset, ...settings.analyze, '--quiet'], env, controller.signal));
      status.set(`3/4 analysing… ${++analysed}/${DEMO_ARCHS.length}`);
    });
    status.done(`3/4 analysed             sparsity, reconstruction, similarity, neurons, latent space  (${formatDuration((performance.now() - t) / 1000)})`);

    t = performance.now();
    status.set('4/4 writing the report…');
    check('vsae report', await vsae(['report', ...DEMO_ARCHS.map((a) => path.join(runsDir, a)), '-o', report, '--title', 'vsae demo: SAE vs VSAE-Iso, VSAE-Mix, VSAE-Multi on a toy model'], env, controller.signal));
    status.done(`4/4 report               ${path.relative(process.cwd(), report)}  (${formatDuration((performance.now() - t) / 1000)})`);

    const rows: DemoRow[] = DEMO_ARCHS.map((arch) => {
      const s = readJson(path.join(runsDir, arch, RUN_FILES.summary)) as Record<string, number>;
      return {
        arch,
        run: path.join(runsDir, arch),
        l0: s.l0!,
        explained_variance: s.explained_variance!,
        percent_dead: s.percent_dead_neurons!,
        mmcs: s.mmcs!,
        mmcs_represented: s.mmcs_represented!,
        train_seconds: trainSeconds[arch]!,
      };
    });
    const truth = readSafetensors(toyTruthLocation(dataset, undefined, false).truth).getFloat32('W');
    const [nHidden, nFeatures] = truth.shape as [number, number];
    const dSae = (readJson(path.join(runsDir, 'sae', RUN_FILES.config)) as { d_sae: number }).d_sae;
    const random = await randomDictionaryMmcs(truth.data, nHidden, nFeatures, dSae, o.seed, o.backend);
    return { out, dataset, report, rows, random, seconds: (performance.now() - started) / 1000, settings };
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/**
 * MMCS of `nLatents` random directions against the true feature directions (columns of the toy
 * model's W [nHidden, nFeatures]): the score of a dictionary that learned nothing, as a
 * reference for the table. Computed as `vsae analyze` computes a run's MMCS (@vsae/analyze's
 * bestMatches and mmcs), on normal draws of @vsae/compute's seeded Rng, so it is the same on
 * every run.
 */
export async function randomDictionaryMmcs(
  W: Float32Array,
  nHidden: number,
  nFeatures: number,
  nLatents: number,
  seed: number,
  backend?: string,
): Promise<{ mmcs: number; mmcs_represented: number }> {
  await initBackend(backend);
  // Isotropic normal rows: their directions are uniform on the sphere (bestMatches normalises them).
  const dict = new Rng(seed).fillNormal(new Float32Array(nLatents * nHidden));
  const m = await bestMatches(transpose(W, nHidden, nFeatures), nFeatures, dict, nLatents, nHidden, 1024);
  return { mmcs: mmcs(m), mmcs_represented: mmcs(m, (i) => m.norms[i]! >= REPRESENTED_NORM) };
}

/** The table the demo prints. */
export function formatDemoTable(r: DemoResult): string {
  const head = ['arch', 'L0', 'expl. var', 'dead %', 'MMCS', 'MMCS (repr.)', 'train s'];
  const body = r.rows.map((x) => [
    x.arch,
    x.l0.toFixed(2),
    x.explained_variance.toFixed(3),
    x.percent_dead.toFixed(1),
    x.mmcs.toFixed(3),
    x.mmcs_represented.toFixed(3),
    x.train_seconds.toFixed(0),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  const chance = ['random dictionary', '', '', '', r.random.mmcs.toFixed(3), r.random.mmcs_represented.toFixed(3), ''];
  for (let i = 0; i < w.length; i++) w[i] = Math.max(w[i]!, i === 0 ? 0 : chance[i]!.length);
  w[0] = Math.max(w[0]!, chance[0]!.length);
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line), line(chance)].join('\n');
}
