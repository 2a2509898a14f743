/**
 * A sweep directory (CONTRACTS.md §4): run directories side by side, `sweep.json` (what each
 * run was trained with) and `frontier.arrow`, one row per run with its settings and figures.
 * Written by `vsae sweep`; read by the report and the dashboard.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from './errors.js';
import { readTable, writeTable } from './table.js';

export const SWEEP_FILES = { frontier: 'frontier.arrow', plan: 'sweep.json' } as const;

/** The figures of a frontier row, in table order; a sweep writes those it measured. */
export const FRONTIER_METRICS = ['l0', 'explained_variance', 'mse', 'frac_alive', 'mmcs', 'mmcs_represented', 'ce_loss_score', 'kl_div_score', 'train_s'] as const;
export type FrontierMetric = (typeof FRONTIER_METRICS)[number];

export interface FrontierRow {
  run: string;
  arch: string;
  /** Swept option (snake_case flag name) → its value in this run; null when the arch does not take it. */
  setting: Record<string, number | null>;
  /** Figures measured; null where not measured. */
  values: Partial<Record<FrontierMetric, number | null>>;
}

export interface Frontier {
  /** The sweep directory. */
  dir: string;
  /** Names of the setting columns, in order. */
  swept: string[];
  /** Figures present as columns. */
  metrics: FrontierMetric[];
  rows: FrontierRow[];
}

/** Whether `dir` is a sweep directory (it holds frontier.arrow). */
export function isSweepDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, SWEEP_FILES.frontier));
}

/** `k=3, lr=0.001`: a row's setting for labels (the arch alone when nothing was swept). */
export function settingLabel(row: Pick<FrontierRow, 'arch' | 'setting'>): string {
  const parts = Object.entries(row.setting).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(', ') : row.arch;
}

/** Writes frontier.arrow atomically; columns: run, arch, the swept settings, then the figures measured. */
export async function writeFrontier(dir: string, swept: string[], metrics: readonly FrontierMetric[], rows: FrontierRow[]): Promise<string> {
  const file = path.join(dir, SWEEP_FILES.frontier);
  const col = (get: (r: FrontierRow) => number | null | undefined) => ({ type: 'float64' as const, values: rows.map((r) => get(r) ?? null) });
  await writeTable(
    file,
    {
      run: { type: 'utf8', values: rows.map((r) => r.run) },
      arch: { type: 'utf8', values: rows.map((r) => r.arch) },
      ...Object.fromEntries(swept.map((s) => [s, col((r) => r.setting[s])])),
      ...Object.fromEntries(metrics.map((m) => [m, col((r) => r.values[m])])),
    },
    { 'vsae:kind': 'frontier', 'vsae:swept': JSON.stringify(swept) },
  );
  return file;
}

/** Reads DIR/frontier.arrow; an InputError names the file when it is not a frontier table. */
export function readFrontier(dir: string): Frontier {
  const file = path.join(dir, SWEEP_FILES.frontier);
  const t = readTable(file);
  for (const c of ['run', 'arch']) if (!t.has(c)) throw new InputError(file, `has no "${c}" column; it is not a frontier table (rerun vsae sweep)`);
  let swept: unknown;
  try {
    swept = JSON.parse(t.metadata['vsae:swept'] ?? '[]');
  } catch {
    swept = null;
  }
  if (!Array.isArray(swept) || !swept.every((s) => typeof s === 'string' && t.has(s))) {
    throw new InputError(file, 'has no readable vsae:swept metadata naming its setting columns; rerun vsae sweep');
  }
  const names = swept as string[];
  const metrics = FRONTIER_METRICS.filter((m) => t.has(m));
  const num = (v: number): number | null => (Number.isFinite(v) ? v : null);
  const runs = t.strings('run');
  const archs = t.strings('arch');
  const settings = names.map((s) => t.numbers(s));
  const figures = metrics.map((m) => t.numbers(m));
  const rows: FrontierRow[] = runs.map((run, i) => ({
    run: run ?? '',
    arch: archs[i] ?? '',
    setting: Object.fromEntries(names.map((s, k) => [s, num(settings[k]![i]!)])),
    values: Object.fromEntries(metrics.map((m, k) => [m, num(figures[k]![i]!)])),
  }));
  return { dir, swept: names, metrics, rows };
}

const HEADS: Record<FrontierMetric, [string, number]> = {
  l0: ['L0', 2],
  explained_variance: ['expl. var', 3],
  mse: ['MSE', 4],
  frac_alive: ['alive', 2],
  mmcs: ['MMCS', 3],
  mmcs_represented: ['MMCS (repr.)', 3],
  ce_loss_score: ['CE score', 3],
  kl_div_score: ['KL score', 3],
  train_s: ['train s', 0],
};

/** The frontier as a text table (what `vsae sweep` prints and `vsae dash` shows). */
export function formatFrontierTable(r: Pick<Frontier, 'swept' | 'metrics' | 'rows'>): string {
  const head = ['run', 'arch', ...r.swept, ...r.metrics.map((m) => HEADS[m][0])];
  const cell = (v: number | null | undefined, digits?: number): string => (v === null || v === undefined ? '—' : digits === undefined ? String(v) : v.toFixed(digits));
  const body = r.rows.map((x) => [x.run, x.arch, ...r.swept.map((s) => cell(x.setting[s])), ...r.metrics.map((m) => cell(x.values[m], HEADS[m][1]))]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}
