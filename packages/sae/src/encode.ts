/**
 * `encodeDataset`: the codes of a trained autoencoder for new activations, streamed and sparse:
 * one output row per input row with the latents that fire (|code| > 1e-8) as `indices`
 * (List<Int32>) and `values` (List<Float32>), plus `row` and the input's `seq`, `pos`, `token`.
 * The code is what analysis measures: f, μ, or the top-k code of the run's architecture.
 */
import { initBackend, tf } from '@vsae/compute';
import { InputError, Progress, TableStreamWriter, UsageError, openDataset, type TableColumnInput } from '@vsae/data';
import * as fs from 'node:fs';
import { loadSae } from './load.js';
import { ACTIVE_THRESHOLD } from './model.js';

export interface EncodeDatasetOptions {
  /** Run directory (or SAELens directory). */
  run: string;
  /** Activation dataset (file, sharded directory, or '-'). */
  input: string;
  /** Output Arrow file, or '-' for an Arrow stream on stdout. */
  out: string;
  /** Rows encoded at a time (default 4096). */
  batchSize?: number | undefined;
  /** Encode only the first N rows. */
  maxRows?: number | undefined;
  backend?: string | undefined;
  quiet?: boolean | undefined;
  stdin?: NodeJS.ReadableStream | undefined;
  stdout?: NodeJS.WritableStream | undefined;
  signal?: AbortSignal | undefined;
}

export interface EncodeDatasetResult {
  rows: number;
  /** Mean number of firing latents per row. */
  l0: number;
  out: string;
  status: 'complete' | 'interrupted' | 'downstream-closed';
}

export async function encodeDataset(o: EncodeDatasetOptions): Promise<EncodeDatasetResult> {
  if (o.out !== '-' && fs.existsSync(o.out)) throw new UsageError(`${o.out} already exists; choose another -o file or remove it`);
  if (o.maxRows !== undefined && !(Number.isSafeInteger(o.maxRows) && o.maxRows >= 1)) throw new UsageError(`--n-rows must be a whole number ≥ 1 (got ${o.maxRows})`);
  await initBackend(o.backend);
  const sae = await loadSae(o.run);
  const ds = await openDataset(o.input, o.stdin ? { stdin: o.stdin } : {});
  const writer = new TableStreamWriter(o.out, { 'vsae:run': o.run, 'vsae:arch': sae.arch, 'vsae:d_in': String(sae.dIn), 'vsae:d_sae': String(sae.dSae), 'vsae:dataset': o.input }, o.stdout);
  const total = o.maxRows ?? ds.numRows;
  const progress = new Progress({ unit: 'rows', total, label: 'encode', quiet: o.quiet });
  let rows = 0;
  let fired = 0;
  let status: EncodeDatasetResult['status'] = 'complete';
  try {
    if (ds.dIn !== sae.dIn) throw new InputError(o.input, `has rows of width ${ds.dIn} but the run in ${o.run} takes width ${sae.dIn}; encode activations of the hook the run was trained on`);
    const bs = o.batchSize ?? 4096;
    const { dSae } = sae;
    outer: for await (const b of ds.batches()) {
      for (let start = 0; start < b.numRows; start += bs) {
        if (o.signal?.aborted) {
          status = 'interrupted';
          break outer;
        }
        const n = Math.min(bs, b.numRows - start, (o.maxRows ?? Infinity) - rows);
        if (n <= 0) break outer;
        const x = tf.tensor2d(b.act.subarray(start * sae.dIn, (start + n) * sae.dIn), [n, sae.dIn]);
        const code = tf.tidy(() => sae.forward(x).act);
        const act = (await code.data()) as Float32Array;
        tf.dispose([x, code]);
        const indices: Int32Array[] = [];
        const values: Float32Array[] = [];
        for (let r = 0; r < n; r++) {
          const row = act.subarray(r * dSae, (r + 1) * dSae);
          let k = 0;
          for (let j = 0; j < dSae; j++) if (Math.abs(row[j]!) > ACTIVE_THRESHOLD) k++;
          const idx = new Int32Array(k);
          const val = new Float32Array(k);
          k = 0;
          for (let j = 0; j < dSae; j++) {
            if (Math.abs(row[j]!) > ACTIVE_THRESHOLD) {
              idx[k] = j;
              val[k++] = row[j]!;
            }
          }
          fired += k;
          indices.push(idx);
          values.push(val);
        }
        const cols: Record<string, TableColumnInput> = { row: { type: 'int64', values: Array.from({ length: n }, (_, i) => b.offset + start + i) } };
        if (b.seq) cols.seq = b.seq.slice(start, start + n);
        if (b.pos) cols.pos = b.pos.slice(start, start + n);
        if (b.token) cols.token = b.token.slice(start, start + n);
        cols.indices = { type: 'list<int32>', values: indices };
        cols.values = { type: 'list<float32>', values };
        await writer.write(cols);
        rows += n;
        progress.update(rows);
        if (writer.downstreamClosed) {
          status = 'downstream-closed';
          break outer;
        }
      }
    }
    const empty: Record<string, TableColumnInput> = {
      row: { type: 'int64', values: [] },
      indices: { type: 'list<int32>', values: [] },
      values: { type: 'list<float32>', values: [] },
    };
    if (status === 'interrupted') await writer.abort();
    else await writer.close(empty);
    progress.finish();
    return { rows, l0: rows > 0 ? fired / rows : 0, out: o.out, status };
  } catch (e) {
    await writer.abort();
    throw e;
  } finally {
    sae.dispose();
    await ds.close();
  }
}
