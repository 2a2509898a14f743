import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createDatasetWriter, readTable, writeJsonAtomic, writeSafetensors, type TableData } from '@vsae/data';

export function tmpDir(prefix = 'vsae-analyze-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface SaeWeights {
  W_enc: Float32Array;
  b_enc: Float32Array;
  W_dec: Float32Array;
  b_dec: Float32Array;
}

/** A SAELens-style directory (cfg.json without a vsae block + sae_weights.safetensors): a standard SAE. */
export async function writeSaeDir(dir: string, dIn: number, dSae: number, w: SaeWeights, extra: Record<string, unknown> = {}): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await writeJsonAtomic(path.join(dir, 'cfg.json'), { architecture: 'standard', d_in: dIn, d_sae: dSae, dtype: 'float32', apply_b_dec_to_input: true, normalize_activations: 'none', hook_name: 'test.hook', ...extra });
  await writeSafetensors(path.join(dir, 'sae_weights.safetensors'), {
    W_enc: { data: w.W_enc, shape: [dIn, dSae] },
    b_enc: { data: w.b_enc, shape: [dSae] },
    W_dec: { data: w.W_dec, shape: [dSae, dIn] },
    b_dec: { data: w.b_dec, shape: [dIn] },
  });
}

/** An activation file of the given rows (row-major [rows, dIn]). */
export async function writeRows(file: string, x: Float32Array, dIn: number, meta: { groundTruth?: string; batchRows?: number } = {}): Promise<void> {
  const w = await createDatasetWriter(file, { meta: { source: 'test', dIn, ...(meta.groundTruth ? { groundTruth: meta.groundTruth } : {}) }, ...(meta.batchRows ? { batchRows: meta.batchRows } : {}) });
  await w.write({ numRows: x.length / dIn, act: x });
  await w.close();
}

export const table = (dir: string, name: string): TableData => readTable(path.join(dir, name));
