import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDataset, readSafetensors } from '@vsae/data';
import { TOY_DEFAULTS } from '@vsae/toy';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, binRunner, expectOneLineError as expectBinError, type Run } from './bin.js';
import { command } from '../src/commands/toy.js';

// End-to-end: the real, built bin (`npm run build` / turbo builds it before the tests).
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-cli-toy-'));
const vsae = binRunner(tmp);
const expectOneLineError = (r: Run, code: number, pattern: RegExp): void => expectBinError(r, code, 'toy', pattern);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function readFeatures(file: string) {
  const ds = await openDataset(file);
  const rows: Float32Array[] = [];
  const acts: Float32Array[] = [];
  for await (const b of ds.batches()) {
    rows.push(b.features!.slice());
    acts.push(b.act.slice());
  }
  await ds.close();
  return { ds, features: rows, acts };
}

describe('vsae toy', () => {
  it('the README\'s example (at 6000 rows) writes act of width 20, features of width 100 and the truth beside it', async () => {
    const r = vsae(['toy', '--n-features', '100', '--n-hidden', '20', '--n-correlated-pairs', '2', '--n-anticorrelated-pairs', '1', '--rows', '6000', '--toy-steps', '100', '-o', 'toy.arrow']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/wrote 6000 rows \(act 20, features 100\) to toy\.arrow, ground truth toy\.truth\.safetensors/);
    const { ds, features } = await readFeatures(path.join(tmp, 'toy.arrow'));
    expect(ds.numRows).toBe(6000);
    expect(ds.dIn).toBe(20);
    expect(ds.nFeatures).toBe(100);
    expect(ds.meta.source).toBe('toy');
    expect(ds.meta.config).toMatchObject({ n_correlated_pairs: 2, n_anticorrelated_pairs: 1, feature_probability: 0.05, toy_steps: 100, seed: 42 });
    expect(ds.meta.raw['vsae:ground_truth']).toBe('toy.truth.safetensors');
    // Columns 0-3: two correlated pairs, 4-5: one anti-correlated pair.
    let either = 0;
    let together = 0;
    for (const f of features) {
      for (let r0 = 0; r0 < f.length; r0 += 100) {
        for (const a of [0, 2]) {
          if (f[r0 + a]! > 0 || f[r0 + a + 1]! > 0) either++;
          if (f[r0 + a]! > 0 && f[r0 + a + 1]! > 0) together++;
        }
        expect(f[r0 + 4]! > 0 && f[r0 + 5]! > 0).toBe(false);
      }
    }
    expect(either).toBeGreaterThan(0);
    expect(together / either).toBeGreaterThanOrEqual(0.95);
    const truth = readSafetensors(path.join(tmp, 'toy.truth.safetensors'));
    expect(truth.getFloat32('W').shape).toEqual([20, 100]);
    expect(truth.getFloat32('b_final').shape).toEqual([100]);
    expect(truth.getFloat32('importance').shape).toEqual([100]);
    expect(truth.getFloat32('feature_probability').shape).toEqual([1]);
  });

  it('-o - streams the same dataset to stdout, with the truth at --truth (snake_case flags accepted)', async () => {
    const args = ['--n_features', '30', '--n_hidden', '5', '--n_correlated_pairs', '1', '--toy_steps', '30', '--rows', '3000', '--seed', '7', '--quiet'];
    const file = vsae(['toy', ...args, '-o', 'small.arrow']);
    expect(file.status, file.stderr).toBe(0);
    expect(file.stderr).toBe('');
    const stream = vsae(['toy', ...args, '-o', '-', '--truth', 'streamed/truth.safetensors']);
    expect(stream.status, stream.stderr).toBe(0);
    fs.writeFileSync(path.join(tmp, 'small.arrows'), stream.stdout);
    const a = await readFeatures(path.join(tmp, 'small.arrow'));
    const b = await readFeatures(path.join(tmp, 'small.arrows'));
    expect(b.ds.meta.raw['vsae:ground_truth']).toBe(path.join(tmp, 'streamed', 'truth.safetensors'));
    expect(Buffer.concat(b.acts.map((x) => Buffer.from(x.buffer))).equals(Buffer.concat(a.acts.map((x) => Buffer.from(x.buffer))))).toBe(true);
    expect(Buffer.concat(b.features.map((x) => Buffer.from(x.buffer))).equals(Buffer.concat(a.features.map((x) => Buffer.from(x.buffer))))).toBe(true);
    expect(fs.readFileSync(path.join(tmp, 'streamed', 'truth.safetensors')).equals(fs.readFileSync(path.join(tmp, 'small.truth.safetensors')))).toBe(true);
  });

  it('vsae toy -o - | vsae inspect - reads the stream', () => {
    const toy = vsae(['toy', '--n-features', '12', '--n-hidden', '4', '--toy-steps', '5', '--rows', '2000', '-o', '-', '--truth', 'pipe.truth.safetensors', '--quiet']);
    expect(toy.status, toy.stderr).toBe(0);
    const inspect = vsae(['inspect', '-', '--json'], { input: toy.stdout });
    expect(inspect.status, inspect.stderr).toBe(0);
    expect(inspect.stdout.toString()).toMatch(/2000/);
  });

  it('--json prints a summary on stdout', () => {
    const r = vsae(['toy', '--n-features', '10', '--n-hidden', '3', '--toy-steps', '3', '--rows', '100', '-o', 'j.arrow', '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout.toString()) as Record<string, unknown>;
    expect(s).toMatchObject({ out: 'j.arrow', truth: 'j.truth.safetensors', rows: 100, d_in: 3, n_features: 10 });
    expect(typeof s.toy_final_loss).toBe('number');
  });

  it('usage mistakes exit 2 with one line naming the flag', () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /needs -o PATH/],
      [['-o', '-'], /--truth PATH/],
      [['-o', 'x.arrow', '--n-features', 'abc'], /--n-features needs a number, not "abc"/],
      [['-o', 'x.arrow', '--feature-probability', '0'], /--feature-probability must be in \(0, 1\]/],
      [['-o', 'x.arrow', '--feature-probability', '1.5'], /--feature-probability must be in \(0, 1\]/],
      [['-o', 'x.arrow', '--corr-rate', '1.5'], /--corr-rate must be in/],
      [['-o', 'x.arrow', '--n-features', '11', '--corr-rate', '-0.2'], /--corr-rate must be in \(−1\/\(n−1\), 1\)/],
      [['-o', 'x.arrow', '--corr-rate', '0.2', '--n-correlated-pairs', '1'], /cannot be combined/],
      [['-o', 'x.arrow', '--n-features', '10', '--n-correlated-pairs', '4', '--n-anticorrelated-pairs', '2'], /need 12 features but --n-features is 10/],
      [['-o', 'x.arrow', '--rows', '0'], /--rows must be at least 1/],
      [['-o', 'x.arrow', '--toy-lr', '-1'], /--toy-lr must be a positive number/],
      [['-o', 'x.arrow', '--backend', 'gpu'], /--backend must be one of/],
      [['-o', 'x.arrow', '--bogus'], /unknown option --bogus/],
      [['-o', '-', '--truth', 't.safetensors', '--json'], /--json prints on stdout/],
    ];
    for (const [args, pattern] of cases) expectOneLineError(vsae(['toy', ...args]), 2, pattern);
    expect(fs.existsSync(path.join(tmp, 'x.arrow'))).toBe(false);
  });

  it('-o - with a terminal on stdout is a usage error (run under script(1) for a pty)', () => {
    const r = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} toy -o - --truth t.safetensors`, '/dev/null'], { cwd: tmp });
    expect(r.status).toBe(2);
    expect(r.stdout.toString()).toMatch(/vsae toy: -o - writes binary Arrow data to stdout, which is a terminal here/);
  });

  it('an output path that cannot be created is a one-line error with exit code 1', () => {
    fs.writeFileSync(path.join(tmp, 'a-file'), '');
    expectOneLineError(vsae(['toy', '--toy-steps', '1', '--rows', '10', '-o', 'a-file/toy.arrow']), 1, /^vsae toy: cannot write a-file\/toy\.arrow: a-file is a file, not a directory; choose another path$/);
  });

  it('the help lists the flags with the defaults of @vsae/toy', () => {
    const help = vsae(['toy', '--help']);
    expect(help.status).toBe(0);
    for (const flag of ['--n-features', '--n-hidden', '--n-correlated-pairs', '--n-anticorrelated-pairs', '--corr-rate', '--feature-probability', '--toy-steps', '--toy-batch-size', '--toy-lr', '--rows', '--seed', '--out', '--truth', '--backend']) {
      expect(help.stdout.toString()).toContain(flag);
    }
    const o = command.options;
    expect([o['n-features']!.default, o['n-hidden']!.default, o['n-correlated-pairs']!.default, o['n-anticorrelated-pairs']!.default]).toEqual([
      TOY_DEFAULTS.nFeatures,
      TOY_DEFAULTS.nHidden,
      TOY_DEFAULTS.nCorrelatedPairs,
      TOY_DEFAULTS.nAnticorrelatedPairs,
    ]);
    expect([o['feature-probability']!.default, o['toy-steps']!.default, o['toy-batch-size']!.default, o['toy-lr']!.default, o.rows!.default, o.seed!.default]).toEqual([
      TOY_DEFAULTS.featureProbability,
      TOY_DEFAULTS.toySteps,
      TOY_DEFAULTS.toyBatchSize,
      TOY_DEFAULTS.toyLr,
      TOY_DEFAULTS.rows,
      TOY_DEFAULTS.seed,
    ]);
  });
});
