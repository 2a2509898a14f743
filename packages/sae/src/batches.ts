/**
 * Training batches from an activation dataset: a bounded shuffling buffer fed lazily, row by
 * row, from `dataset.batches()`. A file (or sharded directory) is passed over again when the
 * steps need more rows than it has; stdin is read once. Everything the next batch depends on —
 * the reader position (pass, row), the buffer's rows and the shuffling RNG — is in `state()`,
 * so a resumed run draws exactly the batches the uninterrupted run would have drawn.
 */
import { Rng, type RngState } from '@vsae/compute';
import { InputError, type ActivationBatch, type ActivationDataset } from '@vsae/data';

export interface SourcePosition {
  /** Passes over the data completed. */
  pass: number;
  /** Next row (dataset row index) to read in the current pass. */
  row: number;
  /** Rows dropped so far for holding NaN/Inf (with skipBadRows). */
  skipped: number;
}

/** Reads rows one at a time (after an async `fill`) from a dataset, wrapping around for files. */
export class RowSource {
  private iter: AsyncIterator<ActivationBatch> | undefined;
  private cur: { b: ActivationBatch; pass: number } | undefined;
  private idx = 0;
  private queued = 0;
  private readonly pending: Array<{ b: ActivationBatch; pass: number }> = [];
  private ended = false;
  /** Pass the reader is in (ahead of `pos.pass` while read-ahead rows of the old pass remain). */
  private readPass: number;
  private rowsReadThisPass = 0;
  readonly dIn: number;
  /** Position after the last row taken: what a resumed run starts from. */
  pos: SourcePosition;

  constructor(
    private readonly ds: ActivationDataset,
    private readonly opts: { skipBadRows: boolean; start?: SourcePosition | undefined },
  ) {
    this.dIn = ds.dIn;
    this.pos = { ...(opts.start ?? { pass: 0, row: 0, skipped: 0 }) };
    this.readPass = this.pos.pass;
  }

  /** True once a non-rewindable source (stdin) has no more rows. */
  get exhausted(): boolean {
    return this.ended && this.available() === 0;
  }

  private available(): number {
    return this.queued + (this.cur ? this.cur.b.numRows - this.idx : 0);
  }

  private push(b: ActivationBatch): void {
    if (b.numRows <= 0) return;
    this.pending.push({ b, pass: this.readPass });
    this.queued += b.numRows;
    this.rowsReadThisPass += b.numRows;
  }

  private async open(fromRow: number): Promise<void> {
    if (!this.ds.rewindable) {
      if (this.iter !== undefined) {
        this.ended = true;
        return;
      }
      // stdin cannot seek: read and drop the rows a resumed run has already used.
      this.iter = this.ds.batches({ columns: ['act'] })[Symbol.asyncIterator]();
      let seen = 0;
      while (seen < fromRow) {
        const r = await this.iter.next();
        if (r.done) {
          throw new InputError(this.ds.path, `holds ${seen} rows but the run being resumed had already read ${fromRow}; pipe the same data in again to resume`);
        }
        const b = r.value;
        if (seen + b.numRows > fromRow) this.push(sliceBatch(b, fromRow - seen, this.dIn));
        seen += b.numRows;
      }
      return;
    }
    await this.iter?.return?.();
    this.iter = this.ds.batches({ fromRow, columns: ['act'] })[Symbol.asyncIterator]();
  }

  /** Stops the reader (closes the file it holds open). */
  async close(): Promise<void> {
    const it = this.iter;
    this.iter = undefined;
    this.ended = true;
    await it?.return?.();
  }

  /** Makes at least `n` rows available to `take` (fewer only when a stream has ended). */
  async fill(n: number): Promise<void> {
    if (this.iter === undefined) await this.open(this.pos.row);
    while (this.available() < n && !this.ended) {
      const r = await this.iter!.next();
      if (!r.done) {
        this.push(r.value);
        continue;
      }
      if (!this.ds.rewindable) {
        this.ended = true;
        break;
      }
      if (this.rowsReadThisPass === 0) {
        throw new InputError(this.ds.path, 'has no rows to train on');
      }
      // Another pass over the file.
      this.readPass++;
      this.rowsReadThisPass = 0;
      await this.open(0);
    }
  }

  /**
   * Copies the next usable row into dst at offset off; false when no row is available (call
   * fill first). Rows holding NaN/Inf stop training with their index unless skipBadRows.
   */
  take(dst: Float32Array, off: number): boolean {
    const d = this.dIn;
    for (;;) {
      if (!this.cur || this.idx >= this.cur.b.numRows) {
        const next = this.pending.shift();
        if (!next) {
          this.cur = undefined;
          return false;
        }
        this.queued -= next.b.numRows;
        this.cur = next;
        this.idx = 0;
      }
      const { b, pass } = this.cur;
      const i = this.idx++;
      const rowIndex = b.offset + i;
      this.pos.pass = pass;
      this.pos.row = rowIndex + 1;
      const a = b.act;
      const base = i * d;
      let ok = true;
      for (let k = 0; k < d; k++) {
        const v = a[base + k]!;
        if (v - v !== 0) {
          ok = false;
          break;
        }
      }
      if (!ok) {
        if (!this.opts.skipBadRows) {
          throw new InputError(
            this.ds.path,
            `row ${rowIndex} holds NaN or Inf in "act"; fix the data, or pass --skip-bad-rows to drop such rows (they are counted in the metrics' skipped_rows)`,
          );
        }
        this.pos.skipped++;
        continue;
      }
      dst.set(a.subarray(base, base + d), off);
      return true;
    }
  }
}

function sliceBatch(b: ActivationBatch, from: number, d: number): ActivationBatch {
  return { offset: b.offset + from, numRows: b.numRows - from, act: b.act.subarray(from * d) };
}

export interface BufferState {
  /** Rows held, row-major [count, d_in]. */
  rows: Float32Array;
  count: number;
  rng: RngState;
  source: SourcePosition;
}

/**
 * A shuffling buffer of bounded size. Each batch row is a uniformly random buffer slot, which
 * is then refilled with the next row from the source (or, once a stream ends, with the last
 * slot, so the buffer drains). Rows therefore leave in a random order, each exactly once per
 * pass.
 */
export class ShuffleBuffer {
  private readonly buf: Float32Array;
  private count = 0;
  private readonly rng: Rng;
  readonly capacity: number;

  constructor(
    private readonly source: RowSource,
    capacity: number,
    rng: Rng,
    restore?: BufferState,
  ) {
    this.capacity = Math.max(1, capacity);
    this.buf = new Float32Array(this.capacity * source.dIn);
    this.rng = rng;
    if (restore) {
      if (restore.count > this.capacity) throw new Error(`checkpoint buffer holds ${restore.count} rows but the buffer takes ${this.capacity}`);
      this.buf.set(restore.rows.subarray(0, restore.count * source.dIn));
      this.count = restore.count;
      this.rng.setState(restore.rng);
    }
  }

  get size(): number {
    return this.count;
  }

  /** Fills the buffer up to capacity (first use, or after a restore from a partial buffer). */
  async prime(): Promise<void> {
    const d = this.source.dIn;
    while (this.count < this.capacity && !this.source.exhausted) {
      await this.source.fill(Math.min(this.capacity - this.count, 65_536));
      while (this.count < this.capacity && this.source.take(this.buf, this.count * d)) this.count++;
    }
  }

  /** The rows held now (a view), e.g. to estimate the activation norm. */
  contents(): Float32Array {
    return this.buf.subarray(0, this.count * this.source.dIn);
  }

  /**
   * Draws `n` rows into out (row-major [n, d_in]). Returns the rows drawn: n, or fewer when a
   * stream has run out and the buffer holds fewer than n rows (then nothing is drawn: 0).
   */
  async draw(out: Float32Array, n: number): Promise<number> {
    const d = this.source.dIn;
    if (this.count < this.capacity) await this.prime();
    await this.source.fill(n);
    if (this.count < n && this.source.exhausted) return 0;
    for (let i = 0; i < n; i++) {
      const j = this.rng.int(this.count);
      out.set(this.buf.subarray(j * d, (j + 1) * d), i * d);
      let refilled = this.source.take(this.buf, j * d);
      while (!refilled && !this.source.exhausted) {
        // Read-ahead used up (skipped rows): read more.
        await this.source.fill(n - i);
        refilled = this.source.take(this.buf, j * d);
      }
      if (!refilled) {
        // Source ended: move the last row into the hole and shrink.
        this.count--;
        if (j !== this.count) this.buf.copyWithin(j * d, this.count * d, (this.count + 1) * d);
      }
    }
    return n;
  }

  state(): BufferState {
    return { rows: this.buf.slice(0, this.count * this.source.dIn), count: this.count, rng: this.rng.getState(), source: { ...this.source.pos } };
  }
}
