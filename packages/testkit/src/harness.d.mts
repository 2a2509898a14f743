/** Types of harness.mjs (a plain ESM module, so the tests and scripts share it without a build). */
export declare const ROOT: string;
export declare const BIN: string;
export declare const PEAK: string;
export declare const TINY_GPT2: string;
export declare const SOTU: string;
export declare const STRESS: boolean;
export declare const SEED: number;
export declare function size(name: string, normal: number, stress: number): number;
export declare function seeded(seed: number): () => number;
export declare function writeSparseDataset(
  file: string,
  opts: { rows: number; dIn: number; seed: number; density?: number; scale?: number; poison?: Array<[number, number]>; batchRows?: number },
): Promise<void>;

export interface BinResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string | Uint8Array;
  timeout?: number;
}
export declare function vsae(args: string[], opts?: RunOptions): BinResult;

export interface KillOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  signal?: NodeJS.Signals;
  delayMs?: number;
  /** Polled every 20 ms; the delay starts once it returns true. */
  trigger?: () => boolean;
  stdin?: string | Uint8Array;
}
export declare function killAt(args: string[], opts?: KillOptions): Promise<BinResult & { killed: boolean }>;
export declare function steadyPeaks(runSmall: () => number, runBig: () => number, budget: number): { small: number; big: number; runs: number };
export declare function peakRss(args: string[], opts?: RunOptions & { gcMs?: number }): { code: number | null; stderr: string; peakMiB: number };

export interface TreeCheck {
  checked: string[];
  problems: string[];
  temps: string[];
}
export declare function checkTree(root: string, expect?: { datasetRows?: number }): Promise<TreeCheck>;
