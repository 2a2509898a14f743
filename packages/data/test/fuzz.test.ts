/**
 * Hostile inputs (docs/reliability.md): property-based fuzzing (fast-check) of every reader of @vsae/data —
 * the Arrow IPC file, the Arrow stream (a file and stdin), sharded directories and their
 * `_dataset.json`, safetensors, metrics.arrows, small tables, a run's cfg.json/_run.json, and
 * checkArrowIpc guarding apache-arrow's own reader (as vsae extract reads an Arrow corpus).
 * Truncations at every message/footer boundary, bit flips, and lying size/count/offset fields
 * (found by scanning the metadata for size-like values) or lying JSON fields.
 *
 * Every case must end in a complete, self-consistent read or a one-line InputError. The
 * readers run in a child process (fuzz-worker.mjs, over dist/) so that a hang is caught by a
 * per-case deadline (the child is killed), a header-claimed allocation by an allocation guard
 * (any request over 64 MiB throws in the child; the fixtures are a few KB) and a header-claimed
 * number of JS objects by the child's 128 MB heap (--max-old-space-size).
 *
 * Sizes: VSAE_FUZZ_RUNS cases per property (100 by default, 3000 under VSAE_STRESS); every
 * byte is a truncation point under VSAE_STRESS. VSAE_FUZZ_SEED replays a run (printed below).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ByteBuffer } from 'flatbuffers';
import { Field as ArrowField, FixedSizeList, Float32, Message, Schema, tableFromArrays, tableToIPC } from 'apache-arrow';
import { BufferRegion, FieldNode, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { Footer as FbFooter } from 'apache-arrow/fb/footer';
import { Message as FbMessage } from 'apache-arrow/fb/message';
import { RecordBatch as FbRecordBatch } from 'apache-arrow/fb/record-batch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatasetWriter, MetricsWriter, serializeSafetensors, writeTableSync } from '../src/index.js';
import { EOS, encodeSchemaMessage, frame, parsePrefix } from '../src/_ipc.js';
import { randomFloats, tempDir } from './_helpers.js';

const STRESS = Boolean(process.env.VSAE_STRESS);
const RUNS = Number(process.env.VSAE_FUZZ_RUNS ?? (STRESS ? 3000 : 100));
const SEED = Number(process.env.VSAE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASE_MS = Number(process.env.VSAE_FUZZ_CASE_MS ?? 10_000);
const built = fs.existsSync(new URL('../dist/index.js', import.meta.url));
if (!built) console.log('fuzz.test.ts: skipped, build @vsae/data first (npx turbo run build --filter=@vsae/data)');
else console.log(`fuzz.test.ts: ${RUNS} cases per property, seed ${SEED} (replay with VSAE_FUZZ_SEED=${SEED})`);

const tmp = tempDir('vsae-fuzz-');
afterAll(tmp.cleanup);
const counts: Record<string, { cases: number; reads: number; errors: number }> = {};
afterAll(() => {
  if (Object.keys(counts).length) console.log(`fuzz.test.ts: cases per reader ${JSON.stringify(counts)}`);
});

// --- the worker and the verdict ---------------------------------------------------------------

type Reader = 'dataset' | 'stdin' | 'sharded' | 'inspect' | 'safetensors' | 'metrics' | 'table' | 'run' | 'ipc';
type Outcome =
  | { ok: true; result: Record<string, unknown>; grew: number }
  | { ok: false; name: string; inputError: boolean; message: string; stack: string; grew: number }
  | { timeout: true }
  | { crashed: string };

class Harness {
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private seq = 0;

  private start(): Promise<void> {
    const child = fork(fileURLToPath(new URL('./fuzz-worker.mjs', import.meta.url)), [], {
      execArgv: ['--max-old-space-size=128', '--max-semi-space-size=8'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    child.stderr!.resume(); // an out-of-memory report goes there; the exit says enough
    this.child = child;
    this.ready = new Promise((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', reject);
    });
    return this.ready;
  }

  async run(reader: Reader, file: string): Promise<Outcome> {
    if (!this.child) await this.start();
    else await this.ready;
    const child = this.child!;
    const id = ++this.seq;
    return new Promise<Outcome>((resolve) => {
      const done = (o: Outcome, restart: boolean) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (restart) {
          child.kill('SIGKILL');
          this.child = undefined;
        }
        resolve(o);
      };
      const onMessage = (m: { id: number } & Outcome) => {
        if (m.id === id) done(m, false);
      };
      const onExit = (code: number | null, signal: string | null) => done({ crashed: `the reader's process ended (${signal ?? `exit ${code}`}; out of its 128 MB heap?)` }, true);
      const timer = setTimeout(() => done({ timeout: true }, true), CASE_MS);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ id, reader, file });
    });
  }

  stop(): void {
    this.child?.kill('SIGKILL');
  }
}

const harness = new Harness();
afterAll(() => harness.stop());

/** Runs one case and throws (with what was fed) unless it read cleanly or failed with a one-line InputError. */
async function expectReadOrInputError(reader: Reader, file: string, what: string): Promise<void> {
  const o = await harness.run(reader, file);
  const c = (counts[reader] ??= { cases: 0, reads: 0, errors: 0 });
  c.cases++;
  const fed = `${reader} reader on ${what}`;
  if ('timeout' in o) throw new Error(`${fed}: no answer within ${CASE_MS} ms (a hang)`);
  if ('crashed' in o) throw new Error(`${fed}: ${o.crashed} — e.g. it built what a header claimed`);
  if (o.grew > 64 * 2 ** 20) throw new Error(`${fed}: ${o.grew} bytes of buffers were left allocated`);
  if (o.ok) {
    c.reads++;
    return;
  }
  if (o.name === 'AllocationRefused') throw new Error(`${fed}: tried to allocate what a header claims: ${o.message}\n${o.stack}`);
  if (!o.inputError) throw new Error(`${fed}: threw ${o.name}, not an InputError: ${o.message}\n${o.stack}`);
  if (o.message.includes('\n')) throw new Error(`${fed}: the message is not one line: ${o.message}`);
  c.errors++;
}

// --- mutations --------------------------------------------------------------------------------

/** A place where a size, count, offset or length sits, and its value. */
interface Field {
  at: number;
  width: 4 | 8;
  value: number;
}

type ByteMutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; bits: Array<[number, number]> }
  | { kind: 'lie'; field: Field; value: bigint };

function applyBytes(bytes: Uint8Array, m: ByteMutation): Uint8Array {
  if (m.kind === 'truncate') return bytes.slice(0, m.at);
  const out = bytes.slice();
  if (m.kind === 'flip') {
    for (const [i, bit] of m.bits) out[i]! ^= 1 << bit;
    return out;
  }
  const dv = new DataView(out.buffer);
  if (m.field.width === 4) dv.setInt32(m.field.at, Number(BigInt.asIntN(32, m.value)), true);
  else dv.setBigInt64(m.field.at, BigInt.asIntN(64, m.value), true);
  return out;
}

/** Values a lying field may take: off by one, doubled, zero, negative, gigabytes and beyond. */
function lies(f: Field): bigint[] {
  const v = BigInt(f.value);
  const common = [0n, -1n, v - 1n, v + 1n, v + 8n, 2n * v, v * 1000n, 0x7fffffffn, -0x80000000n, 0x10000000n, 0xffffn];
  return f.width === 4 ? common : [...common, 1n << 31n, 1n << 40n, 1n << 53n, 1n << 62n, -(1n << 40n)];
}

const byteMutation = (bytes: Uint8Array, fields: Field[]): fc.Arbitrary<ByteMutation> =>
  fc.oneof(
    fc.record({ kind: fc.constant('truncate' as const), at: fc.integer({ min: 0, max: bytes.length - 1 }) }),
    fc.record({ kind: fc.constant('flip' as const), bits: fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.nat({ max: 7 })), { minLength: 1, maxLength: 8 }) }),
    fc.constantFrom(...fields).chain((field) => fc.record({ kind: fc.constant('lie' as const), field: fc.constant(field), value: fc.constantFrom(...lies(field)) })),
  );

/** JSON for case descriptions (bigints as numbers' text). */
const show = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)).slice(0, 200);

const describeMutation = (m: ByteMutation): string =>
  m.kind === 'truncate' ? `cut at byte ${m.at}` : m.kind === 'flip' ? `bits flipped ${JSON.stringify(m.bits)}` : `int${m.field.width * 8} at byte ${m.field.at} (${m.field.value}) set to ${m.value}`;

/**
 * Message boundaries and size-like fields of an Arrow IPC file or stream: every framing
 * offset (prefix, flatbuffer end, body end, EOS, footer, magic) and every aligned int32/int64 in
 * the metadata (flatbuffers, prefix lengths, footer) whose value lies in [1, file size] — where
 * lengths, counts, offsets, list sizes and vector lengths sit.
 */
function arrowLandmarks(bytes: Uint8Array): { boundaries: number[]; fields: Field[] } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = bytes.byteLength;
  const boundaries = new Set<number>([0, 4, 8, size - 1]);
  const fields: Field[] = [];
  const scan = (from: number, to: number) => {
    for (let i = from; i + 4 <= to; i += 4) {
      const v = dv.getInt32(i, true);
      if (v >= 1 && v <= size) fields.push({ at: i, width: 4, value: v });
      if ((i - from) % 8 === 0 && i + 8 <= to) {
        const w = Number(dv.getBigInt64(i, true));
        if (w >= 1 && w <= size && v !== w) fields.push({ at: i, width: 8, value: w });
      }
    }
  };
  const file = bytes[0] === 0x41; // "ARROW1"
  let pos = file ? 8 : 0;
  while (pos + 8 <= size) {
    boundaries.add(pos);
    const p = parsePrefix(bytes.subarray(pos, pos + 8));
    if (p === 'eos' || p === 'short') {
      boundaries.add(pos + 8);
      break;
    }
    fields.push({ at: pos + p.prefix - 4, width: 4, value: p.len });
    boundaries.add(pos + p.prefix);
    const m = Message.decode(bytes.subarray(pos + p.prefix, pos + p.prefix + p.len));
    scan(pos + p.prefix, pos + p.prefix + p.len);
    boundaries.add(pos + p.prefix + p.len);
    pos += p.prefix + p.len + Number(m.bodyLength);
  }
  if (file) {
    const footerLen = dv.getInt32(size - 10, true);
    const footer = size - 10 - footerLen;
    fields.push({ at: size - 10, width: 4, value: footerLen });
    scan(footer, size - 10);
    for (const b of [footer, footer + 4, size - 10, size - 6]) boundaries.add(b);
  }
  const near = new Set<number>();
  for (const b of boundaries) for (const d of [-8, -4, -1, 0, 1, 4]) if (b + d >= 0 && b + d < size) near.add(b + d);
  return { boundaries: [...near].sort((a, b) => a - b), fields };
}

/** Every truncation point worth trying: all bytes under stress, the boundaries (± a few) otherwise. */
const cutPoints = (bytes: Uint8Array, boundaries: number[]): number[] => (STRESS ? Array.from({ length: bytes.length }, (_, i) => i) : boundaries);

// --- fixtures ---------------------------------------------------------------------------------

const D = 5;
const NF = 3;
const ROWS = 20;
const meta = { source: 'toy', dIn: D, config: { n_features: NF }, model: 'm', hook: 'h', context: 4 } as const;
const columns = { seq: true, pos: true, token: true, features: true };

function rowsToWrite(n: number) {
  return {
    numRows: n,
    act: randomFloats(n * D, 3),
    features: randomFloats(n * NF, 4),
    seq: BigInt64Array.from({ length: n }, (_, i) => BigInt(i >> 2)),
    pos: Int32Array.from({ length: n }, (_, i) => i & 3),
    token: Int32Array.from({ length: n }, (_, i) => 100 + i),
  };
}

const fx = {
  corpus: '',
  dictCorpus: '',
  file: '',
  stream: '',
  sharded: '',
  safetensors: '',
  metrics: '',
  table: '',
  run: '',
};

beforeAll(async () => {
  fx.file = path.join(tmp.dir, 'fx.arrow');
  let w = await createDatasetWriter(fx.file, { meta, nFeatures: NF, columns, batchRows: 7 });
  await w.write(rowsToWrite(ROWS));
  await w.close();

  fx.stream = path.join(tmp.dir, 'fx.arrows');
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  w = await createDatasetWriter('-', { meta, nFeatures: NF, columns, batchRows: 7, stdout: sink });
  await w.write(rowsToWrite(ROWS));
  await w.close();
  fs.writeFileSync(fx.stream, Buffer.concat(chunks));

  fx.sharded = path.join(tmp.dir, 'fx-sharded');
  w = await createDatasetWriter(fx.sharded, { meta, nFeatures: NF, columns, batchRows: 3, shardRows: 8 });
  await w.write(rowsToWrite(ROWS));
  await w.close();

  fx.safetensors = path.join(tmp.dir, 'fx.safetensors');
  const st = serializeSafetensors(
    {
      W_enc: { data: randomFloats(D * 8, 5), shape: [D, 8] },
      b_enc: { data: randomFloats(8, 6), shape: [8] },
      step: { data: BigInt64Array.of(42n), shape: [] },
      mask: { data: Uint8Array.of(1, 0, 1), shape: [3], dtype: 'BOOL' },
      counts: { data: Int32Array.of(1, 2, 3, 4), shape: [2, 2] },
    },
    { arch: 'sae' },
  );
  fs.writeFileSync(fx.safetensors, Buffer.concat(st));

  fx.metrics = path.join(tmp.dir, 'metrics.arrows');
  const mw = new MetricsWriter(fx.metrics, { arch: 'sae', metadata: { 'vsae:arch': 'sae' } });
  for (let s = 1; s <= 4; s++) mw.append({ step: s, lr: 1e-3, loss: 1 / s, recon: 0.5 / s, l1: 0.1, coeff: 0.05, l0: 3, dead_frac: 0, explained_variance: 0.9, elapsed_s: s, skipped_rows: 0 });
  mw.close();

  fx.table = path.join(tmp.dir, 'features.arrow');
  writeTableSync(fx.table, {
    latent: Int32Array.of(0, 1, 2),
    frequency: Float64Array.of(0.1, 0, 0.5),
    mean_act: { type: 'float32', values: [1.5, null, 2] },
    dead: { type: 'bool', values: [false, true, false] },
    kind: { type: 'utf8', values: ['top', 'quantile', 'top'] },
    hist_counts: { type: 'list<int32>', values: [[1, 2], [], [3]] },
    context_tokens: { type: 'list<utf8>', values: [['a', 'b'], null, ['c']] },
  }, { 'vsae:arch': 'sae' });

  // A corpus as vsae extract --dataset reads it (apache-arrow's writer, any schema): tokens and text.
  fx.corpus = path.join(tmp.dir, 'corpus.arrow');
  writeTableSync(fx.corpus, {
    tokens: { type: 'list<int32>', values: Array.from({ length: 9 }, (_, i) => Array.from({ length: 3 + i }, (_, k) => 10 * i + k)) },
    text: { type: 'utf8', values: Array.from({ length: 9 }, (_, i) => `document ${i} `.repeat(i + 1)) },
  });

  // A corpus as apache-arrow's tableFromArrays writes strings: dictionary-encoded (a stream).
  fx.dictCorpus = path.join(tmp.dir, 'dict-corpus.arrows');
  fs.writeFileSync(fx.dictCorpus, tableToIPC(tableFromArrays({ text: Array.from({ length: 9 }, (_, i) => `document ${i % 4} `.repeat(i + 1)) }), 'stream'));

  fx.run = path.join(tmp.dir, 'runs', 'a');
  fs.mkdirSync(fx.run, { recursive: true });
  fs.writeFileSync(path.join(fx.run, 'cfg.json'), JSON.stringify(runConfig(), null, 2));
  fs.writeFileSync(path.join(fx.run, '_run.json'), JSON.stringify({ status: 'running', step: 10, steps: 100, updated: '2026-01-01T00:00:00Z' }));
});

function runConfig(): Record<string, unknown> {
  return {
    architecture: 'standard', d_in: D, d_sae: 40, dtype: 'float32', device: 'cpu', hook_name: 'blocks.0.mlp.hook_post', hook_layer: 0,
    model_name: 'gpt2', context_size: 128, prepend_bos: true, apply_b_dec_to_input: true, normalize_activations: 'none', activation_fn_str: 'relu',
    metadata: { hook_name: 'blocks.0.mlp.hook_post' },
    vsae: { arch: 'vsae-iso', seed: 42, dataset: 'acts.arrow', version: '0.1.0', steps: 100, var_flag: 1 },
  };
}

/** Writes one mutated copy of `src` to a case path and returns it. */
function caseFile(src: string, bytes: Uint8Array): string {
  const f = path.join(tmp.dir, 'case', path.basename(src));
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, bytes);
  return f;
}

// --- the properties ---------------------------------------------------------------------------

const bytesOf = (f: string) => new Uint8Array(fs.readFileSync(f));

describe.skipIf(!built)('fuzzing the Arrow readers', () => {
  const targets: Array<{ name: string; fixture: () => string; readers: Reader[] }> = [
    { name: 'Arrow IPC file (dataset)', fixture: () => fx.file, readers: ['dataset'] },
    { name: 'Arrow stream in a file (dataset)', fixture: () => fx.stream, readers: ['dataset'] },
    { name: 'Arrow stream on stdin (dataset)', fixture: () => fx.stream, readers: ['stdin'] },
    { name: 'metrics.arrows', fixture: () => fx.metrics, readers: ['metrics'] },
    { name: 'an analysis table', fixture: () => fx.table, readers: ['table'] },
    { name: 'a corpus of any schema (checkArrowIpc, then apache-arrow)', fixture: () => fx.corpus, readers: ['ipc'] },
    { name: 'a dictionary-encoded corpus stream (checkArrowIpc, then apache-arrow)', fixture: () => fx.dictCorpus, readers: ['ipc'] },
  ];
  for (const t of targets) {
    it(`${t.name}: a cut at every message and footer boundary ends in a read or an InputError`, async () => {
      const bytes = bytesOf(t.fixture());
      const { boundaries } = arrowLandmarks(bytes);
      for (const at of cutPoints(bytes, boundaries)) {
        const f = caseFile(t.fixture(), bytes.slice(0, at));
        for (const r of t.readers) await expectReadOrInputError(r, f, `${path.basename(t.fixture())} cut at byte ${at} of ${bytes.length}`);
      }
    }, 600_000);

    it(`${t.name}: random cuts, bit flips and lying sizes, counts and offsets`, async () => {
      const bytes = bytesOf(t.fixture());
      const { fields } = arrowLandmarks(bytes);
      expect(fields.length).toBeGreaterThan(10);
      await fc.assert(
        fc.asyncProperty(byteMutation(bytes, fields), async (m) => {
          const f = caseFile(t.fixture(), applyBytes(bytes, m));
          for (const r of t.readers) await expectReadOrInputError(r, f, `${path.basename(t.fixture())}, ${describeMutation(m)}`);
        }),
        { numRuns: RUNS, seed: SEED },
      );
    }, 600_000);
  }

  it('every lie at every size-like field of the IPC file and the stream (a quarter of the fields unless VSAE_STRESS)', async () => {
    for (const src of [fx.file, fx.stream]) {
      const bytes = bytesOf(src);
      const { fields } = arrowLandmarks(bytes);
      // Every field under VSAE_STRESS; a quarter of them (which quarter depends on the seed) otherwise.
      for (const field of fields.filter((_, i) => STRESS || i % 4 === SEED % 4)) {
        for (const value of lies(field)) {
          const m: ByteMutation = { kind: 'lie', field, value };
          await expectReadOrInputError('dataset', caseFile(src, applyBytes(bytes, m)), `${path.basename(src)}, ${describeMutation(m)}`);
        }
      }
    }
  }, 600_000);
});

describe.skipIf(!built)('fuzzing sharded directories', () => {
  /** A copy of the sharded fixture with one file replaced (or removed when bytes is null). */
  function shardedCase(file: string, bytes: Uint8Array | string | null): string {
    const dir = path.join(tmp.dir, 'case', 'sharded');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(fx.sharded, dir, { recursive: true });
    if (bytes === null) fs.rmSync(path.join(dir, file));
    else fs.writeFileSync(path.join(dir, file), bytes);
    return dir;
  }

  const hostile = fc.constantFrom<unknown>(
    null, true, false, -1, 0, 1, 1.5, 7, 8, 2 ** 31, 2 ** 53, 1e308, '', 'x', '../fx.arrow', '/etc/passwd', 'part-00001.arrow', 'part-00099.arrow',
    '.part-00000.arrow.tmp', '_dataset.json', 'x'.repeat(5000), [], {}, [{}], [{ file: 'part-00000.arrow', rows: 8 }],
  );
  type JsonMutation =
    | { op: 'set'; path: Array<string | number>; value: unknown }
    | { op: 'delete'; path: Array<string | number> }
    | { op: 'dup' | 'drop' | 'swap' | 'dup-consistent' };
  const jsonPaths: Array<Array<string | number>> = [
    ['format'], ['version'], ['complete'], ['d_in'], ['rows'], ['metadata'], ['shards'], ['shards', 0], ['shards', 2],
    ['shards', 0, 'rows'], ['shards', 2, 'rows'], ['shards', 1, 'file'], ['shards', 2, 'file'], ['metadata', 'vsae:d_in'],
  ];
  const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
    fc.record({ op: fc.constant('set' as const), path: fc.constantFrom(...jsonPaths), value: hostile }),
    fc.record({ op: fc.constant('delete' as const), path: fc.constantFrom(...jsonPaths) }),
    fc.record({ op: fc.constantFrom('dup' as const, 'drop' as const, 'swap' as const, 'dup-consistent' as const) }),
  );

  function applyJson(j: Record<string, unknown>, m: JsonMutation): Record<string, unknown> {
    const out = structuredClone(j) as Record<string, unknown>;
    const shards = out.shards as Array<{ file: string; rows: number }>;
    if (m.op === 'dup') shards.push({ ...shards[0]! });
    else if (m.op === 'dup-consistent') {
      shards.push({ ...shards[0]! });
      out.rows = (out.rows as number) + shards[0]!.rows;
    } else if (m.op === 'drop') shards.pop();
    else if (m.op === 'swap') [shards[0], shards[2]] = [shards[2]!, shards[0]!];
    else if (m.op === 'set' || m.op === 'delete') {
      let o: Record<string | number, unknown> = out;
      for (const k of m.path.slice(0, -1)) {
        const next = o[k];
        if (next === null || typeof next !== 'object') return out;
        o = next as Record<string | number, unknown>;
      }
      const last = m.path[m.path.length - 1]!;
      if (m.op === 'delete') delete o[last];
      else o[last] = m.value;
    }
    return out;
  }

  it('_dataset.json: lying, missing and mistyped fields, duplicated, dropped and reordered shards', async () => {
    const j = JSON.parse(fs.readFileSync(path.join(fx.sharded, '_dataset.json'), 'utf8')) as Record<string, unknown>;
    expect((j.shards as unknown[]).length).toBe(3);
    await fc.assert(
      fc.asyncProperty(jsonMutation, async (m) => {
        const dir = shardedCase('_dataset.json', JSON.stringify(applyJson(j, m)));
        await expectReadOrInputError('sharded', dir, `_dataset.json with ${show(m)}`);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 600_000);

  it('a shard listed twice is refused (its rows would be read twice)', async () => {
    const j = JSON.parse(fs.readFileSync(path.join(fx.sharded, '_dataset.json'), 'utf8')) as Record<string, unknown>;
    const o = await harness.run('sharded', shardedCase('_dataset.json', JSON.stringify(applyJson(j, { op: 'dup-consistent' }))));
    expect(o).toMatchObject({ ok: false, inputError: true, message: expect.stringMatching(/part-00000\.arrow.*(twice|more than once)/) });
  });

  it('_dataset.json bytes: cuts, bit flips; shards cut, flipped or missing', async () => {
    const json = bytesOf(path.join(fx.sharded, '_dataset.json'));
    const shard = bytesOf(path.join(fx.sharded, 'part-00001.arrow'));
    const { fields, boundaries } = arrowLandmarks(shard);
    for (const at of [0, 1, json.length >> 1, json.length - 2]) {
      await expectReadOrInputError('sharded', shardedCase('_dataset.json', json.slice(0, at)), `_dataset.json cut at ${at}`);
    }
    for (const at of boundaries) await expectReadOrInputError('sharded', shardedCase('part-00001.arrow', shard.slice(0, at)), `part-00001.arrow cut at ${at}`);
    for (const f of ['part-00000.arrow', 'part-00002.arrow', '_dataset.json']) await expectReadOrInputError('sharded', shardedCase(f, null), `${f} missing`);
    await fc.assert(
      fc.asyncProperty(fc.boolean(), byteMutation(json, [{ at: 0, width: 4, value: 1 }]), byteMutation(shard, fields), async (inJson, mj, ms) => {
        const dir = inJson ? shardedCase('_dataset.json', applyBytes(json, mj)) : shardedCase('part-00001.arrow', applyBytes(shard, ms));
        await expectReadOrInputError('sharded', dir, inJson ? `_dataset.json, ${describeMutation(mj)}` : `part-00001.arrow, ${describeMutation(ms)}`);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 600_000);
});

describe.skipIf(!built)('fuzzing the safetensors reader', () => {
  /** Re-encodes a (mutated) header in front of the original data section. */
  function withHeader(bytes: Uint8Array, header: unknown): Uint8Array {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const json = Buffer.from(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + bytes.length - 8 - n);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(bytes.subarray(8 + n), 8 + json.length);
    return out;
  }
  const headerOf = (bytes: Uint8Array) => {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    return JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString()) as Record<string, Record<string, unknown>>;
  };

  it('cuts at every byte of the header and around every tensor, bit flips, lying header lengths', async () => {
    const bytes = bytesOf(fx.safetensors);
    const h = headerOf(bytes);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const cuts = new Set<number>([0, 1, 7, 8, 9, ...Array.from({ length: n }, (_, i) => 8 + i)]);
    for (const [k, e] of Object.entries(h)) if (k !== '__metadata__') for (const o of e.data_offsets as number[]) for (const d of [-1, 0, 1]) cuts.add(8 + n + o + d);
    for (const at of STRESS ? Array.from({ length: bytes.length }, (_, i) => i) : [...cuts]) {
      if (at >= 0 && at < bytes.length) await expectReadOrInputError('safetensors', caseFile(fx.safetensors, bytes.slice(0, at)), `cut at ${at}`);
    }
    const lenField: Field = { at: 0, width: 8, value: n };
    await fc.assert(
      fc.asyncProperty(byteMutation(bytes, [lenField]), async (m) => {
        await expectReadOrInputError('safetensors', caseFile(fx.safetensors, applyBytes(bytes, m)), describeMutation(m));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 600_000);

  it('lying shapes, offsets and dtypes in the header (gigabyte shapes, overlaps, reversed spans)', async () => {
    const bytes = bytesOf(fx.safetensors);
    const h = headerOf(bytes);
    const names = Object.keys(h).filter((k) => k !== '__metadata__');
    const shape = fc.constantFrom<unknown>([2 ** 20, 2 ** 20], [2 ** 31, 2 ** 31, 2 ** 31], [-1], [1.5], [2 ** 53], [], [0], [5, 0], 'x', null, [[2]], [2 ** 40, 0]);
    const offsets = fc.constantFrom<unknown>([0, 2 ** 40], [5, 1], [-1, 3], [0, 0], [0, 1e20], [0, 4], [4, 12], [0], [0, 1, 2], null, ['0', '4'], [2 ** 53, 2 ** 53 + 4]);
    const dtype = fc.constantFrom<unknown>('F32', 'F16', 'BF16', 'I64', 'F64', 'BOOL', 'U8', 'X', null, 7, 'f32');
    const mutation = fc.oneof(
      fc.record({ tensor: fc.constantFrom(...names), key: fc.constant('shape'), value: shape }),
      fc.record({ tensor: fc.constantFrom(...names), key: fc.constant('data_offsets'), value: offsets }),
      fc.record({ tensor: fc.constantFrom(...names), key: fc.constant('dtype'), value: dtype }),
      fc.record({ tensor: fc.constantFrom(...names, '__metadata__'), key: fc.constant('*'), value: fc.constantFrom<unknown>(null, 1, 'x', [], { a: 1 }, { a: 'b' }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (ms) => {
        const header = structuredClone(h) as Record<string, unknown>;
        for (const m of ms) {
          if (m.key === '*') header[m.tensor] = m.value;
          else if (header[m.tensor] && typeof header[m.tensor] === 'object') (header[m.tensor] as Record<string, unknown>)[m.key] = m.value;
        }
        await expectReadOrInputError('safetensors', caseFile(fx.safetensors, withHeader(bytes, header)), `header with ${show(ms)}`);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 600_000);
});

describe.skipIf(!built)('fuzzing cfg.json and _run.json', () => {
  const hostile = fc.constantFrom<unknown>(null, true, -1, 0, 1.5, 2 ** 53, 1e308, '', '40', 'sae', 'vae', 'x'.repeat(5000), [], {}, { arch: 'sae' }, { arch: null });
  const keys = fc.constantFrom('d_in', 'd_sae', 'vsae', 'architecture', 'metadata', 'hook_name', 'context_size');
  const vsaeKeys = fc.constantFrom('arch', 'seed', 'steps', 'dataset');

  it('lying, missing and mistyped fields; cut and flipped bytes', async () => {
    const cfg = runConfig();
    const text = Buffer.from(JSON.stringify(cfg, null, 2));
    const write = (cfgBytes: Uint8Array | string, status?: Uint8Array | string) => {
      const dir = path.join(tmp.dir, 'case', 'runs', 'a');
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
      fs.cpSync(path.dirname(fx.run), path.dirname(dir), { recursive: true });
      fs.writeFileSync(path.join(dir, 'cfg.json'), cfgBytes);
      if (status !== undefined) fs.writeFileSync(path.join(dir, '_run.json'), status);
      return dir;
    };
    const mutation = fc.oneof(
      fc.record({ where: fc.constant('top' as const), key: keys, value: hostile, del: fc.boolean() }),
      fc.record({ where: fc.constant('vsae' as const), key: vsaeKeys, value: hostile, del: fc.boolean() }),
      fc.record({ where: fc.constant('bytes' as const), m: byteMutation(text, [{ at: 0, width: 4, value: 1 }]) }),
      fc.record({ where: fc.constant('status' as const), value: fc.constantFrom<unknown>(null, 'x', { status: 'done' }, { status: 'running', step: -1 }, [], { status: 'complete', step: 2 ** 60 }), cut: fc.nat({ max: 20 }) }),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        let dir: string;
        if (m.where === 'bytes') dir = write(applyBytes(text, m.m));
        else if (m.where === 'status') dir = write(text, JSON.stringify(m.value).slice(0, m.cut === 0 ? undefined : 40 - m.cut));
        else {
          const c = structuredClone(cfg) as Record<string, unknown>;
          const o = (m.where === 'vsae' ? c.vsae : c) as Record<string, unknown>;
          if (m.del) delete o[m.key];
          else o[m.key] = m.value;
          dir = write(JSON.stringify(c));
        }
        await expectReadOrInputError('run', dir, `run dir with ${show(m)}`);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 600_000);
});

describe.skipIf(!built)('lying sizes are refused by checking them against the file, with a sentence', () => {
  /** Messages of a stream file: [start, flatbuffer start, flatbuffer end, body end]. */
  function messages(bytes: Uint8Array): Array<{ at: number; fb: number; fbEnd: number; end: number; m: Message }> {
    const out = [];
    let pos = bytes[0] === 0x41 ? 8 : 0;
    for (;;) {
      const p = parsePrefix(bytes.subarray(pos, pos + 8));
      if (typeof p !== 'object') return out;
      const fb = pos + p.prefix;
      const m = Message.decode(bytes.subarray(fb, fb + p.len));
      out.push({ at: pos, fb, fbEnd: fb + p.len, end: fb + p.len + Number(m.bodyLength), m });
      pos = fb + p.len + Number(m.bodyLength);
    }
  }
  /** Byte position (in the file) of a vector's length field: table at `tablePos`, field slot `slot`. */
  function vectorLengthAt(bytes: Uint8Array, base: number, tablePos: number, slot: number): number {
    const bb = new ByteBuffer(bytes.subarray(base));
    const o = bb.__offset(tablePos, 4 + 2 * slot);
    expect(o).toBeGreaterThan(0);
    return base + tablePos + o + bb.readInt32(tablePos + o);
  }
  const setInt32 = (bytes: Uint8Array, at: number, v: number) => {
    const out = bytes.slice();
    new DataView(out.buffer).setInt32(at, v, true);
    return out;
  };
  async function expectRefused(reader: Reader, bytes: Uint8Array, name: string, pattern: RegExp): Promise<void> {
    const o = await harness.run(reader, caseFile(path.join(tmp.dir, name), bytes));
    expect(o, JSON.stringify(o).slice(0, 500)).toMatchObject({ ok: false, inputError: true });
    expect((o as { message: string }).message).toMatch(pattern);
  }

  it('list offsets past their child values (seeds 748858546, 907307646): refused before apache-arrow builds what they claim', async () => {
    // Both flip the corpus's tokens column to List<Null> (bit 0 of byte 1288, in the footer's
    // schema) and an offset's high byte: apache-arrow then built an array of 16 million nulls
    // for one row and the reader's process ran out of its heap.
    const bytes = bytesOf(fx.corpus);
    const found: Array<Array<[number, number]>> = [[[1288, 0], [271, 0], [224, 0]], [[299, 0], [1288, 0]]];
    for (const bits of found) {
      await expectRefused('ipc', applyBytes(bytes, { kind: 'flip', bits }), 'corpus.arrow', /record batch \(0\) with offsets of column "tokens" that (go backwards|run to value \d{8} of its 63 child values)/);
    }
  });

  it('a message of unknown type in a dictionary-encoded corpus stream (seed 202): refused, apache-arrow would not return', async () => {
    // Bit 0 of byte 888 makes the record batch's header type NONE; apache-arrow's stream reader then hung.
    const bytes = bytesOf(fx.dictCorpus);
    await expectRefused('ipc', applyBytes(bytes, { kind: 'flip', bits: [[888, 0], [1036, 7]] }), 'dict-corpus.arrows', /has a message of unknown type \(0\) at byte 880; the file is damaged/);
  });

  it('dictionary batches are checked like record batches: offsets past their values', async () => {
    const bytes = bytesOf(fx.dictCorpus);
    const [, dict] = messages(bytes);
    expect(dict!.m.headerType).toBe(2); // DictionaryBatch
    // Push the last of the dictionary's Utf8 offsets past its data.
    const dh = dict!.m.header() as unknown as { data: RecordBatchHeader };
    const offsets = dh.data.buffers[1]!;
    const n = dh.data.nodes[0]!.length;
    const lying = Buffer.from(bytes);
    lying.writeInt32LE(1 << 24, dict!.fbEnd + offsets.offset + 4 * n);
    await expectRefused('ipc', lying, 'dict-offsets.arrows', /has a dictionary batch \(id 0\) with offsets of column "text" that run to byte 16777216 of its \d+-byte data/);
  });

  it('a record batch claiming 2^40 rows; a negative body length', async () => {
    const bytes = bytesOf(fx.stream);
    const [schema, batch] = messages(bytes);
    const h = batch!.m.header() as RecordBatchHeader;
    const body = bytes.subarray(batch!.fbEnd, batch!.end);
    const lying = frame(Message.encode(Message.from(new RecordBatchHeader(2 ** 40, h.nodes, h.buffers, null), body.byteLength)));
    const stream = Buffer.concat([bytes.subarray(0, schema!.end), lying, body, EOS]);
    await expectRefused('dataset', stream, 'rows.arrows', /rows\.arrows: has a record batch at byte \d+ with an impossible row count \(1099511627776\)/);
    await expectRefused('stdin', stream, 'rows.arrows', /stdin: has a record batch at byte \d+ with an impossible row count/);
    const negative = frame(Message.encode(Message.from(h, -body.byteLength - 16)));
    await expectRefused('dataset', Buffer.concat([bytes.subarray(0, schema!.end), negative, body, EOS]), 'neg.arrows', /impossible body length \(-\d+\)/);
  });

  it('a vector of 2^31 − 1 field nodes, a footer claiming 2^31 − 1 record batches, a schema claiming 2^31 − 1 fields', async () => {
    const stream = bytesOf(fx.stream);
    const [, batch] = messages(stream);
    // Message.header (slot 2) → RecordBatch, whose nodes vector is slot 1.
    const bb = new ByteBuffer(stream.subarray(batch!.fb));
    const rb = FbMessage.getRootAsMessage(bb).header(new FbRecordBatch()) as FbRecordBatch;
    const nodesLen = vectorLengthAt(stream, batch!.fb, rb.bb_pos, 1);
    expect(new DataView(stream.buffer).getInt32(nodesLen, true)).toBe(7); // act (2), seq, pos, token, features (2)
    await expectRefused('dataset', setInt32(stream, nodesLen, 2 ** 31 - 1), 'nodes.arrows', /corrupt record-batch header .*flatbuffer vector claims 2147483647 elements/);

    const file = bytesOf(fx.file);
    const footerLen = new DataView(file.buffer).getInt32(file.length - 10, true);
    const footerAt = file.length - 10 - footerLen;
    const fbb = new ByteBuffer(file.subarray(footerAt));
    const footer = FbFooter.getRootAsFooter(fbb);
    const blocksLen = vectorLengthAt(file, footerAt, footer.bb_pos, 3);
    expect(new DataView(file.buffer).getInt32(blocksLen, true)).toBe(3);
    await expectRefused('dataset', setInt32(file, blocksLen, 2 ** 31 - 1), 'blocks.arrow', /corrupt Arrow footer .*flatbuffer vector claims 2147483647/);
    const schemaPos = footer.schema()!.bb_pos;
    const fieldsLen = vectorLengthAt(file, footerAt, schemaPos, 1);
    expect(new DataView(file.buffer).getInt32(fieldsLen, true)).toBe(5);
    await expectRefused('dataset', setInt32(file, fieldsLen, 2 ** 31 - 1), 'fields.arrow', /corrupt Arrow footer .*flatbuffer vector claims 2147483647/);
    await expectRefused('table', setInt32(file, blocksLen, 2 ** 31 - 1), 'blocks-table.arrow', /corrupt Arrow footer/);
  });

  it('an act width of 2^30 with a one-row body; a metrics batch claiming 2^31 − 1 rows', async () => {
    const type = new FixedSizeList(2 ** 30, new ArrowField('item', new Float32(), false));
    const schema = new Schema([new ArrowField('act', type, false)]);
    const header = new RecordBatchHeader(1, [new FieldNode(1, 0), new FieldNode(2 ** 30, 0)], [new BufferRegion(0, 0), new BufferRegion(0, 0), new BufferRegion(0, 16)], null);
    const wide = Buffer.concat([encodeSchemaMessage(schema), frame(Message.encode(Message.from(header, 16))), new Uint8Array(16), EOS]);
    await expectRefused('dataset', wide, 'wide.arrows', /impossible length \(1073741824\)|shorter than its rows need/);

    const metrics = bytesOf(fx.metrics);
    const [s0, b1] = messages(metrics);
    const h = b1!.m.header() as RecordBatchHeader;
    const body = metrics.subarray(b1!.fbEnd, b1!.end);
    const lying = frame(Message.encode(Message.from(new RecordBatchHeader(2 ** 31 - 1, h.nodes, h.buffers, null), body.byteLength)));
    await expectRefused('metrics', Buffer.concat([metrics.subarray(0, s0!.end), lying, body, EOS]), 'metrics.arrows', /impossible row count \(2147483647\)/);
  });

  it('a safetensors header claiming a 2^40-element tensor, and a header length of 2^62', async () => {
    const bytes = bytesOf(fx.safetensors);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString()) as Record<string, { shape: number[]; data_offsets: number[] }>;
    header.W_enc!.shape = [2 ** 20, 2 ** 20];
    header.W_enc!.data_offsets = [0, 2 ** 42];
    const json = Buffer.from(JSON.stringify(header));
    const out = Buffer.concat([Buffer.alloc(8), json, bytes.subarray(8 + n)]);
    out.writeBigUInt64LE(BigInt(json.length), 0);
    await expectRefused('safetensors', out, 'big.safetensors', /tensor "W_enc" has data_offsets \[0, 4398046511104\] outside the \d+-byte data section/);
    const long = bytes.slice();
    new DataView(long.buffer).setBigUint64(0, 1n << 62n, true);
    await expectRefused('safetensors', long, 'long.safetensors', /header length \(4611686018427387904 bytes\) exceeds the format's 100 MB limit/);
  });

  it('a stream without its end-of-stream marker is refused as truncated (file and stdin)', async () => {
    const bytes = bytesOf(fx.stream);
    const cut = bytes.subarray(0, bytes.length - 8);
    await expectRefused('dataset', cut, 'noeos.arrows', /noeos\.arrows: is truncated: the Arrow stream has no end-of-stream marker/);
    await expectRefused('stdin', cut, 'noeos.arrows', /stdin: the Arrow stream ended after 20 rows without its end-of-stream marker/);
  });
});
