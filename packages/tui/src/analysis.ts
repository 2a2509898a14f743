/**
 * Reads the analysis tables the feature browser shows (CONTRACTS.md §3): features.arrow (one
 * row per latent) and top_examples.arrow (examples per latent, with decoded context tokens).
 * Tokens are sanitized here, at the boundary, so no view can print a raw one.
 */
import * as path from 'node:path';
import { analysisFile, readTable } from '@vsae/data';
import type { TableData } from '@vsae/data';
import type { ExamplesByLatent, FeatureInfo, FeatureTable, TopExample } from './model.js';
import { sanitizeText } from './sanitize.js';

export const FEATURES_FILE = analysisFile('features');
export const TOP_EXAMPLES_FILE = analysisFile('topExamples');

/** A numeric column, or NaN everywhere when the table does not have it. */
function numbersOr(t: TableData, name: string): Float64Array {
  return t.has(name) ? t.numbers(name) : new Float64Array(t.numRows).fill(NaN);
}

const finiteOr = (x: number | undefined): number | undefined => (x === undefined || Number.isNaN(x) ? undefined : x);

export function loadFeatures(runDir: string): FeatureTable {
  const t = readTable(path.join(runDir, FEATURES_FILE));
  const latent = t.numbers('latent');
  const frequency = numbersOr(t, 'frequency');
  const log10 = t.has('log10_density') ? t.numbers('log10_density') : frequency.map((f) => Math.log10(f + 1e-10));
  const meanAct = numbersOr(t, 'mean_act');
  const maxAct = numbersOr(t, 'max_act');
  const dead = t.has('dead') ? t.numbers('dead') : frequency.map((f) => (f > 0 ? 0 : 1));
  const cos = numbersOr(t, 'enc_dec_cos');
  const meanVar = t.has('mean_var') ? t.numbers('mean_var') : undefined;
  const hist = t.has('hist_counts') ? t.column('hist_counts') : undefined;
  const byLatent = new Map<number, FeatureInfo>();
  for (let i = 0; i < t.numRows; i++) {
    const h = hist?.[i];
    byLatent.set(latent[i]!, {
      latent: latent[i]!,
      frequency: frequency[i]!,
      log10Density: log10[i]!,
      meanAct: meanAct[i]!,
      maxAct: maxAct[i]!,
      dead: dead[i] === 1,
      encDecCos: cos[i]!,
      histCounts: Array.isArray(h) ? (h as number[]).map(Number) : [],
      meanVar: finiteOr(meanVar?.[i]),
    });
  }
  return { byLatent, latents: [...byLatent.keys()].sort((a, b) => a - b) };
}

/**
 * Examples by latent: top examples by rank first, then quantile examples from the highest
 * quantile down. The table is read and indexed by latent at once (numbers only); a latent's
 * examples and their context tokens are decoded when first asked for, then kept.
 */
export function loadTopExamples(runDir: string): ExamplesByLatent {
  const t = readTable(path.join(runDir, TOP_EXAMPLES_FILE));
  const latent = t.numbers('latent');
  const rank = numbersOr(t, 'rank');
  const quantile = numbersOr(t, 'quantile');
  const row = numbersOr(t, 'row');
  const activation = numbersOr(t, 'activation');
  const token = numbersOr(t, 'token');
  const ctxIndex = numbersOr(t, 'context_index');
  const hasKind = t.has('kind');
  const hasTokens = t.has('context_tokens');
  const hasActs = t.has('context_acts');
  const rowsOf = new Map<number, number[]>();
  for (let i = 0; i < t.numRows; i++) {
    let list = rowsOf.get(latent[i]!);
    if (!list) rowsOf.set(latent[i]!, (list = []));
    list.push(i);
  }
  const decoded = new Map<number, TopExample[]>();
  const problems = new Map<number, string>();
  const decode = (i: number): TopExample => {
    const toks = hasTokens ? t.cell('context_tokens', i) : undefined;
    const acts = hasActs ? t.cell('context_acts', i) : undefined;
    const kind = hasKind ? t.cell('kind', i) : null;
    return {
      latent: latent[i]!,
      kind: sanitizeText(typeof kind === 'string' ? kind : 'top'),
      rank: Number.isFinite(rank[i]!) ? rank[i]! : 0,
      quantile: finiteOr(quantile[i]),
      row: row[i]!,
      activation: activation[i]!,
      tokens: Array.isArray(toks) ? toks.map((s) => sanitizeText(String(s ?? ''))) : undefined,
      acts: Array.isArray(acts) ? acts.map((a) => (a === null ? NaN : Number(a))) : undefined,
      index: finiteOr(ctxIndex[i]),
      token: finiteOr(token[i]),
    };
  };
  const order = (e: TopExample): number => (e.kind === 'top' ? 0 : 1);
  return {
    get(l: number): TopExample[] | undefined {
      const done = decoded.get(l);
      if (done || problems.has(l)) return done;
      const rows = rowsOf.get(l);
      if (!rows) return undefined;
      try {
        const list = rows.map(decode);
        list.sort((a, b) => order(a) - order(b) || (a.kind === 'top' ? a.rank - b.rank : (b.quantile ?? 0) - (a.quantile ?? 0) || a.rank - b.rank));
        decoded.set(l, list);
        return list;
      } catch (e) {
        // A damaged row is said in the browser, never thrown into the render.
        problems.set(l, sanitizeText((e as Error).message));
        return undefined;
      }
    },
    problemFor: (l: number) => problems.get(l),
  };
}
