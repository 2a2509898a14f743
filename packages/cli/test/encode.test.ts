import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expectAllClose } from '@vsae/compute/testing';
import { createDatasetWriter, readTable } from '@vsae/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binRunner, expectOneLineError } from './bin.js';

// End-to-end: the real, built bin trains a TopK run, then encodes with it to a file and to stdout.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-cli-encode-'));
const vsae = binRunner(tmp, { env: { VSAE_BACKEND: 'wasm' } });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  const rows = 600, dIn = 6;
  const act = new Float32Array(rows * dIn);
  let s = 3;
  for (let i = 0; i < act.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    act[i] = s / 2 ** 32 < 0.3 ? s / 2 ** 31 : 0;
  }
  const w = await createDatasetWriter(path.join(tmp, 'd.arrow'), { meta: { source: 'test', dIn } });
  await w.write({ numRows: rows, act });
  await w.close();
  const r = vsae(['train', '--arch', 'topk', '--k', '3', '--input', 'd.arrow', '-o', 'run', '--steps', '20', '--batch-size', '64', '--dict-mult', '2', '-q']);
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

describe('vsae encode', () => {
  it('writes one row per input row with at most k firing latents, to a file and as a stream on stdout', () => {
    const r = vsae(['encode', 'run', '--input', 'd.arrow', '-o', 'codes.arrow', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ rows: 600, status: 'complete' });
    const t = readTable(path.join(tmp, 'codes.arrow'));
    expect(t.numRows).toBe(600);
    expect(t.metadata['vsae:arch']).toBe('topk');
    for (const idx of t.column('indices') as number[][]) expect(idx.length).toBeLessThanOrEqual(3);
    const piped = vsae(['encode', 'run', '--input', 'd.arrow', '-o', '-', '--n-rows', '50', '-q']);
    expect(piped.status, piped.stderr).toBe(0);
    fs.writeFileSync(path.join(tmp, 'piped.arrows'), piped.stdout);
    const streamed = readTable(path.join(tmp, 'piped.arrows'));
    expect(streamed.numRows).toBe(50);
    expect(streamed.column('indices').slice(0, 50)).toEqual(t.column('indices').slice(0, 50));
    // The same codes (the products of another batch size may round differently in the last bits).
    const flat = (v: unknown[]) => Float32Array.from((v as number[][]).flat());
    expectAllClose(flat(streamed.column('values')), flat(t.column('values').slice(0, 50)), { rtol: 1e-5, atol: 1e-7, what: 'values' });
  });

  it('bad input: one line each', () => {
    expectOneLineError(vsae(['encode', 'run', '-o', 'x.arrow']), 2, 'encode', /needs --input PATH/);
    expectOneLineError(vsae(['encode', 'run', '--input', 'd.arrow', '-o', 'codes.arrow']), 2, 'encode', /codes\.arrow already exists/);
    expectOneLineError(vsae(['encode', 'nowhere', '--input', 'd.arrow', '-o', 'y.arrow']), 1, 'encode', /nowhere/);
  });
});
