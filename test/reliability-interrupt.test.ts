/**
 * Interrupt and resume, with the real bins (docs/reliability.md):
 * - `vsae train` stopped by SIGINT, SIGTERM or SIGKILL at seeded random steps; SIGINT/SIGTERM
 *   write a checkpoint and exit 130; `--resume` ends with weights equal to an uninterrupted
 *   run's within 1e-6 and every step logged exactly once;
 * - `vsae extract --shard-rows` killed (SIGKILL at random moments, and SIGTERM → 130), then
 *   `--resume`: the rows equal an uninterrupted extraction's by (seq, pos), token and value —
 *   none twice, none missing — on the real tiny-random-gpt2 checkpoint (harness TINY_GPT2) over
 *   the sample corpus;
 * - `vsae toy --shard-rows` interrupted: the directory never claims to be complete, and a rerun
 *   says what to do.
 * Counts: VSAE_STRESS_TRAIN_CUTS (3; 12 under VSAE_STRESS), VSAE_STRESS_EXTRACT_KILLS (3; 20; the
 * extraction is 3 shards of 256 rows per kill, at least 12).
 * Kill moments come from VSAE_STRESS_SEED (printed).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset, readMetrics, readSafetensors, runStatus } from '@vsae/data';
import { SEED, SOTU, TINY_GPT2, checkTree, killAt, seeded, size, vsae, writeSparseDataset } from '@vsae/testkit/harness';

const CUTS = size('VSAE_STRESS_TRAIN_CUTS', 3, 12);
const KILLS = size('VSAE_STRESS_EXTRACT_KILLS', 3, 20);
const rand = seeded(SEED);
console.log(`reliability-interrupt: seed ${SEED} (VSAE_STRESS_SEED), ${CUTS} training cuts, ${KILLS} extraction kills`);

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-rel-int-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Sparse non-negative rows (a toy-like dataset) written through @vsae/data. */
const sparseDataset = (file: string, rows: number, dIn: number, seed: number, poison: Array<[number, number]> = []): Promise<void> =>
  writeSparseDataset(file, { rows, dIn, seed, density: 0.15, scale: 2, poison });

const weights = (run: string): Record<string, Float32Array> => {
  const st = readSafetensors(path.join(run, 'sae_weights.safetensors'));
  return Object.fromEntries([...st.tensors.keys()].map((k) => [k, st.getFloat32(k).data]));
};

function expectSameWeights(got: Record<string, Float32Array>, want: Record<string, Float32Array>, what: string): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const k of Object.keys(want)) {
    const a = got[k]!;
    const b = want[k]!;
    expect(a.length, `${what} ${k}`).toBe(b.length);
    let worst = 0;
    for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    expect(worst, `${what}: ${k} differs from the uninterrupted run by up to ${worst}`).toBeLessThanOrEqual(1e-6);
  }
}

const oneLine = (stderr: string): string[] => stderr.trimEnd().split('\n').filter((l) => l !== '');

describe('vsae train: SIGINT, SIGTERM, SIGKILL at random steps, then --resume', () => {
  const STEPS = 120;
  const base = ['--arch', 'vsae-iso', '--var-flag', '1', '--dict-mult', '2', '--steps', String(STEPS), '--batch-size', '64', '--lr', '3e-3', '--log-every', '1', '--checkpoint-every', '20', '--resample-every', '50', '--dead-window', '10', '-q'];
  let ref: Record<string, Float32Array>;

  beforeAll(async () => {
    await sparseDataset(path.join(tmp, 'd.arrow'), 6000, 12, 3);
    const r = vsae(['train', '--input', 'd.arrow', '-o', 'ref', ...base], { cwd: tmp });
    expect(r.code, r.stderr).toBe(0);
    ref = weights(path.join(tmp, 'ref'));
  }, 300_000);

  const signals = ['SIGINT', 'SIGTERM', 'SIGKILL'] as const;
  for (let i = 0; i < CUTS; i++) {
    const signal = signals[i % 3]!;
    const at = 1 + Math.floor(rand() * (STEPS - 5));
    it(`${signal} once step ${at} is logged: ${signal === 'SIGKILL' ? 'files intact' : 'checkpoint, exit 130'}; --resume equals the uninterrupted run`, async () => {
      const out = `cut-${i}`;
      const metrics = path.join(tmp, out, 'metrics.arrows');
      const cut = await killAt(['train', '--input', 'd.arrow', '-o', out, ...base], {
        cwd: tmp,
        signal,
        trigger: () => fs.existsSync(metrics) && (readMetrics(metrics).rows.at(-1)?.step ?? 0) >= at,
      });
      if (cut.code === 0) return; // it finished before the signal arrived: nothing to resume
      const check = await checkTree(path.join(tmp, out));
      expect(check.problems, `files left by ${signal}`).toEqual([]);
      if (signal === 'SIGKILL') {
        expect(cut.signal).toBe('SIGKILL');
      } else {
        expect(cut.code, cut.stderr).toBe(130);
        const st = runStatus(path.join(tmp, out))!;
        expect(st.status).toBe('interrupted');
        expect(st.step).toBeGreaterThanOrEqual(at);
        expect(fs.existsSync(path.join(tmp, out, 'checkpoints', 'latest', 'state.json'))).toBe(true);
      }
      const resumed = vsae(['train', '--resume', '--input', 'd.arrow', '-o', out, '-q'], { cwd: tmp });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(runStatus(path.join(tmp, out))).toMatchObject({ status: 'complete', step: STEPS });
      expectSameWeights(weights(path.join(tmp, out)), ref, `${signal} at ${at}`);
      expect(readMetrics(metrics).rows.map((r) => r.step)).toEqual(Array.from({ length: STEPS }, (_, k) => k + 1));
    }, 300_000);
  }
});

async function readRows(p: string): Promise<{ seq: bigint[]; pos: number[]; token: number[]; act: Float32Array; dIn: number }> {
  const ds = await openDataset(p);
  const seq: bigint[] = [];
  const pos: number[] = [];
  const token: number[] = [];
  const acts: Float32Array[] = [];
  for await (const b of ds.batches()) {
    seq.push(...b.seq!);
    pos.push(...b.pos!);
    token.push(...b.token!);
    acts.push(b.act.slice());
  }
  await ds.close();
  const act = new Float32Array(acts.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const a of acts) {
    act.set(a, o);
    o += a.length;
  }
  return { seq, pos, token, act, dIn: ds.dIn };
}

describe.skipIf(!fs.existsSync(TINY_GPT2))('vsae extract --shard-rows: killed, then --resume (tiny-random-gpt2, sample corpus)', () => {
  // 12 shards of 256 rows by default; under VSAE_STRESS enough (3 per kill) that the kills land
  // before the extraction completes.
  const ROWS = 256 * Math.max(12, 3 * KILLS);
  const args = (out: string) => ['extract', '--model', TINY_GPT2, '--hook', 'blocks.0.mlp.hook_post', '--text', SOTU, '--context', '32', '--batch-size', '2', '--shard-rows', '256', '--max-tokens', String(ROWS), '-o', out, '-q'];
  let ref: Awaited<ReturnType<typeof readRows>>;
  let refMs = 0;

  beforeAll(async () => {
    const r = vsae(args('ref'), { cwd: tmp });
    expect(r.code, r.stderr).toBe(0);
    refMs = r.ms;
    ref = await readRows(path.join(tmp, 'ref'));
    expect(ref.seq.length).toBe(ROWS);
  }, 300_000);

  /** Rows the directory's _dataset.json says are in complete shards (0 before the first). */
  function rowsDone(dir: string): number {
    try {
      return Number(JSON.parse(fs.readFileSync(path.join(dir, '_dataset.json'), 'utf8')).rows) || 0;
    } catch {
      return 0;
    }
  }

  async function expectEqualToReference(dir: string): Promise<void> {
    const got = await readRows(path.join(tmp, dir));
    expect(got.seq.length).toBe(ROWS);
    // Every (seq, pos) once, in order, with its token and its activations.
    expect(new Set(got.seq.map((s, i) => `${s}:${got.pos[i]}`)).size).toBe(ROWS);
    expect(got.seq).toEqual(ref.seq);
    expect(got.pos).toEqual(ref.pos);
    expect(got.token).toEqual(ref.token);
    let worst = 0;
    for (let i = 0; i < ref.act.length; i++) worst = Math.max(worst, Math.abs(got.act[i]! - ref.act[i]!));
    expect(worst, 'largest activation difference from the uninterrupted extraction').toBeLessThanOrEqual(1e-5);
  }

  it(`SIGKILL at ${KILLS} random moments, then --resume: no row twice, none missing`, async () => {
    const dir = path.join(tmp, 'killed');
    let kills = 0;
    for (let i = 0; i < 4 * KILLS && kills < KILLS; i++) {
      if (fs.existsSync(path.join(dir, '_dataset.json')) && JSON.parse(fs.readFileSync(path.join(dir, '_dataset.json'), 'utf8')).complete) break;
      // Half the kills at a random moment from the start, half while shards are being written.
      const writing = i % 2 === 1;
      const r = await killAt([...args('killed'), ...(fs.existsSync(dir) ? ['--resume'] : [])], {
        cwd: tmp,
        // Within the time the rest of the run takes (start-up included, or from the first shard on).
        delayMs: 0.8 * rand() * refMs * Math.max(0.15, 1 - rowsDone(dir) / ROWS) * (writing ? 0.5 : 1),
        trigger: writing ? () => fs.existsSync(path.join(dir, '_dataset.json')) : undefined,
      });
      if (r.killed) kills++;
      else expect(r.code, r.stderr).toBe(0);
      const check = await checkTree(dir, { datasetRows: ROWS });
      expect(check.problems, `after kill ${kills}`).toEqual([]);
    }
    const info = fs.existsSync(path.join(dir, '_dataset.json')) ? JSON.parse(fs.readFileSync(path.join(dir, '_dataset.json'), 'utf8')) : { complete: false };
    if (!info.complete) {
      const r = vsae([...args('killed'), ...(fs.existsSync(dir) ? ['--resume'] : [])], { cwd: tmp });
      expect(r.code, r.stderr).toBe(0);
    }
    console.log(`reliability-interrupt: extraction of ${ROWS} rows killed ${kills} times before it finished`);
    expect(kills, 'the kills landed before the extraction finished').toBeGreaterThanOrEqual(Math.min(KILLS, 2));
    await expectEqualToReference('killed');
  }, 600_000);

  it('SIGTERM: the batch in flight finishes, exit 130, the partial shard is removed; --resume finishes equal', async () => {
    const dir = path.join(tmp, 'term');
    const r = await killAt(args('term'), { cwd: tmp, signal: 'SIGTERM', trigger: () => fs.existsSync(path.join(dir, 'part-00001.arrow')) });
    if (r.code === 0) return;
    expect(r.code, r.stderr).toBe(130);
    expect(oneLine(r.stderr).at(-1)).toMatch(/interrupted; complete shards are kept: rerun the same command with --resume/);
    const info = JSON.parse(fs.readFileSync(path.join(dir, '_dataset.json'), 'utf8'));
    expect(info.complete).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
    await expect(openDataset(dir)).rejects.toThrow(/incomplete dataset .*--resume/);
    const again = vsae([...args('term'), '--resume'], { cwd: tmp });
    expect(again.code, again.stderr).toBe(0);
    await expectEqualToReference('term');
  }, 300_000);
});

describe('vsae toy --shard-rows interrupted', () => {
  it('SIGINT while shards are written: never complete, every listed shard whole, a rerun says what to do', async () => {
    const args = ['toy', '--rows', '40000', '--toy-steps', '20', '--n-features', '40', '--n-hidden', '10', '--shard-rows', '2000', '-o', 'toyd', '-q'];
    const dir = path.join(tmp, 'toyd');
    const r = await killAt(args, { cwd: tmp, signal: 'SIGINT', trigger: () => fs.existsSync(path.join(dir, 'part-00001.arrow')) });
    if (r.code === 0) return;
    const check = await checkTree(dir, { datasetRows: 40_000 });
    expect(check.problems).toEqual([]);
    expect(JSON.parse(fs.readFileSync(path.join(dir, '_dataset.json'), 'utf8')).complete).toBe(false);
    await expect(openDataset(dir)).rejects.toThrow(/incomplete dataset/);
    const again = vsae(args, { cwd: tmp });
    expect(again.code).toBe(2);
    expect(oneLine(again.stderr)).toHaveLength(1);
    expect(again.stderr).toMatch(/toyd already holds a dataset; delete it/);
  }, 300_000);
});
