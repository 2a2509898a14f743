/**
 * Joins the parts of a split extraction (`vsae extract --part I/N`) into one dataset with the
 * rows in the order a single process writes them. Part I holds windows I, I+N, I+2N, … (its
 * `seq` column is the window's index in the whole corpus), so window s comes from part s mod N
 * and the merge walks s = 0, 1, … taking each window's rows from its part. One record batch per
 * part (plus the output's staged rows) is held at a time.
 */
import { createDatasetWriter } from './dataset-write.js';
import { openDataset } from './dataset-read.js';
import { InputError, UsageError } from './errors.js';
import type { ActivationBatch, ActivationDataset, DatasetWriter } from './types.js';

export interface MergeOptions {
  /** Write a sharded directory with this many rows per shard. */
  shardRows?: number;
  /** Rows per record batch of the output (default 8192). */
  batchRows?: number;
}

export interface MergeSummary {
  parts: number;
  rows: number;
  windows: number;
  out: string;
}

interface PartInfo {
  ds: ActivationDataset;
  index: number;
  count: number;
  rows: Record<string, unknown>;
}

/** The `I/N` a part was written with, from its `vsae:config`. */
function partOf(ds: ActivationDataset): PartInfo {
  const rows = (ds.meta.config?.rows ?? undefined) as Record<string, unknown> | undefined;
  const m = typeof rows?.part === 'string' ? /^(\d+)\/(\d+)$/.exec(rows.part) : null;
  if (!rows || !m) throw new InputError(ds.path, 'is not one part of a split extraction (no part I/N in its vsae:config); make the parts with vsae extract --part I/N');
  if (!ds.has.seq) throw new InputError(ds.path, 'has no seq column; the parts of an extraction carry one');
  return { ds, index: Number(m[1]), count: Number(m[2]), rows };
}

/** Reads one part row by row in window-sized runs. */
class Cursor {
  private it: AsyncIterator<ActivationBatch>;
  private batch: ActivationBatch | undefined;
  private i = 0;
  done = false;
  constructor(readonly part: PartInfo) {
    this.it = part.ds.batches({ columns: ['act', 'seq', 'pos', 'token'] })[Symbol.asyncIterator]();
  }
  /** The window of the next row, or undefined at the end. */
  async peek(): Promise<number | undefined> {
    while (!this.done && (!this.batch || this.i >= this.batch.numRows)) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.batch = r.value;
        this.i = 0;
      }
    }
    return this.done ? undefined : Number(this.batch!.seq![this.i]);
  }
  /** The current batch and how many rows from the current one belong to window s. */
  run(s: number): { batch: ActivationBatch; from: number; n: number } {
    const b = this.batch!;
    const from = this.i;
    let i = from;
    while (i < b.numRows && Number(b.seq![i]) === s) i++;
    this.i = i;
    return { batch: b, from, n: i - from };
  }
}

/** Merges the parts (in any order) into `out`. */
export async function mergeParts(inputs: string[], out: string, opts: MergeOptions = {}): Promise<MergeSummary> {
  if (inputs.length === 0) throw new UsageError('give the parts to merge: vsae merge PART… -o OUT');
  const parts: PartInfo[] = [];
  try {
    for (const f of inputs) parts.push(partOf(await openDataset(f)));
    const n = parts[0]!.count;
    const byIndex: PartInfo[] = new Array(n);
    for (const p of parts) {
      if (p.count !== n) throw new InputError(p.ds.path, `is part ${p.index}/${p.count}, but ${parts[0]!.ds.path} is part of a split in ${n}; merge parts of one extraction`);
      if (byIndex[p.index]) throw new InputError(p.ds.path, `is part ${p.index}/${n}, as is ${byIndex[p.index]!.ds.path}; give each part once`);
      byIndex[p.index] = p;
      const a = { ...parts[0]!.rows, part: undefined };
      const b = { ...p.rows, part: undefined };
      if (JSON.stringify(a) !== JSON.stringify(b) || p.ds.meta.dIn !== parts[0]!.ds.meta.dIn) {
        throw new InputError(p.ds.path, `was extracted with other options than ${parts[0]!.ds.path} (model, hook, corpus, context, …); merge parts of one extraction`);
      }
    }
    const missing = [...byIndex.keys()].filter((i) => !byIndex[i]);
    if (missing.length) throw new UsageError(`parts ${missing.map((i) => `${i}/${n}`).join(', ')} are missing; give all ${n} parts`);

    const first = byIndex[0]!.ds;
    const config = { ...(first.meta.config ?? {}), rows: { ...byIndex[0]!.rows, part: undefined }, mergedFrom: n };
    const dIn = first.dIn;
    const writer: DatasetWriter = await createDatasetWriter(out, {
      meta: { source: first.meta.source, dIn, model: first.meta.model, hook: first.meta.hook, context: first.meta.context, tokenizer: first.meta.tokenizer, bos: first.meta.bos, config },
      columns: { seq: true, pos: first.has.pos, token: first.has.token },
      ...(opts.batchRows ? { batchRows: opts.batchRows } : {}),
      ...(opts.shardRows ? { shardRows: opts.shardRows } : {}),
    });
    try {
      const cursors = byIndex.map((p) => new Cursor(p));
      const cap = opts.batchRows ?? 8192;
      let act = new Float32Array(cap * dIn);
      let seq = new BigInt64Array(cap);
      let pos = new Int32Array(cap);
      let token = new Int32Array(cap);
      let staged = 0;
      let rows = 0;
      const flush = async (): Promise<void> => {
        if (staged === 0) return;
        await writer.write({ numRows: staged, act: act.subarray(0, staged * dIn), seq: seq.subarray(0, staged), ...(first.has.pos ? { pos: pos.subarray(0, staged) } : {}), ...(first.has.token ? { token: token.subarray(0, staged) } : {}) });
        rows += staged;
        staged = 0;
      };
      let s = 0;
      for (;; s++) {
        const c = cursors[s % n]!;
        const next = await c.peek();
        if (next === undefined) break;
        if (next !== s) throw new InputError(c.part.ds.path, `holds window ${next} where window ${s} was due (part ${c.part.index}/${n} takes every ${n}th window from ${c.part.index}); the part is incomplete or not from vsae extract --part`);
        // A window's rows may span record batches.
        while ((await c.peek()) === s) {
          const { batch, from, n: k } = c.run(s);
          if (staged + k > seq.length) {
            await flush();
            if (k > seq.length) {
              act = new Float32Array(k * dIn);
              seq = new BigInt64Array(k);
              pos = new Int32Array(k);
              token = new Int32Array(k);
            }
          }
          act.set(batch.act.subarray(from * dIn, (from + k) * dIn), staged * dIn);
          seq.set(batch.seq!.subarray(from, from + k), staged);
          if (batch.pos) pos.set(batch.pos.subarray(from, from + k), staged);
          if (batch.token) token.set(batch.token.subarray(from, from + k), staged);
          staged += k;
        }
      }
      await flush();
      for (const c of cursors) {
        const left = await c.peek();
        if (left !== undefined) throw new InputError(c.part.ds.path, `holds window ${left} after window ${s - 1}, where part ${s % n}/${n} ended; a part is incomplete (rerun it with --resume)`);
      }
      await writer.close();
      return { parts: n, rows, windows: s, out };
    } catch (e) {
      await writer.abort();
      throw e;
    }
  } finally {
    for (const p of parts) await p.ds.close();
  }
}
