import { useSyncExternalStore } from 'react';
import type { AnalysisState, RunsStore } from './runs-store.js';

const NONE: AnalysisState = { features: undefined, examples: undefined, problem: undefined };

/** The analysis tables of the run `dir` (loaded on first use, reloaded when they change). */
export function useAnalysis(store: RunsStore, dir: string | undefined): AnalysisState {
  useSyncExternalStore(store.subscribe, store.snapshot);
  return dir === undefined ? NONE : store.analysis(dir);
}
