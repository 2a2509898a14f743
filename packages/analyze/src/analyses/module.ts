/**
 * What one analysis is: its name (ANALYSIS_LIST of @vsae/data also lists its tables), the
 * summary keys it writes, what it needs from the passes over the rows, and how it turns their
 * results into tables. `analyze()` runs the chosen ones around two shared passes.
 */
import type { Rng } from '@vsae/compute';
import type { ActivationDataset, AnalysisTable, RunConfig } from '@vsae/data';
import type { LoadedSae } from '@vsae/sae';
import type { LanguageModel } from '../lm.js';
import type { MemoryPlan, ResolvedOptions } from '../options.js';
import type { ContextRequest, Pass1Result, Pass2Result } from '../passes.js';
import type { Columns } from '../tables.js';
import type { AnalysisName, AnalysisSummary, SummaryKey } from '../types.js';

/** The run being analysed, shared by the analyses. */
export interface AnalysisContext {
  readonly o: ResolvedOptions;
  readonly cfg: RunConfig;
  readonly ds: ActivationDataset;
  readonly sae: LoadedSae;
  readonly isVsae: boolean;
  readonly plan: MemoryPlan;
  /** Forked in a fixed order (pass 1, then each analysis in list order), so a seed gives the same choices. */
  readonly rng: Rng;
  /** Rows analysed: the rows chosen, less those pass 1 left out (--skip-bad-rows). */
  rows: number;
  /** This run's figures (summary.json's top level). */
  readonly summary: Partial<AnalysisSummary>;
  /** How they were made (summary.json's `parameters`). */
  readonly params: Record<string, unknown>;
  /** A one-line note for people (printed unless quiet, kept in the summary). */
  note(msg: string): void;
  has(a: AnalysisName): boolean;
  /** Writes one of the analysis tables. */
  write(table: AnalysisTable, columns: Columns): Promise<void>;
  /** Cosine of each latent's encoder column and decoder row (computed once). */
  encDec(): Float32Array;
  /** The --model language model (loaded on first use), or undefined without --model. */
  languageModel(): LanguageModel | undefined;
  /** The latents the per-latent tables show (--latents), ascending; undefined: all. */
  readonly latents: Int32Array | undefined;
}

/** What pass 1 must accumulate for an analysis (per-latent statistics are always kept). */
export interface Pass1Needs {
  recon?: boolean;
  variance?: boolean;
  muRows?: number;
}

/** What pass 2 must collect for an analysis, decided from pass 1's results. */
export interface Pass2Needs {
  hist?: { max: Float32Array; bins: number };
  coLatents?: Int32Array;
  context?: { requests: ContextRequest[]; window: number };
}

/** One analysis started on a run. */
export interface AnalysisSteps {
  /** Needs from pass 1; absent: it needs no pass over the rows. */
  pass1?: Pass1Needs;
  /** After pass 1: what it needs from pass 2 (undefined: nothing). */
  afterPass1?(p1: Pass1Result): Pass2Needs | undefined;
  /** Writes its tables and summary keys. */
  finish(p1: Pass1Result | undefined, p2: Pass2Result | undefined): Promise<void>;
}

export interface AnalysisModule {
  readonly name: AnalysisName;
  /** The summary.json keys it writes (a rerun replaces them). */
  readonly summaryKeys: readonly SummaryKey[];
  start(ctx: AnalysisContext): AnalysisSteps;
}
