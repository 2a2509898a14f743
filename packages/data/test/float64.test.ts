/** An act column of float64 (NumPy's default, what pyarrow writes from a float64 array) is read as float32. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { Field, FixedSizeList, Float64, Int64, Table, makeData, makeVector, tableToIPC } from 'apache-arrow';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openDataset } from '../src/index.js';
import { tempDir } from './_helpers.js';

const tmp = tempDir('vsae-f64-');
afterAll(tmp.cleanup);
afterEach(() => vi.restoreAllMocks());

const N = 37;
const D = 5;
const values = Float64Array.from({ length: N * D }, (_, i) => Math.sin(i) * 1e3 + 1 / 3);

function f64Table(withFeatures: boolean): Table {
  const list = (w: number, v: Float64Array) => makeVector(makeData({ type: new FixedSizeList(w, new Field('item', new Float64(), false)), length: N, nullCount: 0, child: makeData({ type: new Float64(), length: N * w, data: v }) }));
  const cols: Record<string, ReturnType<typeof makeVector>> = {
    act: list(D, values),
    seq: makeVector(BigInt64Array.from({ length: N }, (_, i) => BigInt(i))),
  };
  if (withFeatures) cols.features = list(2, Float64Array.from({ length: N * 2 }, (_, i) => i / 7));
  const t = new Table(cols);
  expect(t.schema.fields.find((f) => f.name === 'seq')!.type).toBeInstanceOf(Int64);
  return t;
}

async function readAll(file: string, stdin?: NodeJS.ReadableStream): Promise<{ act: number[]; features: number[]; dIn: number }> {
  const ds = await openDataset(file, stdin ? { stdin } : {});
  const act: number[] = [];
  const features: number[] = [];
  for await (const b of ds.batches()) {
    expect(b.act).toBeInstanceOf(Float32Array);
    act.push(...b.act);
    if (b.features) features.push(...b.features);
  }
  await ds.close();
  return { act, features, dIn: ds.dIn };
}

describe('a float64 act column', () => {
  it('is read as float32 (the float32 rounding of each value), with one note on stderr per file', async () => {
    const file = path.join(tmp.dir, 'f64.arrow');
    fs.writeFileSync(file, tableToIPC(f64Table(true), 'file'));
    const notes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (notes.push(String(s)), true));
    const r = await readAll(file);
    await readAll(file); // a second pass: no second note
    vi.restoreAllMocks();
    expect(r.dIn).toBe(D);
    expect(r.act).toEqual(Array.from(Float32Array.from(values)));
    expect(r.features).toEqual(Array.from(Float32Array.from({ length: N * 2 }, (_, i) => i / 7)));
    expect(notes).toEqual([`vsae: note: ${file}: "act" and "features" are float64; converted to float32 as it is read (write float32 to halve the file and skip the conversion)\n`]);
  });

  it('also from a stream on stdin', async () => {
    const bytes = tableToIPC(f64Table(false), 'stream');
    const stdin = new PassThrough();
    stdin.end(Buffer.from(bytes));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const r = await readAll('-', stdin);
    expect(r.act).toEqual(Array.from(Float32Array.from(values)));
  });
});
