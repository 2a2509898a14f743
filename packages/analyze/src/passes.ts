/**
 * The two passes over the analysed rows. Pass 1 encodes every row once: per-latent counts,
 * sums, maxima, top-k and reservoir samples, reconstruction per row, mean σ², a reservoir of
 * rows' μ. Pass 2 (only when needed) encodes them again, now that each latent's maximum and
 * frequency are known: histograms over (0, max], co-activation of the most active latents, and
 * each example's token context (rows around it, and this latent's activation on each).
 * Only one batch of rows is held at a time.
 */
import { tf, type Rng } from '@vsae/compute';
import { InputError, Progress, type ActivationDataset } from '@vsae/data';
import { ACTIVE_THRESHOLD, type LoadedSae } from '@vsae/sae';
import { histBin, LatentStats } from './accumulators.js';
import { ReconStats } from './reconstruction.js';

export interface Chunk {
  offset: number;
  rows: number;
  /** Row-major [rows, d_in] (a view). */
  x: Float32Array;
  seq?: BigInt64Array | undefined;
  pos?: Int32Array | undefined;
  token?: Int32Array | undefined;
}

/** The dataset's rows [0, end) in chunks of at most `batchRows` rows (views, no copies). */
export async function* chunks(ds: ActivationDataset, end: number, batchRows: number, withTokens: boolean): AsyncGenerator<Chunk> {
  if (end <= 0) return;
  const columns: Array<'act' | 'seq' | 'pos' | 'token'> = ['act', ...(withTokens ? (['seq', 'pos', 'token'] as const).filter((c) => ds.has[c]) : [])];
  const d = ds.dIn;
  for await (const b of ds.batches({ columns })) {
    for (let start = 0; start < b.numRows; ) {
      const offset = b.offset + start;
      if (offset >= end) return;
      const m = Math.min(b.numRows - start, batchRows, end - offset);
      yield {
        offset,
        rows: m,
        x: b.act.subarray(start * d, (start + m) * d),
        seq: b.seq?.subarray(start, start + m),
        pos: b.pos?.subarray(start, start + m),
        token: b.token?.subarray(start, start + m),
      };
      start += m;
    }
  }
}

/** Stops at the first row holding NaN or ±Inf, naming it. */
export function checkFinite(path: string, c: Chunk, dIn: number): void {
  for (let i = 0; i < c.x.length; i++) {
    if (!Number.isFinite(c.x[i]!)) {
      const row = c.offset + Math.floor(i / dIn);
      throw new InputError(path, `row ${row} holds ${String(c.x[i])} in "act"; drop bad rows first (vsae inspect shows how many there are), or analyse fewer rows with --n-samples ${row}`);
    }
  }
}

export interface Pass1Result {
  latents: LatentStats;
  recon: ReconStats | undefined;
  /** Σ over rows of σ² per latent (VSAEs). */
  varSum: Float64Array | undefined;
  /** μ rows kept for the embedding (reservoir over rows), row-major, and their dataset rows. */
  mu: { rows: Float64Array; values: Float32Array; n: number } | undefined;
  rows: number;
}

export interface Pass1Options {
  ds: ActivationDataset;
  sae: LoadedSae;
  rows: number;
  batchRows: number;
  topK: number;
  reservoir: number;
  rowCap: number;
  recon: boolean;
  variance: boolean;
  muRows: number;
  rng: Rng;
  progress: Progress;
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
  for await (const c of chunks(ds, o.rows, o.batchRows, false)) {
    checkFinite(ds.path, c, dIn);
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
    latents.add(act, c.rows, c.offset, ACTIVE_THRESHOLD);
    if (recon && xHat) recon.add(c.x, xHat, c.rows, c.offset);
    if (varSum) for (let j = 0; j < dSae; j++) varSum[j]! += v ? v[j]! : c.rows; // no variance head: σ² = 1
    if (mu) {
      // Reservoir over rows: each row ends up kept with the same probability.
      for (let i = 0; i < c.rows; i++, seen++) {
        const slot = seen < o.muRows ? seen : Math.floor(o.rng.uniform() * (seen + 1));
        if (slot >= o.muRows) continue;
        mu.rows[slot] = c.offset + i;
        mu.values.set(act.subarray(i * dSae, (i + 1) * dSae), slot * dSae);
        mu.n = Math.max(mu.n, slot + 1);
      }
    }
    processed += c.rows;
    o.progress.update(c.offset + c.rows);
  }
  return { latents, recon, varSum, mu, rows: processed };
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
  rows: number;
  batchRows: number;
  /** Histograms: each latent's maximum from pass 1 (0 = never fired), and the bin count. */
  hist?: { max: Float32Array; bins: number } | undefined;
  /** Latents whose pairwise co-activation is counted. */
  coLatents?: Int32Array | undefined;
  /** Examples whose context (±window rows) to collect; needs the dataset's token column. */
  context?: { requests: ContextRequest[]; window: number } | undefined;
  progress: Progress;
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
  const total = ds.numRows ?? o.rows;
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
  const end = context && ctxReq.length > 0 ? Math.min(total, Math.max(o.rows, ctxReq[order[order.length - 1]!]!.row + W + 1)) : o.rows;
  let next = 0;
  const open: number[] = [];

  for await (const c of chunks(ds, end, o.batchRows, context !== undefined)) {
    const x = tf.tensor2d(c.x, [c.rows, dIn]);
    const enc = tf.tidy(() => {
      const f = sae.forward(x);
      return f.act;
    });
    const act = (await enc.data()) as Float32Array;
    tf.dispose([x, enc]);
    const inRange = Math.max(0, Math.min(c.rows, o.rows - c.offset));
    if (hist && o.hist) {
      const max = o.hist.max;
      for (let i = 0; i < inRange; i++) {
        const base = i * dSae;
        for (let j = 0; j < dSae; j++) {
          const a = act[base + j]!;
          if (a > ACTIVE_THRESHOLD) hist[j * bins + histBin(a, max[j]!, bins)]!++;
        }
      }
    }
    if (co && o.coLatents) {
      const L = o.coLatents;
      for (let i = 0; i < inRange; i++) {
        const base = i * dSae;
        let k = 0;
        for (let p = 0; p < nCo; p++) if (act[base + L[p]!]! > ACTIVE_THRESHOLD) activeCo[k++] = p;
        for (let u = 0; u < k; u++) for (let v = u; v < k; v++) co[activeCo[u]! * nCo + activeCo[v]!]!++;
      }
    }
    if (context) {
      for (let i = 0; i < c.rows; i++) {
        const row = c.offset + i;
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
    o.progress.update(c.offset + c.rows);
  }
  if (co) {
    // Mirror the upper triangle.
    for (let a = 0; a < nCo; a++) for (let b = a + 1; b < nCo; b++) co[b * nCo + a] = co[a * nCo + b]!;
  }
  return { hist, co, context };
}
