/**
 * Interop with an independent Arrow implementation: Polars (Rust arrow2/polars-arrow, through
 * nodejs-polars) reads what we write, and we read what it writes. DuckDB's Node package was the
 * first choice, but it needs its `arrow` extension from the network to read Arrow IPC.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatasetWriter, openDataset, type ActivationBatch, type DatasetWriterOptions } from '../src/index.js';
import { expectAllClose, randomFloats, tempDir } from './_helpers.js';

type Polars = typeof import('nodejs-polars').default;
let pl: Polars | undefined;
let why = '';
try {
  pl = createRequire(import.meta.url)('nodejs-polars') as Polars;
} catch (e) {
  why = (e as Error).message.split('\n')[0]!;
  console.log(`notice: nodejs-polars did not load (${why}); skipping the interop tests`);
}

const tmp = tempDir();
afterAll(tmp.cleanup);

const D = 6;
const NF = 3;
const N = 700;
const act = randomFloats(N * D, 11);
const features = randomFloats(N * NF, 12);
const seq = BigInt64Array.from({ length: N }, (_, i) => BigInt(i >> 4));
const pos = Int32Array.from({ length: N }, (_, i) => i & 15);
const token = Int32Array.from({ length: N }, (_, i) => (i * 31) % 1000);
const OPTS: DatasetWriterOptions = { meta: { source: 'toy', dIn: D }, nFeatures: NF, columns: { seq: true, pos: true, token: true, features: true }, batchRows: 128 };

async function write(target: string, extra: Partial<DatasetWriterOptions> = {}) {
  const w = await createDatasetWriter(target, { ...OPTS, ...extra });
  await w.write({ numRows: N, act, features, seq, pos, token });
  await w.close();
}

/** Flattens a Polars FixedSizeList column (array of arrays) into one Float32Array. */
const flat = (rows: unknown[], width: number) => {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(r as number[], i * width));
  return out;
};

function expectPolarsFrame(df: ReturnType<Polars['readIPC']>) {
  expect(df.height).toBe(N);
  expect(df.columns).toEqual(['act', 'seq', 'pos', 'token', 'features']);
  expect(String(df.getColumn('act').dtype)).toMatch(/FixedSizeList\(DataType\(Float32\),\s*6\)|Array/);
  expectAllClose(flat(df.getColumn('act').toArray() as unknown[], D), act, { rtol: 0, atol: 0 }, 'act read by Polars');
  expectAllClose(flat(df.getColumn('features').toArray() as unknown[], NF), features, { rtol: 0, atol: 0 }, 'features read by Polars');
  expect((df.getColumn('seq').toArray() as Array<number | bigint>).map(Number)).toEqual([...seq].map(Number));
  expect(df.getColumn('pos').toArray()).toEqual([...pos]);
  expect(df.getColumn('token').toArray()).toEqual([...token]);
}

describe.skipIf(!pl)('interop with Polars', () => {
  it('Polars reads our IPC file, our stream and our sharded directory', async () => {
    const file = path.join(tmp.dir, 'ours.arrow');
    await write(file);
    expectPolarsFrame(pl!.readIPC(fs.readFileSync(file)));

    const dir = path.join(tmp.dir, 'ours-sharded');
    await write(dir, { shardRows: 300 });
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('part-')).length).toBe(3);
    // Polars' glob scan of the directory; _dataset.json and dot-files are not matched.
    const scanned = pl!.scanIPC(path.join(dir, '*.arrow')).collectSync();
    expectPolarsFrame(scanned);

    const chunks: Buffer[] = [];
    const { PassThrough } = await import('node:stream');
    const out = new PassThrough();
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = await createDatasetWriter('-', { ...OPTS, stdout: out });
    await w.write({ numRows: N, act, features, seq, pos, token });
    await w.close();
    expectPolarsFrame(pl!.readIPCStream(Buffer.concat(chunks)));
  });

  it('we read an IPC file and an IPC stream written by Polars', async () => {
    const rows = Array.from({ length: N }, (_, i) => Array.from(act.subarray(i * D, (i + 1) * D)));
    const df = pl!.DataFrame([
      pl!.Series('act', rows, pl!.FixedSizeList(pl!.Float32, D)),
      pl!.Series('seq', [...seq].map(Number), pl!.Int64),
      pl!.Series('pos', [...pos], pl!.Int32),
    ]);
    for (const [name, bytes] of [['polars.arrow', df.writeIPC()], ['polars.arrows', df.writeIPCStream()]] as const) {
      const f = path.join(tmp.dir, name);
      fs.writeFileSync(f, bytes);
      const ds = await openDataset(f);
      expect(ds.numRows).toBe(N);
      expect(ds.has).toEqual({ seq: true, pos: true, token: false, features: false });
      const got: ActivationBatch[] = [];
      for await (const b of ds.batches()) got.push(b);
      const a = new Float32Array(N * D);
      let at = 0;
      for (const b of got) {
        a.set(b.act, at);
        at += b.act.length;
      }
      expectAllClose(a, act, { rtol: 0, atol: 0 }, `act from ${name}`);
      expect(got.flatMap((b) => [...b.seq!])).toEqual([...seq]);
      expect(got.flatMap((b) => [...b.pos!])).toEqual([...pos]);
      // Seeking works on Polars' files too.
      const tail: ActivationBatch[] = [];
      for await (const b of ds.batches({ fromRow: 650 })) tail.push(b);
      expect(tail.reduce((s, b) => s + b.numRows, 0)).toBe(50);
      expectAllClose(tail[0]!.act.subarray(0, D), act.subarray(650 * D, 651 * D), {}, 'row 650');
    }
  });
});
