import * as fs from 'node:fs';
import * as path from 'node:path';
import { readFrontier, settingLabel, UsageError, writeFileAtomic } from '@vsae/data';
import { buildHtml } from './_html.js';
import { DEFAULT_LIMITS, loadRun } from './load.js';
import type { RenderReportOptions, ReportData, ReportLimits, RunReport, SweepReport, WriteReportOptions, WriteReportResult } from './types.js';

function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0';
  } catch {
    return '0';
  }
}

/** Distinct display names: the directory name, with its parent when two runs share it. */
function nameRuns(runs: RunReport[]): void {
  const count = new Map<string, number>();
  for (const r of runs) count.set(r.name, (count.get(r.name) ?? 0) + 1);
  for (const r of runs) {
    if ((count.get(r.name) ?? 0) > 1) r.name = path.join(path.basename(path.dirname(path.resolve(r.path))), r.name);
  }
}

/**
 * A sweep's frontier, with each of its runs appended to `runs` (a run directory that is gone
 * keeps its point, unlinked).
 */
function loadSweep(dir: string, runs: RunReport[], limits: ReportLimits): SweepReport {
  const f = readFrontier(dir);
  const points = f.rows.map((row) => {
    const runDir = path.join(dir, row.run);
    let runIndex: number | null = null;
    if (fs.existsSync(runDir)) {
      runs.push(loadRun(runDir, limits));
      runIndex = runs.length - 1;
    }
    return { run: row.run, arch: row.arch, label: settingLabel(row), setting: row.setting, values: row.values as Record<string, number | null>, runIndex };
  });
  return { name: path.basename(path.resolve(dir)), path: dir, swept: f.swept, metrics: f.metrics, points };
}

/** Reads the runs and sweeps and returns the report data (what the HTML embeds). */
export function buildReportData(opts: RenderReportOptions): ReportData {
  const sweepDirs = opts.sweeps ?? [];
  if (opts.runs.length === 0 && sweepDirs.length === 0) throw new UsageError('a report needs at least one run or sweep directory');
  const limits: ReportLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const runs: RunReport[] = [];
  const sweeps = sweepDirs.map((dir) => loadSweep(dir, runs, limits));
  runs.push(...opts.runs.map((dir) => loadRun(dir, limits)));
  nameRuns(runs);
  const title =
    opts.title ??
    (sweeps.length > 0
      ? `${sweeps.length === 1 ? 'sweep' : `${sweeps.length} sweeps:`} ${sweeps.map((s) => s.name).join(', ')}`
      : runs.length === 1
        ? `${runs[0]!.name}`
        : `${runs.length} runs: ${runs.map((r) => r.name).join(', ')}`);
  return { format: 'vsae-report', version: 1, title, created: new Date().toISOString(), generator: `vsae report ${version()}`, runs, sweeps };
}

/** The report of `runs` as one self-contained HTML page. */
export async function renderReport(opts: RenderReportOptions): Promise<string> {
  return buildHtml(buildReportData(opts));
}

/** Writes the report to `out` (atomically) and returns its path and size. */
export async function writeReport(opts: WriteReportOptions): Promise<WriteReportResult> {
  const html = await renderReport(opts);
  await writeFileAtomic(opts.out, html);
  return { out: opts.out, bytes: Buffer.byteLength(html) };
}
