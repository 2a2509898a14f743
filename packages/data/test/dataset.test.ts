import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import {
  Field,
  FixedSizeList,
  Float32,
  Float64,
  List,
  RecordBatchReader,
  Schema,
  Table,
  makeData,
  tableFromIPC,
  tableToIPC,
  RecordBatch,
  Struct,
} from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, createDatasetWriter, openDataset, type ActivationBatch, type ActivationDataset, type DatasetWriterOptions } from '../src/index.js';
import { expectAllClose, randomFloats, tempDir } from './_helpers.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

const D = 7;
const NF = 5;
const N = 1050;

/** Reference rows: act, features random; seq/pos/token derived from the row index. */
function rows(n = N, seed = 3) {
  const act = randomFloats(n * D, seed);
  const features = randomFloats(n * NF, seed + 100);
  const seq = BigInt64Array.from({ length: n }, (_, i) => BigInt(Math.floor(i / 10)) + 2n ** 40n);
  const pos = Int32Array.from({ length: n }, (_, i) => i % 10);
  const token = Int32Array.from({ length: n }, (_, i) => (i * 7919) % 50257);
  return { act, features, seq, pos, token };
}
const ALL = rows();

const META: DatasetWriterOptions['meta'] = {
  source: 'toy', dIn: D, model: 'toy-5-2', hook: 'hidden', context: 128, tokenizer: 'gpt2', bos: 50256,
  config: { n_features: NF, seed: 1 }, raw: { 'x:other': 'kept' },
};
const OPTS: DatasetWriterOptions = { meta: META, nFeatures: NF, columns: { seq: true, pos: true, token: true, features: true }, batchRows: 100 };

/** Writes `src` rows [0, n) in irregular chunks. */
async function writeRows(file: string, opts: DatasetWriterOptions, src = ALL, from = 0, to = N, chunks = [37, 300, 100, 713]) {
  const w = await createDatasetWriter(file, opts);
  let i = from;
  let c = 0;
  while (i < to) {
    const k = Math.min(chunks[c++ % chunks.length]!, to - i);
    await w.write({
      numRows: k,
      act: src.act.subarray(i * D, (i + k) * D),
      features: src.features.subarray(i * NF, (i + k) * NF),
      seq: src.seq.subarray(i, i + k),
      pos: src.pos.subarray(i, i + k),
      token: src.token.subarray(i, i + k),
    });
    i += k;
  }
  return w;
}

async function collect(ds: ActivationDataset, fromRow?: number) {
  const out: ActivationBatch[] = [];
  for await (const b of ds.batches(fromRow === undefined ? {} : { fromRow })) out.push(b);
  return out;
}

function concat(batches: ActivationBatch[], key: 'act' | 'features', width: number) {
  const out = new Float32Array(batches.reduce((a, b) => a + b.numRows, 0) * width);
  let at = 0;
  for (const b of batches) {
    out.set(b[key]!, at);
    at += b[key]!.length;
  }
  return out;
}

/** Checks batches hold exactly rows [from, N) of ALL, with contiguous offsets. */
function expectRows(batches: ActivationBatch[], from: number, to = N) {
  let next = from;
  for (const b of batches) {
    expect(b.offset).toBe(next);
    next += b.numRows;
  }
  expect(next).toBe(to);
  expectAllClose(concat(batches, 'act', D), ALL.act.subarray(from * D, to * D), {}, 'act');
  expectAllClose(concat(batches, 'features', NF), ALL.features.subarray(from * NF, to * NF), {}, 'features');
  expect(batches.flatMap((b) => [...b.seq!])).toEqual([...ALL.seq.subarray(from, to)]);
  expect(batches.flatMap((b) => [...b.pos!])).toEqual([...ALL.pos.subarray(from, to)]);
  expect(batches.flatMap((b) => [...b.token!])).toEqual([...ALL.token.subarray(from, to)]);
}

function expectMeta(ds: ActivationDataset, gtBase?: string) {
  expect(ds.dIn).toBe(D);
  expect(ds.nFeatures).toBe(NF);
  expect(ds.has).toEqual({ seq: true, pos: true, token: true, features: true });
  const { raw, ...meta } = ds.meta;
  expect(meta).toEqual({ source: 'toy', dIn: D, model: 'toy-5-2', hook: 'hidden', context: 128, tokenizer: 'gpt2', bos: 50256, config: { n_features: NF, seed: 1 }, groundTruth: gtBase });
  expect(raw['x:other']).toBe('kept');
  expect(raw['vsae:version']).toBe('1');
  expect(raw['vsae:d_in']).toBe(String(D));
}

describe('Arrow IPC file datasets', () => {
  const file = path.join(tmp.dir, 'acts.arrow');

  it('writes a file and reads every row back as it was written', async () => {
    const w = await writeRows(file, OPTS);
    expect(fs.existsSync(file)).toBe(false); // still under its temp name
    await w.close();
    expect(w.rowsWritten).toBe(N);
    expect(fs.readdirSync(tmp.dir).filter((f) => f.startsWith('.'))).toEqual([]);
    const ds = await openDataset(file);
    expect(ds.format).toBe('file');
    expect(ds.numRows).toBe(N);
    expect(ds.rewindable).toBe(true);
    expectMeta(ds);
    const batches = await collect(ds);
    expect(batches.map((b) => b.numRows)).toEqual([...Array(10).fill(100), 50]);
    expectRows(batches, 0);
    // A second pass reads the same rows again.
    expectRows(await collect(ds), 0);
  });

  it('gives columns as views over one body buffer per batch, not copies', async () => {
    const ds = await openDataset(file);
    for await (const b of ds.batches()) {
      expect(b.act.buffer).toBe(b.seq!.buffer);
      expect(b.act.buffer).toBe(b.features!.buffer);
      expect(b.act.byteOffset % 4).toBe(0);
      expect(b.act.buffer.byteLength).toBeGreaterThan(b.act.byteLength);
    }
  });

  it('is read the same by apache-arrow\'s own reader', () => {
    const t = tableFromIPC(fs.readFileSync(file));
    expect(t.numRows).toBe(N);
    expect(t.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      `act:FixedSizeList[${D}]<Float32>`, 'seq:Int64', 'pos:Int32', 'token:Int32', `features:FixedSizeList[${NF}]<Float32>`,
    ]);
    expect(t.schema.metadata.get('vsae:config')).toBe(JSON.stringify({ n_features: NF, seed: 1 }));
    const act = new Float32Array(N * D);
    for (let i = 0; i < N; i++) act.set(t.getChild('act')!.get(i)!.toArray() as Float32Array, i * D);
    expectAllClose(act, ALL.act, {}, 'act via apache-arrow');
    expect([...t.getChild('seq')!.toArray()]).toEqual([...ALL.seq]);
  });

  it('seeks with fromRow, skipping whole batches and slicing the first', async () => {
    const ds = await openDataset(file);
    for (const from of [0, 1, 99, 100, 537, 1049]) expectRows(await collect(ds, from), from);
    expect(await collect(ds, N)).toEqual([]);
    expect(await collect(ds, N + 500)).toEqual([]);
  });

  it('reads only the columns asked for and refuses absent ones', async () => {
    const ds = await openDataset(file);
    const got: ActivationBatch[] = [];
    for await (const b of ds.batches({ columns: ['act', 'token'] })) got.push(b);
    expect(got[0]!.seq).toBeUndefined();
    expect(got[0]!.features).toBeUndefined();
    expect(got.flatMap((b) => [...b.token!])).toEqual([...ALL.token]);
    expectAllClose(concat(got, 'act', D), ALL.act, {}, 'act');
    const f = path.join(tmp.dir, 'act-only.arrow');
    const w = await createDatasetWriter(f, { meta: META });
    await w.write({ numRows: 2, act: new Float32Array(2 * D) });
    await w.close();
    const only = await openDataset(f);
    await expect(collect({ batches: () => only.batches({ columns: ['seq'] }) } as ActivationDataset)).rejects.toThrow(/act-only\.arrow: has no "seq" column \(it has: act\)/);
  });

  it('stores ground truth relative to the dataset and resolves it back', async () => {
    const sub = path.join(tmp.dir, 'gt');
    fs.mkdirSync(sub);
    const f = path.join(sub, 'toy.arrow');
    const w = await createDatasetWriter(f, { meta: { ...META, groundTruth: path.join(sub, 'toy.truth.safetensors') }, columns: {} });
    await w.write({ numRows: 1, act: new Float32Array(D) });
    await w.close();
    const ds = await openDataset(f);
    expect(ds.meta.raw['vsae:ground_truth']).toBe('toy.truth.safetensors');
    expect(ds.meta.groundTruth).toBe(path.join(sub, 'toy.truth.safetensors'));
    expect(ds.has).toEqual({ seq: false, pos: false, token: false, features: false });
  });

  it('reads a file written by apache-arrow (an independent writer)', async () => {
    const n = 300;
    const act = randomFloats(n * 4, 9);
    const type = new FixedSizeList(4, new Field('item', new Float32()));
    const data = makeData({ type, length: n, nullCount: 0, child: makeData({ type: new Float32(), length: n * 4, data: act }) });
    const schema = new Schema([new Field('act', type)], new Map([['vsae:source', 'other']]));
    const table = new Table([new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children: [data] }))]);
    const f = path.join(tmp.dir, 'by-arrow.arrow');
    fs.writeFileSync(f, tableToIPC(table, 'file'));
    const ds = await openDataset(f);
    expect(ds.meta.source).toBe('other');
    const b = await collect(ds);
    expectAllClose(concat(b, 'act', 4), act, {}, 'act');
  });
});

describe('Arrow IPC streams', () => {
  it('writes a stream to stdout and reads it from stdin, once', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = await writeRows('-', { ...OPTS, stdout: out });
    await w.close();
    out.end();
    const bytes = Buffer.concat(chunks);
    // apache-arrow reads it as a stream.
    const t = tableFromIPC(bytes);
    expect(t.numRows).toBe(N);
    // Our reader, fed in small chunks so messages straddle chunk boundaries.
    const parts = Array.from({ length: Math.ceil(bytes.length / 777) }, (_, i) => bytes.subarray(i * 777, (i + 1) * 777));
    const ds = await openDataset('-', { stdin: Readable.from(parts) });
    expect(ds.format).toBe('stream');
    expect(ds.numRows).toBeUndefined();
    expect(ds.rewindable).toBe(false);
    expectMeta(ds);
    expectRows(await collect(ds), 0);
    await expect(collect(ds)).rejects.toThrow(/stdin can be read only once/);
    // fromRow on a stream reads and drops the rows before it.
    const ds2 = await openDataset('-', { stdin: Readable.from([bytes]) });
    expectRows(await collect(ds2, 421), 421);
    // A file holding a stream reads like a file, with row counts and seeking.
    const f = path.join(tmp.dir, 'acts.arrows');
    fs.writeFileSync(f, bytes);
    const ds3 = await openDataset(f);
    expect(ds3.format).toBe('stream');
    expect(ds3.numRows).toBe(N);
    expectRows(await collect(ds3, 250), 250);
  });

  it('reads a stream written by apache-arrow\'s RecordBatchStreamWriter', async () => {
    const type = new FixedSizeList(3, new Field('item', new Float32()));
    const act = randomFloats(30, 4);
    const table = new Table({ act: makeData({ type, length: 10, nullCount: 0, child: makeData({ type: new Float32(), length: 30, data: act }) }) } as never);
    const bytes = tableToIPC(table, 'stream');
    const ds = await openDataset('-', { stdin: Readable.from([Buffer.from(bytes)]) });
    expectAllClose(concat(await collect(ds), 'act', 3), act, {}, 'act');
    expect([...(await RecordBatchReader.from(bytes)).readAll()].length).toBe(1);
  });

  it('stops quietly when the reader of stdout goes away (| head)', () => {
    const dist = path.resolve(__dirname, '../dist/index.js');
    if (!fs.existsSync(dist)) throw new Error('build @vsae/data first (npx turbo run build --filter=@vsae/data)');
    const script = `
      import { createDatasetWriter } from ${JSON.stringify(dist)};
      const w = await createDatasetWriter('-', { meta: { source: 'toy', dIn: 64 }, batchRows: 256 });
      const act = new Float32Array(256 * 64).fill(1);
      let batches = 0;
      while (!w.downstreamClosed && batches < 100000) { await w.write({ numRows: 256, act }); batches++; }
      await w.close();
      process.stderr.write('stopped after ' + batches + ' batches\\n');
    `;
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `node --input-type=module -e "$S" | head -c 1000 > /dev/null`], {
      env: { ...process.env, S: script },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toMatch(/^stopped after \d+ batches\n$/);
    expect(Number(/after (\d+)/.exec(r.stderr)![1])).toBeLessThan(100000);
    expect(r.status).toBe(0);
  });
});

describe('sharded directories', () => {
  const SH: DatasetWriterOptions = { ...OPTS, shardRows: 250 };

  it('writes shards with _dataset.json complete only at the end and reads them back', async () => {
    const dir = path.join(tmp.dir, 'sharded');
    const w = await writeRows(dir, SH);
    const mid = JSON.parse(fs.readFileSync(path.join(dir, '_dataset.json'), 'utf8'));
    expect(mid.complete).toBe(false);
    expect(mid.shards.length).toBe(4);
    await w.close();
    const j = JSON.parse(fs.readFileSync(path.join(dir, '_dataset.json'), 'utf8'));
    expect(j).toMatchObject({ format: 'vsae-dataset', version: 1, complete: true, d_in: D, rows: N });
    expect(j.shards).toEqual([0, 1, 2, 3, 4].map((i) => ({ file: `part-0000${i}.arrow`, rows: i < 4 ? 250 : 50 })));
    expect(j.metadata['vsae:source']).toBe('toy');
    expect(fs.readdirSync(dir).sort()).toEqual(['_dataset.json', ...j.shards.map((s: { file: string }) => s.file)]);
    const ds = await openDataset(dir);
    expect(ds.format).toBe('sharded');
    expect(ds.numRows).toBe(N);
    expectMeta(ds);
    const batches = await collect(ds);
    expect(batches.map((b) => b.numRows)).toEqual([100, 100, 50, 100, 100, 50, 100, 100, 50, 100, 100, 50, 50]);
    expectRows(batches, 0);
    for (const from of [249, 250, 700, 1001]) expectRows(await collect(ds, from), from);
  });

  it('refuses to overwrite an existing dataset without resume', async () => {
    await expect(createDatasetWriter(path.join(tmp.dir, 'sharded'), SH)).rejects.toThrow(/already holds a dataset; delete it, write to another directory, or pass --resume/);
  });

  it('resumes after an interruption from the last complete shard', async () => {
    const dir = path.join(tmp.dir, 'resumed');
    const w = await writeRows(dir, SH, ALL, 0, 600);
    await w.abort(); // 2 shards closed (500 rows), 100 rows in a temp shard that is dropped
    expect(fs.readdirSync(dir).sort()).toEqual(['_dataset.json', 'part-00000.arrow', 'part-00001.arrow']);
    await expect(openDataset(dir)).rejects.toThrow(/incomplete dataset \(_dataset.json has complete: false\)/);
    const partial = await openDataset(dir, { allowIncomplete: true });
    expect(partial.numRows).toBe(500);
    // A crash after a shard was renamed but before _dataset.json was updated: the shard is adopted.
    const w2 = await writeRows(dir, { ...SH, resume: true }, ALL, 500, 750);
    await w2.abort();
    const j = JSON.parse(fs.readFileSync(path.join(dir, '_dataset.json'), 'utf8'));
    j.shards.pop();
    j.rows -= 250;
    fs.writeFileSync(path.join(dir, '_dataset.json'), JSON.stringify(j));
    fs.writeFileSync(path.join(dir, '.part-00003.arrow.tmp'), 'partial junk');
    const w3 = await createDatasetWriter(dir, { ...SH, resume: true });
    expect(w3.rowsWritten).toBe(750);
    await w3.abort();
    expect(fs.existsSync(path.join(dir, '.part-00003.arrow.tmp'))).toBe(false);
    const w4 = await writeRows(dir, { ...SH, resume: true }, ALL, 750, N);
    await w4.close();
    expect(w4.rowsWritten).toBe(N);
    const ds = await openDataset(dir);
    expectRows(await collect(ds), 0);
    await expect(createDatasetWriter(dir, { ...SH, resume: true })).rejects.toThrow(/already a complete dataset \(1050 rows\); nothing to resume/);
    await expect(createDatasetWriter(path.join(tmp.dir, 'resumed-other'), { ...SH, resume: true, meta: { ...META, dIn: 8 } })).resolves.toBeDefined();
  });

  it('refuses to resume with a different width', async () => {
    const dir = path.join(tmp.dir, 'narrow');
    const w = await writeRows(dir, SH, ALL, 0, 300);
    await w.abort();
    await expect(createDatasetWriter(dir, { ...SH, resume: true, meta: { ...META, dIn: 8 } })).rejects.toThrow(/holds d_in=7 activations but this run writes d_in=8/);
  });

  it('writes one empty shard for an empty dataset', async () => {
    const dir = path.join(tmp.dir, 'empty');
    const w = await createDatasetWriter(dir, SH);
    await w.close();
    const ds = await openDataset(dir);
    expect(ds.numRows).toBe(0);
    expect(await collect(ds)).toEqual([]);
  });

  it('reads a plain directory of Arrow files (no _dataset.json), skipping _ and . names', async () => {
    const dir = path.join(tmp.dir, 'plain');
    fs.mkdirSync(dir);
    const a = await writeRows(path.join(dir, 'a.arrow'), OPTS, ALL, 0, 400);
    await a.close();
    const b = await writeRows(path.join(dir, 'b.arrow'), OPTS, ALL, 400, N);
    await b.close();
    fs.writeFileSync(path.join(dir, '_ignored.arrow'), 'x');
    fs.writeFileSync(path.join(dir, '.hidden.arrow'), 'x');
    expectRows(await collect(await openDataset(dir)), 0);
  });
});

describe('errors that name the file and say what is wrong', () => {
  async function expectInputError(p: Promise<unknown>, re: RegExp) {
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toMatch(re);
  }
  const file = (name: string, data: Uint8Array | string) => {
    const f = path.join(tmp.dir, name);
    fs.writeFileSync(f, data);
    return f;
  };
  const tableFile = (name: string, fields: Record<string, import('apache-arrow').Data>, meta?: Map<string, string>) => {
    const t = new Table(fields as never);
    const t2 = meta ? new Table(new Schema(t.schema.fields, meta), t.batches) : t;
    return file(name, tableToIPC(t2, 'file'));
  };

  it('rejects a file that is not Arrow', async () => {
    const f = file('notes.arrow', 'hello, this is text and not arrow at all');
    await expectInputError(openDataset(f), new RegExp(`^${f}: is not an Arrow IPC file or stream`));
    await expectInputError(openDataset(file('x.parquet', 'PAR1\u0015\u0004 and then parquet pages')), /is a Parquet file, not Arrow IPC; convert it/);
  });

  it('rejects a truncated file', async () => {
    const good = fs.readFileSync(path.join(tmp.dir, 'acts.arrow'));
    await expectInputError(openDataset(file('cut.arrow', good.subarray(0, good.length - 100))), /is truncated: it has no Arrow footer at its end/);
    const stream = fs.readFileSync(path.join(tmp.dir, 'acts.arrows'));
    await expectInputError(openDataset(file('cut.arrows', stream.subarray(0, 5000))), /is truncated: it ends inside/);
    await expectInputError(collect(await openDataset('-', { stdin: Readable.from([stream.subarray(0, 5000)]) })), /^stdin: is truncated/);
  });

  it('rejects a missing file and empty stdin', async () => {
    await expectInputError(openDataset(path.join(tmp.dir, 'nope.arrow')), /nope\.arrow: cannot open it: no such file or directory/);
    await expectInputError(openDataset('-', { stdin: Readable.from([]) }), /^stdin: is empty: no Arrow stream arrived/);
    await expectInputError(openDataset('-', { stdin: Readable.from([fs.readFileSync(path.join(tmp.dir, 'acts.arrow'))]) }), /holds an Arrow IPC file, not a stream/);
  });

  it('rejects a dataset without act, or with act of the wrong type', async () => {
    const f64 = makeData({ type: new Float64(), length: 2, data: Float64Array.of(1, 2) });
    await expectInputError(openDataset(tableFile('noact.arrow', { x: f64 })), /has no "act" column \(its columns: x\)/);
    const listType = new List(new Field('item', new Float64()));
    const list = makeData({ type: listType, length: 1, valueOffsets: Int32Array.of(0, 2), child: f64 });
    await expectInputError(openDataset(tableFile('listact.arrow', { act: list })), /column "act" is List<Float64>, but it must be FixedSizeList<Float32>\[d_in\]/);
    const seq = makeData({ type: new Float64(), length: 1, data: Float64Array.of(1) });
    const act = makeData({ type: new FixedSizeList(2, new Field('item', new Float32())), length: 1, child: makeData({ type: new Float32(), length: 2, data: Float32Array.of(1, 2) }) });
    await expectInputError(openDataset(tableFile('badseq.arrow', { act, seq })), /column "seq" is Float64, but it must be Int64/);
    await expectInputError(openDataset(tableFile('dmismatch.arrow', { act }, new Map([['vsae:d_in', '3']]))), /says vsae:d_in=3 in its metadata but its act vectors have 2 values/);
    const nullable = makeData({ type: new FixedSizeList(2, new Field('item', new Float32())), length: 1, nullCount: 1, nullBitmap: Uint8Array.of(0), child: makeData({ type: new Float32(), length: 2, data: Float32Array.of(1, 2) }) });
    await expectInputError(collect(await openDataset(tableFile('nullact.arrow', { act: nullable }))), /column "act" has 1 null values/);
  });

  it('rejects a shard whose schema differs and a malformed or dangling _dataset.json', async () => {
    const dir = path.join(tmp.dir, 'mixed');
    fs.mkdirSync(dir);
    const a = await writeRows(path.join(dir, 'part-00000.arrow'), OPTS, ALL, 0, 10);
    await a.close();
    const b = await createDatasetWriter(path.join(dir, 'part-00001.arrow'), { meta: META });
    await b.write({ numRows: 1, act: new Float32Array(D) });
    await b.close();
    await expectInputError(openDataset(dir), /part-00001\.arrow: has columns \(act: FixedSizeList\[7\]<Float32>\) that differ from the first shard's/);
    const sh = path.join(tmp.dir, 'sharded');
    const json = path.join(sh, '_dataset.json');
    const good = fs.readFileSync(json, 'utf8');
    try {
      fs.writeFileSync(json, '{"format": "vsae-dataset", ');
      await expectInputError(openDataset(sh), /_dataset\.json: is not valid JSON/);
      fs.writeFileSync(json, good.replace('"rows": 1050', '"rows": 1000'));
      await expectInputError(openDataset(sh), /says rows=1000 but its shards hold 1050/);
      fs.writeFileSync(json, good.replace('part-00004.arrow', 'part-00009.arrow'));
      await expectInputError(openDataset(sh), /names shards that are missing: part-00009\.arrow/);
      fs.writeFileSync(json, good.replace('"rows": 50', '"rows": 60').replace('"rows": 1050', '"rows": 1060'));
      await expectInputError(openDataset(sh), /part-00004\.arrow: holds 50 rows but _dataset\.json says 60/);
    } finally {
      fs.writeFileSync(json, good);
    }
    const emptyDir = path.join(tmp.dir, 'nothing');
    fs.mkdirSync(emptyDir);
    await expectInputError(openDataset(emptyDir), /is a directory without _dataset\.json or \.arrow files/);
  });

  it('checks the rows a writer is given', async () => {
    const w = await createDatasetWriter(path.join(tmp.dir, 'w.arrow'), OPTS);
    await expect(w.write({ numRows: 2, act: new Float32Array(13) })).rejects.toThrow(/act has 13 values but 2 rows of d_in=7 need 14/);
    await expect(w.write({ numRows: 1, act: new Float32Array(7) })).rejects.toThrow(/has a seq column but the rows given lack it/);
    await w.abort();
    expect(fs.readdirSync(tmp.dir).filter((f) => f.startsWith('.w.arrow'))).toEqual([]);
  });
});
