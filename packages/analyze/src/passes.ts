/**
 * The two passes over the analysed rows. Pass 1 encodes every row once: per-latent counts,
 * sums, maxima, top-k and reservoir samples, reconstruction per row, mean σ², a reservoir of
 * rows' μ. Pass 2 (only when needed) encodes them again, now that each latent's maximum and
 * frequency are known: histograms over (0, max], co-activation of the most active latents, and
 * each example's token context (rows around it, and this latent's activation on each).
 * Only one batch of rows is held at a time.
 */
import { tf, type Rng } from '@vsae/compute';
import { InputError, type ActivationDataset, type Progress } from '@vsae/data';
import { ACTIVE_THRESHOLD, type LoadedSae } from '@vsae/sae';
import { histBin, LatentStats } from './accumulators.js';
import { taker, windowTaker, type RowSelection } from './rows.js';
import { ReconStats } from './reconstruction.js';

export interface Chunk {
  rows: number;
  /** The dataset row of each row. */
  index: Float64Array;
  /** Row-major [rows, d_in]. */
  x: Float32Array;
  seq?: BigInt64Array | undefined;
  pos?: Int32Array | undefined;
  token?: Int32Array | undefined;
  /** Per row: 1 when it belongs to the analysed sample, 0 when it is read only as context. */
  inSample: Uint8Array;
}

/** What to do with a dataset row: skip it, read it as context only, or analyse it. */
export const Take = { Skip: 0, Context: 1, Sample: 2 } as const;
export type Take = (typeof Take)[keyof typeof Take];

/**
 * Walks rows [0, end) of the dataset forward and yields the rows `take` keeps, packed into
 * chunks of up to `batchRows` rows. A chunk's arrays are reused: valid until the next one.
 * `take` sees each row's activations (row-major, `at` its first value) in ascending row order.
 */
export async function* gather(ds: ActivationDataset, end: number, batchRows: number, withTokens: boolean, take: (row: number, x: Float32Array, at: number) => Take, signal?: AbortSignal): AsyncGenerator<Chunk> {
  if (end <= 0) return;
  const columns: Array<'act' | 'seq' | 'pos' | 'token'> = ['act', ...(withTokens ? (['seq', 'pos', 'token'] as const).filter((c) => ds.has[c]) : [])];
  const d = ds.dIn;
  const cap = Math.max(1, Math.min(batchRows, end));
  const buf = {
    index: new Float64Array(cap),
    x: new Float32Array(cap * d),
    seq: columns.includes('seq') ? new BigInt64Array(cap) : undefined,
    pos: columns.includes('pos') ? new Int32Array(cap) : undefined,
    token: columns.includes('token') ? new Int32Array(cap) : undefined,
    inSample: new Uint8Array(cap),
  };
  let n = 0;
  const chunk = (): Chunk => ({
    rows: n,
    index: buf.index.subarray(0, n),
    x: buf.x.subarray(0, n * d),
    seq: buf.seq?.subarray(0, n),
    pos: buf.pos?.subarray(0, n),
    token: buf.token?.subarray(0, n),
    inSample: buf.inSample.subarray(0, n),
  });
  for await (const b of ds.batches({ columns })) {
    if (signal?.aborted) throw new Interrupted();
    for (let i = 0; i < b.numRows; i++) {
      const row = b.offset + i;
      if (row >= end) break;
      const t = take(row, b.act, i * d);
      if (t === Take.Skip) continue;
      buf.index[n] = row;
      buf.x.set(b.act.subarray(i * d, (i + 1) * d), n * d);
      if (buf.seq) buf.seq[n] = b.seq![i]!;
      if (buf.pos) buf.pos[n] = b.pos![i]!;
      if (buf.token) buf.token[n] = b.token![i]!;
      buf.inSample[n] = t === Take.Sample ? 1 : 0;
      if (++n === cap) {
        yield chunk();
        n = 0;
        if (signal?.aborted) throw new Interrupted();
      }
    }
    if (b.offset + b.numRows >= end) break;
  }
  if (n > 0) yield chunk();
}

/** Thrown when the analysis is stopped (its signal aborted, e.g. Ctrl-C): nothing was written. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

/** Whether the row of `d` values at `at` holds only finite numbers. */
export function finiteRow(x: Float32Array, at: number, d: number): boolean {
  for (let k = at; k < at + d; k++) if (!Number.isFinite(x[k]!)) return false;
  return true;
}

/** The one-line error for a row holding NaN or ±Inf, with the ways out that apply. */
export function badRowError(path: string, row: number, x: Float32Array, at: number, d: number, firstRows: boolean): InputError {
  let bad = 0;
  for (let k = at; k < at + d; k++) if (!Number.isFinite(x[k]!)) bad = x[k]!;
  const fewer = firstRows && row > 0 ? `, or analyse only the rows before it with --n-samples ${row}` : '';
  return new InputError(path, `row ${row} holds ${String(bad)} in "act"; pass --skip-bad-rows to leave such rows out (vsae inspect counts them)${fewer}`);
}

export interface Pass1Result {
  latents: LatentStats;
  recon: ReconStats | undefined;
  /** Σ over rows of σ² per latent (VSAEs). */
  varSum: Float64Array | undefined;
  /** μ rows kept for the embedding (reservoir over rows), row-major, and their dataset rows. */
  mu: { rows: Float64Array; values: Float32Array; n: number } | undefined;
  /** Rows analysed (the selection less the rows left out). */
  rows: number;
  /** Rows of the selection left out for holding NaN/Inf (--skip-bad-rows), and the first of them. */
  skipped: number;
  firstSkipped: number | undefined;
}

export interface Pass1Options {
  ds: ActivationDataset;
  sae: LoadedSae;
  /** The rows to analyse. */
  selection: RowSelection;
  /** Leave rows holding NaN/Inf out (counted) instead of stopping at the first. */
  skipBadRows: boolean;
  batchRows: number;
  topK: number;
  reservoir: number;
  rowCap: number;
  recon: boolean;
  variance: boolean;
  muRows: number;
  rng: Rng;
  progress: Progress;
  signal?: AbortSignal | undefined;
}

export async function pass1(o: Pass1Options): Promise<Pass1Result> {
  const { sae, ds } = o;
  const { dIn, dSae } = sae;
  const latents = new LatentStats(dSae, o.topK, o.reservoir, o.rng);
  const recon = o.recon ? new ReconStats(dIn, o.rowCap) : undefined;
  const varSum = o.variance ? new Float64Array(dSae) : undefined;
  const mu = o.muRows > 0 ? { rows: new Float64Array(o.muRows), values: new Float32Array(o.muRows * dSae), n: 0 } : undefined;
  let seen = 0;
  let processed = 0;
  let skipped = 0;
  let firstSkipped: number | undefined;
  const chosen = taker(o.selection);
  const take = (row: number, x: Float32Array, at: number): Take => {
    if (!chosen(row)) return Take.Skip;
    if (finiteRow(x, at, dIn)) return Take.Sample;
    if (!o.skipBadRows) throw badRowError(ds.path, row, x, at, dIn, o.selection.indices === undefined);
    skipped++;
    firstSkipped ??= row;
    return Take.Skip;
  };
  try {
    for await (const c of gather(ds, o.selection.end, o.batchRows, false, take, o.signal)) {
      const x = tf.tensor2d(c.x, [c.rows, dIn]);
      const out = sae.forward(x);
      const act = (await out.act.data()) as Float32Array;
      const xHat = recon ? ((await out.recon.data()) as Float32Array) : undefined;
      let v: Float32Array | undefined;
      if (varSum) {
        const s = out.logVar ? tf.tidy(() => tf.sum(tf.exp(out.logVar!), 0)) : undefined;
        v = s ? ((await s.data()) as Float32Array) : undefined;
        s?.dispose();
      }
      tf.dispose([x, out.act, out.recon, ...(out.logVar ? [out.logVar] : [])]);
      latents.add(act, c.rows, c.index, ACTIVE_THRESHOLD);
      if (recon && xHat) recon.add(c.x, xHat, c.rows, c.index);
      if (varSum) for (let j = 0; j < dSae; j++) varSum[j]! += v ? v[j]! : c.rows; // no variance head: σ² = 1
      if (mu) {
        // Reservoir over rows: each row ends up kept with the same probability.
        for (let i = 0; i < c.rows; i++, seen++) {
          const slot = seen < o.muRows ? seen : Math.floor(o.rng.uniform() * (seen + 1));
          if (slot >= o.muRows) continue;
          mu.rows[slot] = c.index[i]!;
          mu.values.set(act.subarray(i * dSae, (i + 1) * dSae), slot * dSae);
          mu.n = Math.max(mu.n, slot + 1);
        }
      }
      processed += c.rows;
      o.progress.update(processed + skipped);
    }
  } finally {
    o.progress.finish();
  }
  return { latents, recon, varSum, mu, rows: processed, skipped, firstSkipped };
}

/** An example whose token context is collected in pass 2. */
export interface ContextRequest {
  latent: number;
  row: number;
}

export interface ContextResult {
  /** Per request: the window's rows [start, end] (clamped to the dataset), tokens, seq, this latent's activations. */
  start: Int32Array;
  width: number;
  tokens: Int32Array;
  seq: Float64Array;
  pos: Int32Array;
  acts: Float32Array;
}

export interface Pass2Options {
  ds: ActivationDataset;
  sae: LoadedSae;
  /** The rows analysed in pass 1 (rows holding NaN/Inf were left out there, and are here). */
  selection: RowSelection;
  batchRows: number;
  /** Histograms: each latent's maximum from pass 1 (0 = never fired), and the bin count. */
  hist?: { max: Float32Array; bins: number } | undefined;
  /** Latents whose pairwise co-activation is counted. */
  coLatents?: Int32Array | undefined;
  /** Examples whose context (±window rows) to collect; needs the dataset's token column. */
  context?: { requests: ContextRequest[]; window: number } | undefined;
  progress: Progress;
  signal?: AbortSignal | undefined;
}

export interface Pass2Result {
  hist: Int32Array | undefined;
  /** [n, n] counts of rows where both latents fired (symmetric; the diagonal: each latent's own count). */
  co: Float64Array | undefined;
  context: ContextResult | undefined;
}

export async function pass2(o: Pass2Options): Promise<Pass2Result> {
  const { sae, ds } = o;
  const { dIn, dSae } = sae;
  const bins = o.hist?.bins ?? 0;
  const hist = o.hist ? new Int32Array(dSae * bins) : undefined;
  const nCo = o.coLatents?.length ?? 0;
  const co = o.coLatents ? new Float64Array(nCo * nCo) : undefined;
  const activeCo = new Int32Array(nCo);

  // Context windows: requests sorted by their first row; `open` holds those covering the current row.
  const ctxReq = o.context?.requests ?? [];
  const W = o.context?.window ?? 0;
  const width = 2 * W + 1;
  const context: ContextResult | undefined = o.context
    ? {
        start: Int32Array.from(ctxReq, (r) => Math.max(0, r.row - W)),
        width,
        tokens: new Int32Array(ctxReq.length * width).fill(-1),
        seq: new Float64Array(ctxReq.length * width).fill(NaN),
        pos: new Int32Array(ctxReq.length * width).fill(-1),
        acts: new Float32Array(ctxReq.length * width).fill(NaN),
      }
    : undefined;
  const order = Int32Array.from(ctxReq.keys()).sort((a, b) => ctxReq[a]!.row - ctxReq[b]!.row);
  let next = 0;
  const open: number[] = [];
  // Rows read: the sample, and the rows around each example (which may lie outside it).
  const chosen = taker(o.selection);
  const around = windowTaker(context ? ctxReq.map((r) => r.row) : [], W);
  const end = Math.min(ds.numRows ?? Infinity, Math.max(o.selection.end, around.end));
  const take = (row: number, x: Float32Array, at: number): Take => {
    const near = around.has(row);
    if (chosen(row) && finiteRow(x, at, dIn)) return Take.Sample;
    return near ? Take.Context : Take.Skip;
  };

  try {
    for await (const c of gather(ds, end, o.batchRows, context !== undefined, take, o.signal)) {
      const x = tf.tensor2d(c.x, [c.rows, dIn]);
      // The architecture's own code (f, μ, or the top-k code), what every analysis measures.
      const enc = tf.tidy(() => sae.forward(x).act);
      const act = (await enc.data()) as Float32Array;
      tf.dispose([x, enc]);
      if (hist && o.hist) {
        const max = o.hist.max;
        for (let i = 0; i < c.rows; i++) {
          if (!c.inSample[i]) continue;
          const base = i * dSae;
          for (let j = 0; j < dSae; j++) {
            const a = act[base + j]!;
            if (a > ACTIVE_THRESHOLD) hist[j * bins + histBin(a, max[j]!, bins)]!++;
          }
        }
      }
      if (co && o.coLatents) {
        const L = o.coLatents;
        for (let i = 0; i < c.rows; i++) {
          if (!c.inSample[i]) continue;
          const base = i * dSae;
          let k = 0;
          for (let p = 0; p < nCo; p++) if (act[base + L[p]!]! > ACTIVE_THRESHOLD) activeCo[k++] = p;
          for (let u = 0; u < k; u++) for (let v = u; v < k; v++) co[activeCo[u]! * nCo + activeCo[v]!]!++;
        }
      }
      if (context) {
        for (let i = 0; i < c.rows; i++) {
          const row = c.index[i]!;
          while (next < order.length && context.start[order[next]!]! <= row) open.push(order[next++]!);
          for (let q = open.length - 1; q >= 0; q--) {
            const e = open[q]!;
            const slot = row - context.start[e]!;
            if (slot >= width || row > ctxReq[e]!.row + W) {
              open[q] = open[open.length - 1]!;
              open.pop();
              continue;
            }
            const at = e * width + slot;
            context.tokens[at] = c.token ? c.token[i]! : -1;
            context.seq[at] = c.seq ? Number(c.seq[i]!) : 0;
            context.pos[at] = c.pos ? c.pos[i]! : -1;
            context.acts[at] = act[i * dSae + ctxReq[e]!.latent]!;
          }
        }
      }
      o.progress.update(c.index[c.rows - 1]! + 1);
    }
  } finally {
    o.progress.finish();
  }
  if (co) {
    // Mirror the upper triangle.
    for (let a = 0; a < nCo; a++) for (let b = a + 1; b < nCo; b++) co[b * nCo + a] = co[a * nCo + b]!;
  }
  return { hist, co, context };
}
