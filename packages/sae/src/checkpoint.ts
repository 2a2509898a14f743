/**
 * Checkpoints: `RUN/checkpoints/latest/` holding `state.safetensors` (weights, Adam moments,
 * dead-latent counters, the shuffle buffer's rows) and `state.json` (step, RNG states, reader
 * position, options). A new checkpoint is written whole into `checkpoints/.tmp-*`, then swapped
 * in by two renames (latest → .prev-*, .tmp-* → latest); state.json is written last, so a
 * directory without it is incomplete. A crash between the renames leaves no `latest`, and
 * findCheckpoint() then takes the complete `.tmp-*` or `.prev-*` that is newest.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RngState } from '@vsae/compute';
import { InputError, VsaeError, readJson, readSafetensors, writeJsonAtomicSync, writeSafetensorsSync, type TensorToWrite } from '@vsae/data';
import type { BufferState, SourcePosition } from './batches.js';
import type { EngineState } from './engine.js';
import { PARAM_NAMES, allParamShapes, type SaeParams } from './types.js';

export const CHECKPOINT_FORMAT = 'vsae-checkpoint';

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  /** Steps completed: the resumed run starts at this step index. */
  step: number;
  steps: number;
  arch: string;
  d_in: number;
  d_sae: number;
  /** Adam steps taken. */
  adam_t: number;
  /** TopK models: the inference threshold θ (−1 until set). */
  threshold?: number | undefined;
  rng: { shuffle: RngState; noise: RngState };
  source: SourcePosition;
  buffer_rows: number;
  /** Rows the buffer holds when full (kept on resume, or the batches would differ). */
  buffer_capacity: number;
  /** Activation scale factor in use (1 without --normalize-activations). */
  scale: number;
  elapsed_s: number;
  /** The run's training options (JSON), so --resume continues with the same ones. */
  options: Record<string, unknown>;
  written: string;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  engine: EngineState;
  buffer: BufferState;
  dir: string;
}

function paramTensors(prefix: string, p: SaeParams<Float32Array>, shapes: Record<string, number[]>, out: Record<string, TensorToWrite>): void {
  for (const name of PARAM_NAMES) {
    const data = p[name];
    if (data) out[`${prefix}${name}`] = { data, shape: shapes[name]! };
  }
}


/** Writes checkpoints/latest atomically (see the module comment). */
export function writeCheckpoint(runDir: string, meta: Omit<CheckpointMeta, 'format' | 'version' | 'written'>, engine: EngineState, buffer: BufferState): string {
  const root = path.join(runDir, 'checkpoints');
  fs.mkdirSync(root, { recursive: true });
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = path.join(root, `.tmp-${tag}`);
  fs.mkdirSync(tmp);
  const shapes = allParamShapes(meta.d_in, meta.d_sae);
  const tensors: Record<string, TensorToWrite> = {};
  paramTensors('params.', engine.params, shapes, tensors);
  paramTensors('m.', engine.m, shapes, tensors);
  paramTensors('v.', engine.v, shapes, tensors);
  tensors.since_fired = { data: engine.sinceFired, shape: [meta.d_sae] };
  tensors.buffer = { data: buffer.rows, shape: [buffer.count, meta.d_in] };
  writeSafetensorsSync(path.join(tmp, 'state.safetensors'), tensors);
  const full: CheckpointMeta = { format: CHECKPOINT_FORMAT, version: 1, ...meta, written: new Date().toISOString() };
  writeJsonAtomicSync(path.join(tmp, 'state.json'), full); // last: marks the directory complete
  const latest = path.join(root, 'latest');
  let prev: string | undefined;
  if (fs.existsSync(latest)) {
    prev = path.join(root, `.prev-${tag}`);
    fs.renameSync(latest, prev);
  }
  fs.renameSync(tmp, latest);
  if (prev) fs.rmSync(prev, { recursive: true, force: true });
  // Leftovers of writers killed mid-way.
  for (const e of fs.readdirSync(root)) {
    if ((e.startsWith('.tmp-') || e.startsWith('.prev-')) && !e.endsWith(tag)) fs.rmSync(path.join(root, e), { recursive: true, force: true });
  }
  return latest;
}

function isComplete(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'state.json')) && fs.existsSync(path.join(dir, 'state.safetensors'));
}

/** The directory of the newest complete checkpoint of a run, or undefined. */
export function findCheckpoint(runDir: string): string | undefined {
  const root = path.join(runDir, 'checkpoints');
  if (!fs.existsSync(root)) return undefined;
  const latest = path.join(root, 'latest');
  if (isComplete(latest)) return latest;
  // Killed between the two renames: take the newest complete leftover.
  const cands = fs
    .readdirSync(root)
    .filter((e) => e.startsWith('.tmp-') || e.startsWith('.prev-'))
    .map((e) => path.join(root, e))
    .filter(isComplete)
    .map((d) => ({ d, step: (readJson<CheckpointMeta>(path.join(d, 'state.json')) as CheckpointMeta).step }))
    .sort((a, b) => b.step - a.step);
  return cands[0]?.d;
}

function getParams(st: ReturnType<typeof readSafetensors>, prefix: string, dIn: number, dSae: number, file: string): SaeParams<Float32Array> {
  const shapes = allParamShapes(dIn, dSae);
  const out = {} as SaeParams<Float32Array>;
  for (const name of PARAM_NAMES) {
    const key = `${prefix}${name}`;
    if (!st.tensors.has(key)) {
      if (name === 'W_enc_var' || name === 'b_enc_var') continue;
      throw new InputError(file, `lacks "${key}"; the checkpoint is damaged — start the run again without --resume`);
    }
    const t = st.getFloat32(key);
    const want = shapes[name]!;
    if (t.shape.join(',') !== want.join(',')) throw new InputError(file, `"${key}" has shape [${t.shape.join(', ')}], expected [${want.join(', ')}]`);
    out[name] = t.data;
  }
  return out;
}

/** Reads the newest complete checkpoint of a run (see findCheckpoint). */
export function readCheckpoint(runDir: string): Checkpoint {
  const dir = findCheckpoint(runDir);
  if (!dir) {
    throw new VsaeError(`${runDir}: no checkpoint to resume from (checkpoints/latest is missing); start the run without --resume`);
  }
  const metaFile = path.join(dir, 'state.json');
  const meta = readJson<CheckpointMeta>(metaFile);
  if (!meta || meta.format !== CHECKPOINT_FORMAT || meta.version !== 1) {
    throw new InputError(metaFile, `is not a vsae checkpoint (format ${JSON.stringify(meta?.format)}, version ${JSON.stringify(meta?.version)})`);
  }
  const file = path.join(dir, 'state.safetensors');
  const st = readSafetensors(file);
  const { d_in: dIn, d_sae: dSae } = meta;
  const engine: EngineState = {
    params: getParams(st, 'params.', dIn, dSae, file),
    m: getParams(st, 'm.', dIn, dSae, file),
    v: getParams(st, 'v.', dIn, dSae, file),
    t: meta.adam_t,
    sinceFired: st.getFloat32('since_fired').data,
    threshold: meta.threshold ?? -1,
  };
  const buf = st.getFloat32('buffer');
  if (buf.shape[0] !== meta.buffer_rows || (buf.shape[1] ?? dIn) !== dIn) {
    throw new InputError(file, `"buffer" has shape [${buf.shape.join(', ')}], expected [${meta.buffer_rows}, ${dIn}]`);
  }
  const buffer: BufferState = { rows: buf.data, count: meta.buffer_rows, rng: meta.rng.shuffle, source: meta.source };
  return { meta, engine, buffer, dir };
}
