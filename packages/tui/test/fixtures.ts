/**
 * Contract-conforming run directories for the tests (CONTRACTS.md §2–3), written through
 * @vsae/data until `vsae train` / `vsae analyze` make real ones: a toy-like SAE run with ground
 * truth (MMCS in its summary) and an LM-like VSAE run whose top examples carry decoded tokens,
 * one of them an escape sequence that would clear the screen if printed raw.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetricsWriter, writeJsonAtomicSync, writeRunStatus, writeTableSync } from '@vsae/data';
import type { MetricsRow } from '@vsae/data';

export const HOSTILE_TOKEN = '\x1b[2J';
/** A right-to-left override: would reverse the text after it. */
export const BIDI_TOKEN = 'ab\u202ecd';

export function tempRunsDir(prefix = 'vsae-tui-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The metrics row logged at `step` of a fixture run: smooth, known functions of the step. */
export function metricsRowAt(arch: string, step: number): MetricsRow {
  const loss = 2 / (1 + step / 50) + 0.05;
  const row: MetricsRow = {
    step,
    lr: 1e-3,
    loss,
    recon: loss * 0.7,
    coeff: 0.5,
    l0: 40 / (1 + step / 200) + 3,
    dead_frac: Math.min(0.5, step / 4000),
    explained_variance: 1 - 0.9 / (1 + step / 100),
    elapsed_s: step / 100,
    skipped_rows: 0,
  };
  // The architecture's loss terms: L1 (SAE), KL (VSAEs), AuxK (TopK models; vSAE-TopK also KL).
  const terms = arch === 'sae' ? ['l1'] : arch === 'topk' ? ['auxk'] : arch === 'vsae-topk' ? ['kl', 'auxk'] : ['kl'];
  for (const t of terms) row[t] = t === 'auxk' ? loss * 0.1 : (loss * 0.3) / 0.5;
  return row;
}

export interface FixtureRun {
  dir: string;
  name: string;
  arch: string;
  dIn: number;
  dSae: number;
  steps: number;
  logEvery: number;
}

export interface RunOptions {
  name: string;
  arch?: 'sae' | 'vsae-iso' | 'vsae-mix' | 'vsae-multi' | 'topk' | 'vsae-topk';
  dIn?: number;
  dSae?: number;
  /** Planned steps and steps already logged. */
  steps?: number;
  done?: number;
  logEvery?: number;
  status?: 'running' | 'complete' | 'interrupted' | 'failed';
  hook?: string;
  /** Leave the metrics writer open (a live run) and return it. */
  keepOpen?: boolean;
}

/** cfg.json, _run.json and metrics.arrows of a run (no analysis). */
export function writeRun(root: string, o: RunOptions): FixtureRun & { writer: MetricsWriter | undefined } {
  const arch = o.arch ?? 'sae';
  const dIn = o.dIn ?? 20;
  const dSae = o.dSae ?? 160;
  const steps = o.steps ?? 1000;
  const done = o.done ?? steps;
  const logEvery = o.logEvery ?? 50;
  const dir = path.join(root, o.name);
  fs.mkdirSync(dir, { recursive: true });
  writeJsonAtomicSync(path.join(dir, 'cfg.json'), {
    architecture: 'standard',
    d_in: dIn,
    d_sae: dSae,
    dtype: 'float32',
    device: 'cpu',
    hook_name: o.hook ?? 'toy',
    hook_layer: 0,
    model_name: o.hook ? 'gpt2' : 'toy',
    context_size: o.hook ? 128 : 1,
    prepend_bos: false,
    apply_b_dec_to_input: true,
    normalize_activations: 'none',
    activation_fn_str: 'relu',
    metadata: {},
    vsae: { arch, steps, seed: 42, dataset: 'toy.arrow', version: '0.1.0' },
  });
  // Columns in the trainer's order: step, lr, loss, recon, the terms, coeff, l0, dead_frac, …
  const sample = metricsRowAt(arch, 0);
  const terms = Object.keys(sample).filter((k) => ['l1', 'kl', 'auxk'].includes(k));
  const columns = ['step', 'lr', 'loss', 'recon', ...terms, 'coeff', 'l0', 'dead_frac', 'explained_variance', 'elapsed_s', 'skipped_rows'].map((name) => ({ name, type: name === 'step' || name === 'skipped_rows' ? ('int32' as const) : ('float64' as const) }));
  const writer = new MetricsWriter(path.join(dir, 'metrics.arrows'), { columns, arch, metadata: { 'vsae:arch': arch, 'vsae:d_in': String(dIn), 'vsae:d_sae': String(dSae) } });
  for (let s = logEvery; s <= done; s += logEvery) writer.append(metricsRowAt(arch, s));
  if (!o.keepOpen) writer.close();
  writeRunStatus(dir, { status: o.status ?? (done >= steps ? 'complete' : 'running'), step: done, steps });
  return { dir, name: o.name, arch, dIn, dSae, steps, logEvery, writer: o.keepOpen ? writer : undefined };
}

/** A deterministic activation histogram of latent `l`: 20 bins. */
export function histOf(l: number): number[] {
  return Array.from({ length: 20 }, (_, b) => ((l * 7 + b * 13) % 17) * (20 - b));
}

/** features.arrow and summary.json of a run; latents divisible by 5 are dead. */
export function writeFeatures(run: FixtureRun, summary: Record<string, unknown>): void {
  const n = run.dSae;
  const latent = Int32Array.from({ length: n }, (_, i) => i);
  const dead = Array.from({ length: n }, (_, i) => i % 5 === 0);
  const frequency = Float64Array.from({ length: n }, (_, i) => (dead[i] ? 0 : (i % 13) / 100 + 0.001));
  fs.mkdirSync(path.join(run.dir, 'analysis'), { recursive: true });
  writeTableSync(path.join(run.dir, 'analysis', 'features.arrow'), {
    latent,
    frequency,
    log10_density: Float64Array.from(frequency, (f) => Math.log10(f + 1e-10)),
    mean_act: Float32Array.from({ length: n }, (_, i) => (dead[i] ? NaN : 0.5 + i / 1000)),
    max_act: Float32Array.from({ length: n }, (_, i) => (dead[i] ? 0 : 1 + i / 100)),
    dead: { type: 'bool', values: dead },
    enc_dec_cos: Float32Array.from({ length: n }, (_, i) => 0.9 - i / 10000),
    hist_counts: { type: 'list<int32>', values: Array.from({ length: n }, (_, i) => histOf(i)) },
  });
  writeJsonAtomicSync(path.join(run.dir, 'analysis', 'summary.json'), {
    run: run.dir,
    arch: run.arch,
    d_in: run.dIn,
    d_sae: run.dSae,
    n_rows: 10000,
    percent_dead_neurons: 20,
    explained_variance: 0.93,
    l0: 7.5,
    mse_mean: 0.0123,
    cosine_sim_mean: 0.97,
    analyses: ['sparsity', 'reconstruction'],
    created: '2026-11-26T00:00:00Z',
    ...summary,
  });
}

/** Toy-like top examples: rows and activations, no tokens (3 top examples per alive latent). */
export function writeToyExamples(run: FixtureRun): void {
  const latent: number[] = [];
  const rank: number[] = [];
  const row: number[] = [];
  const act: number[] = [];
  for (let l = 0; l < run.dSae; l++) {
    if (l % 5 === 0) continue;
    for (let r = 0; r < 3; r++) {
      latent.push(l);
      rank.push(r);
      row.push(l * 100 + r);
      act.push(1 + l / 100 - r * 0.1);
    }
  }
  writeTableSync(path.join(run.dir, 'analysis', 'top_examples.arrow'), {
    latent: Int32Array.from(latent),
    kind: { type: 'utf8', values: latent.map(() => 'top') },
    rank: Int32Array.from(rank),
    quantile: { type: 'float32', values: latent.map(() => null) },
    row: { type: 'int64', values: row },
    activation: Float32Array.from(act),
    seq: { type: 'int64', values: row.map((r) => Math.floor(r / 7)) },
  });
}

/** The context tokens of the LM-like fixture for latent `l`, example `r`. */
export function contextOf(l: number, r: number): { tokens: string[]; acts: number[]; index: number } {
  const words = [' the', ' cat', ' sat', ' on', ' the', ' mat', '.', '\n', ' It', ' was', ' happy'];
  const tokens = words.map((w, i) => (i === 4 && r === 0 && l === 1 ? HOSTILE_TOKEN : i === 6 && r === 1 && l === 1 ? BIDI_TOKEN : w));
  const index = (l + r) % words.length;
  const acts = tokens.map((_, i) => (i === index ? 2 + l / 100 : Math.max(0, 1 - Math.abs(i - index) * 0.3)));
  return { tokens, acts, index };
}

/** LM-like top examples with decoded context tokens (2 top + 1 quantile example per alive latent). */
export function writeLmExamples(run: FixtureRun): void {
  const cols = { latent: [] as number[], kind: [] as string[], rank: [] as number[], quantile: [] as (number | null)[], row: [] as number[], activation: [] as number[], seq: [] as number[], pos: [] as number[], token: [] as number[], context_tokens: [] as string[][], context_acts: [] as number[][], context_index: [] as number[] };
  for (let l = 0; l < run.dSae; l++) {
    if (l % 5 === 0) continue;
    for (let r = 0; r < 3; r++) {
      const c = contextOf(l, r);
      cols.latent.push(l);
      cols.kind.push(r < 2 ? 'top' : 'quantile');
      cols.rank.push(r < 2 ? r : 0);
      cols.quantile.push(r < 2 ? null : 0.5);
      cols.row.push(l * 1000 + r);
      cols.activation.push(c.acts[c.index]!);
      cols.seq.push(l);
      cols.pos.push(c.index);
      cols.token.push(1000 + l);
      cols.context_tokens.push(c.tokens);
      cols.context_acts.push(c.acts);
      cols.context_index.push(c.index);
    }
  }
  writeTableSync(path.join(run.dir, 'analysis', 'top_examples.arrow'), {
    latent: Int32Array.from(cols.latent),
    kind: { type: 'utf8', values: cols.kind },
    rank: Int32Array.from(cols.rank),
    quantile: { type: 'float32', values: cols.quantile },
    row: { type: 'int64', values: cols.row },
    activation: Float32Array.from(cols.activation),
    seq: { type: 'int64', values: cols.seq },
    pos: Int32Array.from(cols.pos),
    token: Int32Array.from(cols.token),
    context_tokens: { type: 'list<utf8>', values: cols.context_tokens },
    context_acts: { type: 'list<float32>', values: cols.context_acts },
    context_index: Int32Array.from(cols.context_index),
  });
}

/** The standard fixture: a complete toy SAE with analysis, an LM VSAE with tokens, a running SAE. */
export function writeFixtureRuns(root: string): { toy: FixtureRun; lm: FixtureRun; live: FixtureRun & { writer: MetricsWriter | undefined } } {
  const toy = writeRun(root, { name: 'toy-sae', arch: 'sae', steps: 1000, logEvery: 50 });
  writeFeatures(toy, { mmcs: 0.912, mmcs_represented: 0.95 });
  writeToyExamples(toy);
  const lm = writeRun(root, { name: 'gpt2-vsae', arch: 'vsae-iso', dIn: 64, dSae: 128, steps: 2000, logEvery: 100, hook: 'blocks.0.mlp.hook_post' });
  writeFeatures(lm, {});
  writeLmExamples(lm);
  const live = writeRun(root, { name: 'live-sae', arch: 'sae', steps: 5000, done: 200, logEvery: 50, status: 'running', keepOpen: true });
  return { toy, lm, live };
}

