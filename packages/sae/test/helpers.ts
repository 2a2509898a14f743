import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '@vsae/compute';
import { createDatasetWriter } from '@vsae/data';
import type { ModelSpec } from '../src/types.js';

/** A plain SAE spec (per-row-mean losses, no variance head, no pairs), with `over` applied. */
export function modelSpec(over: Partial<ModelSpec> = {}): ModelSpec {
  return {
    arch: 'sae',
    dIn: 6,
    dSae: 24,
    varFlag: 0,
    varActivation: 'linear',
    reduction: 'mean',
    nCorrelatedPairs: 0,
    nAnticorrelatedPairs: 0,
    priorMean: 1,
    multiKl: 'per-row',
    ...over,
  };
}

export function tmpDir(prefix = 'vsae-sae-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A small synthetic dataset: rows are sparse non-negative combinations of `nDirs` random unit
 * directions in R^dIn (toy-like), plus the directions themselves. `poison` overwrites chosen
 * rows with a value (NaN, Infinity, 1e20…).
 */
export async function writeSparseDataset(
  file: string,
  opts: { rows: number; dIn: number; nDirs?: number; p?: number; seed?: number; poison?: Array<[number, number]>; batchRows?: number; config?: Record<string, unknown> },
): Promise<{ dirs: Float32Array; nDirs: number }> {
  const { rows, dIn } = opts;
  const nDirs = opts.nDirs ?? 2 * dIn;
  const rng = new Rng(opts.seed ?? 1);
  const dirs = new Float32Array(nDirs * dIn);
  rng.fillNormal(dirs);
  for (let j = 0; j < nDirs; j++) {
    let n = 0;
    for (let k = 0; k < dIn; k++) n += dirs[j * dIn + k]! ** 2;
    n = Math.sqrt(n);
    for (let k = 0; k < dIn; k++) dirs[j * dIn + k]! /= n;
  }
  const act = new Float32Array(rows * dIn);
  const p = opts.p ?? 0.1;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < nDirs; j++) {
      if (rng.uniform() < p) {
        const v = rng.uniform();
        for (let k = 0; k < dIn; k++) act[r * dIn + k]! += v * dirs[j * dIn + k]!;
      }
    }
  }
  for (const [row, value] of opts.poison ?? []) act[row * dIn + (row % dIn)] = value;
  const w = await createDatasetWriter(file, {
    meta: { source: 'test', dIn, config: opts.config },
    ...(opts.batchRows ? { batchRows: opts.batchRows } : {}),
  });
  await w.write({ numRows: rows, act });
  await w.close();
  return { dirs, nDirs };
}
