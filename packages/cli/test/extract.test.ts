import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDataset } from '@vsae/data';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, binRunner, expectOneLineError as expectBinError, type Run } from './bin.js';
import { steadyPeaks } from '@vsae/testkit/harness';

// End-to-end through the real, built bin. Kill loops take their size from VSAE_STRESS_KILLS
// (modest by default; `npm run stress` sets it large).
const ROOT = path.resolve(path.dirname(bin), '../../..');
const REAL = path.resolve(ROOT, '../shared/fixtures/tiny-random-gpt2');
const TINY = path.join(ROOT, 'packages/transformer/test/fixtures/gpt2-tiny');
const GELU = path.join(ROOT, 'packages/transformer/test/fixtures/gelu1l-tiny');
const TEXT = path.join(ROOT, 'datasets/sotu-1790-1809.txt');
const KILLS = Number(process.env.VSAE_STRESS_KILLS ?? (process.env.VSAE_STRESS ? 40 : 4));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-cli-extract-'));
const vsae = binRunner(tmp, { before: ['extract'] });
const expectOneLineError = (r: Run, code: number, pattern: RegExp): void => expectBinError(r, code, 'extract', pattern);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const env = { ...process.env, VSAE_BACKEND: process.env.VSAE_BACKEND ?? 'auto' };

async function rows(p: string): Promise<{ n: number; dIn: number; seq: bigint[]; pos: number[]; token: number[]; act: number[] }> {
  const ds = await openDataset(p);
  const out = { n: 0, dIn: ds.dIn, seq: [] as bigint[], pos: [] as number[], token: [] as number[], act: [] as number[] };
  for await (const b of ds.batches()) {
    out.n += b.numRows;
    out.seq.push(...b.seq!);
    out.pos.push(...b.pos!);
    out.token.push(...b.token!);
    for (const v of b.act) out.act.push(v);
  }
  await ds.close();
  return out;
}

describe('vsae extract errors: one line, exit 1', () => {
  it('a directory without weights, an unknown hook (listing the valid ones), a context longer than the model', () => {
    const empty = path.join(tmp, 'noweights');
    fs.mkdirSync(empty);
    fs.copyFileSync(path.join(TINY, 'config.json'), path.join(empty, 'config.json'));
    expectOneLineError(vsae(['--model', empty, '--hook', 'hook_embed', '--text', TEXT, '-o', 'x.arrow']), 1, /has no weights: expected model\.safetensors/);
    expectOneLineError(vsae(['--model', path.join(tmp, 'missing'), '--hook', 'hook_embed', '--text', TEXT, '--context', '16', '-o', 'x.arrow']), 1, /no such model directory/);
    expectOneLineError(vsae(['--model', TINY, '--hook', 'blocks.0.mlp.hook_postt', '--text', TEXT, '--context', '16', '-o', 'x.arrow']), 1, /does not exist .*valid hooks: hook_embed, hook_pos_embed, blocks\.0\.hook_resid_pre/);
    expectOneLineError(vsae(['--model', TINY, '--hook', 'hook_embed', '--text', TEXT, '--context', '64', '-o', 'x.arrow']), 1, /--context 64 is longer than the model's context of 32/);
    expect(fs.existsSync(path.join(tmp, 'x.arrow'))).toBe(false);
  });

  it('a token id beyond the vocabulary, truncated weights, shapes that disagree with config.json', () => {
    const ids = path.join(tmp, 'ids.jsonl');
    // The GELU fixture's tokenizer has more tokens than a model cut to a smaller vocabulary.
    const small = path.join(tmp, 'smallvocab');
    fs.cpSync(GELU, small, { recursive: true });
    const cfg = JSON.parse(fs.readFileSync(path.join(small, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(small, 'config.json'), JSON.stringify({ ...cfg, d_vocab: 100 }));
    expectOneLineError(vsae(['--model', small, '--hook', 'hook_embed', '--text', TEXT, '--context', '16', '-o', 'y.arrow']), 1, /"embed\.W_E" has shape \[\d+, 16\] but config\.json implies \[100, 16\]/);
    fs.writeFileSync(ids, `${JSON.stringify({ text: 'the the the the the the the the' })}\n`);
    const trunc = path.join(tmp, 'trunc');
    fs.cpSync(TINY, trunc, { recursive: true });
    fs.truncateSync(path.join(trunc, 'model.safetensors'), 50_000);
    expectOneLineError(vsae(['--model', trunc, '--hook', 'hook_embed', '--text', ids, '--context', '4', '-o', 'y.arrow']), 1, /model\.safetensors.*truncated/);
    const trPth = path.join(tmp, 'trunc-pth');
    fs.cpSync(GELU, trPth, { recursive: true });
    fs.truncateSync(path.join(trPth, 'model_final.pth'), 60_000);
    expectOneLineError(vsae(['--model', trPth, '--hook', 'hook_embed', '--text', ids, '--context', '4', '-o', 'y.arrow']), 1, /model_final\.pth.*(truncated|corrupt)/);
    const arrowIds = path.join(tmp, 'ids.arrow');
    const mk = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { makeTable, tableToIPC, vectorFromArray, List, Field, Int32 } from 'apache-arrow';
      import fs from 'node:fs';
      const v = vectorFromArray([Int32Array.from([1, 2, 3, 4000])], new List(new Field('item', new Int32(), true)));
      fs.writeFileSync(${JSON.stringify(arrowIds)}, tableToIPC(makeTable({ tokens: v.data[0] }), 'file'));`], { cwd: path.join(ROOT, 'packages/data'), encoding: 'utf8' });
    expect(mk.status, mk.stderr).toBe(0);
    expectOneLineError(vsae(['--model', TINY, '--hook', 'hook_embed', '--dataset', arrowIds, '--context', '4', '-o', 'y.arrow']), 1, /token id 4000 .*outside the model's vocabulary of 1000/);
  });
});

describe.skipIf(!fs.existsSync(REAL))('the extract example on a real Hugging Face checkpoint (tiny-random-gpt2)', () => {
  it('writes 2048 rows of width 128 (64 windows of 32), and vsae train accepts the file', async () => {
    const r = vsae(['--model', REAL, '--hook', 'blocks.0.mlp.hook_post', '--text', TEXT, '--context', '32', '--max-tokens', '2048', '-o', 'acts.arrow']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote 2048 rows of blocks\.0\.mlp\.hook_post \(d_in 128\) to acts\.arrow/);
    expect(r.stderr).toMatch(/tokens\/s/);
    const d = await rows(path.join(tmp, 'acts.arrow'));
    expect([d.n, d.dIn, new Set(d.seq).size]).toEqual([2048, 128, 64]);
    // … and vsae train accepts the file.
    const t = spawnSync(process.execPath, [bin, 'train', '--arch', 'sae', '--input', 'acts.arrow', '-o', 'run-lm', '--steps', '20', '--batch-size', '256', '--quiet'], { cwd: tmp, env, encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    const cfg = JSON.parse(fs.readFileSync(path.join(tmp, 'run-lm', 'cfg.json'), 'utf8'));
    expect(cfg).toMatchObject({ d_in: 128, hook_name: 'blocks.0.mlp.hook_post', context_size: 32 });
  }, 120_000);
});

describe('interrupt and resume with real processes', () => {
  const args = (out: string): string[] => ['--model', TINY, '--hook', 'blocks.1.hook_resid_post', '--text', TEXT, '--context', '16', '--batch-size', '1', '--shard-rows', '48', '--max-tokens', '1600', '-o', out, '--quiet'];
  let reference: Awaited<ReturnType<typeof rows>>;

  it('writes the uninterrupted reference', async () => {
    const r = vsae(args('ref'));
    expect(r.status, r.stderr).toBe(0);
    reference = await rows(path.join(tmp, 'ref'));
    expect(reference.n).toBe(1600);
  });

  /** Runs an extraction and sends `sig` `delayMs` after it starts, or after `trigger` appears. */
  const runUntil = (out: string, extra: string[], delayMs: number, sig: NodeJS.Signals, trigger?: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [bin, 'extract', ...args(out), ...extra], { cwd: tmp, env });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      let t: NodeJS.Timeout | undefined;
      const poll = setInterval(() => {
        if (!trigger || fs.existsSync(trigger)) {
          clearInterval(poll);
          t = setTimeout(() => child.kill(sig), delayMs);
        }
      }, 10);
      child.on('exit', (code, signal) => {
        clearInterval(poll);
        clearTimeout(t);
        resolve({ code, signal, stderr });
      });
    });

  it(`SIGKILL at random moments (${KILLS}×), then --resume: every row once, equal to the reference`, async () => {
    const out = 'killed';
    const dir = path.join(tmp, out);
    let kills = 0;
    for (let i = 0; i < KILLS * 3 && kills < KILLS; i++) {
      const done = fs.existsSync(path.join(dir, '_dataset.json')) && JSON.parse(fs.readFileSync(path.join(dir, '_dataset.json'), 'utf8')).complete;
      if (done) break;
      // Half the kills at a random moment of the run, half while shards are being written.
      const whileWriting = i % 2 === 1;
      const r = await runUntil(out, fs.existsSync(dir) ? ['--resume'] : [], Math.random() * (whileWriting ? 800 : 2500), 'SIGKILL', whileWriting ? path.join(dir, '_dataset.json') : undefined);
      if (r.signal === 'SIGKILL') kills++;
      else expect(r.code, r.stderr).toBe(0);
      // Whatever moment it died, the directory never claims to be complete unless it is.
      const j = path.join(dir, '_dataset.json');
      if (fs.existsSync(j)) {
        const info = JSON.parse(fs.readFileSync(j, 'utf8'));
        if (info.complete) expect(info.rows).toBe(1600);
        for (const s of info.shards) expect(fs.existsSync(path.join(dir, s.file))).toBe(true);
      }
    }
    const info = fs.existsSync(path.join(dir, '_dataset.json')) ? JSON.parse(fs.readFileSync(path.join(dir, '_dataset.json'), 'utf8')) : { complete: false };
    if (!info.complete) {
      const r = vsae([...args(out), ...(fs.existsSync(dir) ? ['--resume'] : [])]);
      expect(r.status, r.stderr).toBe(0);
    }
    const got = await rows(dir);
    expect(got.n).toBe(1600);
    expect(got.seq).toEqual(reference.seq);
    expect(got.pos).toEqual(reference.pos);
    expect(got.token).toEqual(reference.token);
    const maxDiff = got.act.reduce((m, v, i) => Math.max(m, Math.abs(v - reference.act[i]!)), 0);
    expect(maxDiff).toBeLessThan(1e-5);
  }, 600_000);

  it('SIGINT stops after the batch in flight with exit 130; --resume finishes', async () => {
    const out = 'sigint';
    // Signal once the first shard is in place (the handler is installed well before).
    const r = await runUntil(out, [], 0, 'SIGINT', path.join(tmp, out, 'part-00000.arrow'));
    if (r.code === 0) return; // finished before the signal: nothing to resume
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted; complete shards are kept: rerun the same command with --resume/);
    const info = JSON.parse(fs.readFileSync(path.join(tmp, out, '_dataset.json'), 'utf8'));
    expect(info.complete).toBe(false);
    expect(fs.readdirSync(path.join(tmp, out)).filter((f) => f.startsWith('.'))).toEqual([]);
    const r2 = vsae([...args(out), '--resume']);
    expect(r2.status, r2.stderr).toBe(0);
    const got = await rows(path.join(tmp, out));
    expect(got.token).toEqual(reference.token);
  }, 120_000);
});

describe('bounded memory', () => {
  /**
   * Peak RSS (MB) of an extraction, read from the child's own resource usage. With `gcMs`, garbage
   * is collected every gcMs ms, so the peak is what the extraction holds rather than how late V8
   * collected what it had dropped.
   */
  function peak(maxTokens: number, out: string, extra: string[] = [], input?: string, gcMs?: number): number {
    const script = `
      if (${gcMs ?? 0} > 0 && typeof globalThis.gc === 'function') setInterval(() => globalThis.gc(), ${gcMs ?? 0}).unref();
      const { main } = await import(${JSON.stringify(path.join(path.dirname(bin), '../dist/main.js'))});
      const code = await main(process.argv.slice(1));
      process.stderr.write('PEAK ' + Math.round(process.resourceUsage().maxRSS / 1024) + '\\n');
      process.exitCode = code;`;
    const node = gcMs ? ['--expose-gc'] : [];
    const r = spawnSync(process.execPath, [...node, '--input-type=module', '-e', script, 'extract', '--model', TINY, '--hook', 'blocks.0.mlp.hook_post', '--text', input === undefined ? TEXT : '-', '--context', '32', '--max-tokens', String(maxTokens), '-o', out, '--quiet', ...extra], { cwd: tmp, env, encoding: 'utf8', input, maxBuffer: 1 << 30 });
    expect(r.status, r.stderr).toBe(0);
    return Number(/PEAK (\d+)/.exec(r.stderr)![1]);
  }

  it('peak memory does not grow with --max-tokens', () => {
    const small = peak(2048, 'mem-small.arrow');
    const large = peak(32768, 'mem-large.arrow');
    // 16× the rows (8 MB of activations more) must not show up in the peak.
    expect(large - small).toBeLessThan(40);
  }, 120_000);

  it('the data held stays within --max-memory while the output grows past it', () => {
    // Rows of 64 floats (+ seq, pos, token): ~26 MB from the sample corpus, 3× the budget; under
    // VSAE_STRESS the corpus is fed 12 times through stdin (~300 MB, 40×).
    // Against the first third of the same tokens: extraction's heaps (tokenizer, tensor engine)
    // settle over the first few hundred thousand tokens, so a tiny baseline would measure that.
    // steadyPeaks: an over-budget difference is measured again, the lower peak of each kept.
    const budget = 8;
    const corpus = fs.readFileSync(TEXT, 'utf8');
    const repeat = process.env.VSAE_STRESS ? 12 : 1;
    const stdin = Array.from({ length: repeat }, () => corpus).join('\n\n');
    const run = (tokens: number, out: string) => peak(tokens, out, ['--max-memory', `${budget}M`], stdin, 20);
    const { small: base, big } = steadyPeaks(() => run(32768 * repeat, 'budget-base.arrow'), () => run(10_000_000, 'budget-big.arrow'), budget);
    expect(fs.statSync(path.join(tmp, 'budget-big.arrow')).size).toBeGreaterThan(3 * budget * 2 ** 20);
    console.log(`extract held peak: ${base} MB over the first third, ${big} MB over the corpus`);
    expect(big - base, `held peak ${big} MB over the corpus vs ${base} MB over its first third`).toBeLessThan(budget);
    const r = vsae(['--model', TINY, '--hook', 'blocks.0.mlp.hook_post', '--text', TEXT, '--context', '32', '--max-memory', '10K', '-o', 'nope.arrow']);
    expectOneLineError(r, 2, /--max-memory 10 KiB is too small for one window of 32 tokens/);
  }, 600_000);
});
