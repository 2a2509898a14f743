/**
 * summary.json: this run's figures at the top level; figures of earlier runs of analyses not
 * run this time (same dictionary only) kept under `sources`, each with the analysis and the
 * row count it came from, so that no number is shown beside figures of another sample.
 */
import * as fs from 'node:fs';
import { readJson, type AnalysisName } from '@vsae/data';
import type { AnalysisModule } from './analyses/index.js';
import type { AnalysisSummary, SummarySource } from './types.js';

/** The earlier summary in `file`, when it is of the same dictionary (else, or damaged: undefined). */
export function readPrevious(file: string, dict: { arch: string; d_in: number; d_sae: number }): Partial<AnalysisSummary> | undefined {
  try {
    const p = fs.existsSync(file) ? readJson<Partial<AnalysisSummary>>(file) : undefined;
    return p && typeof p === 'object' && p.d_in === dict.d_in && p.d_sae === dict.d_sae && p.arch === dict.arch ? p : undefined;
  } catch {
    return undefined; // a damaged summary is replaced
  }
}

/**
 * The figures of `prev` that this run did not recompute: a key belongs to the analyses that
 * write it, and is carried over only when none of them ran now.
 */
export function carriedSources(prev: Partial<AnalysisSummary> | undefined, ran: readonly AnalysisName[], modules: readonly AnalysisModule[]): Record<string, SummarySource> {
  const out: Record<string, SummarySource> = {};
  if (!prev) return out;
  const owners = new Map<string, AnalysisName[]>();
  for (const m of modules) for (const k of m.summaryKeys) owners.set(k, [...(owners.get(k) ?? []), m.name]);
  const fresh = (k: string): boolean => (owners.get(k) ?? []).some((a) => ran.includes(a));
  for (const [k, s] of Object.entries(prev.sources ?? {})) {
    if (!fresh(k) && s && typeof s.value === 'number') out[k] = s;
  }
  const prevAnalyses = prev.analyses ?? [];
  for (const [k, own] of owners) {
    const v = (prev as Record<string, unknown>)[k];
    if (fresh(k) || typeof v !== 'number' || !Number.isFinite(v)) continue;
    out[k] = { analysis: own.find((a) => prevAnalyses.includes(a)) ?? own[0]!, n_rows: prev.n_rows ?? 0, value: v };
  }
  return out;
}

/** Drops undefined and non-finite figures (the names of the non-finite ones are returned). */
export function finiteFigures(fresh: Record<string, unknown>): { clean: Record<string, unknown>; undefinedKeys: string[] } {
  const clean: Record<string, unknown> = {};
  const undefinedKeys: string[] = [];
  for (const [k, v] of Object.entries(fresh)) {
    if (v === undefined) continue;
    if (typeof v === 'number' && !Number.isFinite(v)) undefinedKeys.push(k);
    else clean[k] = v;
  }
  return { clean, undefinedKeys };
}
