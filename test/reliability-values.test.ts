/**
 * Bad values and hostile inputs through the real bins (docs/reliability.md):
 * - NaN/Inf rows: `vsae train` and `vsae analyze` stop with the row's index (exit 1, one
 *   line); `--skip-bad-rows` drops them and counts them in metrics' `skipped_rows`;
 * - a NaN/Inf loss stops training (exit 1, `_run.json` failed) with the last good checkpoint
 *   intact: it loads, and `--resume` on the repaired data ends equal to a run that never saw
 *   the bad rows;
 * - damaged inputs: a truncated dataset, a stream without its end marker on stdin, a damaged
 *   `_dataset.json`, a cfg.json claiming a 2^30-wide dictionary, a damaged analysis table —
 *   one clear line and exit 1 from the tools that need them, a note from those that do not;
 * - a full disk, simulated by a file-size limit (`ulimit -f`, EFBIG; a real ENOSPC takes the
 *   same path with its own sentence): one line, exit 1, no file that looks complete, and a
 *   training run resumes from its last checkpoint once there is room.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatasetWriter, readJson, readMetrics, readSafetensors, runStatus, writeTableSync } from '@vsae/data';
import { spawnSync } from 'node:child_process';
import { BIN, ROOT, seeded, vsae } from '@vsae/testkit/harness';

let tmp: string;
const D = 8;

/** Rows drawn from seed 5; `poison` sets one value of a row (row, value), `from` poisons every row after it. */
function rowsOf(rows: number, poison: Array<[number, number]> = [], from?: { row: number; value: number }): Float32Array {
  const r = seeded(5);
  const act = new Float32Array(rows * D);
  for (let i = 0; i < act.length; i++) act[i] = r() < 0.25 ? r() : 0;
  for (const [row, v] of poison) act[row * D + (row % D)] = v;
  if (from) for (let row = from.row; row < rows; row++) act[row * D + (row % D)] = from.value;
  return act;
}

async function write(name: string, act: Float32Array): Promise<string> {
  const file = path.join(tmp, name);
  const w = await createDatasetWriter(file, { meta: { source: 'test', dIn: D } });
  await w.write({ numRows: act.length / D, act });
  await w.close();
  return file;
}

async function streamBytes(act: Float32Array): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const w = await createDatasetWriter('-', { meta: { source: 'test', dIn: D }, stdout: sink, batchRows: 256 });
  await w.write({ numRows: act.length / D, act });
  await w.close();
  return Buffer.concat(chunks);
}

function expectOneLineError(r: { code: number | null; stderr: string }, command: string, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^vsae ${command}: `));
  expect(lines[0]).toMatch(pattern);
}

const quick = ['--arch', 'sae', '--dict-mult', '2', '--batch-size', '100', '--log-every', '1', '-q'];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-rel-values-'));
  await write('clean.arrow', rowsOf(2000));
  await write('holes.arrow', rowsOf(2000, [[123, NaN], [301, -Infinity]]));
  const r = vsae(['train', '--input', 'clean.arrow', '-o', 'clean-run', '--steps', '10', ...quick], { cwd: tmp });
  expect(r.code, r.stderr).toBe(0);
}, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('NaN and Inf rows', () => {
  it('vsae train stops at the first bad row with its index; nothing claims to be complete', () => {
    const r = vsae(['train', '--input', 'holes.arrow', '-o', 'holes-run', '--steps', '30', ...quick], { cwd: tmp });
    expectOneLineError(r, 'train', /holes\.arrow: row 123 holds NaN or Inf in "act"; .*--skip-bad-rows/);
    const st = runStatus(path.join(tmp, 'holes-run'));
    if (st) expect(st.status).toBe('failed');
    expect(fs.existsSync(path.join(tmp, 'holes-run', 'sae_weights.safetensors'))).toBe(false);
  });

  it('--skip-bad-rows drops them, counts them in skipped_rows, and trains to finite weights', () => {
    const r = vsae(['train', '--input', 'holes.arrow', '-o', 'skip-run', '--steps', '30', '--skip-bad-rows', ...quick], { cwd: tmp });
    expect(r.code, r.stderr).toBe(0);
    const rows = readMetrics(path.join(tmp, 'skip-run', 'metrics.arrows')).rows;
    expect(rows).toHaveLength(30);
    // 30 steps of 100 from 2000 rows: the file is passed over twice, so each bad row is met twice.
    expect(rows.at(-1)!.skipped_rows).toBeGreaterThanOrEqual(2);
    expect(rows.at(-1)!.skipped_rows! % 2).toBe(0);
    expect(rows.every((x) => Number.isFinite(x.loss!))).toBe(true);
    const w = readSafetensors(path.join(tmp, 'skip-run', 'sae_weights.safetensors'));
    for (const k of w.tensors.keys()) expect(w.getFloat32(k).data.every(Number.isFinite), k).toBe(true);
  });

  it('vsae analyze stops at the first bad row with its index', () => {
    const r = vsae(['analyze', 'clean-run', '--input', 'holes.arrow', '--feature-sparsity', '-q'], { cwd: tmp });
    expectOneLineError(r, 'analyze', /holes\.arrow: row 123 holds NaN in "act"/);
  });
});

describe('a NaN loss', () => {
  // Buffer = batch = 64 rows and a checkpoint every 10 steps: rows from 1605 on are 1e20 (their
  // squares overflow float32). They enter the buffer in the mid-20s and blow up the next step; the
  // checkpoint of step 20 holds only clean rows, so resuming it on the repaired data must end
  // exactly where a run on the repaired data ends.
  const opts = ['--arch', 'sae', '--dict-mult', '2', '--steps', '60', '--batch-size', '64', '--buffer-rows', '64', '--checkpoint-every', '10', '--log-every', '1', '-q'];

  it('stops training with failed status; the last good checkpoint loads and resumes on repaired data', async () => {
    await write('overflow.arrow', rowsOf(4000, [], { row: 1605, value: 1e20 }));
    await write('repaired.arrow', rowsOf(4000));
    const r = vsae(['train', '--input', 'overflow.arrow', '-o', 'nan-run', ...opts], { cwd: tmp });
    expectOneLineError(r, 'train', /training diverged: the loss became NaN or infinite at step 2\d .*last good checkpoint is kept in nan-run\/checkpoints\/latest/);
    const run = path.join(tmp, 'nan-run');
    expect(runStatus(run)).toMatchObject({ status: 'failed' });
    const meta = readJson<{ step: number }>(path.join(run, 'checkpoints', 'latest', 'state.json'));
    expect(meta.step).toBe(20);
    const state = readSafetensors(path.join(run, 'checkpoints', 'latest', 'state.safetensors'));
    for (const k of state.tensors.keys()) expect(state.getFloat32(k).data.every(Number.isFinite), k).toBe(true);
    // No metrics row after the checkpoint survives a resume; the resumed run is the clean run.
    const resumed = vsae(['train', '--resume', '--input', 'repaired.arrow', '-o', 'nan-run', '-q'], { cwd: tmp });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(runStatus(run)).toMatchObject({ status: 'complete', step: 60 });
    const clean = vsae(['train', '--input', 'repaired.arrow', '-o', 'repaired-run', ...opts], { cwd: tmp });
    expect(clean.code, clean.stderr).toBe(0);
    const a = readSafetensors(path.join(run, 'sae_weights.safetensors'));
    const b = readSafetensors(path.join(tmp, 'repaired-run', 'sae_weights.safetensors'));
    for (const k of b.tensors.keys()) {
      const x = a.getFloat32(k).data;
      const y = b.getFloat32(k).data;
      let worst = 0;
      for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
      expect(worst, k).toBeLessThanOrEqual(1e-6);
    }
    expect(readMetrics(path.join(run, 'metrics.arrows')).rows.map((x) => x.step)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  }, 300_000);
});

describe('damaged inputs', () => {
  it('a truncated dataset file, a damaged _dataset.json, a stream cut before its end marker', async () => {
    const whole = fs.readFileSync(path.join(tmp, 'clean.arrow'));
    fs.writeFileSync(path.join(tmp, 'cut.arrow'), whole.subarray(0, whole.length >> 1));
    expectOneLineError(vsae(['train', '--input', 'cut.arrow', '-o', 'cut-run', '--steps', '5', ...quick], { cwd: tmp }), 'train', /cut\.arrow: is truncated: .*regenerate it/);
    expect(fs.existsSync(path.join(tmp, 'cut-run'))).toBe(false);

    const dir = path.join(tmp, 'sharded');
    const w = await createDatasetWriter(dir, { meta: { source: 'test', dIn: D }, shardRows: 500 });
    await w.write({ numRows: 2000, act: rowsOf(2000) });
    await w.close();
    const j = readJson<Record<string, unknown>>(path.join(dir, '_dataset.json'));
    fs.writeFileSync(path.join(dir, '_dataset.json'), JSON.stringify({ ...j, rows: 9_000_000_000 }));
    expectOneLineError(vsae(['train', '--input', 'sharded', '-o', 'sh-run', '--steps', '5', ...quick], { cwd: tmp }), 'train', /_dataset\.json: says rows=9000000000 but its shards hold 2000/);

    const stream = await streamBytes(rowsOf(1000));
    const noEnd = stream.subarray(0, stream.length - 8);
    expectOneLineError(vsae(['train', '--input', '-', '-o', 'pipe-run', '--steps', '50', ...quick], { cwd: tmp, input: noEnd }), 'train', /stdin: the Arrow stream ended after 1000 rows without its end-of-stream marker/);
    expectOneLineError(vsae(['analyze', 'clean-run', '--input', '-', '--feature-sparsity', '-q'], { cwd: tmp, input: noEnd }), 'analyze', /stdin: the Arrow stream ended after 1000 rows without its end-of-stream marker/);
  });

  it('a cfg.json claiming d_sae 2^30: analyze refuses in one line (no allocation), report and dash say what is wrong', () => {
    const run = path.join(tmp, 'liar');
    fs.cpSync(path.join(tmp, 'clean-run'), run, { recursive: true });
    const cfg = readJson<Record<string, unknown>>(path.join(run, 'cfg.json'));
    fs.writeFileSync(path.join(run, 'cfg.json'), JSON.stringify({ ...cfg, d_sae: 2 ** 30 }));
    const a = vsae(['analyze', 'liar', '--input', 'clean.arrow', '-q'], { cwd: tmp });
    console.log(`reliability-values: ${a.stderr.trim()}`);
    expectOneLineError(a, 'analyze', /liar.*(1073741824|d_sae|shape)/);
    const d = vsae(['dash', 'liar'], { cwd: tmp });
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/liar/);
  });

  it('vsae extract --dataset: a corpus whose record batch claims 2^40 rows is refused in one line (file and stdin)', () => {
    // 37 documents of token ids; the first int64 37 after the file's magic is the record batch's
    // row count (or a field node's): set to 2^40, apache-arrow alone would loop over 2^40 rows.
    const corpus = path.join(tmp, 'corpus.arrow');
    writeTableSync(corpus, { tokens: { type: 'list<int32>', values: Array.from({ length: 37 }, (_, i) => [1 + i, 2 + i, 3 + i, 4 + i, 5 + i]) } });
    const bytes = fs.readFileSync(corpus);
    let at = -1;
    for (let i = 8; i + 8 <= bytes.length && at < 0; i += 8) if (bytes.readBigInt64LE(i) === 37n) at = i;
    expect(at).toBeGreaterThan(0);
    bytes.writeBigInt64LE(1n << 40n, at);
    fs.writeFileSync(path.join(tmp, 'liar-corpus.arrow'), bytes);
    const model = path.join(ROOT, 'packages', 'transformer', 'test', 'fixtures', 'gpt2-tiny');
    const args = (input: string) => ['extract', '--model', model, '--hook', 'hook_embed', '--dataset', input, '--context', '4', '-o', 'liar-acts.arrow', '-q'];
    expect(vsae(args('corpus.arrow'), { cwd: tmp, timeout: 120_000 }).code).toBe(0);
    fs.rmSync(path.join(tmp, 'liar-acts.arrow')); // extract never overwrites an output
    expectOneLineError(vsae(args('liar-corpus.arrow'), { cwd: tmp, timeout: 120_000 }), 'extract', /liar-corpus\.arrow: .*(impossible|damaged)/);
    expectOneLineError(vsae(args('-'), { cwd: tmp, input: bytes, timeout: 120_000 }), 'extract', /stdin: .*(impossible|damaged|rows)/);
  });

  it('a damaged analysis table: the report still draws and names it; dash lists the run', () => {
    const run = path.join(tmp, 'damaged');
    fs.cpSync(path.join(tmp, 'clean-run'), run, { recursive: true });
    const an = vsae(['analyze', 'damaged', '--input', 'clean.arrow', '--feature-sparsity', '-q'], { cwd: tmp });
    expect(an.code, an.stderr).toBe(0);
    const f = path.join(run, 'analysis', 'features.arrow');
    const bytes = fs.readFileSync(f);
    fs.writeFileSync(f, bytes.subarray(0, bytes.length - 40));
    const r = vsae(['report', 'damaged'], { cwd: tmp });
    expect(r.code, r.stderr).toBe(0);
    const html = fs.readFileSync(path.join(run, 'report.html'), 'utf8');
    expect(html).toMatch(/features\.arrow/);
    expect(html).toMatch(/truncated|damaged/);
    const d = vsae(['dash', 'damaged'], { cwd: tmp });
    expect(d.code, d.stderr).toBe(0);
  });
});

describe('a full disk (a file-size limit)', () => {
  /** `vsae ARGS` with files limited to `kib` KiB (bash's ulimit -f). */
  function limited(kib: number, args: string[]): { code: number | null; stderr: string } {
    const r = spawnSync('bash', ['-c', `ulimit -f ${kib} && exec "$0" "$@"`, process.execPath, BIN, ...args], {
      cwd: tmp,
      encoding: 'utf8',
      env: { ...process.env, VSAE_BACKEND: process.env.VSAE_BACKEND ?? 'wasm' },
    });
    return { code: r.status, stderr: r.stderr };
  }

  it('vsae toy: one line, exit 1, no dataset file and no temporary file left', () => {
    fs.mkdirSync(path.join(tmp, 'full'), { recursive: true });
    const r = limited(64, ['toy', '--rows', '20000', '--toy-steps', '10', '--n-features', '40', '--n-hidden', '10', '-o', 'full/toy.arrow', '-q']);
    expectOneLineError(r, 'toy', /cannot write full\/toy\.arrow: the file would pass the size limit/);
    expect(fs.readdirSync(path.join(tmp, 'full')).sort()).toEqual(['toy.truth.safetensors']);
  });

  it('vsae train: fails with its run marked failed, the checkpoint intact; --resume with room ends equal', () => {
    const opts = ['--input', 'clean.arrow', '--arch', 'sae', '--dict-mult', '2', '--steps', '300', '--batch-size', '64', '--buffer-rows', '64', '--log-every', '1', '--checkpoint-every', '20', '-q'];
    // metrics.arrows grows ~720 bytes a step (one record batch each): 64 KiB after ~90 steps.
    const r = limited(64, ['train', '-o', 'full-run', ...opts]);
    expectOneLineError(r, 'train', /cannot append to full-run\/metrics\.arrows: the file would pass the size limit/);
    const run = path.join(tmp, 'full-run');
    const st = runStatus(run)!;
    expect(st.status).toBe('failed');
    const ck = readJson<{ step: number }>(path.join(run, 'checkpoints', 'latest', 'state.json')).step;
    expect(ck).toBeGreaterThanOrEqual(20);
    expect(ck).toBeLessThanOrEqual(st.step);
    const resumed = vsae(['train', '--resume', '--input', 'clean.arrow', '-o', 'full-run', '-q'], { cwd: tmp });
    expect(resumed.code, resumed.stderr).toBe(0);
    const ref = vsae(['train', '-o', 'full-ref', ...opts], { cwd: tmp });
    expect(ref.code, ref.stderr).toBe(0);
    const a = readSafetensors(path.join(run, 'sae_weights.safetensors'));
    const b = readSafetensors(path.join(tmp, 'full-ref', 'sae_weights.safetensors'));
    for (const k of b.tensors.keys()) {
      const x = a.getFloat32(k).data;
      const y = b.getFloat32(k).data;
      for (let i = 0; i < y.length; i++) expect(Math.abs(x[i]! - y[i]!), `${k}[${i}]`).toBeLessThanOrEqual(1e-6);
    }
  }, 300_000);
});
