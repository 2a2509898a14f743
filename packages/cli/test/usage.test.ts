/** The same rules in every command: usage mistakes exit 2 with a suggestion, help for a command, -q everywhere. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatasetWriter } from '@vsae/data';
import { closest } from '../src/args.js';
import { bin, binRunner, expectOneLineError } from './bin.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-cli-usage-'));
const vsae = binRunner(tmp, { env: { VSAE_BACKEND: 'wasm' } });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  const w = await createDatasetWriter(path.join(tmp, 'd.arrow'), { meta: { source: 'test', dIn: 4 } });
  await w.write({ numRows: 256, act: Float32Array.from({ length: 1024 }, (_, i) => ((i * 7919) % 13) / 13) });
  await w.close();
});

/** Runs `command` under script(1), so that the bin's stdin and stdout are a terminal. */
function inTerminal(command: string): { status: number | null; out: string } {
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: tmp, env: { ...process.env, VSAE_BACKEND: 'wasm' } });
  return { status: r.status, out: r.stdout.toString() };
}
const hasScript = spawnSync('script', ['--version']).status === 0;
const node = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)}`;

describe('typos get a suggestion', () => {
  it('closest: within about a third of the letters, transpositions count once', () => {
    expect(closest('trian', ['toy', 'train', 'analyze'])).toBe('train');
    expect(closest('l1-coef', ['l1-coeff', 'kl-coeff', 'lr'])).toBe('l1-coeff');
    expect(closest('anlyze', ['analyze', 'train'])).toBe('analyze');
    expect(closest('bogus', ['train', 'toy'])).toBeUndefined();
    expect(closest('x', ['toy'])).toBeUndefined();
  });

  it('vsae trian, --l1_coef, --stpes: exit 2 and "did you mean"', () => {
    const r = vsae(['trian', '--input', 'd.arrow']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^vsae: unknown command "trian"; did you mean "vsae train"\? \(commands: [a-z, ]*\btrain\b[a-z, ]*\)$/m);
    expectOneLineError(vsae(['train', '--input', 'd.arrow', '-o', 'runs/x', '--l1_coef', '1']), 2, 'train', /unknown option --l1_coef for "vsae train"; did you mean --l1-coeff\? \(see vsae train --help\)$/);
    expectOneLineError(vsae(['train', '--input', 'd.arrow', '-o', 'runs/x', '--stpes', '1']), 2, 'train', /did you mean --steps\?/);
    expectOneLineError(vsae(['train', '--input', 'd.arrow', '-o', 'runs/x', '--vsae_iso_x']), 2, 'train', /did you mean --vsae-iso\?/);
    expectOneLineError(vsae(['toy', '-o', 'x.arrow', '--bogus']), 2, 'toy', /^vsae toy: unknown option --bogus for "vsae toy" \(see vsae toy --help\)$/);
    expect(fs.existsSync(path.join(tmp, 'runs/x'))).toBe(false);
  });
});

describe('help and quiet', () => {
  it('vsae help train prints train\'s help (vsae help alone the list of commands)', () => {
    const r = vsae(['help', 'train']);
    expect(r.status).toBe(0);
    expect(r.out).toBe(vsae(['train', '--help']).out);
    expect(r.out).toMatch(/^vsae train — /);
    expect(r.out).toContain('--l1-coeff');
    expect(vsae(['help']).out).toMatch(/^vsae \d+\.\d+\.\d+ — .*\n[\s\S]*Commands:/);
    expect(vsae(['help', 'trian']).stderr).toMatch(/did you mean "vsae train"/);
  });

  it('vsae report accepts -q / --quiet (nothing on stderr), as every other command', () => {
    const t = vsae(['train', '--input', 'd.arrow', '-o', 'runs/r', '--steps', '2', '--batch-size', '32', '--dict-mult', '1', '-q']);
    expect(t.status, t.stderr).toBe(0);
    for (const q of ['-q', '--quiet']) {
      const r = vsae(['report', 'runs/r', '-o', `r${q}.html`, q]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(fs.statSync(path.join(tmp, `r${q}.html`)).size).toBeGreaterThan(1000);
    }
    expect(vsae(['report', 'runs/r', '-o', 'loud.html']).stderr).toMatch(/^vsae report: wrote loud\.html/);
  });
});

describe.skipIf(!hasScript)('stdin that is a terminal is a usage mistake (2) in every command', () => {
  it('vsae inspect - and vsae train --input - from a terminal', () => {
    const i = inTerminal(`${node} inspect -`);
    expect(i.status, i.out).toBe(2);
    expect(i.out).toMatch(/vsae inspect: - reads an Arrow stream from stdin, which is a terminal here/);
    const t = inTerminal(`${node} train --input - -o runs/tty`);
    expect(t.status, t.out).toBe(2);
    expect(t.out).toMatch(/vsae train: --input - reads an Arrow stream from stdin, which is a terminal here/);
  });

  it('the pipeline inspect\'s hint shows works as written (with a smaller toy)', () => {
    const i = inTerminal(`${node} inspect -`);
    const hint = /\((vsae toy .*\| vsae inspect -)\)/.exec(i.out)?.[1];
    expect(hint, i.out).toBeDefined();
    const line = hint!.replace('vsae toy', 'vsae toy --toy-steps 20 --rows 500');
    const r = spawnSync('sh', ['-c', `vsae() { ${node} "$@"; }; ${line}`], { cwd: tmp, encoding: 'utf8', env: { ...process.env, VSAE_BACKEND: 'wasm' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^stdin: stream, 500 rows × d_in 20/);
  });
});

describe('a float64 act column (NumPy\'s default)', () => {
  it('vsae inspect and vsae train read it, with one note on stderr', async () => {
    const { Field, FixedSizeList, Float64, Table, makeData, makeVector, tableToIPC } = await import('apache-arrow');
    const n = 512;
    const d = 4;
    const v = Float64Array.from({ length: n * d }, (_, i) => (((i * 7919) % 13) / 13) * ((i * 31) % 3 === 0 ? 1 : 0));
    const act = makeVector(makeData({ type: new FixedSizeList(d, new Field('item', new Float64(), false)), length: n, nullCount: 0, child: makeData({ type: new Float64(), length: n * d, data: v }) }));
    fs.writeFileSync(path.join(tmp, 'f64.arrow'), tableToIPC(new Table({ act }), 'file'));
    const i = vsae(['inspect', 'f64.arrow', '--json', '-q']);
    expect(i.status, i.stderr).toBe(0);
    expect(i.stderr).toBe('vsae: note: f64.arrow: "act" is float64; converted to float32 as it is read (write float32 to halve the file and skip the conversion)\n');
    const info = JSON.parse(i.out) as { numRows: number; dIn: number; columns: Array<{ name: string; max: number }> };
    expect([info.numRows, info.dIn]).toEqual([n, d]);
    expect(info.columns.find((c) => c.name === 'act')!.max).toBeCloseTo(Math.fround(12 / 13), 6);
    const t = vsae(['train', '--input', 'f64.arrow', '-o', 'runs/f64', '--steps', '3', '--batch-size', '64', '--dict-mult', '1', '-q']);
    expect(t.status, t.stderr).toBe(0);
  });
});

describe('errors from the system name the user\'s path', () => {
  it('a temporary name in an errno error is shown as the file it stands for', async () => {
    const { reportError } = await import('../src/main.js');
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stderr.write;
    try {
      const e = Object.assign(new Error("ENOTDIR: not a directory, open 'out/.r.html.tmp-28663-ab12cd'"), { code: 'ENOTDIR', path: 'out/.r.html.tmp-28663-ab12cd' });
      expect(reportError('report', e)).toBe(1);
    } finally {
      process.stderr.write = write;
    }
    expect(lines).toEqual(['vsae report: out/r.html: a part of the path is not a directory\n']);
  });
});
