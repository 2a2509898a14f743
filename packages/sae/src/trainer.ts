/**
 * `train(options)`: trains one of the four autoencoders on an activation dataset and writes the
 * run directory of CONTRACTS.md §2 (cfg.json, sae_weights.safetensors, metrics.arrows live,
 * _run.json, checkpoints/latest, TensorBoard events with `tensorboard`).
 *
 * Reliability (issue 8): SIGINT/SIGTERM (or `signal`) finish the current step, write a
 * checkpoint, mark the run interrupted and return status 'interrupted' (the CLI exits 130);
 * `resume` continues bit-for-bit; a NaN/Inf loss stops with a message and the last good
 * checkpoint untouched; NaN/Inf input rows stop with their index unless `skipBadRows`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, initBackend, tf } from '@vsae/compute';
import {
  MetricsWriter,
  Progress,
  RUN_FILES,
  UsageError,
  VsaeError,
  openDataset,
  readRunConfig,
  writeRunStatus,
  type ActivationDataset,
  type RunStatus,
} from '@vsae/data';
import { RowSource, ShuffleBuffer } from './batches.js';
import { findCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { SaeEngine, STEP_METRICS, type StepMetrics } from './engine.js';
import { initParams, paramsToTensors } from './model.js';
import { effectiveCoeff, validateTrainOptions, withTrainDefaults, type TrainOptions, type TrainOptionsInput } from './options.js';
import { buildPrior } from './prior.js';
import { buildConfig, estimateNormScale, foldScale, optionsFromRecord, optionsRecord, writeConfig, writeWeights } from './runfiles.js';
import { coeffAt, lrAt } from './schedule.js';
import { TensorBoardWriter } from './tensorboard.js';
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
  elapsedS: number;
  backend: string;
}

/** Default shuffle-buffer size: 16 batches, at most 64 MiB (or a quarter of maxMemory), at least one batch. */
export function defaultBufferRows(o: Pick<TrainOptions, 'batchSize' | 'maxMemory'>, dIn: number): number {
  const budget = o.maxMemory !== undefined ? o.maxMemory / 4 : 64 * 2 ** 20;
  const byBytes = Math.floor(budget / (4 * dIn));
  return Math.max(o.batchSize, Math.min(16 * o.batchSize, byBytes));
}

/** On resume the checkpoint's options apply, except these when the call gives them (they do not change the result). */
const RESUME_KEEPS_FROM_CALL = ['input', 'out', 'backend', 'quiet', 'signal', 'handleSignals', 'onLog', 'progressStream', 'stdin', 'logEvery', 'checkpointEvery', 'tensorboard', 'maxMemory'] as const;

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

export async function train(input: TrainOptionsInput): Promise<TrainResult> {
  let o = withTrainDefaults(input);
  validateTrainOptions(o);
  const runDir = o.out;
  let ckpt: Checkpoint | undefined;
  if (o.resume) {
    let savedOptions: Record<string, unknown>;
    if (findCheckpoint(runDir) === undefined && fs.existsSync(path.join(runDir, RUN_FILES.config))) {
      // Stopped before its first checkpoint: nothing to continue, so start over with the run's options.
      savedOptions = readRunConfig(runDir).vsae;
    } else {
      ckpt = readCheckpoint(runDir);
      savedOptions = ckpt.meta.options;
    }
    const saved = withTrainDefaults({ ...optionsFromRecord(savedOptions), input: o.input, out: o.out });
    // The call may change how the run is watched, not what it computes.
    for (const k of RESUME_KEEPS_FROM_CALL) if (input[k] !== undefined) (saved as unknown as Record<string, unknown>)[k] = input[k];
    saved.resume = true;
    o = saved;
    validateTrainOptions(o);
    if (ckpt && ckpt.meta.step >= o.steps) {
      throw new VsaeError(`${runDir}: the run is already complete (${ckpt.meta.step} of ${o.steps} steps); nothing to resume`);
    }
  } else if ([RUN_FILES.config, RUN_FILES.status, RUN_FILES.checkpoints].some((f) => fs.existsSync(path.join(runDir, f)))) {
    throw new UsageError(`${runDir} already holds a training run; pass --resume to continue it, or choose another -o directory`);
  }

  const backend = await initBackend(o.backend);
  const ds = await openDataset(o.input, o.stdin ? { stdin: o.stdin } : {});
  let engine: SaeEngine | undefined;
  let source: RowSource | undefined;
  let metricsOut: MetricsWriter | undefined;
  let tb: TensorBoardWriter | undefined;
  const removeHandlers: Array<() => void> = [];
  let step = ckpt?.meta.step ?? 0;
  let statusWritten = false;
  let started = false; // status 'running' written by this call: a later error marks the run failed
  const setStatus = (status: RunStatus['status'], message?: string) => {
    writeRunStatus(runDir, message === undefined ? { status, step, steps: o.steps } : { status, step, steps: o.steps, message });
  };
  try {
    const dIn = ds.dIn;
    if (ckpt && ckpt.meta.d_in !== dIn) {
      throw new VsaeError(
        `${o.input} has rows of width ${dIn} but the run in ${runDir} was trained on width ${ckpt.meta.d_in}; resume with the dataset the run started on`,
      );
    }
    const dSae = o.dSae ?? o.dictMult * dIn;
    if (ckpt && ckpt.meta.d_sae !== dSae) throw new VsaeError(`${runDir}: the checkpoint has d_sae ${ckpt.meta.d_sae} but the options give ${dSae}`);
    const defaults = pairDefaults(ds);
    const spec: ModelSpec = {
      arch: o.arch,
      dIn,
      dSae,
      varFlag: o.varFlag,
      varActivation: o.varActivation,
      reduction: o.reduction,
      nCorrelatedPairs: o.arch === 'vsae-mix' ? (o.nCorrelatedPairs ?? defaults.nc) : 0,
      nAnticorrelatedPairs: o.arch === 'vsae-mix' ? (o.nAnticorrelatedPairs ?? defaults.na) : 0,
      priorMean: 1,
      corrRate: o.arch === 'vsae-multi' && o.corrMatrix === undefined ? (o.corrRate ?? defaults.corrRate) : undefined,
      corrMatrix: o.arch === 'vsae-multi' ? o.corrMatrix : undefined,
      multiKl: o.multiKl,
    };
    // Record the resolved pair counts and rate, so a resume (and cfg.json) uses the same.
    if (o.arch === 'vsae-mix') {
      o.nCorrelatedPairs = spec.nCorrelatedPairs;
      o.nAnticorrelatedPairs = spec.nAnticorrelatedPairs;
    }
    if (o.arch === 'vsae-multi') o.corrRate = spec.corrRate;
    const prior = buildPrior(spec);
    const coeff = effectiveCoeff(o);
    const B = o.batchSize;

    // Randomness: independent streams for init, shuffling and VSAE noise, all from the seed.
    const root = new Rng(o.seed);
    const initRng = root.fork();
    const shuffleRng = root.fork();
    const noiseRng = root.fork();
    if (ckpt) noiseRng.setState(ckpt.meta.rng.noise);

    let capacity = o.bufferRows ?? defaultBufferRows(o, dIn);
    if (ds.numRows !== undefined && ds.numRows > 0) capacity = Math.min(capacity, Math.max(B, ds.numRows));
    if (ckpt) capacity = ckpt.meta.buffer_capacity; // the same buffer, or the batches would differ
    const rows = new RowSource(ds, { skipBadRows: o.skipBadRows, start: ckpt?.buffer.source });
    source = rows;
    const buffer = new ShuffleBuffer(rows, capacity, shuffleRng, ckpt?.buffer);
    await buffer.prime();
    if (buffer.size < B) {
      throw new VsaeError(`${o.input === '-' ? 'stdin' : o.input} holds only ${buffer.size} usable rows, fewer than one batch (--batch-size ${B}); give more data or a smaller batch`);
    }
    const scale = ckpt ? ckpt.meta.scale : o.normalizeActivations === 'expected-average' ? estimateNormScale(buffer.contents(), dIn) : 1;

    const hostInit: SaeParams<Float32Array> = ckpt ? ckpt.engine.params : initParams(spec, initRng);
    engine = new SaeEngine(spec, prior, ckpt ? { params: paramsToTensors(spec, hostInit), state: ckpt.engine } : { params: paramsToTensors(spec, hostInit) });

    fs.mkdirSync(runDir, { recursive: true });
    const cfg = buildConfig(o, spec, ds.meta, { coeff, scale, backend: backend.name, bufferRows: capacity });
    writeConfig(runDir, cfg);
    setStatus('running');
    started = true;
    const metricsMeta = { 'vsae:arch': spec.arch, 'vsae:d_in': String(dIn), 'vsae:d_sae': String(dSae) };
    metricsOut = new MetricsWriter(path.join(runDir, RUN_FILES.metrics), ckpt ? { arch: spec.arch, metadata: metricsMeta, resumeAfterStep: ckpt.meta.step } : { arch: spec.arch, metadata: metricsMeta });
    if (o.tensorboard) tb = new TensorBoardWriter(runDir);

    // Stop requests: finish the step, checkpoint, mark interrupted.
    let stopRequested: string | undefined;
    const requestStop = (why: string) => {
      stopRequested ??= why;
    };
    if (o.signal) {
      if (o.signal.aborted) requestStop('aborted');
      const onAbort = () => requestStop('aborted');
      o.signal.addEventListener('abort', onAbort);
      removeHandlers.push(() => o.signal?.removeEventListener('abort', onAbort));
    }
    if (o.handleSignals !== false) {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        const h = () => {
          if (stopRequested !== undefined) process.exit(130); // a second signal: stop now
          requestStop(sig);
        };
        process.on(sig, h);
        removeHandlers.push(() => process.off(sig, h));
      }
    }

    const startStep = step;
    const elapsedBefore = ckpt?.meta.elapsed_s ?? 0;
    const t0 = performance.now();
    const elapsed = () => elapsedBefore + (performance.now() - t0) / 1000;
    const logEvery = o.logEvery ?? Math.max(1, Math.min(100, Math.floor(o.steps / 20)));
    const progress = new Progress({ unit: 'step', total: o.steps - startStep, label: spec.arch, quiet: o.quiet, stream: o.progressStream });
    let last: TrainResult['last'];
    let fields: Record<string, string | number> = {};

    const checkHealth = async (): Promise<void> => {
      const bad = await engine!.firstNonFiniteStep();
      if (bad !== undefined) {
        const msg =
          `training diverged: the loss became NaN or infinite at step ${bad + 1} (lr ${lrAt(o, bad)}, ${spec.arch === 'sae' ? 'l1' : 'kl'} coefficient ${coeff}); ` +
          `the last good checkpoint is kept in ${path.join(runDir, RUN_FILES.latestCheckpoint)}. Lower --lr (or the coefficient), or use --normalize-activations expected-average, and train again`;
        setStatus('failed', msg);
        statusWritten = true;
        throw new VsaeError(msg);
      }
    };
    const checkpoint = async (): Promise<void> => {
      await checkHealth();
      const state = await engine!.exportState();
      if (Object.values(state.params).some((a) => nonFinite(a as Float32Array | undefined))) {
        const msg = `training diverged: the weights hold NaN or Inf at step ${step}; the last good checkpoint is kept in ${path.join(runDir, RUN_FILES.latestCheckpoint)}. Lower --lr and train again`;
        setStatus('failed', msg);
        statusWritten = true;
        throw new VsaeError(msg);
      }
      writeCheckpoint(
        runDir,
        {
          step,
          steps: o.steps,
          arch: spec.arch,
          d_in: dIn,
          d_sae: dSae,
          adam_t: state.t,
          rng: { shuffle: buffer.state().rng, noise: noiseRng.getState() },
          source: { ...rows.pos },
          buffer_rows: buffer.size,
          buffer_capacity: buffer.capacity,
          scale,
          elapsed_s: elapsed(),
          options: optionsRecord(o),
        },
        state,
        buffer.state(),
      );
      // The weights so far, for readers of a live run (the final ones replace them).
      writeWeights(runDir, spec, foldScale(state.params, scale), { format: 'pt', step: String(step) });
    };

    const xHost = new Float32Array(B * dIn);
    const epsHost = spec.arch === 'sae' ? undefined : new Float32Array(B * dSae);
    let status: TrainResult['status'] = 'complete';
    let message: string | undefined;
    while (step < o.steps) {
      if (stopRequested !== undefined) {
        status = 'interrupted';
        break;
      }
      const got = await buffer.draw(xHost, B);
      if (got < B) {
        status = 'input-ended';
        message = `stdin ran out after ${rows.pos.row} rows at step ${step} of ${o.steps}; the run stopped there (train on a file to pass over the data more than once)`;
        break;
      }
      const x = tf.tidy(() => {
        const t = tf.tensor2d(xHost, [B, dIn]);
        return (scale === 1 ? t : tf.mul(t, scale)) as tf.Tensor2D;
      });
      const eps = epsHost ? tf.tensor2d(noiseRng.fillNormalZiggurat(epsHost), [B, dSae]) : undefined;
      const lr = lrAt(o, step);
      const c = coeffAt(coeff, o.coeffWarmupSteps, step);
      const done = step + 1;
      const log = done % logEvery === 0 || done === o.steps;
      const mvec = engine.step(x, eps, lr, c, step, { metrics: log, deadWindow: o.deadWindow });
      eps?.dispose();
      step = done;
      if (o.resampleEvery > 0 && done % o.resampleEvery === 0 && done < o.steps) {
        const dead = await engine.deadLatents(o.deadWindow);
        if (dead.length > 0) await engine.resample(x, dead);
      }
      x.dispose();
      if (mvec) {
        const v = await mvec.data();
        mvec.dispose();
        await checkHealth();
        const m = Object.fromEntries(STEP_METRICS.map((k, i) => [k, v[i]!])) as StepMetrics;
        const row: Record<string, number> = {
          step: done,
          lr,
          loss: m.loss,
          recon: m.recon,
          [spec.arch === 'sae' ? 'l1' : 'kl']: m.sparsity,
          coeff: c,
          l0: m.l0,
          dead_frac: m.dead_frac,
          explained_variance: m.explained_variance,
          elapsed_s: elapsed(),
          skipped_rows: rows.pos.skipped,
        };
        metricsOut.append(row);
        if (tb) {
          for (const [k, val] of Object.entries(row)) if (k !== 'step') tb.addScalar(`train/${k}`, val, done);
          tb.flush();
        }
        o.onLog?.(row);
        last = { ...m, step: done };
        fields = { loss: m.loss, L0: m.l0, dead: `${(100 * m.dead_frac).toFixed(1)}%` };
      }
      progress.update(step - startStep, fields);
      if (o.checkpointEvery > 0 && done % o.checkpointEvery === 0 && done < o.steps) {
        await checkpoint();
        setStatus('running');
      }
      // Let signal handlers run between steps.
      await new Promise<void>((r) => setImmediate(r));
    }

    await checkpoint();
    const finalState = await engine.exportState();
    writeWeights(runDir, spec, foldScale(finalState.params, scale), { format: 'pt', step: String(step) });
    if (status === 'interrupted') {
      message = `interrupted (${stopRequested}) at step ${step} of ${o.steps}; checkpoint written — continue with --resume`;
      setStatus('interrupted', message);
    } else if (status === 'input-ended') {
      setStatus('complete', message);
    } else {
      setStatus('complete');
    }
    statusWritten = true;
    progress.finish(fields);
    return { status, runDir, step, steps: o.steps, last, message, elapsedS: elapsed(), backend: backend.name };
  } catch (e) {
    if (started && !statusWritten) {
      try {
        setStatus('failed', (e as Error).message.split('\n')[0]);
      } catch {
        // keep the original error
      }
    }
    throw e;
  } finally {
    for (const h of removeHandlers) h();
    metricsOut?.close();
    tb?.close();
    engine?.dispose();
    await source?.close();
    await ds.close();
  }
}
