/**
 * `_dataset.json`, the index of a sharded dataset directory (CONTRACTS.md §1):
 * { format: "vsae-dataset", version: 1, complete, d_in, rows, metadata, shards: [{file, rows}] }.
 */
import { readJson } from './atomic.js';
import { InputError } from './errors.js';

export interface DatasetJson {
  format: 'vsae-dataset';
  version: 1;
  complete: boolean;
  d_in: number;
  rows: number;
  metadata: Record<string, string>;
  shards: Array<{ file: string; rows: number }>;
}

/** `part-00012.arrow` → 12. */
export const shardFileRe = /^part-(\d{5,})\.arrow$/;
export const shardName = (i: number): string => `part-${String(i).padStart(5, '0')}.arrow`;
export const shardTempName = (i: number): string => `.${shardName(i)}.tmp`;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Reads and checks `_dataset.json`; every problem is an InputError naming the file. */
export function readDatasetJson(file: string): DatasetJson {
  const j = readJson<Record<string, unknown>>(file);
  const bad = (what: string) => new InputError(file, `${what}; it is not a valid vsae dataset index (see CONTRACTS.md), regenerate the dataset`);
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw bad('is not a JSON object');
  if (j.format !== 'vsae-dataset') throw bad(`has format ${JSON.stringify(j.format)}, expected "vsae-dataset"`);
  if (j.version !== 1) throw bad(`has version ${JSON.stringify(j.version)}, this reader knows version 1`);
  if (typeof j.complete !== 'boolean') throw bad('lacks a boolean "complete"');
  if (!isCount(j.d_in) || j.d_in === 0) throw bad('lacks a positive integer "d_in"');
  if (!isCount(j.rows)) throw bad('lacks an integer "rows"');
  if (!Array.isArray(j.shards)) throw bad('lacks a "shards" list');
  const shards = j.shards.map((s: unknown, i: number) => {
    const e = s as { file?: unknown; rows?: unknown };
    if (!e || typeof e.file !== 'string' || !isCount(e.rows)) throw bad(`shard ${i} is not {file, rows}`);
    if (e.file === '' || e.file.includes('/') || e.file.includes('\\') || e.file.startsWith('.')) throw bad(`shard ${i} names "${e.file}", which is not a file inside the directory`);
    return { file: e.file, rows: e.rows };
  });
  const seen = new Set<string>();
  for (const s of shards) {
    if (seen.has(s.file)) throw bad(`lists ${s.file} more than once (its rows would be read twice)`);
    seen.add(s.file);
  }
  const sum = shards.reduce((a, s) => a + s.rows, 0);
  if (sum !== j.rows) throw bad(`says rows=${j.rows} but its shards hold ${sum}`);
  const metadata = j.metadata && typeof j.metadata === 'object' && !Array.isArray(j.metadata) ? (j.metadata as Record<string, string>) : {};
  return { format: 'vsae-dataset', version: 1, complete: j.complete, d_in: j.d_in, rows: j.rows, metadata, shards };
}
