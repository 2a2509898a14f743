/**
 * `train(options)`: trains an autoencoder of the registry on an activation dataset and writes
 * the run directory (cfg.json, sae_weights.safetensors, metrics.arrows live, _run.json,
 * checkpoints/latest, TensorBoard events with `tensorboard`).
 *
 * The flow, as named stages: resolve the options (defaults, the architecture's own defaults,
 * a resume's saved options) → open the batches → build the engine → fit: a loop of
 * trainStep / logStep / checkpoint → finish (final weights and status).
 *
 * Reliability: SIGINT/SIGTERM (or `signal`) finish the current step, write a checkpoint, mark
 * the run interrupted and return status 'interrupted' (the CLI exits 130); `resume` continues
 * bit-for-bit; a NaN/Inf loss stops with a message and the last good checkpoint untouched;
 * NaN/Inf input rows stop with their index unless `skipBadRows`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, initBackend, tf, type BackendInfo } from '@vsae/compute';
import {
  MetricsWriter,
  acquireLock,
  Progress,
  RUN_FILES,
  UsageError,
  VsaeError,
  openDataset,
  readMetrics,
  readRunConfig,
  writeRunStatus,
  type ActivationDataset,
  type RunStatus,
} from '@vsae/data';
import { archOf, type ArchDescriptor } from './archs/index.js';
import { RowSource, ShuffleBuffer } from './batches.js';
import { findCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { SaeEngine, metricNames, type StepMetrics } from './engine.js';
import { initParams, paramsToTensors } from './model.js';
import {
  TRAIN_OPTIONS,
  checkArchOptions,
  effectiveCoeff,
  flagOf,
  validateTrainOptions,
  validateWithDims,
  withArchDefaults,
  withTrainDefaults,
  type OptionDef,
  type TrainOptions,
  type TrainOptionsInput,
} from './options.js';
import { buildPrior } from './prior.js';
import { buildConfig, estimateNormScale, foldScale, optionsFromRecord, optionsRecord, writeConfig, writeWeights } from './runfiles.js';
import { coeffAt, lrAt } from './schedule.js';
import { TensorBoardWriter } from './tensorboard.js';
import { topkInitParams } from './topk-family.js';
import type { ModelSpec, SaeParams } from './types.js';

export interface TrainResult {
  /** complete: all steps ran. interrupted: stopped by a signal, checkpoint written. input-ended: stdin ran out. */
  status: 'complete' | 'interrupted' | 'input-ended';
  runDir: string;
  /** Steps completed. */
  step: number;
  steps: number;
  /** Metrics of the last logged step. */
  last?: (StepMetrics & { step: number }) | undefined;
  /** A sentence for the user when not complete. */
  message?: string | undefined;
  /** Notes for the user (ignored flags, a resume that had to start over). */
  notes: string[];
  elapsedS: number;
  backend: string;
}

/** Default shuffle-buffer size: 16 batches, at most 64 MiB (or a quarter of maxMemory), at least one batch. */
export function defaultBufferRows(o: Pick<TrainOptions, 'batchSize' | 'maxMemory'>, dIn: number): number {
  const budget = o.maxMemory !== undefined ? o.maxMemory / 4 : 64 * 2 ** 20;
  const byBytes = Math.floor(budget / (4 * dIn));
  return Math.max(o.batchSize, Math.min(16 * o.batchSize, byBytes));
}

/** Options a resume may change: they change how a run is watched, not what it computes (and the call's hooks). */
const RESUME_MAY_CHANGE = new Set<string>([
  ...(Object.values(TRAIN_OPTIONS) as OptionDef[]).filter((d) => d.watchOnly && d.key).map((d) => d.key as string),
  'backend',
  'quiet',
  'signal',
  'handleSignals',
  'onLog',
  'progressStream',
  'stdin',
]);

function pairDefaults(ds: ActivationDataset): { nc: number; na: number; corrRate: number | undefined } {
  const c = ds.meta.config ?? {};
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return { nc: num(c.n_correlated_pairs) ?? 0, na: num(c.n_anticorrelated_pairs) ?? 0, corrRate: num(c.corr_rate) };
}

function nonFinite(a: Float32Array | undefined): boolean {
  if (!a) return false;
  for (let i = 0; i < a.length; i++) if (a[i]! - a[i]! !== 0) return true;
  return false;
}

/**
 * Stage 1: the options in force. A new run: common defaults, then the architecture's. A
 * resume: the saved options; flags given again must equal them (each difference is named).
 */
function resolveOptions(input: TrainOptionsInput): { o: TrainOptions; ckpt: Checkpoint | undefined; notes: string[] } {
  let o = withTrainDefaults(input);
  validateTrainOptions(o);
  const runDir = o.out;
  if (!o.resume) {
    const notes = checkArchOptions(input);
    if ([RUN_FILES.config, RUN_FILES.status, RUN_FILES.checkpoints].some((f) => fs.existsSync(path.join(runDir, f)))) {
      throw new UsageError(`${runDir} already holds a training run; pass --resume to continue it, or choose another -o directory`);
    }
    return { o, ckpt: undefined, notes };
  }
  const notes: string[] = [];
  let ckpt: Checkpoint | undefined;
  let savedOptions: Record<string, unknown>;
  if (findCheckpoint(runDir) === undefined) {
    if (!fs.existsSync(path.join(runDir, RUN_FILES.config))) throw new UsageError(`${runDir} holds no checkpoint to resume from (no training run); train into it without --resume first`);
    const wrote = fs.existsSync(path.join(runDir, RUN_FILES.checkpoints));
    if (wrote) {
      throw new VsaeError(
        `${path.join(runDir, RUN_FILES.latestCheckpoint)} is missing or unreadable, so the run cannot continue where it stopped; ` +
          'train again into a new directory (the weights written so far are in sae_weights.safetensors)',
      );
    }
    // Stopped before its first checkpoint: nothing to continue, so start over with the run's options.
    notes.push(`${runDir} stopped before its first checkpoint; training starts over from step 0 with the run's options`);
    savedOptions = readRunConfig(runDir).vsae;
  } else {
    ckpt = readCheckpoint(runDir);
    savedOptions = ckpt.meta.options;
  }
  const saved = withTrainDefaults({ ...optionsFromRecord(savedOptions), input: o.input, out: o.out });
  const differ: string[] = [];
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined || RESUME_MAY_CHANGE.has(k) || k === 'resume') continue;
    const was = (saved as unknown as Record<string, unknown>)[k];
    if (was !== v) differ.push(`${flagOf(k as keyof TrainOptions)} (saved ${JSON.stringify(was ?? null)}, given ${JSON.stringify(v)})`);
  }
  if (differ.length > 0) {
    throw new UsageError(`--resume continues the run with its saved options, and these differ: ${differ.join(', ')}; drop them or start a new run in another directory`);
  }
  for (const k of RESUME_MAY_CHANGE) {
    const v = (input as Record<string, unknown>)[k];
    if (v !== undefined) (saved as unknown as Record<string, unknown>)[k] = v;
  }
  saved.resume = true;
  o = saved;
  validateTrainOptions(o);
  if (ckpt && ckpt.meta.step >= o.steps) {
    throw new VsaeError(`${runDir}: the run is already complete (${ckpt.meta.step} of ${o.steps} steps); nothing to resume`);
  }
  return { o, ckpt, notes };
}

/** Stage 2: the model's spec from the options and the dataset (pairs and ρ default to a toy dataset's). */
function buildSpec(o: TrainOptions, arch: ArchDescriptor, ds: ActivationDataset, dSae: number): ModelSpec {
  const defaults = pairDefaults(ds);
  const takes = (k: (typeof arch.options)[number]) => arch.options.includes(k);
  return {
    arch: arch.name,
    dIn: ds.dIn,
    dSae,
    varFlag: o.varFlag,
    varActivation: o.varActivation,
    reduction: o.reduction,
    nCorrelatedPairs: takes('nCorrelatedPairs') ? (o.nCorrelatedPairs ?? defaults.nc) : 0,
    nAnticorrelatedPairs: takes('nAnticorrelatedPairs') ? (o.nAnticorrelatedPairs ?? defaults.na) : 0,
    priorMean: 1,
    corrRate: takes('corrRate') && o.corrMatrix === undefined ? (o.corrRate ?? defaults.corrRate) : undefined,
    corrMatrix: takes('corrMatrix') ? o.corrMatrix : undefined,
    multiKl: o.multiKl,
    decode: takes('decode') ? o.decode : undefined,
    k: takes('k') ? o.k : undefined,
    auxCoeff: takes('auxCoeff') ? o.auxCoeff : undefined,
    deadTokens: takes('deadTokens') ? o.deadTokens : undefined,
    gradClip: takes('gradClip') ? o.gradClip : undefined,
  };
}

/** The activation scale: 1, SAELens's expected-average (mean norm √d_in), or unit mean squared norm. */
function activationScale(o: TrainOptions, rows: Float32Array, dIn: number): number {
  if (o.normalizeActivations === 'expected-average') return estimateNormScale(rows, dIn);
  if (o.normalizeActivations !== 'unit-mean-square') return 1;
  const n = Math.floor(rows.length / dIn);
  let s = 0;
  for (let i = 0; i < n * dIn; i++) s += rows[i]! ** 2;
  return s > 0 ? 1 / Math.sqrt(s / n) : 1;
}

/** Stops requested by a signal or an AbortSignal: the loop finishes the step, checkpoints and stops. */
class StopRequests {
  reason: string | undefined;
  private readonly removers: Array<() => void> = [];

  constructor(o: TrainOptions) {
    if (o.signal) {
      if (o.signal.aborted) this.request('aborted');
      const onAbort = () => this.request('aborted');
      o.signal.addEventListener('abort', onAbort);
      this.removers.push(() => o.signal?.removeEventListener('abort', onAbort));
    }
    if (o.handleSignals !== false) {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        const h = () => {
          if (this.reason !== undefined) process.exit(130); // a second signal: stop now
          this.request(sig);
        };
        process.on(sig, h);
        this.removers.push(() => process.off(sig, h));
      }
    }
  }

  request(why: string): void {
    this.reason ??= why;
  }

  dispose(): void {
    for (const r of this.removers) r();
  }
}

export async function train(input: TrainOptionsInput): Promise<TrainResult> {
  const resolved = resolveOptions(input);
  // One writer per run directory: a second training (or a --resume of a run still training) is refused.
  const existed = fs.existsSync(resolved.o.out);
  const lock = acquireLock(resolved.o.out, resolved.o.resume ? 'vsae train --resume' : 'vsae train');
  // Signals are handled from here on, so a Ctrl-C while the data loads still ends in a clean stop, not a kill.
  const stops = new StopRequests(resolved.o);
  try {
    const backend = await initBackend(resolved.o.backend);
    const ds = await openDataset(resolved.o.input, resolved.o.stdin ? { stdin: resolved.o.stdin } : {});
    const session = new TrainingSession(input, resolved.o, resolved.ckpt, resolved.notes, ds, backend, stops);
    try {
      return await session.fit();
    } finally {
      await session.close();
      await ds.close();
    }
  } finally {
    stops.dispose();
    lock.release();
    // A run that failed before writing anything leaves no directory behind (the lock made it).
    if (!existed && fs.readdirSync(resolved.o.out).length === 0) fs.rmdirSync(resolved.o.out);
  }
}

/** One training run from its opened dataset to its final files. */
class TrainingSession {
  private o: TrainOptions;
  private readonly runDir: string;
  private readonly arch: ArchDescriptor;
  private step: number;
  private started = false;
  private statusWritten = false;
  private engine: SaeEngine | undefined;
  private rows: RowSource | undefined;
  private buffer: ShuffleBuffer | undefined;
  private metricsOut: MetricsWriter | undefined;
  private tb: TensorBoardWriter | undefined;
  private noiseRng: Rng | undefined;
  private spec!: ModelSpec;
  private scale = 1;
  private coeff = 0;
  private t0 = 0;

  constructor(
    private readonly input: TrainOptionsInput,
    o: TrainOptions,
    private readonly ckpt: Checkpoint | undefined,
    private readonly notes: string[],
    private readonly ds: ActivationDataset,
    private readonly backend: BackendInfo,
    private readonly stops: StopRequests,
  ) {
    this.o = o;
    this.runDir = o.out;
    this.arch = archOf(o.arch);
    this.step = ckpt?.meta.step ?? 0;
  }

  private setStatus(status: RunStatus['status'], message?: string): void {
    const s = { status, step: this.step, steps: this.o.steps };
    writeRunStatus(this.runDir, message === undefined ? s : { ...s, message });
  }

  /** Marks the run failed with `msg` and throws it. */
  private fail(msg: string): never {
    this.setStatus('failed', msg);
    this.statusWritten = true;
    throw new VsaeError(msg);
  }

  async fit(): Promise<TrainResult> {
    try {
      await this.prepare();
      return await this.loop();
    } catch (e) {
      if (this.started && !this.statusWritten) {
        try {
          this.setStatus('failed', (e as Error).message.split('\n')[0]);
        } catch {
          // keep the original error
        }
      }
      throw e;
    }
  }

  /** Stage 2: the model, its batches and the run's files. */
  private async prepare(): Promise<void> {
    const { ds, ckpt } = this;
    const dIn = ds.dIn;
    if (ckpt && ckpt.meta.d_in !== dIn) {
      throw new VsaeError(`${this.o.input} has rows of width ${dIn} but the run in ${this.runDir} was trained on width ${ckpt.meta.d_in}; resume with the dataset the run started on`);
    }
    const dSae = this.o.dSae ?? this.o.dictMult * dIn;
    if (ckpt && ckpt.meta.d_sae !== dSae) throw new VsaeError(`${this.runDir}: the checkpoint has d_sae ${ckpt.meta.d_sae} but the options give ${dSae}`);
    if (!ckpt && !this.o.resume) this.o = withArchDefaults(this.o, this.input, dSae);
    validateWithDims(this.o, dSae);
    const o = this.o;
    const spec = buildSpec(o, this.arch, ds, dSae);
    this.spec = spec;
    // Record the resolved pair counts and rate, so a resume (and cfg.json) uses the same.
    if (this.arch.options.includes('nCorrelatedPairs')) {
      o.nCorrelatedPairs = spec.nCorrelatedPairs;
      o.nAnticorrelatedPairs = spec.nAnticorrelatedPairs;
    }
    if (this.arch.options.includes('corrRate')) o.corrRate = spec.corrRate;
    const prior = buildPrior(spec);
    this.coeff = effectiveCoeff(o);

    // Randomness: independent streams for init, shuffling and noise, all from the seed.
    const root = new Rng(o.seed);
    const initRng = root.fork();
    const shuffleRng = root.fork();
    this.noiseRng = root.fork();
    if (ckpt) this.noiseRng.setState(ckpt.meta.rng.noise);

    const B = o.batchSize;
    let capacity = o.bufferRows ?? defaultBufferRows(o, dIn);
    if (ds.numRows !== undefined && ds.numRows > 0) capacity = Math.min(capacity, Math.max(B, ds.numRows));
    if (ckpt) capacity = ckpt.meta.buffer_capacity; // the same buffer, or the batches would differ
    this.rows = new RowSource(ds, { skipBadRows: o.skipBadRows, start: ckpt?.buffer.source });
    this.buffer = new ShuffleBuffer(this.rows, capacity, shuffleRng, ckpt?.buffer);
    await this.buffer.prime();
    if (this.buffer.size < B) {
      throw new VsaeError(`${o.input === '-' ? 'stdin' : o.input} holds only ${this.buffer.size} usable rows, fewer than one batch (--batch-size ${B}); give more data or a smaller batch`);
    }
    this.scale = ckpt ? ckpt.meta.scale : activationScale(o, this.buffer.contents(), dIn);

    const init = (): SaeParams<Float32Array> => (this.arch.family === 'topk' ? topkInitParams(spec, initRng) : initParams(spec, initRng));
    const hostInit = ckpt ? ckpt.engine.params : init();
    this.engine = new SaeEngine(spec, prior, ckpt ? { params: paramsToTensors(spec, hostInit), state: ckpt.engine } : { params: paramsToTensors(spec, hostInit) });

    fs.mkdirSync(this.runDir, { recursive: true });
    writeConfig(this.runDir, buildConfig(o, spec, ds.meta, { coeff: this.coeff, scale: this.scale, backend: this.backend.name, bufferRows: capacity }));
    this.setStatus('running');
    this.started = true;
    const metricsFile = path.join(this.runDir, RUN_FILES.metrics);
    const metricsMeta = { 'vsae:arch': spec.arch, 'vsae:d_in': String(dIn), 'vsae:d_sae': String(dSae) };
    // step, lr, loss, recon, the terms, coeff, l0, dead_frac, explained_variance, (the sampled z's), elapsed_s, skipped_rows
    const names = metricNames(spec);
    const afterTerms = names.indexOf('l0');
    const float = (name: string) => ({ name, type: 'float64' as const });
    const columns = [
      { name: 'step', type: 'int32' as const },
      float('lr'),
      ...names.slice(0, afterTerms).map(float),
      float('coeff'),
      ...names.slice(afterTerms).map(float),
      float('elapsed_s'),
      { name: 'skipped_rows', type: 'int32' as const },
    ];
    this.metricsOut = new MetricsWriter(metricsFile, ckpt ? { columns: resumedColumns(metricsFile, columns), metadata: metricsMeta, resumeAfterStep: ckpt.meta.step } : { columns, metadata: metricsMeta });
    if (o.tensorboard) this.tb = new TensorBoardWriter(this.runDir);
  }

  private elapsed(): number {
    return (this.ckpt?.meta.elapsed_s ?? 0) + (performance.now() - this.t0) / 1000;
  }

  /** Stage 3: the loop of steps, logs and checkpoints. */
  private async loop(): Promise<TrainResult> {
    const o = this.o;
    const engine = this.engine!;
    const buffer = this.buffer!;
    const { dIn, dSae } = this.spec;
    const B = o.batchSize;
    const startStep = this.step;
    this.t0 = performance.now();
    const logEvery = o.logEvery ?? Math.max(1, Math.min(100, Math.floor(o.steps / 20)));
    const progress = new Progress({ unit: 'step', total: o.steps, done: startStep, label: this.spec.arch, quiet: o.quiet, stream: o.progressStream });
    const xHost = new Float32Array(B * dIn);
    const epsHost = this.arch.samples({ varFlag: o.varFlag }) ? new Float32Array(B * dSae) : undefined;
    const resampleEvery = this.arch.options.includes('resampleEvery') ? o.resampleEvery : 0;
    let last: TrainResult['last'];
    let fields: Record<string, string | number> = {};
    let status: TrainResult['status'] = 'complete';
    let message: string | undefined;
    while (this.step < o.steps) {
      if (this.stops.reason !== undefined) {
        status = 'interrupted';
        break;
      }
      const got = await buffer.draw(xHost, B);
      if (got < B) {
        status = 'input-ended';
        message = `stdin ran out after ${this.rows!.pos.row} rows at step ${this.step} of ${o.steps}; the run stopped there (train on a file to pass over the data more than once)`;
        break;
      }
      if (this.step === 0 && !this.ckpt && this.arch.family === 'topk' && !this.arch.variational) {
        // TopK: b_dec starts at the geometric median of the first batch.
        engine.setDecoderBias(this.scale === 1 ? xHost : xHost.map((v) => v * this.scale), B);
      }
      const x = tf.tidy(() => {
        const t = tf.tensor2d(xHost, [B, dIn]);
        return (this.scale === 1 ? t : tf.mul(t, this.scale)) as tf.Tensor2D;
      });
      const eps = epsHost ? tf.tensor2d(this.noiseRng!.fillNormalZiggurat(epsHost), [B, dSae]) : undefined;
      const lr = lrAt(o, this.step);
      const c = coeffAt(this.coeff, o.coeffWarmupSteps, this.step);
      const done = this.step + 1;
      const log = done % logEvery === 0 || done === o.steps;
      const mvec = await engine.step(x, { eps, lr, coeff: c, stepIndex: this.step, metrics: log, deadWindow: o.deadWindow });
      eps?.dispose();
      this.step = done;
      if (resampleEvery > 0 && done % resampleEvery === 0 && done < o.steps) {
        const dead = await engine.deadLatents(o.deadWindow);
        if (dead.length > 0) await engine.resample(x, dead);
      }
      x.dispose();
      if (mvec) {
        last = await this.logStep(mvec, lr, c);
        fields = { loss: last.loss, L0: last.l0, dead: `${(100 * last.dead_frac).toFixed(1)}%` };
      }
      progress.update(this.step, fields);
      if (o.checkpointEvery > 0 && done % o.checkpointEvery === 0 && done < o.steps) {
        await this.checkpoint();
        this.setStatus('running');
      }
      // Let signal handlers run between steps.
      await new Promise<void>((r) => setImmediate(r));
    }
    return this.finish(status, message, last, progress, fields);
  }

  /** Stage 3a: one logged step's metrics to metrics.arrows, TensorBoard and onLog. */
  private async logStep(mvec: tf.Tensor1D, lr: number, coeff: number): Promise<StepMetrics & { step: number }> {
    const v = await mvec.data();
    mvec.dispose();
    await this.checkHealth();
    const m = Object.fromEntries(metricNames(this.spec).map((k, i) => [k, v[i]!])) as StepMetrics;
    const row: Record<string, number> = { step: this.step, lr, ...m, coeff, elapsed_s: this.elapsed(), skipped_rows: this.rows!.pos.skipped };
    this.metricsOut!.append(row);
    if (this.tb) {
      for (const [k, val] of Object.entries(row)) if (k !== 'step') this.tb.addScalar(`train/${k}`, val, this.step);
      this.tb.flush();
    }
    this.o.onLog?.(row);
    return { ...m, step: this.step };
  }

  private async checkHealth(): Promise<void> {
    const bad = await this.engine!.firstNonFiniteStep();
    if (bad !== undefined) {
      const term = this.arch.coeff ? `, ${this.arch.coeff.term} coefficient ${this.coeff}` : '';
      this.fail(
        `training diverged: the loss became NaN or infinite at step ${bad + 1} (lr ${lrAt(this.o, bad)}${term}); ` +
          `the last good checkpoint is kept in ${path.join(this.runDir, RUN_FILES.latestCheckpoint)}. Lower --lr (or the coefficient), or use --normalize-activations expected-average, and train again`,
      );
    }
  }

  /** Stage 3b: checkpoints/latest and the weights so far (for readers of a live run). */
  private async checkpoint(): Promise<void> {
    await this.checkHealth();
    const state = await this.engine!.exportState();
    if (Object.values(state.params).some((a) => nonFinite(a as Float32Array | undefined))) {
      this.fail(`training diverged: the weights hold NaN or Inf at step ${this.step}; the last good checkpoint is kept in ${path.join(this.runDir, RUN_FILES.latestCheckpoint)}. Lower --lr and train again`);
    }
    const buffer = this.buffer!;
    writeCheckpoint(
      this.runDir,
      {
        step: this.step,
        steps: this.o.steps,
        arch: this.spec.arch,
        d_in: this.spec.dIn,
        d_sae: this.spec.dSae,
        adam_t: state.t,
        threshold: state.threshold,
        rng: { shuffle: buffer.state().rng, noise: this.noiseRng!.getState() },
        source: { ...this.rows!.pos },
        buffer_rows: buffer.size,
        buffer_capacity: buffer.capacity,
        scale: this.scale,
        elapsed_s: this.elapsed(),
        options: optionsRecord(this.o),
      },
      state,
      buffer.state(),
    );
    writeWeights(this.runDir, this.spec, foldScale(state.params, this.scale), { format: 'pt', step: String(this.step) });
    this.savedThreshold = state.threshold;
  }

  private savedThreshold: number | undefined;

  /** Stage 4: the final checkpoint, weights, cfg.json's threshold and the run's status. */
  private async finish(status: TrainResult['status'], message: string | undefined, last: TrainResult['last'], progress: Progress, fields: Record<string, string | number>): Promise<TrainResult> {
    await this.checkpoint();
    const theta = this.savedThreshold;
    if (this.arch.family === 'topk' && !this.arch.variational && theta !== undefined && theta >= 0) {
      // The learned inference threshold goes into cfg.json; BatchTopK's SAELens jumprelu form also needs it as a tensor.
      writeConfig(this.runDir, buildConfig(this.o, this.spec, this.ds.meta, { coeff: this.coeff, scale: this.scale, backend: this.backend.name, bufferRows: this.buffer!.capacity, threshold: theta }));
      if (this.arch.selection === 'batch') {
        const state = await this.engine!.exportState();
        writeWeights(this.runDir, this.spec, foldScale(state.params, this.scale), { format: 'pt', step: String(this.step) }, theta);
      }
    }
    if (status === 'interrupted') {
      message = `interrupted (${this.stops.reason}) at step ${this.step} of ${this.o.steps}; checkpoint written — continue with --resume`;
      this.setStatus('interrupted', message);
    } else {
      this.setStatus('complete', message);
    }
    this.statusWritten = true;
    progress.finish(fields);
    return { status, runDir: this.runDir, step: this.step, steps: this.o.steps, last, message, notes: this.notes, elapsedS: this.elapsed(), backend: this.backend.name };
  }

  async close(): Promise<void> {
    this.metricsOut?.close();
    this.tb?.close();
    this.engine?.dispose();
    await this.rows?.close();
  }
}

/**
 * Metrics columns for a resumed run: the file's own when it exists (a run written before a
 * column was added keeps its columns), else this run's.
 */
function resumedColumns(file: string, columns: Array<{ name: string; type: 'int32' | 'float64' }>): Array<{ name: string; type: 'int32' | 'float64' }> {
  if (!fs.existsSync(file)) return columns;
  try {
    return readMetrics(file).columns;
  } catch {
    return columns;
  }
}
