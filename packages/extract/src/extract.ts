/**
 * `extract`: runs a language model over a corpus and writes the activations of one or more
 * hooks (one dataset each, all from the same forward passes). Rows are the corpus's windows in
 * order — row r is window ⌊r / k⌋, position p0 + r mod k, with k rows per window — so a rerun
 * with `resume` knows exactly which rows its complete shards hold and continues after them, with
 * no duplicated or missing rows. Memory holds one batch of windows; it does not grow with
 * `maxTokens`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activeBackend, initBackend, readTensor } from '@vsae/compute';
import { EXTRACT_DEFAULTS, validateExtractOptions } from './options.js';
import { InputError, Progress, UsageError, VsaeError, acquireLock, createDatasetWriter, formatDuration } from '@vsae/data';
import type { DatasetWriter, DirLock } from '@vsae/data';
import { checkHooks, findWeights, getActName, hookWidth, loadModel, readModelConfig } from '@vsae/transformer';
import type { TextTokenizer, TransformerConfig } from '@vsae/transformer';
import { arrowSource, corpusSource } from './sources.js';
import type { CorpusFormat, TokenSource } from './sources.js';
import { windows } from './windows.js';

export interface ExtractOptions {
  /** Model directory (Hugging Face GPT-2, or TransformerLens GELU-1L). */
  model: string;
  /** TransformerLens hook names; or give `layer` and `actName` (get_act_name shorthand). */
  hooks?: string[];
  layer?: number;
  actName?: string;
  /** A corpus ('-' for stdin): plain text, JSONL with a `text` field, or Arrow, as `format` says or as detected. */
  text?: string;
  /** The format of `text` (default: detected from its first bytes; a .jsonl / .ndjson name is JSONL). */
  format?: CorpusFormat;
  /** Arrow file (or '-') with a `text` or a `tokens` List<Int32> column. */
  dataset?: string;
  /** tokenizer.json to use instead of the model directory's. */
  tokenizer?: string;
  /** Tokens per window (default 128). */
  context?: number;
  prependBos?: boolean;
  /** Write no rows for the BOS position (needs prependBos). */
  excludeBos?: boolean;
  /** Stop after this many rows (tokens) per hook. */
  maxTokens?: number;
  /** Windows per forward pass (default 8; lowered to fit `maxMemory`). */
  batchSize?: number;
  /**
   * Budget in bytes for the data extraction holds (the forward pass's activations for a batch and
   * the writers' staged rows; the model's weights are not counted): the batch size and the
   * writers' record-batch rows are chosen to fit it.
   */
  maxMemory?: number;
  /** Output: a file, '-' (Arrow stream on stdout), or a directory (sharded, or several hooks). */
  out: string;
  /** Write sharded directories with this many rows per shard. */
  shardRows?: number;
  /** Continue sharded outputs after their last complete shard. */
  resume?: boolean;
  /** Token put between documents: the tokenizer's EOS (default) or none. */
  docSeparator?: 'eos' | 'none';
  backend?: string;
  quiet?: boolean;
  /**
   * This process's share of the corpus when N processes split it: part `index` of `count` takes
   * windows index, index + count, index + 2·count, … (rows keep their global `seq`), so the
   * parts are disjoint and together hold every row of the single-process extraction.
   * `maxTokens` still counts rows of the whole extraction.
   */
  part?: { index: number; count: number };
  /** Stops cleanly after the current batch (complete shards kept, resumable). */
  signal?: AbortSignal;
  /** Where the Arrow stream goes for out '-' (default stdout). */
  stdout?: NodeJS.WritableStream;
}

export interface ExtractOutput {
  hook: string;
  path: string;
  dIn: number;
  /** Rows in the dataset (including rows kept from an earlier run). */
  rows: number;
  /** Rows kept from an earlier run (resume). */
  resumedRows: number;
}

export interface ExtractSummary {
  model: string;
  source: string;
  context: number;
  windows: number;
  /** Tokens run through the model in this call. */
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  outputs: ExtractOutput[];
  interrupted: boolean;
  backend: string;
}

/** The options that decide which rows are written, in the order written; a resume must match them. */
interface RowKey {
  model: string;
  hook: string;
  input: string;
  tokenizer: string | null;
  context: number;
  prependBos: boolean;
  excludeBos: boolean;
  docSeparator: string;
  /** "I/N" for one part of a split extraction (absent for a whole one). */
  part?: string;
}

function sourceName(cfg: TransformerConfig): string {
  if (cfg.family === 'gpt2') return 'gpt2';
  return cfg.nLayers === 1 && cfg.actFn === 'gelu' ? 'gelu-1l' : 'transformer-lens';
}

function resolveHooks(o: ExtractOptions, cfg: TransformerConfig): string[] {
  let hooks: string[];
  if (o.hooks && o.hooks.length > 0) {
    if (o.actName !== undefined) throw new UsageError('give either --hook or --layer with --act-name, not both');
    hooks = o.hooks;
  } else if (o.actName !== undefined) {
    hooks = [getActName(o.actName, o.layer ?? 0)];
  } else {
    throw new UsageError('name the activations to extract: --hook blocks.0.mlp.hook_post (several: comma-separated), or --layer 0 --act-name post');
  }
  if (new Set(hooks).size !== hooks.length) throw new UsageError(`a hook is named twice in ${hooks.join(',')}`);
  checkHooks(cfg, hooks);
  for (const h of hooks) {
    if (hookWidth(cfg, h) === undefined) {
      throw new VsaeError(`${h} is an attention map [batch, head, query, key], not one vector per token; extract hook_q, hook_k, hook_v or hook_z instead`);
    }
  }
  return hooks;
}

const isDirectory = (p: string): boolean => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** Locks what is written (a directory's `.lock`, or `.NAME.lock` beside a file) against a second writer. */
function lockOutput(o: ExtractOptions, hooks: string[]): DirLock | undefined {
  if (o.out === '-') return undefined;
  if (hooks.length > 1 || o.shardRows) return acquireLock(o.out, 'vsae extract');
  return acquireLock(path.dirname(o.out), 'vsae extract', { name: `.${path.basename(o.out)}.lock` });
}

/** Where each hook's dataset goes. */
function outputPaths(o: ExtractOptions, hooks: string[]): string[] {
  if (hooks.length === 1) return [o.out];
  if (o.out === '-') throw new UsageError('several hooks write several datasets: give -o a directory, not - (stdout)');
  // A name like acts.arrow would silently become a directory of datasets.
  if (/\.arrows?$/i.test(o.out) && !isDirectory(o.out)) throw new UsageError(`several hooks write one dataset each: give -o a directory, not ${o.out} (it would become a directory named like a file)`);
  return hooks.map((h) => path.join(o.out, o.shardRows ? h : `${h}.arrow`));
}

function checkResumable(file: string, key: RowKey): void {
  const json = path.join(file, '_dataset.json');
  if (!fs.existsSync(json)) return;
  let info: { metadata?: Record<string, string> };
  try {
    info = JSON.parse(fs.readFileSync(json, 'utf8')) as typeof info;
  } catch (e) {
    throw new InputError(json, `is not valid JSON (${(e as Error).message}); the dataset cannot be resumed`, { cause: e });
  }
  let old: { rows?: RowKey } | undefined;
  try {
    old = JSON.parse(info.metadata?.['vsae:config'] ?? 'null') as typeof old;
  } catch {
    old = undefined;
  }
  const prev = old?.rows;
  if (!prev) throw new VsaeError(`cannot resume ${file}: it was not written by vsae extract`);
  const diff = (Object.keys(key) as Array<keyof RowKey>).filter((k) => JSON.stringify(prev[k]) !== JSON.stringify(key[k]));
  if (diff.length) {
    throw new VsaeError(
      `cannot resume ${file}: it was made with different ${diff.map((k) => `${k} (${JSON.stringify(prev[k])} then, ${JSON.stringify(key[k])} now)`).join(', ')}; rerun with the same options or write elsewhere`,
    );
  }
}

/** The windows of one part: every count-th, from the index-th. */
async function* partWindows(all: AsyncIterable<Int32Array>, part: { index: number; count: number }): AsyncGenerator<Int32Array> {
  let s = 0;
  for await (const w of all) if (s++ % part.count === part.index) yield w;
}

/**
 * How many of a part's rows (in its own order) come before global row `limit`: the part's
 * complete windows before the window that `limit` falls in, plus that window's first rows when
 * it is the part's.
 */
export function localRowLimit(limit: number, perWindow: number, part: { index: number; count: number }): number {
  const g = Math.floor(limit / perWindow);
  const full = g > part.index ? Math.ceil((g - part.index) / part.count) : 0;
  return full * perWindow + (g % part.count === part.index ? limit - g * perWindow : 0);
}

function openSource(o: ExtractOptions, tok: TextTokenizer | undefined): Promise<TokenSource> | TokenSource {
  if (o.dataset !== undefined) return arrowSource(o.dataset, tok);
  return corpusSource(o.text!, o.format, tok);
}

/** Bytes of data one token of a window holds in the forward pass (activations of a layer, the attention maps, the captures). */
function bytesPerToken(cfg: TransformerConfig, context: number, widths: number[]): number {
  const { dModel: d, dMlp, nHeads: H, dHead: dh } = cfg;
  const layer = 8 * d + 3 * H * dh + 3 * dMlp + 3 * H * context;
  return 4 * (layer + 3 * widths.reduce((a, w) => a + w, 0));
}

/** Batch size and writer record-batch rows within `maxMemory` (half for each); defaults without a budget. */
export function memoryPlan(cfg: TransformerConfig, context: number, batchSize: number, widths: number[], maxMemory?: number): { batchSize: number; batchRows: number } {
  if (maxMemory === undefined) return { batchSize, batchRows: 8192 };
  const perWindow = bytesPerToken(cfg, context, widths) * context;
  const fit = Math.floor(maxMemory / 2 / perWindow);
  if (fit < 1) {
    throw new UsageError(`--max-memory ${formatBytes(maxMemory)} is too small for one window of ${context} tokens of this model (it needs about ${formatBytes(2 * perWindow)}); raise it or shorten --context`);
  }
  // The writer stages rows of every hook, and encoding a record batch copies it once more.
  const perRow = 2 * 4 * (widths.reduce((a, w) => a + w, 0) + 4);
  const batchRows = Math.max(16, Math.min(8192, Math.floor(maxMemory / 2 / perRow)));
  return { batchSize: Math.min(batchSize, fit), batchRows };
}

function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 2 ** 20 ? `${Math.round(n / 2 ** 20)} MiB` : `${Math.round(n / 1024)} KiB`;
}

export async function extract(o: ExtractOptions): Promise<ExtractSummary> {
  // --- options that need no model
  const context = o.context ?? EXTRACT_DEFAULTS.context;
  const batchSize = o.batchSize ?? EXTRACT_DEFAULTS.batchSize;
  validateExtractOptions({ ...o, context, batchSize });

  // --- model
  const cfg = readModelConfig(o.model);
  findWeights(o.model, cfg); // a directory without weights fails before anything else
  if (context > cfg.nCtx) throw new VsaeError(`--context ${context} is longer than the model's context of ${cfg.nCtx} tokens; use --context ${cfg.nCtx} or less`);
  const hooks = resolveHooks(o, cfg);
  const outs = outputPaths(o, hooks);
  // Creates the output directory (several hooks, sharded) or the file's; a second writer stops here.
  const lock = lockOutput(o, hooks);
  try {
    return await extractLocked(o, cfg, hooks, outs, context, batchSize);
  } finally {
    lock?.release();
  }
}

async function extractLocked(o: ExtractOptions, cfg: TransformerConfig, hooks: string[], outs: string[], context: number, batchSize: number): Promise<ExtractSummary> {
  const part = o.part ?? { index: 0, count: 1 };
  const backend = await initBackend(o.backend);
  const needTokenizer = o.text !== undefined || o.prependBos || (o.docSeparator ?? EXTRACT_DEFAULTS.docSeparator) === 'eos';
  const tokFile = o.tokenizer ?? path.join(o.model, 'tokenizer.json');
  if (o.text !== undefined && !fs.existsSync(tokFile)) {
    throw new InputError(o.model, `has no tokenizer.json${cfg.tokenizerName ? ` (this model uses ${cfg.tokenizerName}'s)` : ''}; put it in the model directory or pass --tokenizer FILE`);
  }
  const { model, tokenizer } = await loadModel(o.model, { tokenizer: needTokenizer && fs.existsSync(tokFile) ? tokFile : false, unembed: false });
  try {
    let bos: number | undefined;
    if (o.prependBos) {
      if (!tokenizer) throw new InputError(o.model, 'has no tokenizer.json to take the BOS token from; pass --tokenizer FILE');
      if (tokenizer.bos === undefined) throw new InputError(tokenizer.path, 'defines no BOS token (no bos_token in tokenizer_config.json and no <|endoftext|>); extract without --prepend-bos');
      bos = tokenizer.bos;
    }
    const separator = (o.docSeparator ?? EXTRACT_DEFAULTS.docSeparator) === 'eos' ? tokenizer?.eos : undefined;
    const source = await openSource(o, tokenizer);
    const p0 = o.excludeBos ? 1 : 0;
    const perWindow = context - p0;
    const key = (hook: string): RowKey => ({
      ...(part.count > 1 ? { part: `${part.index}/${part.count}` } : {}),
      model: o.model,
      hook,
      input: o.text ?? o.dataset!,
      tokenizer: tokenizer?.path ?? null,
      context,
      prependBos: Boolean(o.prependBos),
      excludeBos: Boolean(o.excludeBos),
      docSeparator: separator === undefined ? 'none' : 'eos',
    });

    // --- writers (resume: each output continues after its own complete shards)
    const writers: DatasetWriter[] = [];
    const widths = hooks.map((h) => hookWidth(cfg, h)!);
    const plan = memoryPlan(cfg, context, batchSize, widths, o.maxMemory);
    try {
      for (let i = 0; i < hooks.length; i++) {
        if (o.resume) checkResumable(outs[i]!, key(hooks[i]!));
        writers.push(
          await createDatasetWriter(outs[i]!, {
            meta: {
              source: sourceName(cfg),
              dIn: widths[i]!,
              model: o.model,
              hook: hooks[i]!,
              context,
              tokenizer: tokenizer?.path,
              bos,
              config: {
                rows: key(hooks[i]!),
                maxTokens: o.maxTokens ?? null,
                batchSize: plan.batchSize,
                maxMemory: o.maxMemory ?? null,
                backend: backend.name,
                source: source.kind,
                tool: 'vsae extract',
              },
            },
            columns: { seq: true, pos: true, token: true },
            batchRows: plan.batchRows,
            ...(o.shardRows ? { shardRows: o.shardRows } : {}),
            ...(o.resume ? { resume: true } : {}),
            ...(o.out === '-' && o.stdout ? { stdout: o.stdout } : {}),
          }),
        );
      }
    } catch (e) {
      for (const w of writers) await w.abort();
      throw e;
    }
    const start = writers.map((w) => w.rowsWritten);
    // Below, windows and rows are numbered within this part (local), so resume works as for a
    // whole extraction; `global` gives a local window's index in the whole corpus.
    const global = (win: number): number => win * part.count + part.index;
    const limit = o.maxTokens === undefined ? Infinity : localRowLimit(o.maxTokens, perWindow, part);
    const skip = Math.min(...start);
    const written = start.map(() => 0);
    const progress = new Progress({ unit: 'tokens', total: Number.isFinite(limit) ? limit : undefined, label: `extract ${hooks.length === 1 ? hooks[0] : `${hooks.length} hooks`}`, quiet: o.quiet ?? false });
    const t0 = performance.now();
    let tokensRun = 0;
    let windowsSeen = 0;
    let interrupted = false;
    let rowsDone = Math.min(skip, limit);

    const runBatch = async (batch: Int32Array[], firstSeq: number): Promise<void> => {
      const B = batch.length;
      const ids = new Int32Array(B * context);
      batch.forEach((w, b) => ids.set(w, b * context));
      for (let i = 0; i < ids.length; i++) {
        if (ids[i]! >= cfg.dVocab || ids[i]! < 0) {
          throw new InputError(source.path, `holds token id ${ids[i]} (window ${global(firstSeq + Math.floor(i / context))}), outside the model's vocabulary of ${cfg.dVocab}; the tokenizer or tokens do not belong to this model`);
        }
      }
      const { captures } = model.run(ids, { shape: [B, context], capture: hooks });
      tokensRun += B * context;
      try {
        for (let i = 0; i < hooks.length; i++) {
          // Asynchronous: a GPU backend cannot read back synchronously.
          const data = (await readTensor(captures.get(hooks[i]!)!)) as Float32Array;
          const w = widths[i]!;
          // Global rows of this batch: [firstSeq·k, (firstSeq+B)·k); write those ≥ this output's start and < limit.
          const from = Math.max(firstSeq * perWindow, start[i]!);
          const to = Math.min((firstSeq + B) * perWindow, limit);
          if (to <= from) continue;
          const n = to - from;
          const act = new Float32Array(n * w);
          const seq = new BigInt64Array(n);
          const pos = new Int32Array(n);
          const token = new Int32Array(n);
          for (let r = from; r < to; r++) {
            const win = Math.floor(r / perWindow);
            const p = p0 + (r % perWindow);
            const b = win - firstSeq;
            const j = r - from;
            act.set(data.subarray((b * context + p) * w, (b * context + p + 1) * w), j * w);
            seq[j] = BigInt(global(win));
            pos[j] = p;
            token[j] = ids[b * context + p]!;
          }
          await writers[i]!.write({ numRows: n, act, seq, pos, token });
          written[i]! += n;
        }
      } finally {
        for (const t of captures.values()) t.dispose();
      }
    };

    const fraction = (): Record<string, string | number> => {
      const f = source.fraction();
      if (o.maxTokens !== undefined || f === undefined || f <= 0) return {};
      const s = (performance.now() - t0) / 1000;
      return { input: `${(100 * f).toFixed(1)}%`, eta: formatDuration((s / f) * (1 - f)) };
    };

    try {
      const batch: Int32Array[] = [];
      let batchSeq = 0;
      let seq = 0;
      const firstNeeded = Math.floor(skip / perWindow);
      const lastNeeded = Number.isFinite(limit) ? Math.ceil(limit / perWindow) : Infinity; // exclusive
      for await (const w of partWindows(windows(source.pieces(), { context, bos, separator }), part)) {
        const s = seq++;
        if (s >= lastNeeded) break;
        windowsSeen = s + 1;
        if (s < firstNeeded) continue; // rows already in complete shards (resume)
        if (batch.length === 0) batchSeq = s;
        batch.push(w);
        if (batch.length === plan.batchSize) {
          await runBatch(batch, batchSeq);
          batch.length = 0;
          rowsDone = Math.min(windowsSeen * perWindow, limit);
          progress.update(rowsDone, fraction());
          if (o.signal?.aborted || writers.every((wr) => (wr as { downstreamClosed?: boolean }).downstreamClosed)) {
            interrupted = Boolean(o.signal?.aborted);
            break;
          }
        }
      }
      if (batch.length > 0 && !interrupted) {
        await runBatch(batch, batchSeq);
        rowsDone = Math.min(windowsSeen * perWindow, limit);
      }
      if (interrupted) {
        for (const wr of writers) await wr.abort();
      } else {
        if (written.every((r, i) => r + start[i]! === 0)) {
          throw new InputError(source.path, `holds ${windowsSeen === 0 ? 'fewer tokens than one window' : 'no rows to write'} of ${context}${o.prependBos ? ` (BOS + ${context - 1})` : ''} tokens; give more text or a shorter --context`);
        }
        for (const wr of writers) await wr.close();
      }
    } catch (e) {
      for (const wr of writers) await wr.abort();
      throw e;
    }
    const seconds = (performance.now() - t0) / 1000;
    progress.update(written.reduce((a, r) => Math.max(a, r), 0) + skip, {}, false);
    progress.finish({ windows: windowsSeen });
    return {
      model: o.model,
      source: source.path,
      context,
      windows: windowsSeen,
      tokens: tokensRun,
      seconds,
      tokensPerSecond: seconds > 0 ? tokensRun / seconds : 0,
      outputs: hooks.map((h, i) => ({ hook: h, path: outs[i]!, dIn: widths[i]!, rows: writers[i]!.rowsWritten, resumedRows: start[i]! })),
      interrupted,
      backend: activeBackend()?.name ?? backend.name,
    };
  } finally {
    model.dispose();
  }
}
