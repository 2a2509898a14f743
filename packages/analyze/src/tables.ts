/**
 * Builds the analysis tables of CONTRACTS.md §3 from the accumulated results and writes them
 * (atomically, through @vsae/data's writeTable).
 */
import * as path from 'node:path';
import { writeTable, type TableColumnInput } from '@vsae/data';
import { quantileExamples, type LatentStats } from './accumulators.js';
import type { ContextResult } from './passes.js';
import type { ReconStats } from './reconstruction.js';

export type Columns = Record<string, TableColumnInput>;

export class TableWriter {
  readonly files: string[] = [];
  constructor(
    readonly dir: string,
    readonly metadata: Record<string, string>,
  ) {}

  async write(name: string, columns: Columns): Promise<void> {
    const file = path.join(this.dir, name);
    await writeTable(file, columns, this.metadata);
    this.files.push(file);
  }
}

/** features.arrow: one row per latent (of `only`, ascending, when given). */
export function featureColumns(s: LatentStats, rows: number, hist: Int32Array, bins: number, encDec: Float32Array, meanVar: Float32Array | undefined, only?: Int32Array): Columns {
  const ids = only ?? Int32Array.from({ length: s.dSae }, (_, j) => j);
  const frequency = Float64Array.from(ids, (j) => s.count[j]! / rows);
  return {
    latent: Int32Array.from(ids),
    frequency,
    log10_density: Float64Array.from(frequency, (f) => Math.log10(f + 1e-10)),
    mean_act: Float32Array.from(ids, (j) => (s.count[j]! > 0 ? s.sum[j]! / s.count[j]! : NaN)),
    max_act: Float32Array.from(ids, (j) => s.max[j]!),
    dead: { type: 'bool', values: Array.from(ids, (j) => s.count[j] === 0) },
    enc_dec_cos: Float32Array.from(ids, (j) => encDec[j]!),
    hist_counts: { type: 'list<int32>', values: Array.from(ids, (j) => hist.subarray(j * bins, (j + 1) * bins)) },
    ...(meanVar ? { mean_var: Float32Array.from(ids, (j) => meanVar[j]!) } : {}),
  };
}

export function reconstructionColumns(r: ReconStats): { rows: Columns; dims: Columns } {
  const k = r.kept;
  return {
    rows: {
      row: BigInt64Array.from(r.rowIndex.subarray(0, k), (v) => BigInt(v)),
      mse: r.rowMse.slice(0, k),
      cosine: r.rowCos.slice(0, k),
    },
    dims: {
      dim: Int32Array.from({ length: r.dIn }, (_, i) => i),
      mse: Float64Array.from(r.dimSqErr, (v) => v / r.n),
    },
  };
}

/** One example of a latent: a top activation or a sample from one of its quantiles. */
export interface Example {
  latent: number;
  kind: 'top' | 'quantile';
  rank: number;
  quantile: number | null;
  row: number;
  activation: number;
}

/** Every live latent's (of `only`, when given) top-k examples and its quantile samples. */
export function collectExamples(s: LatentStats, quantiles: readonly number[], perQuantile: number, only?: Int32Array): Example[] {
  const out: Example[] = [];
  for (const j of only ?? Int32Array.from({ length: s.dSae }, (_, i) => i)) {
    if (s.count[j] === 0) continue;
    s.top(j).forEach((t, rank) => out.push({ latent: j, kind: 'top', rank, quantile: null, row: t.row, activation: t.value }));
    for (const q of quantileExamples(s.sample(j), quantiles, perQuantile)) {
      out.push({ latent: j, kind: 'quantile', rank: q.rank, quantile: q.q, row: q.item.row, activation: q.item.value });
    }
  }
  return out;
}

/** Token context of each example: the window rows of the example's own sequence. */
export interface ExampleContext {
  seq: Array<number | null>;
  pos: Array<number | null>;
  token: Array<number | null>;
  tokens: Array<string[] | null>;
  acts: Array<number[] | null>;
  index: Array<number | null>;
}

export function exampleContext(ex: readonly Example[], ctx: ContextResult, window: number, decode: (id: number) => string): ExampleContext {
  const out: ExampleContext = { seq: [], pos: [], token: [], tokens: [], acts: [], index: [] };
  const w = ctx.width;
  ex.forEach((e, i) => {
    const centre = e.row - ctx.start[i]!;
    const at = i * w + centre;
    const seq = ctx.seq[at]!;
    if (!Number.isFinite(seq)) {
      for (const k of ['seq', 'pos', 'token', 'tokens', 'acts', 'index'] as const) (out[k] as unknown[]).push(null);
      return;
    }
    let lo = centre;
    while (lo > 0 && centre - lo < window && ctx.seq[i * w + lo - 1] === seq) lo--;
    let hi = centre;
    while (hi + 1 < w && hi - centre < window && ctx.seq[i * w + hi + 1] === seq) hi++;
    const toks: string[] = [];
    const acts: number[] = [];
    for (let s = lo; s <= hi; s++) {
      toks.push(decode(ctx.tokens[i * w + s]!));
      acts.push(ctx.acts[i * w + s]!);
    }
    out.seq.push(seq);
    out.pos.push(ctx.pos[at]! >= 0 ? ctx.pos[at]! : null);
    out.token.push(ctx.tokens[at]!);
    out.tokens.push(toks);
    out.acts.push(acts);
    out.index.push(centre - lo);
  });
  return out;
}

export function exampleColumns(ex: readonly Example[], context: ExampleContext | undefined): Columns {
  return {
    latent: Int32Array.from(ex, (e) => e.latent),
    kind: { type: 'utf8', values: ex.map((e) => e.kind) },
    rank: Int32Array.from(ex, (e) => e.rank),
    quantile: { type: 'float32', values: ex.map((e) => e.quantile) },
    row: BigInt64Array.from(ex, (e) => BigInt(e.row)),
    activation: Float32Array.from(ex, (e) => e.activation),
    ...(context
      ? {
          seq: { type: 'int64', values: context.seq },
          pos: { type: 'int32', values: context.pos },
          token: { type: 'int32', values: context.token },
          context_tokens: { type: 'list<utf8>', values: context.tokens },
          context_acts: { type: 'list<float32>', values: context.acts },
          context_index: { type: 'int32', values: context.index },
        }
      : {}),
  };
}

/** coactivation.arrow: pairs a ≤ b of the chosen latents (ascending ids), with Jaccard index. */
export function coactivationColumns(latents: Int32Array, co: Float64Array): { columns: Columns; meanJaccard: number } {
  const n = latents.length;
  const a: number[] = [];
  const b: number[] = [];
  const count: bigint[] = [];
  const jac: number[] = [];
  let s = 0;
  let m = 0;
  for (let p = 0; p < n; p++) {
    for (let q = p; q < n; q++) {
      const c = co[p * n + q]!;
      const union = co[p * n + p]! + co[q * n + q]! - c;
      const j = p === q ? (c > 0 ? 1 : 0) : union > 0 ? c / union : 0;
      a.push(latents[p]!);
      b.push(latents[q]!);
      count.push(BigInt(c));
      jac.push(j);
      if (p !== q) {
        s += j;
        m++;
      }
    }
  }
  return {
    columns: { latent_a: Int32Array.from(a), latent_b: Int32Array.from(b), count: BigInt64Array.from(count), jaccard: Float32Array.from(jac) },
    meanJaccard: m > 0 ? s / m : NaN,
  };
}
