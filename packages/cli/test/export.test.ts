/** vsae export: Arrow tables and datasets as CSV or JSON Lines, through the real bin. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatasetWriter, writeTableSync } from '@vsae/data';
import { bin, binRunner, expectOneLineError } from './bin.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-cli-export-'));
const vsae = binRunner(tmp);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ACT = Float32Array.from({ length: 30 * 3 }, (_, i) => Math.fround(Math.sin(i) / 3));

beforeAll(async () => {
  writeTableSync(path.join(tmp, 'table.arrow'), {
    latent: Int32Array.of(0, 1, 2),
    frequency: Float64Array.of(0.1, 0, 1 / 3),
    mean_act: { type: 'float32', values: [0.1, null, NaN] },
    dead: { type: 'bool', values: [false, true, null] },
    token: { type: 'utf8', values: ['plain', 'a, "quoted"\nline', '=HYPERLINK("x")'] },
    hist_counts: { type: 'list<int32>', values: [[1, 2], [], null] },
    context_tokens: { type: 'list<utf8>', values: [['a', 'b'], null, ['-1', '@x']] },
  });
  const w = await createDatasetWriter(path.join(tmp, 'acts'), { meta: { source: 'test', dIn: 3 }, columns: { seq: true }, shardRows: 12, batchRows: 5 });
  await w.write({ numRows: 30, act: ACT, seq: BigInt64Array.from({ length: 30 }, (_, i) => BigInt(i)) });
  await w.close();
});

describe('vsae export', () => {
  it('CSV: a header, RFC 4180 quoting, lists as JSON arrays, float32 at its shortest, nulls empty, formulas defused', () => {
    const r = vsae(['export', 'table.arrow']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.out).toBe(
      [
        'latent,frequency,mean_act,dead,token,hist_counts,context_tokens',
        '0,0.1,0.1,false,plain,"[1,2]","[""a"",""b""]"',
        '1,0,,true,"a, ""quoted""\nline",[],',
        `2,${1 / 3},NaN,,"'=HYPERLINK(""x"")",,"[""-1"",""@x""]"`,
        '',
      ].join('\n'),
    );
  });

  it('JSON Lines: one object per row, the same values', () => {
    const r = vsae(['export', 'table.arrow', '--json', '--columns', 'token,hist_counts,mean_act']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.out.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([
      { token: 'plain', hist_counts: [1, 2], mean_act: 0.1 },
      { token: 'a, "quoted"\nline', hist_counts: [], mean_act: null },
      { token: '=HYPERLINK("x")', hist_counts: null, mean_act: 'NaN' },
    ]);
  });

  it('a sharded dataset, shard after shard, each act row a JSON array that reads back as the same float32s', () => {
    const r = vsae(['export', 'acts', '--limit', '25']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe('act,seq');
    expect(lines.length).toBe(26);
    lines.slice(1).forEach((l, i) => {
      const m = /^"(\[.*\])",(\d+)$/.exec(l)!;
      expect(Number(m[2])).toBe(i);
      expect(Float32Array.from(JSON.parse(m[1]!) as number[])).toEqual(ACT.subarray(i * 3, i * 3 + 3));
    });
    // and from a pipe
    const stream = spawnSync('sh', ['-c', `"${process.execPath}" "${bin}" toy --toy-steps 5 --rows 40 --n-features 6 --n-hidden 3 -o - --truth t.safetensors -q | "${process.execPath}" "${bin}" export - --columns seq --json --limit 3`], { cwd: tmp, encoding: 'utf8' });
    expect(stream.status, stream.stderr).toBe(0);
    expect(stream.stdout).toBe('{"seq":0}\n{"seq":0}\n{"seq":0}\n');
  });

  it('mistakes: one line each', () => {
    expectOneLineError(vsae(['export', 'table.arrow', '--columns', 'nope']), 2, 'export', /table\.arrow has no column "nope"; its columns are latent, frequency/);
    expectOneLineError(vsae(['export', 'table.arrow', '--csv', '--json']), 2, 'export', /give --csv or --json, not both/);
    fs.writeFileSync(path.join(tmp, 'not.arrow'), 'hello, world\n');
    expectOneLineError(vsae(['export', 'not.arrow']), 1, 'export', /not\.arrow: /);
    expectOneLineError(vsae(['export', 'missing.arrow']), 1, 'export', /missing\.arrow/);
  });
});
