/**
 * `analyze(options)`: the chosen analyses of a run over an activation dataset, written to
 * RUN/analysis/ (CONTRACTS.md §3). Each analysis is a module (src/analyses/) saying what it
 * needs from two shared passes over the rows; the passes read the data in batches, so memory
 * is set by --max-memory and d_sae, never by the dataset's size.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, Rng } from '@vsae/compute';
import { createDatasetWriter, InputError, openDataset, Progress, readRunConfig, RUN_FILES, runStatus, UsageError, type ActivationDataset, type RunConfig } from '@vsae/data';
import { ACTIVE_THRESHOLD, loadSae, type LoadedSae } from '@vsae/sae';
import { LatentStats } from './accumulators.js';
import { ANALYSIS_MODULES, type AnalysisContext, type Pass2Needs } from './analyses/index.js';
import { encoderDecoderCosine } from './similarity.js';
import { loadLanguageModel, type LanguageModel } from './lm.js';
import { ANALYZE_DEFAULTS, planMemory, resolveOptions, type ResolvedOptions } from './options.js';
import { AnalysisOutput, SUMMARY_FILE } from './output.js';
import { Interrupted, pass1, pass2 } from './passes.js';
import { selectRows } from './rows.js';
import { carriedSources, finiteFigures, readPrevious } from './summary.js';
import type { AnalysisName, AnalysisSummary, AnalyzeOptions, AnalyzeResult } from './types.js';

export async function analyze(options: AnalyzeOptions): Promise<AnalyzeResult> {
  const o = resolveOptions(options, path.join(options.run, RUN_FILES.analysis));
  const warnings: string[] = [];
  const note = (msg: string): void => {
    warnings.push(msg);
    if (!o.quiet) o.log.write(`vsae analyze: note: ${msg}\n`);
  };
  const has = (a: AnalysisName): boolean => o.analyses.includes(a);
  const params: Record<string, unknown> = {};
  const seconds: Record<string, number> = {};
  let mark = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    seconds[name] = Math.round(now - mark) / 1000;
    mark = now;
  };
  const stopIfAsked = (): void => {
    if (o.signal?.aborted) throw new Interrupted();
  };

  // The run: config first (cheap), then the dataset's width against it, then the weights.
  const cfg = readRunConfig(o.run);
  let ds = await openDataset(o.input, o.stdin ? { stdin: o.stdin } : {});
  let tmpDir: string | undefined;
  let sae: LoadedSae | undefined;
  let lm: LanguageModel | undefined;
  let output: AnalysisOutput | undefined;
  try {
    checkWidths(ds, cfg, o);
    let rows = 0;
    const meta = (): Record<string, string> => ({ 'vsae:arch': sae!.arch, 'vsae:d_in': String(sae!.dIn), 'vsae:d_sae': String(sae!.dSae), 'vsae:n_rows': String(rows), 'vsae:run': o.run });
    output = new AnalysisOutput(o.out, meta);
    const backend = await initBackend(o.backend);
    params.backend = backend.name;
    sae = await loadSae(o.run);
    const status = safeStatus(o.run);
    if (status) {
      params.run_status = status.status;
      params.run_step = status.step;
      if (status.status === 'running') note(`the run is still training (step ${status.step} of ${status.steps}); analysing the weights it last wrote`);
    }
    const { dIn, dSae, arch } = sae;
    const isVsae = sae.variational;
    if (ds.meta.hook && cfg.hook_name && ds.meta.hook !== cfg.hook_name && !/^toy/.test(cfg.hook_name)) {
      note(`the dataset's hook ${ds.meta.hook} differs from the run's ${cfg.hook_name}`);
    }
    const latents = checkLatents(o.latents, dSae);

    const readsRows = has('feature-sparsity') || has('reconstruction-quality') || has('neuron-activations') || (has('latent-space') && isVsae);
    const wantCe = has('reconstruction-quality') && o.model !== undefined;
    if (!ds.rewindable && (readsRows || wantCe)) {
      // stdin is read once: keep the rows in a temporary file for the passes (all of them for a random sample).
      tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-analyze-'));
      const limit = o.nSamples === 0 || o.sample === 'random' ? Infinity : o.nSamples + o.contextWindow;
      ds = await spool(ds, path.join(tmpDir, 'input.arrow'), limit);
    }
    const total = ds.numRows ?? 0;
    const selection = selectRows(total, o.nSamples, o.sample, o.seed);
    rows = selection.count;
    if (readsRows && rows === 0) throw new InputError(o.input, 'holds no rows; nothing to analyse');
    const plan = planMemory(o, dIn, dSae, LatentStats.bytes(dSae, o.topK, ANALYZE_DEFAULTS.reservoir));
    Object.assign(params, {
      input: o.input,
      dataset_rows: total,
      n_samples: o.nSamples,
      sample: o.sample,
      rows_analysed: rows,
      active_threshold: ACTIVE_THRESHOLD,
      max_memory_mb: o.maxMemoryMb,
      batch_rows: plan.batchRows,
      seed: o.seed,
      ...(latents ? { latents: Array.from(latents) } : {}),
    });
    if (readsRows && total > rows) {
      note(o.sample === 'random' ? `analysing a random sample of ${rows} of ${total} rows (seed ${o.seed}; --n-samples 0 for all)` : `analysing the first ${rows} of ${total} rows (--n-samples 0 for all, --sample random for a random sample)`);
    }

    const rng = new Rng(o.seed);
    const summary: Partial<AnalysisSummary> = {};
    let encDec: Float32Array | undefined;
    const ctx: AnalysisContext = {
      o,
      cfg,
      ds,
      sae,
      isVsae,
      plan,
      rng,
      rows,
      summary,
      params,
      note,
      has,
      latents,
      write: (table, columns) => output!.write(table, columns),
      encDec: () => (encDec ??= encoderDecoderCosine(sae!.weights.W_enc, sae!.weights.W_dec, dIn, dSae)),
      languageModel: () => (o.model === undefined ? undefined : (lm ??= loadLanguageModel(o.model))),
    };
    const modules = ANALYSIS_MODULES.filter((m) => has(m.name));
    const steps = modules.map((m) => m.start(ctx));

    // ---- pass 1: every analysed row encoded once ---------------------------------------
    const needs1 = steps.flatMap((s) => (s.pass1 ? [s.pass1] : []));
    const twoPasses = steps.some((s) => s.afterPass1);
    const p1 =
      needs1.length > 0
        ? await pass1({
            ds,
            sae,
            selection,
            skipBadRows: o.skipBadRows,
            batchRows: plan.batchRows,
            topK: o.topK,
            reservoir: ANALYZE_DEFAULTS.reservoir,
            rowCap: plan.rowTableCap,
            recon: needs1.some((n) => n.recon),
            variance: needs1.some((n) => n.variance),
            muRows: Math.max(0, ...needs1.map((n) => n.muRows ?? 0)),
            rng: rng.fork(),
            progress: new Progress({ unit: 'rows', total: rows, label: `analyze pass 1/${twoPasses ? 2 : 1}`, quiet: o.quiet, stream: o.log }),
            signal: o.signal,
          })
        : undefined;
    if (p1) {
      rows = ctx.rows = p1.rows;
      params.rows_analysed = rows;
      if (p1.skipped > 0) {
        params.skipped_rows = p1.skipped;
        note(`left out ${p1.skipped} of ${selection.count} rows holding NaN or Inf (the first is row ${p1.firstSkipped}); ${rows} rows analysed`);
      }
      if (rows === 0) throw new InputError(o.input, `every one of the ${selection.count} rows chosen holds NaN or Inf; nothing to analyse (vsae inspect counts them)`);
    }
    lap('pass1');

    // ---- pass 2: what needs pass 1's results (histogram ranges, examples' context) ----------
    const needs2: Pass2Needs = {};
    if (p1) for (const s of steps) Object.assign(needs2, s.afterPass1?.(p1));
    const p2 =
      p1 && twoPasses
        ? await pass2({
            ds,
            sae,
            selection,
            batchRows: plan.batchRows,
            hist: needs2.hist,
            coLatents: needs2.coLatents,
            context: needs2.context,
            progress: new Progress({ unit: 'rows', total: Math.max(selection.end, rows), label: 'analyze pass 2/2', quiet: o.quiet, stream: o.log }),
            signal: o.signal,
          })
        : undefined;
    lap('pass2');

    // ---- each analysis writes its tables and figures ----------------------------------------
    for (const [i, s] of steps.entries()) {
      stopIfAsked();
      await s.finish(p1, p2);
      lap(modules[i]!.name);
    }
    stopIfAsked();

    params.seconds = seconds;
    if (warnings.length) params.notes = [...warnings];
    const { clean, undefinedKeys } = finiteFigures(summary);
    if (undefinedKeys.length) params.undefined_values = undefinedKeys;
    const dict = { arch, d_in: dIn, d_sae: dSae };
    const sources = carriedSources(readPrevious(path.join(o.out, SUMMARY_FILE), dict), o.analyses, ANALYSIS_MODULES);
    const full: AnalysisSummary = {
      run: o.run,
      ...dict,
      n_rows: rows,
      ...clean,
      analyses: [...o.analyses],
      ...(Object.keys(sources).length ? { sources } : {}),
      created: new Date().toISOString(),
      parameters: { ...params, hook: cfg.hook_name },
    };
    const files = output.files;
    output.commit(o.analyses, full);
    output = undefined;
    return { summary: full, out: o.out, files: [...files, path.join(o.out, SUMMARY_FILE)], warnings };
  } finally {
    output?.discard();
    sae?.dispose();
    lm?.model.dispose();
    await ds.close().catch(() => undefined);
    if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

function checkWidths(ds: ActivationDataset, cfg: RunConfig, o: ResolvedOptions): void {
  if (ds.dIn !== cfg.d_in) {
    const trained = typeof cfg.vsae.dataset === 'string' ? ` (it was trained on ${cfg.vsae.dataset})` : '';
    throw new InputError(o.input, `has activations of width ${ds.dIn}, but the run ${o.run} takes width ${cfg.d_in}${trained}; analyse it with a dataset of the same hook and model`);
  }
}

/** --latents as a sorted, distinct list, each below d_sae. */
function checkLatents(latents: readonly number[] | undefined, dSae: number): Int32Array | undefined {
  if (latents === undefined || latents.length === 0) return undefined;
  const bad = latents.find((j) => j >= dSae);
  if (bad !== undefined) throw new UsageError(`--latents ${bad} is not a latent of this run: it has ${dSae} (0 to ${dSae - 1})`);
  return Int32Array.from(new Set(latents)).sort();
}

function safeStatus(dir: string) {
  try {
    return runStatus(dir);
  } catch {
    return undefined;
  }
}

/** Copies the first `limit` rows of a one-pass stream to a file, and opens that. */
async function spool(ds: ActivationDataset, file: string, limit: number): Promise<ActivationDataset> {
  const w = await createDatasetWriter(file, {
    meta: { ...ds.meta },
    ...(ds.nFeatures ? { nFeatures: ds.nFeatures } : {}),
    columns: { seq: ds.has.seq, pos: ds.has.pos, token: ds.has.token, features: ds.has.features },
  });
  let n = 0;
  for await (const b of ds.batches()) {
    const m = Math.min(b.numRows, limit - n);
    if (m <= 0) break;
    const d = ds.dIn;
    await w.write({
      numRows: m,
      act: b.act.subarray(0, m * d),
      ...(b.seq ? { seq: b.seq.subarray(0, m) } : {}),
      ...(b.pos ? { pos: b.pos.subarray(0, m) } : {}),
      ...(b.token ? { token: b.token.subarray(0, m) } : {}),
      ...(b.features && ds.nFeatures ? { features: b.features.subarray(0, m * ds.nFeatures) } : {}),
    });
    n += m;
    if (n >= limit) break;
  }
  await w.close();
  await ds.close();
  return openDataset(file);
}
