import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecordBatchStreamReader, tableFromIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ANALYSIS_LIST,
  ANALYSIS_NAMES,
  ANALYSIS_TABLES,
  analysisFile,
  InputError,
  MetricsWriter,
  listRuns,
  metricsColumns,
  readMetrics,
  readRunConfig,
  readTable,
  runStatus,
  writeJsonAtomic,
  writeRunStatus,
  writeTable,
  readJson,
  type MetricsRow,
} from '../src/index.js';
import { parseMetrics } from '../src/metrics.js';
import { tempDir } from './_helpers.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

describe('small tables', () => {
  const file = path.join(tmp.dir, 'features.arrow');
  const cols = {
    latent: Int32Array.from([0, 1, 2]),
    frequency: Float64Array.from([0.5, 0, 1e-9]),
    mean_act: { type: 'float32' as const, values: [1.5, null, 0.25] },
    row: { type: 'int64' as const, values: [1, 2n ** 40n, null] },
    dead: { type: 'bool' as const, values: [false, true, null] },
    kind: { type: 'utf8' as const, values: ['top', 'quantile', null] },
    hist_counts: { type: 'list<int32>' as const, values: [[1, 2, 3], [], null] },
    context_acts: { type: 'list<float32>' as const, values: [Float32Array.of(0.5, 0.25), null, [1]] },
    context_tokens: { type: 'list<utf8>' as const, values: [['a', ' b'], ['<|endoftext|>'], null] },
  };

  it('writes every column type with nulls and reads it back', async () => {
    await writeTable(file, cols, { 'vsae:analysis': 'features' });
    const t = readTable(file);
    expect(t.numRows).toBe(3);
    expect(t.metadata).toEqual({ 'vsae:analysis': 'features' });
    expect(t.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'latent:int32', 'frequency:float64', 'mean_act:float32', 'row:int64', 'dead:bool', 'kind:utf8',
      'hist_counts:list<int32>', 'context_acts:list<float32>', 'context_tokens:list<utf8>',
    ]);
    expect(t.column('latent')).toEqual([0, 1, 2]);
    expect(t.column('frequency')).toEqual([0.5, 0, 1e-9]);
    expect(t.column('mean_act')).toEqual([1.5, null, 0.25]);
    expect(t.column('row')).toEqual([1, 2 ** 40, null]);
    expect(t.column('dead')).toEqual([false, true, null]);
    expect(t.strings('kind')).toEqual(['top', 'quantile', null]);
    expect(t.column('hist_counts')).toEqual([[1, 2, 3], [], null]);
    expect(t.column('context_acts')).toEqual([[0.5, 0.25], null, [1]]);
    expect(t.column('context_tokens')).toEqual([['a', ' b'], ['<|endoftext|>'], null]);
    expect([...t.numbers('mean_act')]).toEqual([1.5, NaN, 0.25]);
    expect(t.rows()[1]).toMatchObject({ latent: 1, kind: 'quantile', dead: true });
    for (const f of t.fields) {
      const whole = t.column(f.name);
      for (let i = 0; i < t.numRows; i++) expect(t.cell(f.name, i), `${f.name}[${i}]`).toEqual(whole[i]);
    }
    expect(() => t.cell('latent', 3)).toThrow(/row 3 is outside the table's 3 rows/);
    expect(() => t.cell('cosine', 0)).toThrow(/has no column "cosine"/);
  });

  it('writes plain Utf8 (not dictionary) columns that apache-arrow reads with the same types', () => {
    const t = tableFromIPC(fs.readFileSync(file));
    expect(t.schema.fields.map((f) => String(f.type))).toEqual([
      'Int32', 'Float64', 'Float32', 'Int64', 'Bool', 'Utf8', 'List<Int32>', 'List<Float32>', 'List<Utf8>',
    ]);
  });

  it('explains what is wrong', async () => {
    await expect(writeTable(path.join(tmp.dir, 'x.arrow'), { a: Int32Array.of(1, 2), b: Float64Array.of(1) })).rejects.toThrow(/columns differ in length \(a: 2, b: 1\)/);
    expect(() => readTable(path.join(tmp.dir, 'absent.arrow'))).toThrow(/absent\.arrow: no such file/);
    fs.writeFileSync(path.join(tmp.dir, 'junk.arrow'), 'not arrow at all, just some text');
    expect(() => readTable(path.join(tmp.dir, 'junk.arrow'))).toThrow(InputError);
    expect(() => readTable(file).column('cosine')).toThrow(/features\.arrow: has no column "cosine" \(it has: latent, frequency/);
  });
});

const row = (step: number): MetricsRow => ({
  step, lr: 1e-3 / step, loss: 10 / step, recon: 5 / step, l1: 0.1 * step, coeff: 5, l0: step * 1.5,
  dead_frac: step === 3 ? NaN : 0.01, explained_variance: 1 - 1 / step, elapsed_s: step * 0.25, skipped_rows: step % 2,
});

describe('metrics.arrows', () => {
  const file = path.join(tmp.dir, 'metrics.arrows');
  const meta = { 'vsae:arch': 'sae', 'vsae:d_in': '20', 'vsae:d_sae': '40' };

  it('appends one record batch per step and reads the rows back', () => {
    const w = new MetricsWriter(file, { arch: 'sae', metadata: meta });
    for (let s = 1; s <= 5; s++) w.append(row(s));
    const live = readMetrics(file);
    expect(live.ended).toBe(false);
    expect(live.rows).toEqual([1, 2, 3, 4, 5].map(row));
    expect(live.columns).toEqual(metricsColumns('sae'));
    expect(live.metadata).toEqual(meta);
    w.close();
    const done = readMetrics(file);
    expect(done.ended).toBe(true);
    expect(done.rows.length).toBe(5);
    // apache-arrow reads it as one stream of 5 one-row batches.
    const batches = [...RecordBatchStreamReader.from(fs.readFileSync(file))];
    expect(batches.map((b) => b.numRows)).toEqual([1, 1, 1, 1, 1]);
    expect(batches[2]!.getChild('l0')!.get(0)).toBe(4.5);
  });

  it('returns only complete rows at every possible cut of a file being written', () => {
    const full = fs.readFileSync(file);
    const all = readMetrics(file).rows;
    const want = all.map((r) => JSON.stringify(r));
    const bad: string[] = [];
    let prev = 0;
    for (let k = 0; k <= full.length; k++) {
      // Same parser readMetrics runs on the file's bytes; a file per cut would only add disk time.
      const r = parseMetrics(new Uint8Array(full.subarray(0, k)), 'cut.arrows');
      const ok = r.rows.every((x, i) => JSON.stringify(x) === want[i]) && r.rows.length >= prev && r.nextByte <= k;
      if (!ok) bad.push(`cut at ${k}: ${r.rows.length} rows, nextByte ${r.nextByte}`);
      prev = r.rows.length;
    }
    expect(bad).toEqual([]);
    expect(prev).toBe(5);
  });

  it('follows a live file from the last offset', () => {
    const f = path.join(tmp.dir, 'live.arrows');
    const w = new MetricsWriter(f, { arch: 'vsae-iso', metadata: meta });
    const vrow = (s: number) => {
      const { l1, ...r } = row(s);
      return { ...r, kl: l1! };
    };
    let r = readMetrics(f);
    expect(r.rows).toEqual([]);
    expect(r.columns.map((c) => c.name)).toContain('kl');
    w.append(vrow(1));
    w.append(vrow(2));
    r = readMetrics(f, { fromByte: r.nextByte });
    expect(r.rows.map((x) => x.step)).toEqual([1, 2]);
    w.append(vrow(3));
    const r2 = readMetrics(f, { fromByte: r.nextByte });
    expect(r2.rows).toEqual([vrow(3)]);
    expect(readMetrics(f, { fromByte: r2.nextByte }).rows).toEqual([]);
    w.close();
    expect(readMetrics(f, { fromByte: r2.nextByte }).ended).toBe(true);
  });

  it('follows a long file by reading only what was appended', () => {
    const f = path.join(tmp.dir, 'long.arrows');
    const w = new MetricsWriter(f, { arch: 'sae', metadata: meta });
    for (let s = 1; s <= 400; s++) w.append(row(s));
    const first = readMetrics(f);
    expect(first.nextByte).toBeGreaterThan(1 << 16);
    expect(first.rows.map((x) => x.step)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    w.append(row(401));
    w.append(row(402));
    const next = readMetrics(f, { fromByte: first.nextByte });
    expect(next.rows).toEqual([row(401), row(402)]);
    expect(next.columns).toEqual(first.columns);
    expect(next.metadata).toEqual(meta);
    w.close();
    const last = readMetrics(f, { fromByte: next.nextByte });
    expect(last).toMatchObject({ rows: [], ended: true, nextByte: next.nextByte });
  });

  it('resumes by keeping rows up to a step, rewritten as one readable stream', () => {
    const f = path.join(tmp.dir, 'resume.arrows');
    const w = new MetricsWriter(f, { arch: 'sae', metadata: meta });
    for (let s = 1; s <= 10; s++) w.append(row(s));
    w.close();
    const w2 = new MetricsWriter(f, { arch: 'sae', metadata: meta, resumeAfterStep: 6 });
    expect(readMetrics(f).rows.map((x) => x.step)).toEqual([1, 2, 3, 4, 5, 6]);
    w2.append({ ...row(7), loss: 99 });
    w2.append(row(8));
    w2.close();
    const t = tableFromIPC(fs.readFileSync(f));
    expect([...t.getChild('step')!.toArray()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(t.getChild('loss')!.get(6)).toBe(99);
    expect(() => new MetricsWriter(f, { arch: 'vsae-mix', resumeAfterStep: 3 })).toThrow(/cannot resume .*resume\.arrows: its columns \(.*l1:float64.*\) differ from this run's \(.*kl:float64/);
  });

  it('refuses rows that lack a column or do not fit int32', () => {
    const w = new MetricsWriter(path.join(tmp.dir, 'bad.arrows'), { arch: 'sae' });
    const { l1: _drop, ...noL1 } = row(1);
    expect(() => w.append(noL1)).toThrow(/lacks a number for "l1"/);
    expect(() => w.append({ ...row(1), step: 1.5 })).toThrow(/"step" is int32 but got 1.5/);
    w.close();
    expect(() => readMetrics(path.join(tmp.dir, 'no.arrows'))).toThrow(/no\.arrows: no such file/);
  });
});

describe('run directories', () => {
  const runs = path.join(tmp.dir, 'runs');
  const cfg = {
    architecture: 'standard', d_in: 20, d_sae: 40, dtype: 'float32', device: 'cpu', hook_name: 'hidden', hook_layer: 0,
    model_name: 'toy', context_size: 1, prepend_bos: false, apply_b_dec_to_input: true, normalize_activations: 'none',
    activation_fn_str: 'relu', metadata: {}, vsae: { arch: 'vsae-iso', seed: 1, dataset: 'toy.arrow', version: '0.1.0', lr: 1e-3 },
  };

  it('reads cfg.json and _run.json, and lists runs (damaged ones with an error)', async () => {
    fs.mkdirSync(path.join(runs, 'b-iso'), { recursive: true });
    fs.mkdirSync(path.join(runs, 'a-bad'), { recursive: true });
    fs.mkdirSync(path.join(runs, 'not-a-run'), { recursive: true });
    await writeJsonAtomic(path.join(runs, 'b-iso', 'cfg.json'), cfg);
    fs.writeFileSync(path.join(runs, 'a-bad', 'cfg.json'), '{"d_in": 20, "d_sae": 0}');
    writeRunStatus(path.join(runs, 'b-iso'), { status: 'running', step: 10, steps: 100 });
    expect(readRunConfig(path.join(runs, 'b-iso'))).toEqual(cfg);
    const st = runStatus(path.join(runs, 'b-iso'))!;
    expect(st).toMatchObject({ status: 'running', step: 10, steps: 100 });
    expect(Date.parse(st.updated)).toBeGreaterThan(0);
    expect(runStatus(path.join(runs, 'a-bad'))).toBeUndefined();
    const list = listRuns(runs);
    expect(list.map((r) => r.name)).toEqual(['a-bad', 'b-iso']);
    expect(list[0]!.error).toMatch(/a-bad\/cfg\.json: has d_sae=0, expected a positive integer/);
    expect(list[1]!.config?.vsae.arch).toBe('vsae-iso');
    expect(listRuns(path.join(runs, 'b-iso')).map((r) => r.name)).toEqual(['b-iso']);
  });

  it('reads a plain SAELens cfg.json as a standard SAE and explains bad input', () => {
    const d = path.join(runs, 'saelens');
    fs.mkdirSync(d);
    const { vsae: _v, ...plain } = cfg;
    fs.writeFileSync(path.join(d, 'cfg.json'), JSON.stringify(plain));
    expect(readRunConfig(d).vsae).toEqual({ arch: 'sae' });
    expect(() => readRunConfig(path.join(runs, 'not-a-run'))).toThrow(/not-a-run: is not a run directory: it has no cfg\.json/);
    expect(() => readRunConfig(path.join(runs, 'nope'))).toThrow(/no such run directory/);
    // A SAELens TopK directory is read as a topk run with its k.
    fs.writeFileSync(path.join(d, 'cfg.json'), JSON.stringify({ ...plain, architecture: 'topk', k: 4 }));
    expect(readRunConfig(d).vsae).toEqual({ arch: 'topk', k: 4 });
    // Which names exist is the registry's (loadSae checks); here only that there is one.
    fs.writeFileSync(path.join(d, 'cfg.json'), JSON.stringify({ ...cfg, vsae: { arch: '' } }));
    expect(() => readRunConfig(d)).toThrow(/has vsae\.arch="", expected an architecture name/);
    fs.writeFileSync(path.join(d, '_run.json'), '{"status": "done"');
    expect(() => runStatus(d)).toThrow(/_run\.json: is not valid JSON/);
    expect(() => readJson(path.join(d, 'missing.json'))).toThrow(/missing\.json: no such file/);
  });
});

describe('the analysis tables list', () => {
  it('gives every table of CONTRACTS.md §3 to exactly one analysis, and names no other', () => {
    const contracts = fs.readFileSync(new URL('../CONTRACTS.md', import.meta.url), 'utf8');
    const s3 = contracts.slice(contracts.indexOf('## 3.'), contracts.indexOf('## 4.'));
    const documented = [...s3.matchAll(/^\| `([a-z_]+\.arrow)` \|/gm)].map((m) => m[1]);
    expect(Object.values(ANALYSIS_TABLES).sort()).toEqual([...documented].sort());
    const owned = ANALYSIS_LIST.flatMap((a) => a.tables);
    expect([...owned].sort()).toEqual(Object.keys(ANALYSIS_TABLES).sort());
    expect(ANALYSIS_NAMES).toEqual(['feature-sparsity', 'reconstruction-quality', 'dictionary-similarity', 'neuron-activations', 'latent-space']);
    expect(analysisFile('topExamples')).toBe(path.join('analysis', 'top_examples.arrow'));
  });
});
