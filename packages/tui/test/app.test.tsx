import * as fs from 'node:fs';
import { render } from 'ink-testing-library';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { App } from '../src/App.js';
import { formatPercent, formatValue } from '../src/format.js';
import { RunsStore } from '../src/runs-store.js';
import { formatFrontierTable, readFrontier, writeFrontier } from '@vsae/data';
import { histOf, metricsRowAt, tempRunsDir, writeFixtureRuns, writeRun } from './fixtures.js';

const root = tempRunsDir('vsae-tui-app-');
const fixture = writeFixtureRuns(root);
afterAll(() => {
  fixture.live.writer?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

type Mounted = ReturnType<typeof render> & { store: RunsStore; quits: number };
const mounted: Mounted[] = [];
afterEach(() => {
  for (const m of mounted.splice(0)) m.unmount();
});

/** Resizes the fake terminal the way a real one does: new size, then a 'resize' event. */
function resize(m: Mounted, columns: number, rows: number): void {
  Object.defineProperty(m.stdout, 'columns', { value: columns, configurable: true });
  Object.defineProperty(m.stdout, 'rows', { value: rows, configurable: true });
  m.stdout.emit('resize');
}

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits for a frame that satisfies `ok` (Ink redraws asynchronously after a resize or a poll). */
async function waitFrame(m: Mounted, ok: (frame: string) => boolean, what: string, ms = 5000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const f = m.lastFrame() ?? '';
    if (ok(f)) return f;
    if (Date.now() > end) throw new Error(`${what} never happened; last frame:\n${f}`);
    await tick(10);
  }
}

const waitFor = (m: Mounted, text: string): Promise<string> => waitFrame(m, (f) => f.includes(text), `"${text}"`);

/** A frame drawn for a `columns` × `rows` terminal (one line is left free). */
const sized = (m: Mounted, rows: number): Promise<string> => waitFrame(m, (f) => f.split('\n').length === rows - 1, `a ${rows - 1}-line frame`);

async function mount(columns = 120, rows = 30): Promise<Mounted> {
  const store = new RunsStore(root);
  store.refresh();
  const m = Object.assign(render(<App store={store} onQuit={() => m.quits++} />), { store, quits: 0 });
  mounted.push(m);
  resize(m, columns, rows);
  await sized(m, rows);
  return m;
}

async function press(m: Mounted, ...keys: string[]): Promise<void> {
  for (const k of keys) {
    m.stdin.write(k);
    await tick();
  }
}

const ESC = '\x1b';
const UP = '\x1b[A';
const DOWN = '\x1b[B';
/** A frame without colour codes (none are expected here, but styling must not hide a raw escape). */
const plain = (f: string): string => f.replace(/\x1b\[[0-9;]*m/g, '');
const rowOf = (frame: string, name: string): string => frame.split('\n').find((l) => l.includes(name)) ?? '';
const namesInOrder = (frame: string): string[] =>
  frame.split('\n').flatMap((l) => ['gpt2-vsae', 'live-sae', 'toy-sae'].filter((n) => l.includes(n)));

describe('run list', () => {
  it("shows every run's arch, steps, status, loss, L0, dead %, explained variance and MMCS, and the keys", async () => {
    const m = await mount();
    const f = await waitFor(m, 'toy-sae');
    const toy = metricsRowAt('sae', 1000);
    expect(rowOf(f, 'toy-sae').split(/\s+/).filter(Boolean)).toEqual(['toy-sae', 'sae', 'complete', '1,000/1,000', formatValue(toy.loss), formatValue(toy.l0), formatPercent(toy.dead_frac), formatValue(toy.explained_variance), '0.912']);
    const lm = metricsRowAt('vsae-iso', 2000);
    expect(rowOf(f, 'gpt2-vsae').split(/\s+/).filter(Boolean)).toEqual(['▸gpt2-vsae', 'vsae-iso', 'complete', '2,000/2,000', formatValue(lm.loss), formatValue(lm.l0), formatPercent(lm.dead_frac), formatValue(lm.explained_variance), '–']);
    expect(rowOf(f, 'live-sae')).toMatch(/running\s+200\/5,000/);
    expect(f).toMatch(/run▲\s+arch\s+status\s+steps\s+loss\s+L0\s+dead\s+expl\.var\s+MMCS/);
    const footer = f.split('\n').at(-1)!;
    for (const k of ['q  quit', 'enter  charts', 'f  features', 'c  compare', '/  filter']) expect(footer).toContain(k);
  });

  it('sorts by the next column with s, reverses with r, and filters by text', async () => {
    const m = await mount();
    const order = (names: string[]) => waitFrame(m, (f) => namesInOrder(f).join() === names.join(), `order ${names.join()}`);
    await order(['gpt2-vsae', 'live-sae', 'toy-sae']);
    await press(m, 's', 's', 's', 's'); // name → arch → status → steps → loss
    await waitFor(m, 'loss▲');
    await order(['gpt2-vsae', 'toy-sae', 'live-sae']); // losses 0.0988 < 0.145 < 0.45
    await press(m, 'r');
    await waitFor(m, 'loss▼');
    await order(['live-sae', 'toy-sae', 'gpt2-vsae']);
    await press(m, 'S', 'S'); // back past steps to status, still descending: running, then complete by name
    await waitFor(m, 'status▼');
    await order(['live-sae', 'gpt2-vsae', 'toy-sae']);
    await press(m, '/', 'q', 'u'); // while typing a filter, q is a letter
    await waitFor(m, 'filter: qu');
    expect(m.quits).toBe(0);
    await press(m, '\x7f', '\x7f', 'v', 's', 'a', 'e', '\r');
    await waitFor(m, '1 of 3 runs');
    await order(['gpt2-vsae']);
    await press(m, ESC);
    await order(['live-sae', 'gpt2-vsae', 'toy-sae']);
    await press(m, 'q');
    expect(m.quits).toBe(1);
  });
});

describe('run view', () => {
  it('charts loss terms, L0, dead fraction and explained variance, and follows a live run', async () => {
    const m = await mount(120, 40);
    await waitFor(m, 'live-sae');
    await press(m, DOWN, '\r');
    let f = await waitFor(m, 'step 200/5,000');
    for (const title of ['loss', 'reconstruction', 'L1 penalty', 'L0 (active latents per row)', 'dead fraction', 'explained variance']) expect(f).toContain(title);
    expect(f).toContain('4 logged steps, updating live');
    expect(f).toMatch(/[\u2801-\u28ff]/); // braille plot marks
    // vsae train appends two more log steps: they show on the next poll.
    fixture.live.writer!.append(metricsRowAt('sae', 250));
    fixture.live.writer!.append(metricsRowAt('sae', 300));
    m.store.refresh();
    f = await waitFor(m, 'step 300/5,000');
    expect(f).toContain('6 logged steps');
    expect(f).toContain(`loss ${formatValue(metricsRowAt('sae', 300).loss)}`);
    // The x axis of every chart ends at the last logged step.
    expect(f.match(/ 300(?= |$)/gm)?.length).toBe(6);
    await press(m, 'l');
    await waitFor(m, 'loss (log)');
    await press(m, ESC);
    await waitFor(m, 'run▲');
  });

  it('shows the KL term for a VSAE run', async () => {
    const m = await mount(120, 40);
    await waitFor(m, 'gpt2-vsae');
    await press(m, '\r');
    const f = await waitFor(m, 'KL');
    expect(f).not.toContain('L1 penalty');
    expect(f).toContain(`kl ${formatValue(metricsRowAt('vsae-iso', 2000).kl)}`);
  });
});

describe('feature browser', () => {
  it('jumps to a latent and shows its density, activations, histogram and top examples', async () => {
    const m = await mount(120, 30);
    await waitFor(m, 'toy-sae');
    await press(m, 'G', 'f'); // last row (toy-sae), then its features
    let f = await waitFor(m, 'density');
    expect(f).toContain('toy-sae  latent 0 of 160 (0–159)');
    expect(f).toContain('DEAD'); // latent 0 is dead in the fixture
    await press(m, '4', '2', '\r');
    f = await waitFor(m, 'latent 42 ');
    const freq = (42 % 13) / 100 + 0.001;
    expect(f).toContain(`density ${formatValue(freq)} (log10 ${formatValue(Math.log10(freq + 1e-10))})`);
    expect(f).toContain(`mean act ${formatValue(Math.fround(0.5 + 42 / 1000))}  max act ${formatValue(Math.fround(1 + 42 / 100))}`);
    expect(f).not.toContain('DEAD');
    expect(f).toContain(`counts ${Math.max(...histOf(42))} max`);
    expect(f).toMatch(/#1\s+1\.42\s+row 4,200/);
    expect(f).toMatch(/#3\s+1\.22\s+row 4,202/);
    await press(m, 'n');
    await waitFor(m, 'latent 43 ');
    await press(m, 'p', 'p');
    await waitFor(m, 'latent 41 ');
    await press(m, 'g', '4', '\r', 'd', 'n'); // skip dead: 4 → 6 (5 is dead)
    await waitFor(m, 'latent 6 ');
    await press(m, '9', '9', '9', '\r');
    await waitFor(m, 'Latent 999 is not in this run');
    await press(m, ESC);
    await waitFor(m, 'run▲');
  });

  it('shows context tokens with the escape-sequence token as harmless visible text', async () => {
    const m = await mount(120, 30);
    await waitFor(m, 'gpt2-vsae');
    await press(m, 'f', 'n');
    const f = await waitFor(m, 'Top activating examples (3)');
    expect(f).toContain('gpt2-vsae  latent 1 ');
    expect(f).toMatch(/#1\s+2\.01\s+ the cat sat on␛\[2J mat\.␊ It was happy/);
    expect(f).toMatch(/#2\s+2\.01\s+ the cat sat on the matab\\u202ecd␊ It was happy/);
    expect(f).toMatch(/q0\.5\s+2\.01/);
    for (const frame of m.frames) expect(plain(frame)).not.toContain(ESC);
  });

  it('handles keys that arrive in one chunk (a paste, fast typing, tmux send-keys) one by one', async () => {
    const m = await mount(120, 30);
    await waitFor(m, 'toy-sae');
    m.stdin.write('Gfn'); // last run, its features, next latent
    await waitFor(m, 'toy-sae  latent 1 ');
    m.stdin.write('137\r');
    const f = await waitFor(m, 'toy-sae  latent 137 ');
    expect(f).toContain(`max act ${formatValue(Math.fround(1 + 137 / 100))}`);
  });

  it('says so when a run has no analysis yet', async () => {
    const m = await mount(120, 30);
    await waitFor(m, 'live-sae');
    await press(m, DOWN, 'f');
    await waitFor(m, 'No feature table yet: run "vsae analyze"');
  });
});

describe('compare view', () => {
  it('puts two marked runs side by side', async () => {
    const m = await mount(160, 40);
    await waitFor(m, 'toy-sae');
    await press(m, ' ', 'G', ' ', 'c');
    const f = await waitFor(m, 'analysis:');
    const first = f.split('\n')[0]!;
    expect(first).toMatch(/gpt2-vsae\s+vsae-iso\s+complete.*│toy-sae\s+sae\s+complete/);
    expect(f).toMatch(/analysis: MSE 0\.0123.*│analysis: MSE 0\.0123.*MMCS 0\.912/);
    expect(f.split('\n').filter((l) => l.includes('│')).length).toBeGreaterThan(20);
    await press(m, ESC);
    await waitFor(m, 'run▲');
  });
});

describe('layout', () => {
  it('follows terminal resizes: every line fits the width, the footer stays on the last line', async () => {
    const m = await mount(120, 30);
    await waitFor(m, 'toy-sae');
    await press(m, UP, UP, '\r'); // gpt2-vsae
    for (const [w, h] of [[120, 30], [70, 20], [160, 48], [50, 12]] as const) {
      resize(m, w, h);
      const f = await sized(m, h);
      const lines = f.split('\n');
      expect(lines.length, `${w}×${h}`).toBe(h - 1);
      for (const l of lines) expect([...l].length, `${w}×${h}: ${l}`).toBeLessThanOrEqual(w);
      expect(lines.at(-1)).toContain('q  quit');
    }
    // Narrow: one chart per row, so the two top charts are no longer side by side.
    resize(m, 70, 40);
    const narrow = await sized(m, 40);
    expect(narrow.split('\n').some((l) => l.includes('loss') && l.includes('reconstruction'))).toBe(false);
    resize(m, 160, 41);
    const wide = await sized(m, 41);
    expect(wide.split('\n').some((l) => l.includes('loss') && l.includes('reconstruction'))).toBe(true);
  });
});

describe('the run list of a sweep directory', () => {
  it('shows the frontier table under the runs, and a note when it does not fit', async () => {
    const sweep = tempRunsDir('vsae-tui-app-sweep-');
    try {
      for (const k of [2, 4, 8]) writeRun(sweep, { name: `topk-k${k}`, arch: 'sae' });
      await writeFrontier(sweep, ['k'], ['l0', 'frac_alive'], [2, 4, 8].map((k) => ({ run: `topk-k${k}`, arch: 'topk', setting: { k }, values: { l0: k - 0.1, frac_alive: 1 - k / 20 } })));
      const store = new RunsStore(sweep);
      store.refresh();
      const m = Object.assign(render(<App store={store} onQuit={() => m.quits++} />), { store, quits: 0 });
      mounted.push(m);
      resize(m, 120, 30);
      const frame = await waitFor(m, 'frontier (frontier.arrow)');
      const lines = frame.split('\n');
      const at = lines.findIndex((l) => l.startsWith('frontier (frontier.arrow)'));
      expect(lines.slice(at + 1, at + 6).map((l) => l.trimEnd())).toEqual(formatFrontierTable(readFrontier(sweep)).split('\n'));
      expect(lines[at + 3]).toMatch(/^topk-k2\s+topk\s+2\s+1\.90\s+0\.90$/);
      // The three runs are listed above it.
      for (const k of [2, 4, 8]) expect(lines.slice(0, at).some((l) => l.includes(`topk-k${k}`))).toBe(true);
      // A short terminal: the list keeps rows, the frontier shows what fits and says so.
      resize(m, 120, 10);
      const small = await waitFor(m, 'first 3 lines, enlarge the window for the rest');
      expect(small.split('\n')).toHaveLength(9);
    } finally {
      fs.rmSync(sweep, { recursive: true, force: true });
    }
  });
});

describe('the run view of TopK models', () => {
  it('charts and shows their AuxK term (vSAE-TopK also its KL), with no L1 penalty', async () => {
    const dir = tempRunsDir('vsae-tui-app-topk-');
    try {
      writeRun(dir, { name: 'a-topk', arch: 'topk', steps: 1000 });
      writeRun(dir, { name: 'b-vsae-topk', arch: 'vsae-topk', steps: 1000 });
      const store = new RunsStore(dir);
      store.refresh();
      const m = Object.assign(render(<App store={store} onQuit={() => m.quits++} />), { store, quits: 0 });
      mounted.push(m);
      resize(m, 160, 40);
      await waitFor(m, 'a-topk');
      await press(m, '\r');
      let f = await waitFor(m, 'AuxK loss');
      expect(f).toContain(`auxk ${formatValue(metricsRowAt('topk', 1000).auxk)}`);
      expect(f).not.toContain('L1 penalty');
      expect(f).not.toMatch(/\bl1 /);
      expect(f).not.toMatch(/\bkl /);
      await press(m, '\x1b', 'j', '\r');
      f = await waitFor(m, 'b-vsae-topk  vsae-topk');
      await waitFor(m, 'AuxK loss');
      f = m.lastFrame() ?? '';
      expect(f).toContain(`kl ${formatValue(metricsRowAt('vsae-topk', 1000).kl)}  auxk ${formatValue(metricsRowAt('vsae-topk', 1000).auxk)}`);
      expect(f).toContain('KL');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
