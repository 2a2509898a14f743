/**
 * `vsae dash` end to end: the real bin in a real terminal (tmux), over runs made by `vsae toy`
 * and `vsae train` (and `vsae analyze` once it exists), plus an LM-like run with decoded tokens
 * written through @vsae/data (one token is the escape sequence `\x1b[2J`). Keys go in with
 * `send-keys`, the screen comes back with `capture-pane`. While a training process appends
 * metrics, the step count on screen must grow. Also: resizes, and the plain table when stdout
 * is not a terminal.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixtureRuns } from '../packages/tui/test/fixtures.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'packages', 'cli', 'bin', 'vsae.js');
const LIVE_WRITER = path.join(REPO, 'packages', 'tui', 'test', 'live-writer.mjs');
const HAS_TMUX = spawnSync('tmux', ['-V']).status === 0;

function vsae(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A subcommand is built when its help is not the placeholder's. */
function built(command: string): boolean {
  return !vsae([command, '--help'], REPO).stdout.includes('not built yet');
}

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** One tmux server on a private socket, one session running the dashboard. */
class Tmux {
  readonly socket = `vsae-test-${process.pid}`;
  run(...args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }
  start(command: string, cwd: string, columns = 160, rows = 48): void {
    // The pane keeps its text after the command ends, and shows how it ended.
    this.run('new-session', '-d', '-s', 'dash', '-x', String(columns), '-y', String(rows), '-c', cwd, `${command}; echo "__EXIT $?"; sleep 600`);
  }
  /** The screen as text (`escapes`: with colour codes, as tmux renders them). */
  capture(escapes = false): string {
    return this.run('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', 'dash');
  }
  keys(...keys: string[]): void {
    this.run('send-keys', '-t', 'dash', ...keys);
  }
  /** Types text literally (each character a key). */
  type(text: string): void {
    this.run('send-keys', '-t', 'dash', '-l', text);
  }
  async waitFor(ok: (screen: string) => boolean, what: string, ms = 60_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const screen = this.capture();
      if (ok(screen)) return screen;
      if (Date.now() > end) throw new Error(`${what} did not appear within ${ms / 1000}s; the screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  waitText(text: string, ms?: number): Promise<string> {
    return this.waitFor((s) => s.includes(text), `"${text}"`, ms);
  }
  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

const lines = (screen: string): string[] => screen.replace(/\n$/, '').split('\n');
/** Index of the last line with text. */
const lastTextLine = (screen: string): number => {
  const ls = lines(screen);
  for (let i = ls.length - 1; i >= 0; i--) if (ls[i]!.trim() !== '') return i;
  return -1;
};
const stepOnScreen = (screen: string): number | undefined => {
  const m = /step ([\d,]+)\//.exec(screen);
  return m ? Number(m[1]!.replace(/,/g, '')) : undefined;
};

describe.skipIf(!HAS_TMUX)('vsae dash in a real terminal', () => {
  let work: string;
  let runs: string;
  let realTraining = false;
  let trainer: ChildProcess | undefined;
  const tmux = new Tmux();

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-dash-e2e-'));
    runs = path.join(work, 'runs');
    fs.mkdirSync(runs);
    realTraining = built('toy') && built('train');
    if (realTraining) {
      const toy = vsae(['toy', '--n-features', '20', '--n-hidden', '5', '--toy-steps', '300', '--rows', '20000', '--seed', '1', '-o', 'toy.arrow'], work);
      expect(toy.code, toy.stderr).toBe(0);
      const train = vsae(['train', '--arch', 'sae', '--input', 'toy.arrow', '-o', 'runs/toy-sae', '--steps', '200', '--batch-size', '256', '--log-every', '20', '--seed', '1'], work);
      expect(train.code, train.stderr).toBe(0);
      if (built('analyze')) {
        const an = vsae(['analyze', 'runs/toy-sae', '--input', 'toy.arrow'], work);
        expect(an.code, an.stderr).toBe(0);
      }
    } else {
      console.warn('vsae dash e2e: "vsae toy"/"vsae train" are not built yet; using runs written through @vsae/data and a stand-in training process instead');
    }
    // An LM-like run with decoded tokens (no LM pipeline runs in CI): one token is `\x1b[2J`.
    const lmRoot = path.join(work, 'lm');
    const f = writeFixtureRuns(lmRoot);
    f.live.writer?.close();
    fs.renameSync(f.lm.dir, path.join(runs, 'gpt2-vsae'));
    if (!realTraining) fs.renameSync(f.toy.dir, path.join(runs, 'toy-sae'));
    // A run directory whose very name is hostile.
    fs.renameSync(f.live.dir, path.join(runs, 'evil\x1b[2Jname'));
  });

  afterAll(() => {
    tmux.kill();
    trainer?.kill('SIGKILL');
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('prints the run list as a plain table when stdout is not a terminal', () => {
    const r = vsae(['dash', 'runs'], work);
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(/^run\s+arch\s+status\s+steps\s+loss\s+L0\s+dead\s+expl\.var\s+MMCS$/);
    expect(out.map((l) => l.split(/\s+/)[0])).toEqual(['run', 'evil␛[2Jname', 'gpt2-vsae', 'toy-sae']);
    expect(out.find((l) => l.startsWith('gpt2-vsae'))).toMatch(/vsae-iso\s+complete\s+2,000\/2,000/);
    expect(out.find((l) => l.startsWith('toy-sae'))).toMatch(/\ssae\s+complete\s/);
    expect(r.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/); // no escape codes, no raw controls
  });

  it('shows runs, charts and features, follows a live training run, and follows resizes', async () => {
    // Training keeps appending metrics while the dashboard watches.
    trainer = realTraining
      ? spawn(process.execPath, [BIN, 'train', '--arch', 'sae', '--input', 'toy.arrow', '-o', 'runs/live-train', '--steps', '1000000', '--batch-size', '256', '--log-every', '5', '--seed', '2'], { cwd: work, stdio: 'ignore' })
      : spawn(process.execPath, [LIVE_WRITER, path.join(runs, 'live-train'), '1000000', '150'], { cwd: work, stdio: 'ignore' });
    const metrics = path.join(runs, 'live-train', 'metrics.arrows');
    const t0 = Date.now();
    while (!(fs.existsSync(metrics) && fs.statSync(metrics).size > 2000)) {
      if (Date.now() - t0 > 120_000) throw new Error('the training process wrote no metrics within 120s');
      await new Promise((r) => setTimeout(r, 200));
    }

    tmux.start(`COLORTERM=truecolor node ${shq(BIN)} dash runs --interval 300`, work);
    let screen = await tmux.waitText('q  quit');
    expect(screen).toContain('vsae dash — runs');
    for (const name of ['evil␛[2Jname', 'gpt2-vsae', 'live-train', 'toy-sae']) expect(screen).toContain(name);
    expect(screen.split('\n').find((l) => l.includes('gpt2-vsae'))).toMatch(/vsae-iso\s+complete\s+2,000\/2,000/);
    expect(screen.split('\n').find((l) => l.includes('live-train'))).toMatch(/sae\s+running/);
    expect(lastTextLine(screen)).toBe(46); // the footer on the last line but one of 48

    // The live run: its charts, and the step count growing while training appends metrics.
    tmux.type('/live');
    tmux.keys('Enter');
    await tmux.waitFor((s) => s.includes('1 of 4 runs'), 'the filtered list');
    tmux.keys('Enter');
    screen = await tmux.waitText('updating live');
    for (const title of ['loss', 'reconstruction', 'L1 penalty', 'L0 (active latents per row)', 'dead fraction', 'explained variance']) expect(screen).toContain(title);
    const first = stepOnScreen(screen)!;
    expect(first).toBeGreaterThan(0);
    screen = await tmux.waitFor((s) => (stepOnScreen(s) ?? 0) > first, 'a larger step count');
    const second = stepOnScreen(screen)!;
    await tmux.waitFor((s) => (stepOnScreen(s) ?? 0) > second, 'a still larger step count');

    // Resizes: the layout follows (three charts a row at 160 columns, one at 90).
    const sideBySide = (s: string): boolean => s.split('\n').some((l) => /loss .*reconstruction/.test(l));
    expect(sideBySide(screen)).toBe(true);
    tmux.run('resize-window', '-t', 'dash', '-x', '90', '-y', '30');
    screen = await tmux.waitFor((s) => !sideBySide(s) && lastTextLine(s) === 28 && s.includes('q  quit'), 'the layout for 90×30');
    for (const l of lines(screen)) expect([...l.trimEnd()].length).toBeLessThanOrEqual(90);
    tmux.run('resize-window', '-t', 'dash', '-x', '160', '-y', '48');
    await tmux.waitFor((s) => sideBySide(s) && lastTextLine(s) === 46, 'the layout for 160×48 again');

    // Back to the list; the LM run's features: a latent by number, tokens shaded, the escape harmless.
    tmux.keys('Escape');
    await tmux.waitText('run▲');
    tmux.keys('Escape'); // clear the filter
    await tmux.waitText('4 of 4 runs');
    tmux.type('gj'); // top (the hostile name sorts first), then gpt2-vsae
    tmux.type('f');
    await tmux.waitText('gpt2-vsae  latent 0 of 128');
    tmux.type('1');
    tmux.keys('Enter');
    screen = await tmux.waitText('Top activating examples (3)');
    expect(screen).toContain('gpt2-vsae  latent 1 of 128');
    expect(screen).toMatch(/#1\s+2\.01\s+ the cat sat on␛\[2J mat\.␊ It was happy/);
    expect(screen).toContain('density 0.011');
    // The screen was not cleared by the token: the title line is still there above it.
    expect(lines(screen)[0]).toMatch(/^gpt2-vsae {2}latent 1/);
    const colored = tmux.capture(true).split('\n').find((l) => l.includes('#1') && l.includes('happy'));
    // Tokens carry background colours by activation; the row's own token (here " cat", the
    // latent's largest activation) gets the brightest.
    expect(colored).toMatch(/\x1b\[[0-9;]*48;2;\d+;\d+;\d+m the/);
    expect(colored).toMatch(/\x1b\[48;2;255;150;20m cat/);

    // The toy run trained by vsae train: its features when analysed, its charts anyway.
    tmux.keys('Escape');
    await tmux.waitText('run▲');
    tmux.type('G');
    tmux.keys('Enter');
    screen = await tmux.waitText('toy-sae  sae');
    expect(screen).toMatch(/step (200\/200|1,000\/1,000)/);

    tmux.type('q');
    screen = await tmux.waitText('__EXIT 0');
    trainer.kill('SIGINT');
  });

  it('lists a sweep directory\'s runs with its frontier table under them', async () => {
    if (!realTraining) return;
    const sw = vsae(['sweep', '--arch', 'topk', '--k', '2,4', '--d-sae', '20', '--steps', '100', '--batch-size', '256', '--log-every', '20', '--input', 'toy.arrow', '-o', 'sweep', '--n-samples', '2000', '--quiet'], work);
    expect(sw.code, sw.stderr).toBe(0);
    tmux.kill();
    tmux.start(`node ${shq(BIN)} dash sweep --interval 300`, work);
    const screen = await tmux.waitText('frontier (frontier.arrow)');
    const ls = lines(screen);
    const at = ls.findIndex((l) => l.startsWith('frontier (frontier.arrow)'));
    // The runs above, each complete; the frontier's rows below, as vsae sweep printed them.
    for (const k of [2, 4]) expect(ls.slice(0, at).find((l) => l.includes(`topk-k${k}`))).toMatch(/topk\s+complete\s+100\/100/);
    const printed = sw.stdout.trimEnd().split('\n');
    expect(ls.slice(at + 1, at + 1 + printed.length).map((l) => l.trimEnd())).toEqual(printed);
    tmux.type('q');
    await tmux.waitText('__EXIT 0');
  });
});
