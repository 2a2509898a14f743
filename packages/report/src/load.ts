/**
 * Reads one run directory (CONTRACTS.md §2–3) into the JSON a report embeds. Every file is
 * optional: a missing one becomes a note saying which command makes it, an unreadable one a
 * note with the reader's message; nothing here throws for a damaged file. Only a path that is
 * not a run directory at all is an error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analysisFile, ANALYSIS_TABLES, InputError, isVsaeError, readJson, readMetrics, readRunConfig, readTable, REPRESENTED_NORM, runStatus, RUN_FILES } from '@vsae/data';
import type { AnalysisTable, RunConfig, TableData } from '@vsae/data';
import { contextWindow, evenIndices, histogram, round, roundAll, roundStats, stats, StringTable } from './_shape.js';
import type {
  CoactivationData,
  EmbeddingKind,
  Example,
  ExamplesData,
  FeaturesData,
  FileNote,
  GroundTruthData,
  LogitsData,
  MetricsData,
  ReconstructionData,
  ReportLimits,
  RunReport,
  SimilarityData,
} from './types.js';

export const DEFAULT_LIMITS: ReportLimits = {
  curvePoints: 1000,
  densityBins: 50,
  reconBins: 60,
  topPairs: 50,
  scatterPoints: 4000,
  densityScatterPoints: 3000,
  exampleLatents: 256,
  examplesPerKind: 10,
  contextRadius: 16,
  groundTruthRows: 4096,
  digits: 4,
};

/** A latent is counted as dense when it fires on at least this share of rows. */
export const DENSE_THRESHOLD = 0.1;

/** The analysis tables, as paths inside a run directory (names from @vsae/data's ANALYSIS_TABLES). */
const ANALYSIS = Object.fromEntries(Object.keys(ANALYSIS_TABLES).map((k) => [k, analysisFile(k as AnalysisTable)])) as Record<AnalysisTable, string>;

/** Throws an InputError unless `dir` is a directory holding at least one run file. */
export function checkRunDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new InputError(dir, 'no such run directory; check the path');
  }
  if (!st.isDirectory()) throw new InputError(dir, 'is a file, not a run directory; give the folder that "vsae train -o DIR" wrote');
  const known = [RUN_FILES.config, RUN_FILES.metrics, RUN_FILES.status, RUN_FILES.analysis];
  if (!known.some((f) => fs.existsSync(path.join(dir, f)))) {
    throw new InputError(dir, `is not a run directory: it has none of ${known.join(', ')}; give the folder that "vsae train -o DIR" wrote`);
  }
}

/** A path as a POSIX shell word (quoted only when it needs to be). */
export function shellQuote(p: string): string {
  return /^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

/** Context of one run's loading: the notes gathered and the commands to suggest. */
class Loader {
  readonly notes: FileNote[] = [];
  /** The run's dataset as commands should name it. */
  dataset = 'DATA';
  constructor(
    readonly dir: string,
    readonly limits: ReportLimits,
  ) {}

  get trainCmd(): string {
    return `vsae train --arch ARCH --input ${shellQuote(this.dataset)} -o ${shellQuote(this.dir)}`;
  }

  get analyzeCmd(): string {
    return `vsae analyze ${shellQuote(this.dir)} --input ${shellQuote(this.dataset)}`;
  }

  exists(file: string): boolean {
    return fs.existsSync(path.join(this.dir, file));
  }

  missing(file: string, message: string, command?: string): null {
    this.notes.push({ file, state: 'missing', message, ...(command ? { command } : {}) });
    return null;
  }

  /** Runs a reader; any failure becomes an 'unreadable' note (the report goes on). */
  attempt<T>(file: string, read: () => T): T | null {
    try {
      return read();
    } catch (e) {
      const msg = isVsaeError(e) ? e.message : `${path.join(this.dir, file)}: could not be read (${e instanceof Error ? e.message : String(e)})`;
      this.notes.push({ file, state: 'unreadable', message: msg });
      return null;
    }
  }

  table<T>(file: string, shape: (t: TableData) => T, ifMissing: () => null): T | null {
    if (!this.exists(file)) return ifMissing();
    return this.attempt(file, () => shape(readTable(path.join(this.dir, file))));
  }
}

/** Reads a run directory into a RunReport. Throws only when `dir` is not a run directory. */
export function loadRun(dir: string, limits: ReportLimits = DEFAULT_LIMITS): RunReport {
  checkRunDir(dir);
  const L = new Loader(dir, limits);
  const cfg = L.exists(RUN_FILES.config) ? L.attempt(RUN_FILES.config, () => readRunConfig(dir)) : L.missing(RUN_FILES.config, 'The run has no cfg.json: its options are unknown.', L.trainCmd);
  // The dataset named in cfg.json, so that the suggested commands can be pasted as they are.
  if (cfg && typeof cfg.vsae.dataset === 'string' && cfg.vsae.dataset !== '-') L.dataset = cfg.vsae.dataset;
  const d = limits.digits;

  const status = L.exists(RUN_FILES.status) ? L.attempt(RUN_FILES.status, () => runStatus(dir) ?? null) : L.missing(RUN_FILES.status, 'No _run.json: training status unknown.', L.trainCmd);

  let metricsMeta: Record<string, string> = {};
  const metrics: MetricsData | null = L.exists(RUN_FILES.metrics)
    ? L.attempt(RUN_FILES.metrics, () => {
        const m = readMetrics(path.join(dir, RUN_FILES.metrics));
        metricsMeta = m.metadata;
        if (m.rows.length === 0) {
          L.notes.push({ file: RUN_FILES.metrics, state: 'partial', message: 'metrics.arrows holds no complete logged step yet.' });
          return null;
        }
        const at = evenIndices(m.rows.length, limits.curvePoints);
        const series: Record<string, Array<number | null>> = {};
        for (const c of m.columns) {
          if (c.name === 'step' || c.name === 'elapsed_s' || c.name === 'skipped_rows') continue;
          series[c.name] = at.map((i) => round(m.rows[i]![c.name], d));
        }
        return { rows: m.rows.length, step: at.map((i) => m.rows[i]!.step ?? i), series };
      })
    : L.missing(RUN_FILES.metrics, 'No training metrics (metrics.arrows).', L.trainCmd);

  const summaryPath = path.join(dir, RUN_FILES.summary);
  const summary = fs.existsSync(summaryPath) ? L.attempt(RUN_FILES.summary, () => flatSummary(readJson(summaryPath), summaryPath)) : L.missing(RUN_FILES.summary, 'No analysis summary.', L.analyzeCmd);

  const features = L.table(ANALYSIS.features, (t) => shapeFeatures(t, limits), () => L.missing(ANALYSIS.features, 'No feature-sparsity table.', L.analyzeCmd));
  const reconstruction = L.table(ANALYSIS.reconstruction, (t) => shapeReconstruction(t, limits), () => L.missing(ANALYSIS.reconstruction, 'No reconstruction table.', L.analyzeCmd));
  if (reconstruction) reconstruction.dims = L.table(ANALYSIS.reconstructionDims, (t) => ({ dim: ints(t, 'dim'), mse: roundAll(t.numbers('mse'), d) }), () => null);
  const pairs = L.table(ANALYSIS.similarity, (t) => shapePairs(t, limits), () => L.missing(ANALYSIS.similarity, 'No dictionary-similarity table.', L.analyzeCmd));
  const sample = L.table(ANALYSIS.similaritySample, (t) => squareMatrix(t, 'cosine', d), () => L.missing(ANALYSIS.similaritySample, 'No 64-latent similarity sample.', L.analyzeCmd));
  const similarity: SimilarityData | null =
    pairs || sample ? { pairs: pairs?.pairs ?? null, pairCount: pairs?.count ?? 0, pairHist: pairs?.hist ?? null, sample: sample ? { latents: sample.latents, cos: sample.values } : null } : null;
  // Only toy runs have true features, so its absence is not worth a note.
  const groundTruth = L.table(ANALYSIS.groundTruth, (t) => shapeGroundTruth(t, limits), () => null);
  const co = L.table(ANALYSIS.coactivation, (t) => ({ jac: squareMatrix(t, 'jaccard', d), count: squareMatrix(t, 'count', d) }), () => null);
  const coactivation: CoactivationData | null = co ? { latents: co.jac.latents, jaccard: co.jac.values, count: co.count.values.map((v) => v ?? 0) } : null;
  const embedding = L.table(ANALYSIS.embedding, (t) => shapeEmbedding(t, limits), () => L.missing(ANALYSIS.embedding, 'No latent-space embedding.', L.analyzeCmd));

  // Examples and logit effects are embedded for a selection of latents: those the other
  // views show first, then an even spread over the rest.
  const strings = new StringTable();
  const exTable = L.exists(ANALYSIS.topExamples) ? L.attempt(ANALYSIS.topExamples, () => readTable(path.join(dir, ANALYSIS.topExamples))) : L.missing(ANALYSIS.topExamples, 'No top-activating examples.', L.analyzeCmd);
  const lgTable = L.exists(ANALYSIS.logits) ? L.attempt(ANALYSIS.logits, () => readTable(path.join(dir, ANALYSIS.logits))) : null;
  const preferred = [
    ...(sample?.latents ?? []),
    ...(pairs?.pairs ? pairs.pairs.a.slice(0, 20).flatMap((a, i) => [a, pairs.pairs!.b[i]!]) : []),
    ...(groundTruth?.best.slice(0, 64) ?? []),
    ...(coactivation?.latents ?? []),
  ];
  const exLatents = exTable ? L.attempt(ANALYSIS.topExamples, () => uniqueInts(exTable.numbers('latent'))) : null;
  const lgLatents = lgTable ? L.attempt(ANALYSIS.logits, () => uniqueInts(lgTable.numbers('latent'))) : null;
  const chosen = chooseLatents([...(exLatents ?? []), ...(lgLatents ?? [])], preferred, limits.exampleLatents);
  const examples = exTable && exLatents ? L.attempt(ANALYSIS.topExamples, () => shapeExamples(exTable, chosen, exLatents.length, strings, limits)) : null;
  const logits = lgTable ? L.attempt(ANALYSIS.logits, () => shapeLogits(lgTable, chosen, strings, d)) : null;
  if (!lgTable && examples && Object.values(examples.byLatent).some((list) => list.some((e) => e.ctx !== null))) {
    L.missing(ANALYSIS.logits, 'No logit effects (language-model runs only).', `${L.analyzeCmd} --model MODEL_DIR --neuron-activations`);
  }
  const name = path.basename(path.resolve(dir));
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const meta = (k: string): number | null => (metricsMeta[k] !== undefined && metricsMeta[k] !== '' ? num(Number(metricsMeta[k])) : null);
  return {
    name,
    path: dir,
    arch: cfg?.vsae.arch ?? metricsMeta['vsae:arch'] ?? (typeof summary?.arch === 'string' ? summary.arch : null),
    dIn: num(cfg?.d_in) ?? meta('vsae:d_in') ?? num(summary?.d_in),
    dSae: num(cfg?.d_sae) ?? meta('vsae:d_sae') ?? num(summary?.d_sae) ?? features?.n ?? null,
    status: status ? { status: status.status, step: num(status.step), steps: num(status.steps), updated: typeof status.updated === 'string' ? status.updated : null } : null,
    config: cfg ? flatConfig(cfg) : [],
    summary,
    notes: L.notes,
    metrics,
    features,
    reconstruction,
    similarity,
    groundTruth,
    coactivation,
    // Logit effects without examples still need the string table, carried in an empty examples block.
    examples: examples ?? (logits ? { latentCount: 0, latents: [], byLatent: {}, strings: strings.strings } : null),
    logits,
    embedding,
  };
}

// --- shaping of each table -----------------------------------------------------------------

function ints(t: TableData, col: string): number[] {
  return Array.from(t.numbers(col), (v) => (Number.isFinite(v) ? Math.trunc(v) : -1));
}

function uniqueInts(values: Float64Array): number[] {
  return [...new Set(Array.from(values, (v) => Math.trunc(v)))].sort((a, b) => a - b);
}

/** cfg.json as [key, text] rows: the SAELens fields, then every `vsae.` option. */
export function flatConfig(cfg: RunConfig): Array<[string, string]> {
  const text = (v: unknown): string => {
    const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
    return s.length > 200 ? `${s.slice(0, 197)}…` : s;
  };
  const rows: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(cfg)) {
    if (k === 'vsae' || v === undefined) continue;
    rows.push([k, text(v)]);
  }
  for (const [k, v] of Object.entries(cfg.vsae)) if (v !== undefined) rows.push([`vsae.${k}`, text(v)]);
  return rows;
}

function flatSummary(raw: unknown, file: string): Record<string, number | string | boolean | null> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(file, 'is not a JSON object; rerun vsae analyze');
  const out: Record<string, number | string | boolean | null> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === 'number') out[k] = Number.isFinite(v) ? v : null;
    else if (typeof v === 'string' || typeof v === 'boolean' || v === null) out[k] = v;
    else if (Array.isArray(v)) out[k] = v.map(String).join(', ');
  }
  return out;
}

export function shapeFeatures(t: TableData, limits: ReportLimits): FeaturesData {
  const d = limits.digits;
  const n = t.numRows;
  const freq = t.numbers('frequency');
  const log10 = t.numbers('log10_density');
  const dead = Array.from(t.numbers('dead'), (v): number => (v ? 1 : 0));
  const hist = t.column('hist_counts').map((h) => (Array.isArray(h) && (h as number[]).some((c) => c > 0) ? (h as number[]) : null));
  const alive: number[] = [];
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < n; i++) {
    if (dead[i] || !Number.isFinite(log10[i]!)) continue;
    alive.push(i);
    lo = Math.min(lo, log10[i]!);
    hi = Math.max(hi, log10[i]!);
  }
  let denseCount = 0;
  for (let i = 0; i < n; i++) if (!dead[i] && freq[i]! >= DENSE_THRESHOLD) denseCount++;
  const aliveLog = alive.map((i) => log10[i]!);
  return {
    n,
    latent: ints(t, 'latent'),
    log10: roundAll(log10, d),
    freq: roundAll(freq, d),
    meanAct: roundAll(t.numbers('mean_act'), d),
    maxAct: roundAll(t.numbers('max_act'), d),
    dead,
    encDec: roundAll(t.numbers('enc_dec_cos'), d),
    meanVar: t.has('mean_var') ? roundAll(t.numbers('mean_var'), d) : null,
    hist,
    density: histogram(aliveLog, limits.densityBins, alive.length ? Math.floor(lo) : -10, alive.length ? Math.max(0, hi) : 0),
    deadCount: dead.reduce((a, b) => a + b, 0),
    denseCount,
    denseThreshold: DENSE_THRESHOLD,
    scatter: evenIndices(alive.length, limits.densityScatterPoints).map((k) => alive[k]!),
  };
}

export function shapeReconstruction(t: TableData, limits: ReportLimits): ReconstructionData {
  const mse = t.numbers('mse');
  const cos = t.numbers('cosine');
  const logs: number[] = [];
  let zero = 0;
  for (const v of mse) {
    if (v > 0) logs.push(Math.log10(v));
    else if (v === 0) zero++;
  }
  return {
    rows: t.numRows,
    logMse: histogram(logs, limits.reconBins),
    mseZero: zero,
    cosine: histogram(cos, limits.reconBins),
    mse: roundStats(stats(mse), limits.digits),
    cos: roundStats(stats(cos), limits.digits),
    dims: null,
  };
}

function shapePairs(t: TableData, limits: ReportLimits) {
  const a = ints(t, 'latent_a');
  const b = ints(t, 'latent_b');
  const c = t.numbers('cosine');
  const order = Array.from(c.keys()).sort((i, j) => (Number.isFinite(c[j]!) ? c[j]! : -Infinity) - (Number.isFinite(c[i]!) ? c[i]! : -Infinity));
  const top = order.slice(0, limits.topPairs);
  return {
    count: t.numRows,
    hist: histogram(c, 30),
    pairs: { a: top.map((i) => a[i]!), b: top.map((i) => b[i]!), cos: top.map((i) => round(c[i], limits.digits)) },
  };
}

/** A (latent_a, latent_b, value) table as a square row-major matrix over the latents in it. */
export function squareMatrix(t: TableData, col: string, digits: number): { latents: number[]; values: Array<number | null> } {
  const a = ints(t, 'latent_a');
  const b = ints(t, 'latent_b');
  const v = t.numbers(col);
  const latents = [...new Set([...a, ...b])].sort((x, y) => x - y);
  const at = new Map(latents.map((l, i) => [l, i]));
  const n = latents.length;
  const values = new Array<number | null>(n * n).fill(null);
  for (let k = 0; k < a.length; k++) {
    const i = at.get(a[k]!)!;
    const j = at.get(b[k]!)!;
    const x = round(v[k], digits);
    values[i * n + j] = x;
    if (values[j * n + i] === null) values[j * n + i] = x;
  }
  return { latents, values };
}

function shapeGroundTruth(t: TableData, limits: ReportLimits): GroundTruthData {
  const cos = t.numbers('cosine');
  const rep = Array.from(t.numbers('represented'), (v): number => (v ? 1 : 0));
  const mean = (idx: number[]): number | null => {
    const v = idx.map((i) => cos[i]!).filter(Number.isFinite);
    return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
  };
  const all = Array.from(cos.keys());
  const keep = all.slice(0, limits.groundTruthRows);
  const feature = ints(t, 'feature');
  const best = ints(t, 'best_latent');
  const norm = t.numbers('norm');
  return {
    rows: t.numRows,
    feature: keep.map((i) => feature[i]!),
    best: keep.map((i) => best[i]!),
    cos: roundAll(cos, limits.digits, keep),
    norm: roundAll(norm, limits.digits, keep),
    represented: keep.map((i) => rep[i]!),
    representedNorm: REPRESENTED_NORM,
    mmcs: round(mean(all), limits.digits),
    mmcsRepresented: round(mean(all.filter((i) => rep[i])), limits.digits),
  };
}

/**
 * Up to `limit` latents: the preferred ones first (in order, if present), then an even spread
 * over the rest. Returned ascending.
 */
export function chooseLatents(available: number[], preferred: number[], limit: number): number[] {
  const have = new Set(available);
  const out = new Set<number>();
  for (const l of preferred) {
    if (out.size >= limit) break;
    if (have.has(l)) out.add(l);
  }
  const rest = [...have].filter((l) => !out.has(l)).sort((a, b) => a - b);
  for (const k of evenIndices(rest.length, limit - out.size)) out.add(rest[k]!);
  return [...out].sort((a, b) => a - b);
}

/** A list cell of an Arrow column as a plain array (null when the cell is null or absent). */
function listAt(t: TableData, col: string, row: number): unknown[] | null {
  const v = t.table.getChild(col)?.get(row) as { toArray(): ArrayLike<unknown> } | null | undefined;
  return v ? Array.from(v.toArray()) : null;
}

function scalarAt(t: TableData, col: string, row: number): unknown {
  const v = t.table.getChild(col)?.get(row) as unknown;
  return typeof v === 'bigint' ? Number(v) : v;
}

export function shapeExamples(t: TableData, chosen: number[], latentCount: number, strings: StringTable, limits: ReportLimits): ExamplesData {
  const d = limits.digits;
  const want = new Set(chosen);
  const latent = t.numbers('latent');
  const rowsOf = new Map<number, number[]>();
  latent.forEach((l, i) => {
    if (!want.has(l)) return;
    const list = rowsOf.get(l);
    if (list) list.push(i);
    else rowsOf.set(l, [i]);
  });
  const hasCtx = t.has('context_tokens');
  const hasToken = t.has('token');
  const kind = t.strings('kind');
  const rank = t.numbers('rank');
  const quantile = t.has('quantile') ? t.numbers('quantile') : null;
  const rowNum = t.numbers('row');
  const act = t.numbers('activation');
  const byLatent: Record<string, Example[]> = {};
  for (const [l, rows] of rowsOf) {
    const top = rows.filter((i) => kind[i] !== 'quantile').sort((i, j) => rank[i]! - rank[j]!).slice(0, limits.examplesPerKind);
    const q = rows.filter((i) => kind[i] === 'quantile').sort((i, j) => (quantile ? quantile[j]! - quantile[i]! : 0) || rank[i]! - rank[j]!);
    const qKeep = evenIndices(q.length, limits.examplesPerKind).map((k) => q[k]!);
    byLatent[String(l)] = [...top, ...qKeep].map((i): Example => {
      let ctx: number[] | null = null;
      let acts: Array<number | null> | null = null;
      let at: number | null = null;
      const tokens = hasCtx ? listAt(t, 'context_tokens', i) : null;
      if (tokens) {
        const ciRaw = t.has('context_index') ? scalarAt(t, 'context_index', i) : null;
        const ci = typeof ciRaw === 'number' ? ciRaw : null;
        const [s, e] = contextWindow(tokens.length, ci, limits.contextRadius);
        ctx = tokens.slice(s, e).map((tok) => strings.add(tok === null || tok === undefined ? '' : String(tok)));
        const a = t.has('context_acts') ? listAt(t, 'context_acts', i) : null;
        acts = a ? a.slice(s, e).map((x) => round(typeof x === 'number' ? x : null, d)) : null;
        at = ci !== null && ci >= s && ci < e ? ci - s : null;
      }
      const tok = hasToken ? scalarAt(t, 'token', i) : null;
      return {
        kind: kind[i] === 'quantile' ? 'quantile' : 'top',
        rank: rank[i]!,
        quantile: quantile ? round(quantile[i], d) : null,
        row: rowNum[i]!,
        act: round(act[i], d),
        token: typeof tok === 'number' ? tok : null,
        ctx,
        acts,
        at,
      };
    });
  }
  return { latentCount, latents: [...rowsOf.keys()].sort((a, b) => a - b), byLatent, strings: strings.strings };
}

function shapeLogits(t: TableData, chosen: number[], strings: StringTable, digits: number): LogitsData {
  const want = new Set(chosen);
  const latent = t.numbers('latent');
  const kind = t.strings('kind');
  const rank = t.numbers('rank');
  const str = t.strings('token_str');
  const value = t.numbers('value');
  const byLatent: LogitsData['byLatent'] = {};
  const order = Array.from(latent.keys()).filter((i) => want.has(latent[i]!)).sort((i, j) => rank[i]! - rank[j]!);
  for (const i of order) {
    const key = String(latent[i]);
    const entry = (byLatent[key] ??= { top: [], bottom: [] });
    (kind[i] === 'bottom' ? entry.bottom : entry.top).push([strings.add(str[i] ?? ''), round(value[i], digits)]);
  }
  return { byLatent };
}

export function shapeEmbedding(t: TableData, limits: ReportLimits): EmbeddingKind[] {
  const d = limits.digits;
  const kind = t.strings('kind');
  const id = ints(t, 'id');
  const cols = ['pca_x', 'pca_y', 'umap_x', 'umap_y'].map((c) => (t.has(c) ? t.numbers(c) : new Float64Array(t.numRows).fill(NaN)));
  const cluster = t.has('cluster') ? ints(t, 'cluster') : new Array<number>(t.numRows).fill(-1);
  const groups = new Map<string, number[]>();
  kind.forEach((k, i) => {
    const key = k ?? 'decoder';
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  const order = [...groups.keys()].sort((a, b) => (a === 'decoder' ? -1 : b === 'decoder' ? 1 : a.localeCompare(b)));
  return order.map((k) => {
    const rows = groups.get(k)!;
    const keep = evenIndices(rows.length, limits.scatterPoints).map((j) => rows[j]!);
    return {
      kind: k,
      total: rows.length,
      id: keep.map((i) => id[i]!),
      pcaX: roundAll(cols[0]!, d, keep),
      pcaY: roundAll(cols[1]!, d, keep),
      umapX: roundAll(cols[2]!, d, keep),
      umapY: roundAll(cols[3]!, d, keep),
      cluster: keep.map((i) => cluster[i]!),
    };
  });
}
