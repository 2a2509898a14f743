/**
 * `analyze(options)`: the five analyses of a run over an activation dataset, written to
 * RUN/analysis/ (CONTRACTS.md §3). Reads the data in batches (one or two passes), so memory is
 * set by --max-memory and d_sae, never by the dataset's size.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, Rng } from '@vsae/compute';
import {
  createDatasetWriter,
  InputError,
  openDataset,
  Progress,
  readJson,
  readRunConfig,
  readSafetensors,
  RUN_FILES,
  runStatus,
  writeJsonAtomic,
  type ActivationDataset,
  type RunConfig,
} from '@vsae/data';
import { ACTIVE_THRESHOLD, loadSae, type LoadedSae } from '@vsae/sae';
import { LatentStats } from './accumulators.js';
import { embed } from './embedding.js';
import { ceLossRecovered, checkModelHook, findTokenizer, loadLanguageModel, logitEffects, logitPath, readWindows, tokenText, type LanguageModel } from './lm.js';
import { ANALYZE_DEFAULTS, planMemory, resolveOptions, type ResolvedOptions } from './options.js';
import { pass1, pass2, type ContextRequest } from './passes.js';
import { bestMatches, decoderSimilarity, encoderDecoderCosine, mmcs, sampleCosines, transpose } from './similarity.js';
import { coactivationColumns, collectExamples, exampleColumns, exampleContext, featureColumns, reconstructionColumns, TableWriter } from './tables.js';
import type { AnalysisName, AnalysisSummary, AnalyzeOptions, AnalyzeResult } from './types.js';

/** Tables each analysis owns (removed when it reruns and they no longer apply). */
const OPTIONAL_TABLES = { ground: 'ground_truth.arrow', compare: 'compare.arrow', logits: 'logits.arrow' } as const;
/** Summary keys each analysis writes (a rerun replaces them, keeping the other analyses' keys). */
const SUMMARY_KEYS: Record<AnalysisName, string[]> = {
  'feature-sparsity': ['percent_dead_neurons', 'median_activation_frequency', 'l0'],
  'reconstruction-quality': ['mse_mean', 'mse_std', 'mse_median', 'cosine_sim_mean', 'cosine_sim_std', 'explained_variance', 'l0', 'l2_ratio', 'ce_loss_orig', 'ce_loss_sae', 'ce_loss_zero', 'ce_loss_recovered'],
  'dictionary-similarity': ['mean_cosine_sim', 'max_cosine_sim', 'mean_diagonal_alignment', 'mmcs', 'mmcs_represented', 'mmcs_a_to_b', 'mmcs_b_to_a'],
  'neuron-activations': ['mean_coactivation'],
  'latent-space': ['n_clusters'],
};

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

  // The run: config first (cheap), then the dataset's width against it, then the weights.
  const cfg = readRunConfig(o.run);
  let ds = await openDataset(o.input, o.stdin ? { stdin: o.stdin } : {});
  let tmpDir: string | undefined;
  let sae: LoadedSae | undefined;
  let lm: LanguageModel | undefined;
  try {
    checkWidths(ds, cfg, o);
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
    const isVsae = arch !== 'sae';
    const runHook = cfg.hook_name;
    if (ds.meta.hook && runHook && ds.meta.hook !== runHook && !/^toy/.test(runHook)) {
      note(`the dataset's hook ${ds.meta.hook} differs from the run's ${runHook}`);
    }

    const needPass1 = has('feature-sparsity') || has('reconstruction-quality') || has('neuron-activations') || (has('latent-space') && isVsae);
    const needPass2 = has('feature-sparsity') || has('neuron-activations');
    const wantCe = has('reconstruction-quality') && o.model !== undefined;
    if (!ds.rewindable && (needPass2 || wantCe)) {
      // stdin is read once: keep the analysed rows in a temporary file for the later passes.
      tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-analyze-'));
      ds = await spool(ds, path.join(tmpDir, 'input.arrow'), o.nSamples === 0 ? Infinity : o.nSamples + o.contextWindow);
    }
    const total = ds.numRows ?? 0;
    const rows = o.nSamples === 0 ? total : Math.min(o.nSamples, total);
    if (needPass1 && rows === 0) throw new InputError(o.input, 'holds no rows; nothing to analyse');
    const perLatent = LatentStats.bytes(dSae, o.topK, ANALYZE_DEFAULTS.reservoir);
    const plan = planMemory(o, dIn, dSae, perLatent);
    Object.assign(params, {
      input: o.input,
      dataset_rows: total,
      n_samples: o.nSamples,
      rows_analysed: rows,
      active_threshold: ACTIVE_THRESHOLD,
      max_memory_mb: o.maxMemoryMb,
      batch_rows: plan.batchRows,
      seed: o.seed,
    });
    if (o.nSamples !== 0 && total > rows) note(`analysing the first ${rows} of ${total} rows (--n-samples 0 for all)`);

    const rng = new Rng(o.seed);
    const out = new TableWriter(o.out, { 'vsae:arch': arch, 'vsae:d_in': String(dIn), 'vsae:d_sae': String(dSae), 'vsae:n_rows': String(rows), 'vsae:run': o.run });
    fs.mkdirSync(o.out, { recursive: true });
    const summary: Partial<AnalysisSummary> = {};

    // ---- pass 1 -------------------------------------------------------------------------
    const muRows = has('latent-space') && isVsae ? Math.min(plan.muRows, rows) : 0;
    const p1 = needPass1
      ? await pass1({
          ds,
          sae,
          rows,
          batchRows: plan.batchRows,
          topK: o.topK,
          reservoir: ANALYZE_DEFAULTS.reservoir,
          rowCap: plan.rowTableCap,
          recon: has('reconstruction-quality'),
          variance: has('feature-sparsity') && isVsae,
          muRows,
          rng: rng.fork(),
          progress: new Progress({ unit: 'rows', total: rows, label: `analyze pass 1/${needPass2 ? 2 : 1}`, quiet: o.quiet, stream: o.log }),
        })
      : undefined;
    lap('pass1');
    const lat = p1?.latents;
    let l0: number | undefined;
    if (lat) {
      l0 = lat.count.reduce((a, c) => a + c, 0) / rows;
    }

    // ---- pass 2: histograms, co-activation, token context ---------------------------------
    const bins = ANALYZE_DEFAULTS.histBins;
    let coLatents: Int32Array | undefined;
    let examples: ReturnType<typeof collectExamples> | undefined;
    const withContext = has('neuron-activations') && ds.has.token && o.contextWindow > 0;
    if (lat && has('neuron-activations')) {
      const byCount = [...lat.count.keys()].filter((j) => lat.count[j]! > 0).sort((a, b) => lat.count[b]! - lat.count[a]! || a - b);
      coLatents = Int32Array.from(byCount.slice(0, ANALYZE_DEFAULTS.coactivationLatents)).sort();
      examples = collectExamples(lat, o.quantiles, o.perQuantile);
    }
    const p2 =
      lat && needPass2
        ? await pass2({
            ds,
            sae,
            rows,
            batchRows: plan.batchRows,
            hist: has('feature-sparsity') ? { max: lat.max, bins } : undefined,
            coLatents,
            context: withContext && examples ? { requests: examples.map((e): ContextRequest => ({ latent: e.latent, row: e.row })), window: o.contextWindow } : undefined,
            progress: new Progress({ unit: 'rows', total: rows, label: 'analyze pass 2/2', quiet: o.quiet, stream: o.log }),
          })
        : undefined;

    lap('pass2');
    const encDec = has('feature-sparsity') || has('dictionary-similarity') ? encoderDecoderCosine(sae.weights.W_enc, sae.weights.W_dec, dIn, dSae) : undefined;

    // ---- feature sparsity ---------------------------------------------------------------
    if (has('feature-sparsity') && lat && p2?.hist && encDec) {
      const meanVar = p1.varSum ? Float32Array.from(p1.varSum, (v) => v / rows) : undefined;
      await out.write('features.arrow', featureColumns(lat, rows, p2.hist, bins, encDec, meanVar));
      const freq = Float64Array.from(lat.count, (c) => c / rows).sort();
      const dead = lat.count.filter((c) => c === 0).length;
      summary.percent_dead_neurons = (100 * dead) / dSae;
      summary.median_activation_frequency = dSae % 2 ? freq[(dSae - 1) / 2]! : (freq[dSae / 2 - 1]! + freq[dSae / 2]!) / 2;
      summary.l0 = l0!;
      params.histogram = { bins, over: '(0, max_act]' };
    }

    // ---- reconstruction quality ---------------------------------------------------------
    if (has('reconstruction-quality') && p1?.recon) {
      const r = p1.recon;
      const t = reconstructionColumns(r);
      await out.write('reconstruction.arrow', t.rows);
      await out.write('reconstruction_dims.arrow', t.dims);
      Object.assign(summary, r.summary(), { l0: l0! });
      params.reconstruction_rows_kept = r.kept;
      if (r.kept < r.n) note(`reconstruction.arrow holds the first ${r.kept} of ${r.n} analysed rows (memory budget); the means use every row, the median those kept`);
    }
    if (o.model !== undefined && (has('reconstruction-quality') || has('neuron-activations'))) {
      lm = loadLanguageModel(o.model);
    }
    if (wantCe && lm) {
      if (!ds.has.token || !ds.has.seq || !ds.has.pos) {
        note(`the dataset has no token/seq/pos columns, so the cross-entropy metrics were skipped`);
      } else {
        const hook = checkModelHook(lm, ds.meta.hook ?? runHook, o.input);
        const w = await readWindows(ds, o.ceWindows);
        if (w.windows === 0) {
          note('the dataset holds no complete token window, so the cross-entropy metrics were skipped');
        } else {
          const ce = await ceLossRecovered(lm, sae, hook, w.tokens, w.windows, w.length);
          summary.ce_loss_orig = ce.ce_loss_orig;
          summary.ce_loss_sae = ce.ce_loss_sae;
          summary.ce_loss_zero = ce.ce_loss_zero;
          summary.ce_loss_recovered = ce.ce_loss_recovered;
          params.ce = { windows: ce.windows, tokens_per_window: ce.length, hook, model: o.model };
        }
      }
    }

    lap('sparsity_reconstruction_ce');
    // ---- dictionary similarity ------------------------------------------------------------
    if (has('dictionary-similarity') && encDec) {
      const sim = await decoderSimilarity(sae.weights.W_dec, dSae, dIn, plan.blockRows, ANALYZE_DEFAULTS.similarPairs);
      await out.write('similarity.arrow', {
        latent_a: Int32Array.from(sim.pairs, (p) => p.a),
        latent_b: Int32Array.from(sim.pairs, (p) => p.b),
        cosine: Float32Array.from(sim.pairs, (p) => p.value),
      });
      const sample = sampleLatents(dSae, ANALYZE_DEFAULTS.similaritySample, rng.fork());
      const sc = sampleCosines(sae.weights.W_dec, dIn, sample);
      await out.write('similarity_sample.arrow', {
        latent_a: Int32Array.from(sc, (_, i) => sample[Math.floor(i / sample.length)]!),
        latent_b: Int32Array.from(sc, (_, i) => sample[i % sample.length]!),
        cosine: sc,
      });
      summary.mean_cosine_sim = sim.meanCos;
      summary.max_cosine_sim = sim.maxCos;
      summary.mean_diagonal_alignment = mean(encDec);
      params.similarity = { pairs_kept: sim.pairs.length, pairs_counted: sim.nPairs, block_rows: plan.blockRows, sample_latents: sample.length };

      const truth = groundTruth(ds, dIn, note);
      if (truth) {
        const m = await bestMatches(truth.features, truth.n, sae.weights.W_dec, dSae, dIn, plan.blockRows);
        await out.write(OPTIONAL_TABLES.ground, {
          feature: Int32Array.from({ length: truth.n }, (_, i) => i),
          best_latent: m.best,
          cosine: m.cosine,
          norm: Float32Array.from(m.norms),
          represented: { type: 'bool', values: Array.from(m.norms, (n) => n >= 0.5) },
        });
        summary.mmcs = mmcs(m);
        summary.mmcs_represented = mmcs(m, (i) => m.norms[i]! >= 0.5);
        params.ground_truth = { file: truth.file, features: truth.n, represented: Array.from(m.norms).filter((n) => n >= 0.5).length, zero_norm: Array.from(m.norms).filter((n) => n === 0).length };
      } else removeStale(o.out, OPTIONAL_TABLES.ground);

      if (o.compare !== undefined) {
        const other = readDecoder(o.compare, dIn);
        const ab = await bestMatches(sae.weights.W_dec, dSae, other.wDec, other.dSae, dIn, plan.blockRows);
        const ba = await bestMatches(other.wDec, other.dSae, sae.weights.W_dec, dSae, dIn, plan.blockRows);
        const n = dSae + other.dSae;
        await out.write(OPTIONAL_TABLES.compare, {
          direction: { type: 'utf8', values: Array.from({ length: n }, (_, i) => (i < dSae ? 'a_to_b' : 'b_to_a')) },
          latent: Int32Array.from({ length: n }, (_, i) => (i < dSae ? i : i - dSae)),
          best_latent: Int32Array.from({ length: n }, (_, i) => (i < dSae ? ab.best[i]! : ba.best[i - dSae]!)),
          cosine: Float32Array.from({ length: n }, (_, i) => (i < dSae ? ab.cosine[i]! : ba.cosine[i - dSae]!)),
        });
        summary.mmcs_a_to_b = mmcs(ab);
        summary.mmcs_b_to_a = mmcs(ba);
        params.compare = { run: o.compare, d_sae: other.dSae };
      } else removeStale(o.out, OPTIONAL_TABLES.compare);
    }

    lap('similarity');
    // ---- neuron activations ---------------------------------------------------------------
    if (has('neuron-activations') && lat && examples && coLatents) {
      let ctx;
      if (withContext && p2?.context) {
        const t = findTokenizer(ds, lm);
        if (t.note) note(t.note);
        const cache = new Map<number, string>();
        const decode = (id: number): string => {
          let s = cache.get(id);
          if (s === undefined) cache.set(id, (s = tokenText(t.tokenizer, id)));
          return s;
        };
        ctx = exampleContext(examples, p2.context, o.contextWindow, decode);
      }
      await out.write('top_examples.arrow', exampleColumns(examples, ctx));
      const co = coactivationColumns(coLatents, p2!.co!);
      await out.write('coactivation.arrow', co.columns);
      summary.mean_coactivation = co.meanJaccard;
      params.examples = { top_k: o.topK, quantiles: o.quantiles, per_quantile: o.perQuantile, reservoir: ANALYZE_DEFAULTS.reservoir, context_window: withContext ? o.contextWindow : 0, latents_with_examples: new Set(examples.map((e) => e.latent)).size };
      params.coactivation = { latents: coLatents.length, chosen_by: 'firing frequency', mean_coactivation: 'mean Jaccard index over distinct pairs' };
      if (lm) {
        const hook = ds.meta.hook ?? runHook ?? '';
        const via = logitPath(lm, hook, dIn);
        if (!via) {
          note(`logit effects need a hook of width d_model or an MLP hook_post; ${hook || 'this run\'s hook'} is neither, so logits.arrow was not written`);
          removeStale(o.out, OPTIONAL_TABLES.logits);
        } else {
          const k = ANALYZE_DEFAULTS.logitK;
          const le = await logitEffects(lm, sae.weights.W_dec, dSae, dIn, via, k, 0.2 * plan.budgetBytes);
          const rowsN = dSae * 2 * le.k;
          const cols = { latent: new Int32Array(rowsN), kind: [] as string[], rank: new Int32Array(rowsN), token: new Int32Array(rowsN), token_str: [] as string[], value: new Float32Array(rowsN) };
          let r = 0;
          for (let j = 0; j < dSae; j++) {
            for (const kind of ['top', 'bottom'] as const) {
              for (let q = 0; q < le.k; q++, r++) {
                const tok = kind === 'top' ? le.topTok[j * le.k + q]! : le.botTok[j * le.k + q]!;
                cols.latent[r] = j;
                cols.kind.push(kind);
                cols.rank[r] = q;
                cols.token[r] = tok;
                cols.token_str.push(tokenText(lm.tokenizer, tok));
                cols.value[r] = kind === 'top' ? le.topVal[j * le.k + q]! : le.botVal[j * le.k + q]!;
              }
            }
          }
          await out.write(OPTIONAL_TABLES.logits, { ...cols, kind: { type: 'utf8', values: cols.kind }, token_str: { type: 'utf8', values: cols.token_str } });
          params.logits = { k: le.k, through: via.wOut ? `W_out of ${hook} then W_U` : 'W_U' };
        }
      } else removeStale(o.out, OPTIONAL_TABLES.logits);
    }

    lap('examples_logits');
    // ---- latent space -----------------------------------------------------------------------
    if (has('latent-space')) {
      const ids = sampleLatents(dSae, Math.min(o.umapLatents, dSae), rng.fork());
      const dec = new Float32Array(ids.length * dIn);
      ids.forEach((l, i) => {
        const row = sae!.weights.W_dec.subarray(l * dIn, (l + 1) * dIn);
        let n = 0;
        for (const v of row) n += v * v;
        n = Math.sqrt(n);
        for (let k = 0; k < dIn; k++) dec[i * dIn + k] = n > 0 ? row[k]! / n : 0;
      });
      const e = embed(dec, ids.length, dIn, rng.fork(), { nEpochs: o.umapEpochs, minPts: ANALYZE_DEFAULTS.dbscanMinPts });
      const kinds: string[] = ids.map(() => 'decoder');
      const cat: { id: Int32Array; pcaX: Float32Array; pcaY: Float32Array; umapX: Float32Array; umapY: Float32Array; cluster: Int32Array } = { id: Int32Array.from(ids), pcaX: e.pcaX, pcaY: e.pcaY, umapX: e.umapX, umapY: e.umapY, cluster: e.cluster };
      params.embedding = { decoder: { latents: ids.length, of: dSae, directions: 'unit-norm decoder rows', ...e.params } };
      if (p1?.mu && p1.mu.n > 0) {
        const mu = p1.mu;
        const order = Int32Array.from({ length: mu.n }, (_, i) => i).sort((a, b) => mu.rows[a]! - mu.rows[b]!);
        const vals = new Float32Array(mu.n * dSae);
        order.forEach((s, i) => vals.set(mu.values.subarray(s * dSae, (s + 1) * dSae), i * dSae));
        const m = embed(vals, mu.n, dSae, rng.fork(), { nEpochs: o.umapEpochs, minPts: ANALYZE_DEFAULTS.dbscanMinPts });
        for (let i = 0; i < mu.n; i++) kinds.push('mu');
        cat.id = concatI(cat.id, Int32Array.from(order, (s) => mu.rows[s]!));
        cat.pcaX = concatF(cat.pcaX, m.pcaX);
        cat.pcaY = concatF(cat.pcaY, m.pcaY);
        cat.umapX = concatF(cat.umapX, m.umapX);
        cat.umapY = concatF(cat.umapY, m.umapY);
        cat.cluster = concatI(cat.cluster, m.cluster);
        (params.embedding as Record<string, unknown>).mu = { rows: mu.n, sampled: 'uniformly from the analysed rows (reservoir)', ...m.params };
      }
      await out.write('embedding.arrow', { kind: { type: 'utf8', values: kinds }, id: cat.id, pca_x: cat.pcaX, pca_y: cat.pcaY, umap_x: cat.umapX, umap_y: cat.umapY, cluster: cat.cluster });
      summary.n_clusters = (e.params.dbscan as { n_clusters: number }).n_clusters;
      if (dSae > ids.length) note(`the embedding shows ${ids.length} of ${dSae} latents (a random sample; --umap-latents to change)`);
    }

    lap('embedding');
    params.seconds = seconds;
    if (warnings.length) params.notes = [...warnings];
    const full = await writeSummary(o, cfg, sae, rows, summary, params);
    return { summary: full, out: o.out, files: [...out.files, path.join(o.out, 'summary.json')], warnings };
  } finally {
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

/** Toy ground truth (W [n_hidden, n_features]) as feature rows [n_features, n_hidden], when the dataset names one. */
function groundTruth(ds: ActivationDataset, dIn: number, note: (m: string) => void): { features: Float32Array; n: number; file: string } | undefined {
  const file = ds.meta.groundTruth;
  if (!file) return undefined;
  if (!fs.existsSync(file)) {
    note(`the dataset names the ground truth ${file}, which does not exist; MMCS was skipped`);
    return undefined;
  }
  const W = readSafetensors(file).getFloat32('W');
  const [h, n] = W.shape;
  if (W.shape.length !== 2 || h !== dIn || n === undefined) {
    note(`the ground truth ${file} has W of shape [${W.shape.join(', ')}], not [${dIn}, n_features]; MMCS was skipped`);
    return undefined;
  }
  return { features: transpose(W.data, h, n), n, file };
}

/** Decoder of the run given to --compare (its width must match). */
function readDecoder(dir: string, dIn: number): { wDec: Float32Array; dSae: number } {
  const cfg = readRunConfig(dir);
  if (cfg.d_in !== dIn) throw new InputError(dir, `takes width ${cfg.d_in}, but the run analysed takes ${dIn}; --compare needs two dictionaries over the same activations`);
  const file = path.join(dir, RUN_FILES.weights);
  if (!fs.existsSync(file)) throw new InputError(dir, 'has no sae_weights.safetensors yet; train it first (vsae train -o DIR)');
  const t = readSafetensors(file).getFloat32('W_dec');
  if (t.shape.length !== 2 || t.shape[0] !== cfg.d_sae || t.shape[1] !== dIn) throw new InputError(file, `W_dec has shape [${t.shape.join(', ')}], expected [${cfg.d_sae}, ${dIn}]`);
  return { wDec: t.data, dSae: cfg.d_sae };
}

/** `k` distinct latents (all when k ≥ n), ascending, chosen with the seeded generator. */
export function sampleLatents(n: number, k: number, rng: Rng): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  return Array.from(rng.permutation(n).slice(0, k)).sort((a, b) => a - b);
}

function removeStale(dir: string, name: string): void {
  fs.rmSync(path.join(dir, name), { force: true });
}

async function writeSummary(o: ResolvedOptions, cfg: RunConfig, sae: LoadedSae, rows: number, fresh: Partial<AnalysisSummary>, params: Record<string, unknown>): Promise<AnalysisSummary> {
  const file = path.join(o.out, 'summary.json');
  // Keep the keys of analyses not rerun this time (same dictionary only).
  let prev: Partial<AnalysisSummary> = {};
  try {
    const p = fs.existsSync(file) ? readJson<Partial<AnalysisSummary>>(file) : undefined;
    if (p && p.d_in === sae.dIn && p.d_sae === sae.dSae && p.arch === sae.arch) prev = p;
  } catch {
    /* a damaged summary is replaced */
  }
  const kept: Record<string, unknown> = {};
  const rerun = new Set(o.analyses.flatMap((a) => SUMMARY_KEYS[a]));
  for (const keys of Object.values(SUMMARY_KEYS)) {
    for (const k of keys) if (!rerun.has(k) && (prev as Record<string, unknown>)[k] !== undefined) kept[k] = (prev as Record<string, unknown>)[k];
  }
  const analyses = [...new Set([...(prev.analyses ?? []), ...o.analyses])];
  const clean = Object.fromEntries(Object.entries(fresh).filter(([, v]) => v !== undefined && !(typeof v === 'number' && !Number.isFinite(v))));
  const nanKeys = Object.entries(fresh).filter(([, v]) => typeof v === 'number' && !Number.isFinite(v)).map(([k]) => k);
  if (nanKeys.length) params.undefined_values = nanKeys;
  const summary: AnalysisSummary = {
    run: o.run,
    arch: sae.arch,
    d_in: sae.dIn,
    d_sae: sae.dSae,
    n_rows: rows,
    ...kept,
    ...clean,
    analyses: (['feature-sparsity', 'reconstruction-quality', 'dictionary-similarity', 'neuron-activations', 'latent-space'] as AnalysisName[]).filter((a) => analyses.includes(a)),
    created: new Date().toISOString(),
    parameters: { ...(prev.parameters ?? {}), ...params, hook: cfg.hook_name },
  };
  await writeJsonAtomic(file, summary);
  return summary;
}

const mean = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return a.length ? s / a.length : NaN;
};
const concatF = (a: Float32Array, b: Float32Array): Float32Array => {
  const o = new Float32Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
};
const concatI = (a: Int32Array, b: Int32Array): Int32Array => {
  const o = new Int32Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
};
