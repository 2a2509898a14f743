import * as fs from 'node:fs';
import { readMetrics } from '@vsae/data';
import type { MetricsSeries } from './model.js';

/** A MetricsSeries with no rows. */
export function emptySeries(): MetricsSeries {
  return { names: [], values: {}, length: 0 };
}

/**
 * Follows a run's metrics.arrows while `vsae train` appends to it: each poll reads only the
 * complete record batches written since the last one (readMetrics ignores a batch still being
 * written and says where to continue). A file that shrinks or is replaced (a resumed run
 * rewrites it) is read again from the start; a missing or unreadable file keeps the rows
 * already read and records why, so the dashboard never crashes on it.
 */
export class MetricsFollower {
  private series: MetricsSeries = emptySeries();
  private nextByte = 0;
  private ino: number | undefined;
  /** Why the last read failed, if it did (unsanitized). */
  problem: string | undefined;

  constructor(readonly file: string) {}

  get metrics(): MetricsSeries {
    return this.series;
  }

  /** Reads what was appended since the last poll; true when the series changed. */
  poll(): boolean {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
    } catch {
      // Not written yet (or removed): forget what was read if the file went away.
      this.problem = undefined;
      return this.reset();
    }
    let changed = false;
    if (this.ino !== st.ino || st.size < this.nextByte) {
      changed = this.reset();
      this.ino = st.ino;
    }
    if (st.size === this.nextByte) return changed;
    try {
      const read = readMetrics(this.file, { fromByte: this.nextByte });
      this.append(read.columns.map((c) => c.name), read.rows);
      this.nextByte = read.nextByte;
      this.problem = undefined;
      return changed || read.rows.length > 0;
    } catch (e) {
      this.problem = (e as Error).message;
      return changed;
    }
  }

  private reset(): boolean {
    const had = this.series.length > 0 || this.nextByte > 0;
    this.series = emptySeries();
    this.nextByte = 0;
    this.ino = undefined;
    return had;
  }

  private append(names: string[], rows: ReadonlyArray<Record<string, number>>): void {
    const s = this.series;
    for (const name of names) {
      if (!(name in s.values)) {
        s.names.push(name);
        s.values[name] = new Array<number>(s.length).fill(NaN);
      }
    }
    for (const row of rows) {
      for (const name of s.names) s.values[name]!.push(row[name] ?? NaN);
      s.length++;
    }
  }
}
