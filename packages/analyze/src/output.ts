/**
 * Where an analysis writes: its tables go to a hidden staging folder inside the output folder
 * and are moved into place, with summary.json last, only when every analysis has finished. An
 * error or an interruption removes the staging folder, so the output folder keeps the earlier
 * analysis as it was — never a mix of old and new tables that looks complete.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ANALYSIS_LIST, ANALYSIS_TABLES, InputError, processAlive, writeJsonAtomicSync, writeTable, type AnalysisName, type AnalysisTable } from '@vsae/data';
import type { Columns } from './tables.js';

export const SUMMARY_FILE = 'summary.json';

export class AnalysisOutput {
  private readonly stage: string;
  private readonly created: boolean;
  private readonly written = new Set<AnalysisTable>();
  private readonly onExit = (): void => this.discard();

  /** Checks `dir` (a folder, or a path where one can be made) and opens a staging folder in it. */
  constructor(
    readonly dir: string,
    private readonly metadata: () => Record<string, string>,
  ) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(dir);
    } catch {
      st = undefined;
    }
    if (st && !st.isDirectory()) throw new InputError(dir, 'is a file; -o names the folder the analysis tables go to (default RUN/analysis): give a new or existing folder');
    this.created = st === undefined;
    fs.mkdirSync(dir, { recursive: true });
    removeStaleStages(dir);
    this.stage = fs.mkdtempSync(path.join(dir, `.analyze-${process.pid}-`));
    // A second Ctrl-C exits at once: do not leave the staging folder behind.
    process.once('exit', this.onExit);
  }

  async write(table: AnalysisTable, columns: Columns): Promise<void> {
    await writeTable(path.join(this.stage, ANALYSIS_TABLES[table]), columns, this.metadata());
    this.written.add(table);
  }

  /** The final paths of the tables written so far. */
  get files(): string[] {
    return [...this.written].map((t) => path.join(this.dir, ANALYSIS_TABLES[t]));
  }

  /**
   * Moves the tables into place, removes the tables of the analyses run now that did not apply
   * this time (no ground truth, no --compare, no --model), then writes the summary. Synchronous,
   * so that no signal handler runs in between.
   */
  commit(ran: readonly AnalysisName[], summary: unknown): void {
    for (const t of this.written) fs.renameSync(path.join(this.stage, ANALYSIS_TABLES[t]), path.join(this.dir, ANALYSIS_TABLES[t]));
    for (const a of ANALYSIS_LIST) {
      if (!ran.includes(a.name)) continue;
      for (const t of a.tables) if (!this.written.has(t)) fs.rmSync(path.join(this.dir, ANALYSIS_TABLES[t]), { force: true });
    }
    writeJsonAtomicSync(path.join(this.dir, SUMMARY_FILE), summary);
    this.discard();
  }

  /** Removes the staging folder (and the output folder when this analysis made it and it is empty). */
  discard(): void {
    process.off('exit', this.onExit);
    fs.rmSync(this.stage, { recursive: true, force: true });
    if (this.created) {
      try {
        fs.rmdirSync(this.dir);
      } catch {
        /* not empty: it holds the tables just written */
      }
    }
  }
}

/**
 * Staging folders left by an analysis that was killed (SIGKILL, power loss) are removed when the
 * next analysis of the same folder starts; those of a process still running are left alone.
 */
function removeStaleStages(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const m = /^\.analyze-(\d+)-/.exec(name);
    if (m && !processAlive(Number(m[1]))) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}
