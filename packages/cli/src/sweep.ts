/**
 * `vsae sweep`: trains the product of the listed values of train flags for one or more
 * architectures, a few runs at a time (the real `vsae train` and `vsae analyze` as child
 * processes), and writes DIR/<run>/ and DIR/frontier.arrow. A rerun skips finished runs,
 * resumes interrupted ones and analyses trained ones.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  FRONTIER_METRICS,
  InputError,
  readJson,
  readMetrics,
  RUN_FILES,
  SWEEP_FILES,
  UsageError,
  writeFrontier,
  writeJsonAtomic,
  type FrontierMetric,
  type FrontierRow,
} from '@vsae/data';
import {
  ARCH_NAMES,
  checkArchOptions,
  findArch,
  TRAIN_OPTIONS,
  validateTrainOptions,
  withTrainDefaults,
  type OptionDef,
  type TrainOptions,
  type TrainOptionsInput,
} from '@vsae/sae/options';
import { abortOnSignals, check, childEnv, defaultJobs, pool, runProgress, statusLine, vsae } from './_children.js';

export type FlagValue = string | number | boolean;

export interface SweepOptions {
  /** The sweep directory. */
  out: string;
  /** Architectures (each gets the product of the values of the flags it takes). */
  archs: string[];
  /**
   * `vsae train` flags (kebab-case, as in TRAIN_OPTIONS; not --arch, --out, --resume) → their
   * values. A flag with several values is swept; it must be a sweepable numeric flag.
   */
  flags: Record<string, FlagValue[]>;
  /** Model directory for the language-model scores (ce_loss_score, kl_div_score). */
  model?: string | undefined;
  /** Rows analysed per run (vsae analyze --n-samples). */
  nSamples?: number | undefined;
  /** All five analyses (for a full report of each run) instead of sparsity, reconstruction and similarity. */
  allAnalyses?: boolean | undefined;
  jobs?: number | undefined;
  backend?: string | undefined;
  quiet?: boolean | undefined;
}

export interface PlannedRun {
  /** Directory name under the sweep directory. */
  name: string;
  arch: string;
  /** Swept column → value (null: the arch does not take that flag). */
  setting: Record<string, number | null>;
  /** `vsae train` arguments, without --input/-o. */
  train: string[];
}

export interface SweepPlan {
  out: string;
  input: string;
  /** Swept flags (kebab-case) and their frontier columns (snake_case). */
  swept: Array<{ flag: string; column: string }>;
  runs: PlannedRun[];
}

export interface SweepResult {
  out: string;
  /** interrupted: SIGINT/SIGTERM stopped it (the runs in progress saved checkpoints; rerun to resume). */
  status: 'complete' | 'interrupted';
  /** frontier.arrow (null when interrupted: it is written only when every run is done). */
  frontier: string | null;
  swept: string[];
  metrics: FrontierMetric[];
  rows: FrontierRow[];
  /** What happened to each run in this invocation. */
  done: Record<string, 'trained' | 'resumed' | 'analysed' | 'skipped'>;
  seconds: number;
}

const defOf = (flag: string): OptionDef | undefined => (TRAIN_OPTIONS as Record<string, OptionDef>)[flag];
const column = (flag: string): string => flag.replace(/-/g, '_');
/** Flags the sweep sets itself. */
const OWN_FLAGS = new Set(['arch', 'out', 'input', 'resume']);

/** Checks the flags and architectures and lists the runs (UsageError, exit 2, for a mistake). */
export function planSweep(o: Pick<SweepOptions, 'out' | 'archs' | 'flags'> & { input: string }): SweepPlan {
  if (!o.out) throw new UsageError('needs -o DIR: the sweep directory to write');
  if (!o.input) throw new UsageError('needs --input PATH: the activation dataset every run trains on');
  if (o.input === '-') throw new UsageError('--input - cannot be swept (every run reads the dataset again): give a file or a directory');
  if (o.archs.length === 0) throw new UsageError('--arch needs at least one architecture');
  for (const a of o.archs) if (!findArch(a)) throw new UsageError(`--arch must be one of ${ARCH_NAMES.join(', ')} (got ${JSON.stringify(a)})`);
  if (new Set(o.archs).size !== o.archs.length) throw new UsageError(`--arch lists an architecture twice (${o.archs.join(',')})`);
  const swept: SweepPlan['swept'] = [];
  for (const [flag, values] of Object.entries(o.flags)) {
    const def = defOf(flag);
    if (!def || OWN_FLAGS.has(flag)) throw new UsageError(`--${flag} is not a flag a sweep passes to vsae train`);
    if (values.length === 0) throw new UsageError(`--${flag} needs a value`);
    if (values.length > 1) {
      if (!def.sweepable) throw new UsageError(`--${flag} takes one value: lists are for numeric flags (${sweepableFlags().join(', ')}) and --arch`);
      if (new Set(values).size !== values.length) throw new UsageError(`--${flag} lists a value twice (${values.join(',')})`);
      swept.push({ flag, column: column(flag) });
    }
    const takers = o.archs.filter((a) => takes(a, def));
    if (takers.length === 0) {
      const by = ARCH_NAMES.filter((a) => takes(a, def));
      throw new UsageError(`--${flag} does not apply to --arch ${o.archs.join(',')} (it is taken by ${by.join(', ')})`);
    }
  }
  const runs: PlannedRun[] = [];
  for (const arch of o.archs) {
    const mine = Object.entries(o.flags).filter(([flag]) => takes(arch, defOf(flag)!));
    for (const combo of product(mine.map(([flag, values]) => values.map((v) => [flag, v] as const)))) {
      const given = Object.fromEntries(combo);
      const setting = Object.fromEntries(swept.map((s) => [s.column, s.flag in given ? Number(given[s.flag]) : null]));
      const name = [arch, ...swept.filter((s) => s.flag in given).map((s) => `${s.flag}${given[s.flag]}`)].join('-');
      validateCombination(arch, given, o.input);
      runs.push({ name, arch, setting, train: ['--arch', arch, ...combo.flatMap(([flag, v]) => argsOf(flag, v))] });
    }
  }
  return { out: o.out, input: o.input, swept, runs };
}

/** The numeric flags a sweep may list values for. */
export function sweepableFlags(): string[] {
  return Object.entries(TRAIN_OPTIONS as Record<string, OptionDef>).filter(([, d]) => d.sweepable).map(([f]) => `--${f}`);
}

function takes(arch: string, def: OptionDef): boolean {
  return def.archOption === undefined || findArch(arch)!.options.includes(def.archOption);
}

function product<T>(lists: T[][]): T[][] {
  return lists.reduce<T[][]>((acc, list) => acc.flatMap((a) => list.map((x) => [...a, x])), [[]]);
}

function argsOf(flag: string, v: FlagValue): string[] {
  if (typeof v === 'boolean') return [v ? `--${flag}` : `--no-${flag}`];
  return [`--${flag}`, String(v)];
}

/** The checks `vsae train` makes before loading the tensor engine, for one run of the sweep. */
function validateCombination(arch: string, given: Record<string, FlagValue>, input: string): void {
  const opts: Record<string, unknown> = { arch, input, out: '-sweep-' };
  for (const [flag, v] of Object.entries(given)) opts[defOf(flag)!.key!] = v;
  checkArchOptions(opts as Partial<TrainOptions>);
  const full = withTrainDefaults(opts as TrainOptionsInput);
  validateTrainOptions(full);
  // The k ≤ d_sae check train makes once it knows d_sae; here only when --d-sae is given.
  if (full.dSae !== undefined && full.k !== undefined && full.k > full.dSae) throw new UsageError(`--k ${full.k} is larger than --d-sae ${full.dSae}; give --k at most ${full.dSae}`);
}

interface SweepFile {
  format: 'vsae-sweep';
  version: 1;
  swept: string[];
  runs: Record<string, { arch: string; setting: Record<string, number | null>; train: string[] }>;
}

function readSweepFile(dir: string): SweepFile | undefined {
  const file = path.join(dir, SWEEP_FILES.plan);
  if (!fs.existsSync(file)) return undefined;
  const j = readJson(file) as Partial<SweepFile>;
  if (j?.format !== 'vsae-sweep' || typeof j.runs !== 'object' || j.runs === null) throw new InputError(file, 'is not a vsae sweep file; give another -o DIR');
  return j as SweepFile;
}

type RunState = 'finished' | 'trained' | 'resumable' | 'new';

function runState(dir: string): RunState {
  if (!fs.existsSync(dir)) return 'new';
  let status: string | undefined;
  try {
    status = (readJson(path.join(dir, RUN_FILES.status)) as { status?: string }).status;
  } catch {
    status = undefined;
  }
  if (status === 'complete') return fs.existsSync(path.join(dir, RUN_FILES.summary)) ? 'finished' : 'trained';
  return fs.existsSync(path.join(dir, RUN_FILES.latestCheckpoint)) ? 'resumable' : 'new';
}

/**
 * Refuses to reuse a run directory trained with other arguments (a rerun with changed flags
 * into the same -o), and records this plan's runs in sweep.json before any training starts.
 */
async function recordPlan(plan: SweepPlan): Promise<void> {
  const old = readSweepFile(plan.out);
  for (const r of plan.runs) {
    const dir = path.join(plan.out, r.name);
    if (!fs.existsSync(dir)) continue;
    const before = old?.runs[r.name]?.train;
    if (!before || JSON.stringify(before) !== JSON.stringify(r.train)) {
      throw new InputError(dir, `exists but was not trained by this sweep's settings (${before ? before.join(' ') : 'no record in sweep.json'}); give another -o DIR or remove it`);
    }
  }
  const file: SweepFile = {
    format: 'vsae-sweep',
    version: 1,
    swept: plan.swept.map((s) => s.flag),
    runs: { ...(old?.runs ?? {}), ...Object.fromEntries(plan.runs.map((r) => [r.name, { arch: r.arch, setting: r.setting, train: r.train }])) },
  };
  await writeJsonAtomic(path.join(plan.out, SWEEP_FILES.plan), file);
}

/** The frontier figures of one analysed run (summary.json and the run's metrics). */
export function frontierValues(runDir: string): Partial<Record<FrontierMetric, number | null>> {
  const s = readJson(path.join(runDir, RUN_FILES.summary)) as Record<string, unknown>;
  const n = (k: string): number | null => (typeof s[k] === 'number' && Number.isFinite(s[k]) ? (s[k] as number) : null);
  const dead = n('percent_dead_neurons');
  const rows = readMetrics(path.join(runDir, RUN_FILES.metrics)).rows;
  const elapsed = rows.length ? Number(rows[rows.length - 1]!.elapsed_s) : NaN;
  return {
    l0: n('l0'),
    explained_variance: n('explained_variance'),
    mse: n('mse_mean'),
    frac_alive: n('frac_alive') ?? (dead === null ? null : 1 - dead / 100),
    mmcs: n('mmcs'),
    mmcs_represented: n('mmcs_represented'),
    ce_loss_score: n('ce_loss_score'),
    kl_div_score: n('kl_div_score'),
    train_s: Number.isFinite(elapsed) ? elapsed : null,
  };
}

export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  const started = performance.now();
  const input = o.flags.input?.[0];
  const flags = Object.fromEntries(Object.entries(o.flags).filter(([f]) => f !== 'input'));
  const plan = planSweep({ out: o.out, archs: o.archs, flags, input: typeof input === 'string' ? input : '' });
  if (!fs.existsSync(plan.input)) throw new InputError(plan.input, 'no such dataset; check --input');
  if (o.model !== undefined && !fs.existsSync(o.model)) throw new InputError(o.model, 'no such model directory; check --model');
  fs.mkdirSync(plan.out, { recursive: true });
  await recordPlan(plan);

  const jobs = defaultJobs(o.jobs);
  const env = childEnv(jobs, o.backend);
  const status = statusLine(Boolean(o.quiet));
  const stop = abortOnSignals();
  const stepsOf = (r: PlannedRun): number => {
    const i = r.train.indexOf('--steps');
    return Number(i >= 0 ? r.train[i + 1] : defOf('steps')!.default);
  };
  const phase = new Map<string, string>();
  const done: SweepResult['done'] = {};
  const analyze = [
    ...(o.allAnalyses ? [] : ['--feature-sparsity', '--reconstruction-quality', '--dictionary-similarity']),
    ...(o.nSamples !== undefined ? ['--n-samples', String(o.nSamples)] : []),
    ...(o.model !== undefined ? ['--model', o.model] : []),
  ];
  const ticker = setInterval(() => {
    const active = plan.runs.filter((r) => phase.has(r.name)).map((r) => `${r.name} ${phase.get(r.name) === 'training' ? runProgress(path.join(plan.out, r.name), stepsOf(r)) : phase.get(r.name)}`);
    status.set(`sweep: ${Object.keys(done).length}/${plan.runs.length} done${active.length ? ` · ${active.join(' · ')}` : ''}`);
  }, 500);
  try {
    await pool(plan.runs, jobs, async (r) => {
      const dir = path.join(plan.out, r.name);
      const state = runState(dir);
      if (state === 'finished') {
        done[r.name] = 'skipped';
        return;
      }
      if (state === 'new' || state === 'resumable') {
        if (state === 'new') fs.rmSync(dir, { recursive: true, force: true });
        phase.set(r.name, 'training');
        const res = await vsae(['train', ...r.train, '--input', plan.input, '-o', dir, '--quiet', ...(state === 'resumable' ? ['--resume'] : [])], env, stop.signal, { ownGroup: true });
        if (stop.interrupted()) return;
        check(`vsae train (${r.name})`, res);
      }
      phase.set(r.name, 'analysing');
      const res = await vsae(['analyze', dir, '--input', plan.input, ...analyze, '--quiet'], env, stop.signal, { ownGroup: true });
      if (stop.interrupted()) return;
      check(`vsae analyze (${r.name})`, res);
      phase.delete(r.name);
      done[r.name] = state === 'new' ? 'trained' : state === 'resumable' ? 'resumed' : 'analysed';
      status.done(`sweep: ${r.name} ${done[r.name]}`);
    });
  } finally {
    clearInterval(ticker);
    stop.release();
  }
  const seconds = (): number => (performance.now() - started) / 1000;
  if (stop.interrupted()) return { out: plan.out, status: 'interrupted', frontier: null, swept: [], metrics: [], rows: [], done, seconds: seconds() };

  const rows: FrontierRow[] = plan.runs.map((r) => ({ run: r.name, arch: r.arch, setting: r.setting, values: frontierValues(path.join(plan.out, r.name)) }));
  // A figure is a column when some run measured it (ce/kl scores: with --model, null until analyze gives them).
  const metrics = FRONTIER_METRICS.filter((m) => rows.some((x) => x.values[m] !== null) || (o.model !== undefined && (m === 'ce_loss_score' || m === 'kl_div_score')));
  const swept = plan.swept.map((s) => s.column);
  const frontier = await writeFrontier(plan.out, swept, metrics, rows);
  return { out: plan.out, status: 'complete', frontier, swept, metrics, rows, done, seconds: seconds() };
}
