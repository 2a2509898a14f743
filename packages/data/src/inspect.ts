/**
 * inspectDataset: schema, metadata, size and per-column statistics of an activation dataset,
 * in one streamed pass (one batch in memory at a time); formatInspection renders it as text
 * for `vsae inspect`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openDataset } from './dataset-read.js';
import { formatNumber } from './progress.js';
import type { ActivationBatch, ColumnStats, DatasetInspection, OpenDatasetOptions } from './types.js';

/** Running statistics, merged per batch with Chan et al.'s pairwise update (stable for large counts). */
class Acc {
  count = 0;
  mean = 0;
  m2 = 0;
  min = Infinity;
  max = -Infinity;
  nan = 0;
  inf = 0;
  zeros = 0;
  normSum = 0;
  rows = 0;

  add(values: ArrayLike<number | bigint>, width?: number): void {
    let n = 0;
    let sum = 0;
    let lo = this.min;
    let hi = this.max;
    for (let i = 0; i < values.length; i++) {
      const v = Number(values[i]!);
      if (v !== v) { this.nan++; continue; }
      if (v === Infinity || v === -Infinity) { this.inf++; continue; }
      if (v === 0) this.zeros++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      sum += v;
      n++;
    }
    this.min = lo;
    this.max = hi;
    if (n === 0) return;
    const bMean = sum / n;
    let bM2 = 0;
    for (let i = 0; i < values.length; i++) {
      const v = Number(values[i]!);
      if (Number.isFinite(v)) bM2 += (v - bMean) * (v - bMean);
    }
    const total = this.count + n;
    const delta = bMean - this.mean;
    this.mean += (delta * n) / total;
    this.m2 += bM2 + (delta * delta * this.count * n) / total;
    this.count = total;
    if (width) {
      for (let r = 0; r < values.length / width; r++) {
        let s = 0;
        for (let j = r * width; j < (r + 1) * width; j++) {
          const v = Number(values[j]!);
          s += v * v;
        }
        // Rows holding NaN/Inf are counted above; the mean norm is over finite rows.
        if (Number.isFinite(s)) {
          this.normSum += Math.sqrt(s);
          this.rows++;
        }
      }
    }
  }

  stats(name: string, float: boolean): ColumnStats {
    const s: ColumnStats = {
      name,
      count: this.count + this.nan + this.inf,
      mean: this.count ? this.mean : NaN,
      std: this.count ? Math.sqrt(this.m2 / this.count) : NaN,
      min: this.count ? this.min : NaN,
      max: this.count ? this.max : NaN,
      nan: this.nan,
      inf: this.inf,
    };
    if (float) s.zeroFrac = s.count ? this.zeros / s.count : NaN;
    if (this.rows) s.meanRowNorm = this.normSum / this.rows;
    return s;
  }
}

function diskBytes(p: string, shards: Array<{ file: string }> | undefined): number | undefined {
  if (p === '-') return undefined;
  if (shards) {
    const index = fs.statSync(path.join(p, '_dataset.json'), { throwIfNoEntry: false })?.size ?? 0;
    return shards.reduce((a, s) => a + fs.statSync(s.file).size, index);
  }
  return fs.statSync(p).size;
}

/** Reads a whole dataset once and summarises it. */
export async function inspectDataset(file: string, opts: OpenDatasetOptions & { onBatch?: (rowsDone: number) => void } = {}): Promise<DatasetInspection> {
  const ds = await openDataset(file, opts);
  const acc: Record<string, Acc> = { act: new Acc() };
  if (ds.has.features) acc.features = new Acc();
  for (const c of ['seq', 'pos', 'token'] as const) if (ds.has[c]) acc[c] = new Acc();
  let rows = 0;
  try {
    for await (const b of ds.batches()) {
      acc.act!.add(b.act, ds.dIn);
      if (b.features) acc.features!.add(b.features, ds.nFeatures);
      for (const c of ['seq', 'pos', 'token'] as const) {
        const v = (b as ActivationBatch)[c];
        if (v) acc[c]!.add(v);
      }
      rows += b.numRows;
      opts.onBatch?.(rows);
    }
  } finally {
    await ds.close();
  }
  const schema: DatasetInspection['schema'] = [{ name: 'act', type: `FixedSizeList<Float32>[${ds.dIn}]` }];
  if (ds.has.seq) schema.push({ name: 'seq', type: 'Int64' });
  if (ds.has.pos) schema.push({ name: 'pos', type: 'Int32' });
  if (ds.has.token) schema.push({ name: 'token', type: 'Int32' });
  if (ds.has.features) schema.push({ name: 'features', type: `FixedSizeList<Float32>[${ds.nFeatures}]` });
  return {
    path: file,
    format: ds.format,
    numRows: rows,
    dIn: ds.dIn,
    nFeatures: ds.nFeatures,
    bytes: diskBytes(file, ds.shards),
    shards: ds.shards?.length,
    schema,
    meta: ds.meta,
    columns: Object.entries(acc).map(([name, a]) => a.stats(name, name === 'act' || name === 'features')),
  };
}

const fmt = (v: number | undefined): string => (v === undefined ? '' : Number.isNaN(v) ? '-' : formatNumber(v));

function pad(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
}

/** Renders an inspection as plain text (no colour), one fact per line, then a stats table. */
export function formatInspection(info: DatasetInspection): string {
  const lines: string[] = [];
  const where = info.path === '-' ? 'stdin' : info.path;
  const size = info.bytes === undefined ? '' : `, ${formatNumber(info.bytes / 1e6)} MB`;
  lines.push(`${where}: ${info.format}${info.shards !== undefined ? ` (${info.shards} shards)` : ''}, ${info.numRows} rows × d_in ${info.dIn}${size}`);
  lines.push(`columns: ${info.schema.map((c) => `${c.name} ${c.type}`).join(', ')}`);
  const m = info.meta;
  const facts: Array<[string, string | number | undefined]> = [
    ['source', m.source], ['model', m.model], ['hook', m.hook], ['context', m.context], ['tokenizer', m.tokenizer], ['bos', m.bos], ['ground truth', m.groundTruth],
  ];
  for (const [k, v] of facts) if (v !== undefined) lines.push(`${k}: ${v}`);
  if (m.config) lines.push(`config: ${JSON.stringify(m.config)}`);
  const other = Object.entries(m.raw).filter(([k]) => !k.startsWith('vsae:'));
  for (const [k, v] of other) lines.push(`${k}: ${v.length > 200 ? `${v.slice(0, 200)}…` : v}`);
  lines.push('');
  const table = [['column', 'count', 'mean', 'std', 'min', 'max', 'NaN', 'Inf', 'zero', 'row norm']];
  for (const c of info.columns) {
    table.push([c.name, String(c.count), fmt(c.mean), fmt(c.std), fmt(c.min), fmt(c.max), String(c.nan), String(c.inf), c.zeroFrac === undefined ? '' : fmt(c.zeroFrac), fmt(c.meanRowNorm)]);
  }
  lines.push(...pad(table));
  const bad = info.columns.filter((c) => c.nan + c.inf > 0);
  if (bad.length) lines.push('', `warning: ${bad.map((c) => `${c.name} has ${c.nan} NaN and ${c.inf} Inf values`).join('; ')} (vsae train --skip-bad-rows drops such rows)`);
  return `${lines.join('\n')}\n`;
}
