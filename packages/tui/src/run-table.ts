/**
 * The run list's columns, shared by the Ink view and the plain table printed when stdout is
 * not a terminal: how each column reads its value from a RunEntry, formats it, and sorts.
 */
import { fit, formatPercent, formatSteps, formatValue } from './format.js';
import type { RunEntry } from './model.js';

export interface RunColumn {
  key: string;
  title: string;
  /** Preferred width in columns (the name column takes what is left). */
  width: number;
  align: 'left' | 'right';
  /** Sort key: numbers sort numerically, undefined always last. */
  sortValue(run: RunEntry): number | string | undefined;
  text(run: RunEntry): string;
}

/** The last logged value of a metric, or the analysis summary's when nothing was logged. */
function metric(run: RunEntry, name: string, summaryName?: string): number | undefined {
  const v = run.last?.[name];
  if (v !== undefined && Number.isFinite(v)) return v;
  return summaryName === undefined ? undefined : run.summary?.[summaryName];
}

const deadFrac = (r: RunEntry): number | undefined => {
  const v = metric(r, 'dead_frac');
  if (v !== undefined) return v;
  const pct = r.summary?.percent_dead_neurons;
  return pct === undefined ? undefined : pct / 100;
};

export const RUN_COLUMNS: readonly RunColumn[] = [
  { key: 'name', title: 'run', width: 18, align: 'left', sortValue: (r) => r.name, text: (r) => r.name },
  { key: 'arch', title: 'arch', width: 10, align: 'left', sortValue: (r) => r.arch, text: (r) => r.arch },
  { key: 'status', title: 'status', width: 11, align: 'left', sortValue: (r) => r.status, text: (r) => r.status },
  { key: 'steps', title: 'steps', width: 13, align: 'right', sortValue: (r) => r.step, text: (r) => formatSteps(r.step, r.steps) },
  { key: 'loss', title: 'loss', width: 8, align: 'right', sortValue: (r) => metric(r, 'loss'), text: (r) => formatValue(metric(r, 'loss')) },
  { key: 'l0', title: 'L0', width: 7, align: 'right', sortValue: (r) => metric(r, 'l0', 'l0'), text: (r) => formatValue(metric(r, 'l0', 'l0')) },
  { key: 'dead', title: 'dead', width: 6, align: 'right', sortValue: deadFrac, text: (r) => formatPercent(deadFrac(r)) },
  { key: 'ev', title: 'expl.var', width: 8, align: 'right', sortValue: (r) => metric(r, 'explained_variance', 'explained_variance'), text: (r) => formatValue(metric(r, 'explained_variance', 'explained_variance')) },
  { key: 'mmcs', title: 'MMCS', width: 6, align: 'right', sortValue: (r) => r.summary?.mmcs, text: (r) => formatValue(r.summary?.mmcs) },
];

/** Columns given up first when the terminal is too narrow for all of them. */
const DROP_ORDER = ['ev', 'dead', 'l0', 'mmcs', 'arch', 'status'];
const MIN_NAME = 12;

export interface SortState {
  key: string;
  descending: boolean;
}

/** Sorts a copy of `runs` by one column; missing values go last in either direction, ties by name. */
export function sortRuns(runs: readonly RunEntry[], sort: SortState): RunEntry[] {
  const col = RUN_COLUMNS.find((c) => c.key === sort.key) ?? RUN_COLUMNS[0]!;
  const dir = sort.descending ? -1 : 1;
  return [...runs].sort((a, b) => {
    const va = col.sortValue(a);
    const vb = col.sortValue(b);
    const missA = va === undefined || (typeof va === 'number' && Number.isNaN(va));
    const missB = vb === undefined || (typeof vb === 'number' && Number.isNaN(vb));
    if (missA !== missB) return missA ? 1 : -1;
    let c = 0;
    if (!missA && !missB) {
      c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
    }
    return c !== 0 ? c * dir : a.name.localeCompare(b.name);
  });
}

/** Runs whose name, arch, status or hook contain every word of `query` (case-insensitive). */
export function filterRuns(runs: readonly RunEntry[], query: string): RunEntry[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...runs];
  return runs.filter((r) => {
    const hay = `${r.name} ${r.arch} ${r.status} ${r.hook ?? ''}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/**
 * The columns that fit in `total` cells and their widths: fixed columns keep their width, the
 * name column takes the rest; when it would get fewer than 12 cells, columns are dropped in
 * DROP_ORDER (the run name, steps and loss always stay).
 */
export function layoutColumns(total: number, gap = 2): Array<{ column: RunColumn; width: number }> {
  let cols = [...RUN_COLUMNS];
  const fixed = (cs: RunColumn[]): number => cs.slice(1).reduce((s, c) => s + c.width + gap, 0);
  for (const key of DROP_ORDER) {
    if (total - fixed(cols) >= MIN_NAME) break;
    cols = cols.filter((c) => c.key !== key);
  }
  return cols.map((c, i) => ({ column: c, width: i === 0 ? Math.max(8, total - fixed(cols)) : c.width }));
}

/**
 * The run list as plain text (no colour, no escape sequences): a header and one line per run,
 * columns separated by two spaces. Used when stdout is not a terminal.
 */
export function formatRunTable(runs: readonly RunEntry[]): string {
  const nameWidth = Math.max(RUN_COLUMNS[0]!.title.length, ...runs.map((r) => [...r.name].length));
  const widths = RUN_COLUMNS.map((c, i) => (i === 0 ? nameWidth : Math.max(c.title.length, ...runs.map((r) => [...c.text(r)].length))));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => fit(cell, widths[i]!, RUN_COLUMNS[i]!.align)).join('  ').trimEnd();
  const out = [line(RUN_COLUMNS.map((c) => c.title)), ...runs.map((r) => line(RUN_COLUMNS.map((c) => c.text(r))))];
  return out.join('\n') + '\n';
}

