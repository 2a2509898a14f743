import fs from 'node:fs';
import path from 'node:path';
import { bestMatches, mmcs, transpose } from '@vsae/analyze';
import { initBackend, Rng } from '@vsae/compute';
import { formatDuration, readJson, readSafetensors, REPRESENTED_NORM, RUN_FILES } from '@vsae/data';
import { toyTruthLocation } from '@vsae/toy';
import { abortOnSignals, check, childEnv, defaultJobs, pool, runProgress, statusLine, vsae } from './_children.js';

/**
 * `vsae demo`: the whole pipeline on a toy model of superposition whose true features are
 * known — vsae toy → vsae train (SAE, VSAE-Iso, VSAE-Mix, VSAE-Multi, and the paper's pair:
 * TopK and vSAE-TopK at the same k, with vSAE-TopK at KL coefficient 0 as the control) → vsae
 * analyze → vsae report — run as the real microtools (child processes of this bin), two at a
 * time on a multi-core machine. Every number it prints is read from the files those tools wrote.
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
  /** The run's name (its directory under runs/). */
  name: string;
  arch: string;
  run: string;
  l0: number;
  explained_variance: number;
  percent_dead: number;
  /** Share of latents that fire at least once on the analysed rows. */
  frac_alive: number;
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

/** The demo's runs, in table order. */
export const DEMO_RUNS = ['sae', 'vsae-iso', 'vsae-mix', 'vsae-multi', 'topk', 'vsae-topk', 'vsae-topk-kl0'] as const;
export type DemoRun = (typeof DEMO_RUNS)[number];

export interface DemoSettings {
  toy: string[];
  train: Record<DemoRun, string[]>;
  analyze: string[];
  /** The k of TopK and vSAE-TopK. */
  k: number;
}

const argOf = (args: readonly string[], flag: string): string | undefined => {
  const i = args.lastIndexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};

/**
 * The demo's settings: the toy model of the README (100 features in 20 dimensions, 2 correlated and
 * 1 anti-correlated pair, p = 0.05) and training settings that recover its features on the toy
 * data in a few minutes on two cores. `--quick` trains on fewer rows for fewer steps.
 */
export function demoSettings(quick: boolean, seed: number): DemoSettings {
  const toy = [
    '--n-features', '100', '--n-hidden', '20', '--n-correlated-pairs', '2', '--n-anticorrelated-pairs', '1',
    '--feature-probability', '0.05', '--rows', quick ? '20000' : '50000', '--toy-steps', quick ? '1000' : '2000', '--seed', String(seed),
  ];
  // Coefficients from a sweep on this toy (L1 0.2–0.5 gives L0 ≈ 4–8 and MMCS ≈ 0.96 on the
  // represented features); the VSAEs learn their variance (var-flag 1), as a fixed σ² = 1 buries
  // these small activations (norm ≈ 0.8) under noise from 160 unit-norm decoder rows.
  const common = ['--dict-mult', '8', '--batch-size', quick ? '512' : '1024', '--seed', String(seed), '--log-every', '25'];
  const classic = (steps: number) => [...common, '--lr', '1e-3', '--steps', String(steps), '--resample-every', String(steps / 2)];
  // The SAE gets the steps it needs to find the features, the VSAEs (whose figures change
  // little after a few hundred steps: dense codes, dictionaries at chance) fewer.
  // TopK and vSAE-TopK: k = 5, the toy's mean number of active features; their own learning
  // rates and schedules (the architectures' defaults). A TopK step costs more here (the per-row
  // selection), so they train for fewer steps.
  const k = 5;
  const topk = [...common, '--steps', quick ? '500' : '1000', '--k', String(k)];
  return {
    toy,
    train: {
      sae: [...classic(quick ? 1000 : 1500), '--arch', 'sae', '--l1-coeff', '0.3'],
      'vsae-iso': [...classic(quick ? 400 : 1000), '--arch', 'vsae-iso', '--kl-coeff', '0.3', '--var-flag', '1'],
      'vsae-mix': [...classic(quick ? 400 : 1000), '--arch', 'vsae-mix', '--kl-coeff', '0.3', '--var-flag', '1'],
      'vsae-multi': [...classic(quick ? 400 : 1000), '--arch', 'vsae-multi', '--kl-coeff', '0.3', '--var-flag', '1', '--corr-rate', '0.1'],
      topk: [...topk, '--arch', 'topk'],
      'vsae-topk': [...topk, '--arch', 'vsae-topk', '--kl-coeff', '1'],
      'vsae-topk-kl0': [...topk, '--arch', 'vsae-topk', '--kl-coeff', '0'],
    },
    analyze: ['--n-samples', quick ? '5000' : '20000', '--mu-rows', quick ? '200' : '500', '--umap-epochs', quick ? '50' : '200'],
    k,
  };
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const started = performance.now();
  const out = path.resolve(o.out);
  const runsDir = path.join(out, 'runs');
  const dataset = path.join(out, 'toy.arrow');
  const report = path.join(out, 'report.html');
  const settings = demoSettings(o.quick, o.seed);
  const jobs = defaultJobs(o.jobs);
  const status = statusLine(Boolean(o.quiet));
  const stop = abortOnSignals();
  const env = childEnv(jobs, o.backend);
  const runDir = (name: DemoRun): string => path.join(runsDir, name);
  try {
    fs.mkdirSync(runsDir, { recursive: true });
    for (const name of DEMO_RUNS) fs.rmSync(runDir(name), { recursive: true, force: true });
    // The demo owns its directory: a rerun replaces its dataset (vsae toy never overwrites one).
    for (const f of [dataset, path.join(out, 'toy.truth.safetensors')]) fs.rmSync(f, { force: true });

    status.set('1/4 toy model of superposition: training it and writing activations…');
    let t = performance.now();
    check('vsae toy', await vsae(['toy', ...settings.toy, '-o', dataset, '--quiet'], env, stop.signal));
    status.done(`1/4 toy dataset          ${path.relative(process.cwd(), dataset)}  (${formatDuration((performance.now() - t) / 1000)})`);

    t = performance.now();
    const trainSeconds: Record<string, number> = {};
    const ticker = setInterval(() => {
      status.set(`2/4 training ${jobs > 1 ? `(${jobs} at a time) ` : ''}${DEMO_RUNS.map((n) => `${n} ${runProgress(runDir(n), Number(argOf(settings.train[n], '--steps')))}`).join(' · ')}`);
    }, 500);
    try {
      // The slowest runs first, so that the two workers finish together.
      const order: DemoRun[] = ['vsae-mix', 'vsae-iso', 'topk', 'vsae-topk', 'vsae-multi', 'vsae-topk-kl0', 'sae'];
      await pool(order, jobs, async (name) => {
        const t0 = performance.now();
        check(`vsae train (${name})`, await vsae(['train', ...settings.train[name], '--input', dataset, '-o', runDir(name), '--quiet'], env, stop.signal));
        trainSeconds[name] = (performance.now() - t0) / 1000;
      });
    } finally {
      clearInterval(ticker);
    }
    status.done(`2/4 trained              ${DEMO_RUNS.join(', ')}  (${formatDuration((performance.now() - t) / 1000)})`);

    t = performance.now();
    let analysed = 0;
    status.set('3/4 analysing…');
    await pool(DEMO_RUNS, jobs, async (name) => {
      check(`vsae analyze (${name})`, await vsae(['analyze', runDir(name), '--input', dataset, ...settings.analyze, '--quiet'], env, stop.signal));
      status.set(`3/4 analysing… ${++analysed}/${DEMO_RUNS.length}`);
    });
    status.done(`3/4 analysed             sparsity, reconstruction, similarity, neurons, latent space  (${formatDuration((performance.now() - t) / 1000)})`);

    t = performance.now();
    status.set('4/4 writing the report…');
    check('vsae report', await vsae(['report', ...DEMO_RUNS.map(runDir), '-o', report, '--title', 'vsae demo: SAE, VSAE-Iso, VSAE-Mix, VSAE-Multi, TopK and vSAE-TopK on a toy model'], env, stop.signal));
    status.done(`4/4 report               ${path.relative(process.cwd(), report)}  (${formatDuration((performance.now() - t) / 1000)})`);

    const rows: DemoRow[] = DEMO_RUNS.map((name) => {
      const s = readJson(path.join(runDir(name), RUN_FILES.summary)) as Record<string, number>;
      return {
        name,
        arch: argOf(settings.train[name], '--arch')!,
        run: runDir(name),
        l0: s.l0!,
        explained_variance: s.explained_variance!,
        percent_dead: s.percent_dead_neurons!,
        frac_alive: s.frac_alive ?? 1 - s.percent_dead_neurons! / 100,
        mmcs: s.mmcs!,
        mmcs_represented: s.mmcs_represented!,
        train_seconds: trainSeconds[name]!,
      };
    });
    const truth = readSafetensors(toyTruthLocation(dataset, undefined, false).truth).getFloat32('W');
    const [nHidden, nFeatures] = truth.shape as [number, number];
    const dSae = (readJson(path.join(runDir('sae'), RUN_FILES.config)) as { d_sae: number }).d_sae;
    const random = await randomDictionaryMmcs(truth.data, nHidden, nFeatures, dSae, o.seed, o.backend);
    return { out, dataset, report, rows, random, seconds: (performance.now() - started) / 1000, settings };
  } finally {
    stop.release();
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
  const head = ['run', 'L0', 'expl. var', 'dead %', 'alive', 'MMCS', 'MMCS (repr.)', 'train s'];
  const body = r.rows.map((x) => [
    x.name,
    x.l0.toFixed(2),
    x.explained_variance.toFixed(3),
    x.percent_dead.toFixed(1),
    x.frac_alive.toFixed(2),
    x.mmcs.toFixed(3),
    x.mmcs_represented.toFixed(3),
    x.train_seconds.toFixed(0),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  const chance = ['random dictionary', '', '', '', '', r.random.mmcs.toFixed(3), r.random.mmcs_represented.toFixed(3), ''];
  for (let i = 0; i < w.length; i++) w[i] = Math.max(w[i]!, i === 0 ? 0 : chance[i]!.length);
  w[0] = Math.max(w[0]!, chance[0]!.length);
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line), line(chance)].join('\n');
}

const f2 = (x: number): string => x.toFixed(2);
const f3 = (x: number): string => x.toFixed(3);
const pctOf = (x: number): string => `${Math.round(100 * x)} %`;
const span = (xs: number[], fmt: (x: number) => string): string => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return fmt(lo) === fmt(hi) ? fmt(lo) : `${fmt(lo)}–${fmt(hi)}`;
};

/**
 * What the table shows, in plain words: each sentence is chosen by comparing this run's
 * figures (so it stays true for whatever a run measured) and quotes them.
 */
export function demoConclusions(r: Pick<DemoResult, 'rows' | 'random' | 'settings'>): string[] {
  const row = (n: DemoRun): DemoRow | undefined => r.rows.find((x) => x.name === n);
  const lines: string[] = [];
  const chance = r.random.mmcs_represented;
  const found = (x: DemoRow): boolean => x.mmcs_represented >= 0.9;
  const sae = row('sae');
  if (sae) {
    lines.push(
      found(sae)
        ? `The SAE finds the features: L0 ${f2(sae.l0)}, and a decoder row within a cosine of ${f3(sae.mmcs_represented)} of the represented features on average (random directions: ${f3(chance)}).`
        : `The SAE does not find the features here: MMCS ${f3(sae.mmcs_represented)} on the represented features (random directions: ${f3(chance)}), L0 ${f2(sae.l0)}.`,
    );
  }
  const classic = (['vsae-iso', 'vsae-mix', 'vsae-multi'] as const).map(row).filter((x): x is DemoRow => x !== undefined);
  if (classic.length && sae) {
    const ev = classic.map((x) => x.explained_variance);
    const recon = Math.min(...ev) >= sae.explained_variance - 0.01 ? 'as well as or better than the SAE' : Math.max(...ev) < sae.explained_variance - 0.01 ? 'worse than the SAE' : 'about as well as the SAE';
    const nearChance = Math.max(...classic.map((x) => x.mmcs_represented)) < chance + 0.05;
    lines.push(
      `The three Gaussian-prior VSAEs reconstruct ${recon} (explained variance ${span(ev, f3)} against ${f3(sae.explained_variance)}), ` +
        `with codes of L0 ${span(classic.map((x) => x.l0), f2)}, and their dictionaries score ${nearChance ? 'no better than random directions' : 'above random directions'} (MMCS ${span(classic.map((x) => x.mmcs_represented), f3)}).`,
    );
  }
  const topk = row('topk');
  const vt = row('vsae-topk');
  const vt0 = row('vsae-topk-kl0');
  if (topk && vt) {
    const both = found(topk) && found(vt);
    lines.push(
      `At the same k = ${r.settings.k}, TopK and vSAE-TopK ${both ? 'both recover the features' : 'reach'}: MMCS ${f3(topk.mmcs_represented)} and ${f3(vt.mmcs_represented)} on the represented features, L0 ${f2(topk.l0)} and ${f2(vt.l0)}, explained variance ${f3(topk.explained_variance)} and ${f3(vt.explained_variance)}.`,
    );
  }
  if (vt && vt0) {
    const d = vt.frac_alive - vt0.frac_alive;
    const effect = d < -0.05 ? 'leaves fewer latents alive' : d > 0.05 ? 'leaves more latents alive' : 'barely changes how many latents stay alive';
    lines.push(
      `The KL term ${effect}: vSAE-TopK keeps ${pctOf(vt.frac_alive)} of its latents alive with it and ${pctOf(vt0.frac_alive)} without it (KL coefficient 0, the same learning rate)` +
        (topk ? `; TopK keeps ${pctOf(topk.frac_alive)}.` : '.'),
    );
  }
  return lines;
}
