/**
 * Everything the dashboard knows about a directory of runs, refreshed by polling: the run list
 * (cfg.json, _run.json), each run's metrics followed as `vsae train` appends them, the analysis
 * summary, and — for runs opened in the feature browser — the analysis tables. Any file may be
 * missing, half-written or corrupt: what cannot be read becomes a `problem` line, never a crash.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatFrontierTable, listRuns, readFrontier, readJson, RUN_FILES, SWEEP_FILES } from '@vsae/data';
import type { RunInfo as DataRunInfo } from '@vsae/data';
import { FEATURES_FILE, loadFeatures, loadTopExamples, TOP_EXAMPLES_FILE } from './analysis.js';
import { emptySeries, MetricsFollower } from './metrics-follower.js';
import type { ExamplesByLatent, FeatureTable, MetricsSeries, RunEntry, SummaryNumbers } from './model.js';
import { sanitizeText } from './sanitize.js';

export interface StoreSnapshot {
  /** The runs directory as given (sanitized), for titles. */
  title: string;
  runs: RunEntry[];
  /** A problem with the runs directory itself, if any (sanitized). */
  message: string | undefined;
  /**
   * A sweep directory's frontier table (frontier.arrow) as text lines, sanitized; or the one
   * line saying why it cannot be read. Undefined for a directory that is not a sweep.
   */
  frontier?: string[] | undefined;
}

export interface AnalysisState {
  /** undefined: not loaded yet; null: the run has no such table. */
  features: FeatureTable | null | undefined;
  examples: ExamplesByLatent | null | undefined;
  /** Why a table could not be read (sanitized). */
  problem: string | undefined;
}

const NOT_LOADED: AnalysisState = { features: undefined, examples: undefined, problem: undefined };

/** Size and modification time of a file, as a string that changes when the file does ('' if absent). */
function stamp(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return '';
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? sanitizeText(v) : undefined);

/** The numeric fields of summary.json (strings such as the run path are not shown). */
function summaryNumbers(json: unknown): SummaryNumbers | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(json)) if (typeof v === 'number') out[k] = v;
  return out;
}

/** Per-run state kept between polls. */
class RunTracker {
  readonly follower: MetricsFollower;
  private summaryStamp = '';
  summary: SummaryNumbers | undefined;
  summaryProblem: string | undefined;
  constructor(readonly dir: string) {
    this.follower = new MetricsFollower(path.join(dir, 'metrics.arrows'));
  }

  pollSummary(): void {
    const file = path.join(this.dir, RUN_FILES.summary);
    const s = stamp(file);
    if (s === this.summaryStamp) return;
    this.summaryStamp = s;
    if (s === '') {
      this.summary = undefined;
      this.summaryProblem = undefined;
      return;
    }
    try {
      this.summary = summaryNumbers(readJson(file));
      this.summaryProblem = undefined;
    } catch (e) {
      // Possibly caught mid-write by a writer that is not atomic: try again on the next change.
      this.summaryProblem = (e as Error).message;
    }
  }

  entry(info: DataRunInfo): RunEntry {
    const cfg = info.config as Record<string, unknown> | undefined;
    const vsae = (cfg?.vsae ?? {}) as Record<string, unknown>;
    const st = info.status as Record<string, unknown> | undefined;
    const m = this.follower.metrics;
    const last: Record<string, number> | undefined =
      m.length > 0 ? Object.fromEntries(m.names.map((n) => [n, m.values[n]![m.length - 1]!])) : undefined;
    const loggedStep = num(last?.step);
    const statusStep = num(st?.step);
    const problems = [info.error, this.follower.problem, this.summaryProblem].filter((p): p is string => !!p).map(sanitizeText);
    return {
      dir: this.dir,
      name: sanitizeText(info.name),
      arch: str(vsae.arch) ?? str(cfg?.architecture) ?? '?',
      dIn: num(cfg?.d_in),
      dSae: num(cfg?.d_sae),
      hook: str(cfg?.hook_name),
      status: str(st?.status) ?? 'unknown',
      // _run.json may lag behind the metrics (or the reverse): show the furthest step known.
      step: statusStep === undefined ? loggedStep : loggedStep === undefined ? statusStep : Math.max(statusStep, loggedStep),
      steps: num(st?.steps) ?? num(vsae.steps),
      updated: str(st?.updated),
      last,
      logged: m.length,
      summary: this.summary,
      problems,
    };
  }
}

export interface RunsStoreOptions {
  /** Poll interval in ms (default 500). */
  intervalMs?: number;
}

export class RunsStore {
  private trackers = new Map<string, RunTracker>();
  private snap: StoreSnapshot;
  private listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private analyses = new Map<string, { state: AnalysisState; stamp: string }>();
  private frontier: { stamp: string; lines: string[] | undefined } = { stamp: '', lines: undefined };
  readonly intervalMs: number;

  constructor(readonly root: string, opts: RunsStoreOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 500;
    this.snap = { title: sanitizeText(root), runs: [], message: undefined };
  }

  /** For React's useSyncExternalStore: subscribe and read the current snapshot. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  snapshot = (): StoreSnapshot => this.snap;

  /** A run's metrics so far (the same object grows as rows arrive). */
  metrics(dir: string): MetricsSeries {
    return this.trackers.get(dir)?.follower.metrics ?? emptySeries();
  }

  /** Reads everything that changed since the last refresh and notifies subscribers if anything did. */
  refresh(): void {
    let infos: DataRunInfo[] = [];
    let message: string | undefined;
    try {
      infos = listRuns(this.root);
    } catch (e) {
      message = sanitizeText((e as Error).message);
    }
    const seen = new Set<string>();
    const runs: RunEntry[] = [];
    for (const info of infos) {
      seen.add(info.dir);
      let t = this.trackers.get(info.dir);
      if (!t) this.trackers.set(info.dir, (t = new RunTracker(info.dir)));
      t.follower.poll();
      t.pollSummary();
      runs.push(t.entry(info));
    }
    for (const dir of this.trackers.keys()) if (!seen.has(dir)) this.trackers.delete(dir);
    const analysisChanged = this.pollAnalyses();
    const next: StoreSnapshot = { title: this.snap.title, runs, message, frontier: this.pollFrontier() };
    if (analysisChanged || JSON.stringify(next) !== JSON.stringify(this.snap)) {
      this.snap = next;
      this.emit();
    }
  }

  /** Starts polling every `intervalMs` (a refresh runs at once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = (): void => {
      if (!this.running) return;
      try {
        this.refresh();
      } finally {
        if (this.running) this.timer = setTimeout(tick, this.intervalMs);
      }
    };
    tick();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The analysis tables of a run; the first call schedules loading them (then subscribers hear). */
  analysis(dir: string): AnalysisState {
    const a = this.analyses.get(dir);
    if (a) return a.state;
    this.analyses.set(dir, { state: NOT_LOADED, stamp: '' });
    // Load after the current render so the view can show "Loading…" first.
    setTimeout(() => {
      this.loadAnalysis(dir);
      this.snap = { ...this.snap };
      this.emit();
    }, 0);
    return NOT_LOADED;
  }

  private analysisStamp(dir: string): string {
    return `${stamp(path.join(dir, FEATURES_FILE))}|${stamp(path.join(dir, TOP_EXAMPLES_FILE))}`;
  }

  private loadAnalysis(dir: string): void {
    const s = this.analysisStamp(dir);
    const state: AnalysisState = { features: null, examples: null, problem: undefined };
    const problems: string[] = [];
    if (fs.existsSync(path.join(dir, FEATURES_FILE))) {
      try {
        state.features = loadFeatures(dir);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    if (fs.existsSync(path.join(dir, TOP_EXAMPLES_FILE))) {
      try {
        state.examples = loadTopExamples(dir);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    state.problem = problems.length > 0 ? sanitizeText(problems.join('; ')) : undefined;
    this.analyses.set(dir, { state, stamp: s });
  }

  /** The frontier table of a sweep directory, re-read when frontier.arrow changes (a sweep writes it at its end). */
  private pollFrontier(): string[] | undefined {
    const s = stamp(path.join(this.root, SWEEP_FILES.frontier));
    if (s !== this.frontier.stamp) {
      let lines: string[] | undefined;
      if (s !== '') {
        try {
          lines = formatFrontierTable(readFrontier(this.root)).split('\n').map(sanitizeText);
        } catch (e) {
          lines = [sanitizeText((e as Error).message)];
        }
      }
      this.frontier = { stamp: s, lines };
    }
    return this.frontier.lines;
  }

  /** Reloads the analysis tables of opened runs whose files changed (e.g. vsae analyze finished). */
  private pollAnalyses(): boolean {
    let changed = false;
    for (const [dir, a] of this.analyses) {
      if (a.state === NOT_LOADED) continue;
      if (this.analysisStamp(dir) !== a.stamp) {
        this.loadAnalysis(dir);
        changed = true;
      }
    }
    return changed;
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}
