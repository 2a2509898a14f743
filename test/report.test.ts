/// <reference lib="dom" />
/**
 * `vsae report` end to end: the built bin writes reports of fixture run directories, and
 * Debian's Chromium (driven by playwright-core) opens them from file:// and checks that they
 * draw, stay offline, respond to clicks and keep hostile token text inert.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_TOKENS, makeRun, type MadeRun } from '@vsae/testkit/make-run';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'packages', 'cli', 'bin', 'vsae.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

function vsae(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What a page did while it was open. */
interface Watch {
  page: Page;
  errors: string[];
  requests: string[];
  dialogs: string[];
}

let tmp: string;
let profile: string;
let context: BrowserContext;
const runs: Record<string, MadeRun> = {};

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: the report tests need a real browser. Install it (Debian: sudo apt-get install chromium; .ci/run does) or set CHROMIUM_PATH.`);
  }
  if (!fs.existsSync(path.join(ROOT, 'packages', 'cli', 'dist', 'main.js')) || !fs.existsSync(path.join(ROOT, 'packages', 'report', 'dist', 'index.js'))) {
    throw new Error('the vsae bin is not built: run "npm run build" first (npm test does it through turbo)');
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-report-e2e-'));
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-chromium-'));
  runs.lm = await makeRun(path.join(tmp, 'run-<img src=x onerror=alert(3)>'), { kind: 'lm', arch: 'sae', hostile: true, seed: 11 });
  runs.toy = await makeRun(path.join(tmp, 'toy-vsae'), { kind: 'toy', arch: 'vsae-iso', seed: 12 });
  runs.trained = await makeRun(path.join(tmp, 'trained-only'), { kind: 'toy', parts: ['train'], seed: 13 });
  runs.live = await makeRun(path.join(tmp, 'live'), { kind: 'toy', parts: ['train'], live: true, seed: 14 });
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await context?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

/** Opens a report file and waits until the client says it has drawn everything. */
async function open(file: string): Promise<Watch> {
  const page = await context.newPage();
  const w: Watch = { page, errors: [], requests: [], dialogs: [] };
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') w.errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => w.errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => w.requests.push(r.url()));
  page.on('dialog', (d) => {
    w.dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  return w;
}

/** Marks drawn per chart of run `ri` (figure[data-chart] → count of .mark inside). */
async function marks(page: Page, ri?: number): Promise<Record<string, number>> {
  return page.$$eval(
    'figure.chart',
    (figs, ri) => Object.fromEntries(figs.filter((f) => ri === null || f.getAttribute('data-run') === String(ri)).map((f) => [f.getAttribute('data-chart'), f.querySelectorAll('.mark').length])),
    ri ?? null,
  );
}

function expectClean(w: Watch, file: string): void {
  expect(w.errors).toEqual([]);
  expect(w.dialogs).toEqual([]);
  expect(w.requests).toEqual([pathToFileURL(file).href]);
}

describe('vsae report of one language-model run', () => {
  let file: string;
  let w: Watch;
  beforeAll(async () => {
    const r = vsae('report', runs.lm!.dir);
    expect(r.stderr).toMatch(/wrote .*report\.html/);
    expect(r.code).toBe(0);
    file = path.join(runs.lm!.dir, 'report.html');
    w = await open(file);
  });

  it('loads with no console error, no dialog and no request but the file itself', async () => {
    expectClean(w, file);
  });

  it('draws the marks of every chart', async () => {
    const m = await marks(w.page, 0);
    const dSae = runs.lm!.dSae;
    // One line per training curve; the metrics columns of an SAE.
    for (const id of ['loss', 'recon', 'l1', 'coeff', 'l0', 'dead_frac', 'explained_variance', 'lr']) expect(m[id], id).toBe(1);
    const { live, sample, co } = await w.page.evaluate(() => {
      const data = JSON.parse(document.getElementById('vsae-data')!.textContent!);
      const run = data.runs[0];
      return { live: run.features.n - run.features.deadCount, sample: run.similarity.sample.latents.length, co: run.coactivation.latents.length };
    });
    expect(m).toMatchObject({
      density: 50,
      'density-scatter': live,
      'enc-dec': 40,
      'recon-mse': 60,
      'recon-cos': 60,
      'recon-dims': 1,
      'sim-sample': sample * sample,
      'sim-pairs': 30,
      coactivation: co * co,
      'latent-space': dSae,
      'fb-density': 50,
      'fb-hist': 20,
    });
    expect(sample).toBe(64);
    // Lines have real geometry, not an empty path.
    const d = await w.page.$eval('figure[data-chart="loss"] path.line', (p) => p.getAttribute('d') ?? '');
    expect(d.split('L').length).toBe(runs.lm!.loggedSteps);
    expect(d).not.toMatch(/NaN/);
  });

  it('shows hostile token strings as text, with nothing injected or run', async () => {
    const page = w.page;
    // The first latent shown is latent 0, whose examples and logit effects hold the strings.
    await expect.poll(() => page.textContent('.fb-latent')).toBe('Latent 0');
    const text = (await page.textContent('[data-run="0"] .fb-examples')) ?? '';
    const visible = (s: string) => s.replace(/\u001b/g, '\\x1b');
    for (const t of HOSTILE_TOKENS) expect(text).toContain(visible(t));
    const logits = (await page.textContent('[data-chart="fb-logits"]')) ?? '';
    expect(logits).toContain(HOSTILE_TOKENS[0]);
    expect(logits).toContain(HOSTILE_TOKENS[1]);
    // The run's hostile name is a heading's text, and the page title.
    expect(await page.textContent('.run-name')).toBe('run-<img src=x onerror=alert(3)>');
    expect(await page.title()).toBe('run-<img src=x onerror=alert(3)>');
    const dom = await page.evaluate(() => ({ img: document.querySelectorAll('img').length, script: document.querySelectorAll('script').length, onerror: document.querySelectorAll('[onerror]').length }));
    expect(dom).toEqual({ img: 0, script: 3, onerror: 0 });
    expect(w.dialogs).toEqual([]);
  });

  it('runs no script but its own: the CSP refuses injected scripts, inline handlers and requests', async () => {
    // A second line of defence behind inserting text as text; this page's console fills with
    // the CSP's refusals, so it is not the page the other checks watch.
    const page = await context.newPage();
    const requests: string[] = [];
    const failed: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-ready="true"]');
    const ran = await page.evaluate(async () => {
      const w = window as unknown as Record<string, unknown>;
      const s = document.createElement('script');
      s.textContent = 'window.__injected = 1';
      document.body.append(s);
      const d = document.createElement('div');
      d.setAttribute('onclick', 'window.__handler = 1');
      document.body.append(d);
      d.click();
      const img = document.createElement('img');
      img.src = 'https://example.com/pixel.png';
      document.body.append(img);
      await new Promise((r) => setTimeout(r, 300));
      return { injected: w.__injected ?? null, handler: w.__handler ?? null };
    });
    expect(ran).toEqual({ injected: null, handler: null });
    // The browser reports the image it was asked for, and that the CSP stopped it before the network.
    expect(requests).toEqual([pathToFileURL(file).href, 'https://example.com/pixel.png']);
    expect(failed).toEqual(['https://example.com/pixel.png csp']);
    await page.close();
  });

  it('opens a latent typed into the feature browser, with its examples highlighted by activation', async () => {
    const page = w.page;
    const pick = await page.evaluate(() => {
      const data = JSON.parse(document.getElementById('vsae-data')!.textContent!);
      const ex = data.runs[0].examples;
      const latent = ex.latents[ex.latents.length - 1];
      const first = ex.byLatent[String(latent)][0];
      return { latent, tokens: first.ctx.map((i: number) => ex.strings[i]), n: ex.byLatent[String(latent)].length };
    });
    await page.fill('[data-run="0"] .latent-input', String(pick.latent));
    await page.press('[data-run="0"] .latent-input', 'Enter');
    await expect.poll(() => page.textContent('[data-run="0"] .fb-latent')).toBe(`Latent ${pick.latent}`);
    const examples = page.locator(`[data-run="0"] .fb-examples[data-latent="${pick.latent}"] .example`);
    await expect.poll(() => examples.count()).toBe(pick.n);
    const toks = await examples.first().locator('.tok').allTextContents();
    expect(toks).toEqual(pick.tokens.map((t: string) => t.replace(/\n/g, '↵')));
    // The example's own token is marked, and tokens with activation are shaded.
    expect(await examples.first().locator('.tok.here').count()).toBe(1);
    expect(await examples.first().locator('.tok[style*="background"]').count()).toBeGreaterThan(0);
  });

  it('opens latents clicked in the scatter, heatmap and density views, and shows values on hover', async () => {
    const page = w.page;
    const target = await page.evaluate(() => {
      const data = JSON.parse(document.getElementById('vsae-data')!.textContent!);
      const run = data.runs[0];
      const emb = run.embedding[0];
      const withEx = new Set(run.examples.latents);
      // A point whose latent has examples and is not the one on show.
      const k = emb.id.findIndex((id: number, i: number) => withEx.has(id) && id !== 0 && i > 5);
      return { k, latent: emb.id[k] };
    });
    // force: a later point may overlap this one's centre; the page picks the nearest point to
    // the pointer, which is this one.
    await page.locator('figure[data-chart="latent-space"][data-run="0"] circle.point').nth(target.k).click({ force: true });
    await expect.poll(() => page.textContent('[data-run="0"] .fb-latent')).toBe(`Latent ${target.latent}`);
    await expect.poll(() => page.locator(`[data-run="0"] .fb-examples[data-latent="${target.latent}"] .example`).count()).toBeGreaterThan(0);
    // A cell of the similarity heatmap opens its row's latent.
    const cell = page.locator('figure[data-chart="sim-sample"] rect.cell').nth(64 * 3 + 10);
    const rowLatent = await page.evaluate(() => JSON.parse(document.getElementById('vsae-data')!.textContent!).runs[0].similarity.sample.latents[3]);
    await cell.click();
    await expect.poll(() => page.textContent('[data-run="0"] .fb-latent')).toBe(`Latent ${rowLatent}`);
    // A bar of the density histogram lists its latents; one of them opens in the browser.
    const fullest = await page.evaluate(() => {
      const counts: number[] = JSON.parse(document.getElementById('vsae-data')!.textContent!).runs[0].features.density.counts;
      return counts.indexOf(Math.max(...counts));
    });
    await page.locator('figure[data-chart="density"][data-run="0"] rect.bar').nth(fullest).click();
    const chip = page.locator('#run-0-density .chips .latent-link').first();
    await chip.waitFor();
    const chipLatent = Number(await chip.getAttribute('data-latent'));
    await chip.click();
    await expect.poll(() => page.textContent('[data-run="0"] .fb-latent')).toBe(`Latent ${chipLatent}`);
    // Hovering a training curve shows the values at the nearest step.
    const overlay = page.locator('figure[data-chart="loss"][data-run="0"] rect.overlay');
    const box = (await overlay.boundingBox())!;
    await overlay.hover({ position: { x: box.width - 2, y: box.height / 2 } });
    await expect.poll(() => page.isVisible('.tooltip')).toBe(true);
    expect(await page.textContent('.tooltip .tip-title')).toBe(`step ${runs.lm!.loggedSteps * 10}`);
    // Switching the projection to PCA moves the points and keeps them all.
    await page.click('#run-0-latent button[data-proj="pca"]');
    await expect.poll(() => page.textContent('figure[data-chart="latent-space"] .chart-title')).toContain('PCA');
    expect(await page.locator('figure[data-chart="latent-space"] circle.point').count()).toBe(runs.lm!.dSae);
    expectClean(w, file);
  });
});

describe('vsae report of several runs', () => {
  it('draws a side-by-side table and overlaid curves, and switches between runs', async () => {
    const file = path.join(tmp, 'compare.html');
    const r = vsae('report', runs.toy!.dir, runs.lm!.dir, runs.live!.dir, '-o', file, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ out: file, bytes: fs.statSync(file).size });
    const w = await open(file);
    expectClean(w, file);
    const page = w.page;
    expect(await page.locator('table.compare tbody tr').count()).toBe(3);
    expect(await page.locator('table.compare tbody tr').first().textContent()).toContain('vsae-iso');
    const m = await marks(page);
    for (const id of ['compare-loss', 'compare-recon', 'compare-l0', 'compare-dead_frac', 'compare-explained_variance']) expect(m[id], id).toBe(3);
    expect(m['compare-density']).toBe(2);
    // A VSAE has a KL term, not an L1 penalty, and mean posterior variances.
    const toyMarks = await marks(page, 0);
    expect(toyMarks.kl).toBe(1);
    expect(toyMarks.l1).toBeUndefined();
    expect(toyMarks['mean-var']).toBe(40);
    expect(toyMarks['ground-truth']).toBe(24);
    // The represented-feature threshold on the card is the one analysis used (0.5).
    expect(await page.locator('#run-0').textContent()).toMatch(/\d+ with ‖W_i‖ ≥ 0\.5(?!\d)/);
    expect(await page.isVisible('#run-0')).toBe(true);
    expect(await page.isVisible('#run-1')).toBe(false);
    await page.click('.tabs .tab:nth-child(2)');
    expect(await page.isVisible('#run-1')).toBe(true);
    expect(await page.isVisible('#run-0')).toBe(false);
    // The run still training: complete steps only, and said so.
    await page.click('.tabs .tab:nth-child(3)');
    expect(await page.textContent('#run-2 .badge.status')).toBe('running · step 150 of 300');
    expect(await page.textContent('#run-2-training .intro')).toContain('still training');
    expect(await page.$eval('figure[data-chart="loss"][data-run="2"] path.line', (p) => (p.getAttribute('d') ?? '').split('L').length)).toBe(runs.live!.loggedSteps);
    expectClean(w, file);
  });
});

describe('vsae report of a run that was only trained', () => {
  it('shows the training curves and says which command makes each missing part', async () => {
    const r = vsae('report', runs.trained!.dir);
    expect(r.code).toBe(0);
    const file = path.join(runs.trained!.dir, 'report.html');
    const w = await open(file);
    expectClean(w, file);
    const m = await marks(w.page);
    expect(m.loss).toBe(1);
    expect(m.density).toBeUndefined();
    const notices = await w.page.locator('#run-0-density .notice.missing').allTextContents();
    expect(notices).toEqual([`No feature-sparsity table. vsae analyze ${runs.trained!.dir} --input toy.arrow`]);
    expect(await w.page.locator('.notice.unreadable').count()).toBe(0);
  });
});

describe('vsae report errors', () => {
  it('stops with one line and exit 1 for a path that is not a run directory', () => {
    const r = vsae('report', tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`vsae report: ${tmp}: is not a run directory: it has none of cfg.json, metrics.arrows, _run.json, analysis; give the folder that "vsae train -o DIR" wrote\n`);
    const missing = vsae('report', path.join(tmp, 'nope'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`vsae report: ${path.join(tmp, 'nope')}: no such run directory; check the path\n`);
  });

  it('asks for -o when given several runs (usage error, exit 2)', () => {
    const r = vsae('report', runs.toy!.dir, runs.lm!.dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('needs -o FILE');
  });
});

describe('vsae report of sweeps', () => {
  let sweepA: string;
  let sweepB: string;
  beforeAll(() => {
    // Real sweeps: the toy, trained and analysed by the bin (TopK runs log auxk, not l1 or kl).
    const toy = vsae('toy', '--n-features', '30', '--n-hidden', '10', '--rows', '3000', '--toy-steps', '200', '--feature-probability', '0.2', '--seed', '5', '-o', path.join(tmp, 'toy.arrow'), '--quiet');
    expect(toy.code, toy.stderr).toBe(0);
    const common = ['--d-sae', '40', '--steps', '150', '--batch-size', '256', '--log-every', '50', '--input', path.join(tmp, 'toy.arrow'), '--n-samples', '2000', '--quiet'];
    sweepA = path.join(tmp, 'sweepA');
    sweepB = path.join(tmp, 'sweepB');
    const a = vsae('sweep', '--arch', 'topk,vsae-topk', '--k', '3,6', ...common, '-o', sweepA);
    expect(a.code, a.stderr).toBe(0);
    const b = vsae('sweep', '--arch', 'sae', '--l1-coeff', '0.05,0.5', ...common, '-o', sweepB);
    expect(b.code, b.stderr).toBe(0);
  });

  /** The embedded frontier: each point's run name, label and run index. */
  const points = (page: Page) =>
    page.evaluate(() => {
      const data = JSON.parse(document.getElementById('vsae-data')!.textContent!);
      return (data.sweeps as Array<{ name: string; points: Array<{ run: string; label: string; runIndex: number; values: Record<string, number> }> }>).flatMap((s) => s.points.map((p) => ({ sweep: s.name, ...p })));
    });

  it('draws the frontier against L0, a line per architecture, points labelled and linked to their runs', async () => {
    const r = vsae('report', sweepA);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote .*sweepA\/report\.html .*1 sweep/);
    const file = path.join(sweepA, 'report.html');
    const w = await open(file);
    expectClean(w, file);
    const page = w.page;
    const m = await marks(page);
    // Two lines (topk, vsae-topk) and four points in each chart.
    for (const id of ['frontier-explained_variance', 'frontier-mmcs_represented', 'frontier-frac_alive']) expect(m[id], id).toBe(6);
    const pts = await points(page);
    expect(pts.map((p) => [p.run, p.label])).toEqual([['topk-k3', 'k=3'], ['topk-k6', 'k=6'], ['vsae-topk-k3', 'k=3'], ['vsae-topk-k6', 'k=6']]);
    expect(await page.locator('figure[data-chart="frontier-explained_variance"] .point-label').allTextContents()).toEqual(['k=3', 'k=6', 'k=3', 'k=6']);
    expect(await page.locator('figure[data-chart="frontier-explained_variance"] .legend').textContent()).toBe('topkvsae-topk');
    // The x axis is L0 on a log scale: a point's position follows log(L0).
    const cx = await page.locator('figure[data-chart="frontier-explained_variance"] circle.point').evaluateAll((els) => els.map((e) => Number(e.getAttribute('cx'))));
    const l0 = pts.map((p) => p.values.l0!);
    const slope = (cx[1]! - cx[0]!) / (Math.log(l0[1]!) - Math.log(l0[0]!));
    expect((cx[3]! - cx[2]!) / (Math.log(l0[3]!) - Math.log(l0[2]!))).toBeCloseTo(slope, 6);
    // The frontier table lists every run; a point opens its run's tab.
    expect(await page.locator('table.frontier tbody tr').count()).toBe(4);
    const target = pts[3]!;
    await page.locator('figure[data-chart="frontier-explained_variance"] circle.point').nth(3).click();
    await expect.poll(() => page.isVisible(`#run-${target.runIndex}`)).toBe(true);
    expect(await page.textContent(`#run-${target.runIndex} .run-name`)).toBe('vsae-topk-k6');
    expect(await page.isVisible('#run-0')).toBe(target.runIndex === 0);
    // TopK runs draw their AuxK term (no L1); vSAE-TopK its KL and AuxK.
    const topk = await marks(page, pts[0]!.runIndex);
    expect(topk.auxk).toBe(1);
    expect(topk.l1).toBeUndefined();
    expect(topk.kl).toBeUndefined();
    const vt = await marks(page, target.runIndex);
    expect(vt.kl).toBe(1);
    expect(vt.auxk).toBe(1);
    expectClean(w, file);
  });

  it('overlays two sweeps: a line per sweep and architecture, the later sweep dashed', async () => {
    const file = path.join(tmp, 'cmp.html');
    const r = vsae('report', sweepA, sweepB, '-o', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/2 sweeps/);
    const w = await open(file);
    expectClean(w, file);
    const page = w.page;
    const m = await marks(page);
    // Three lines (sweepA: topk, sweepA: vsae-topk, sweepB: sae) and six points.
    expect(m['frontier-explained_variance']).toBe(9);
    expect(await page.locator('figure[data-chart="frontier-explained_variance"] .legend .key').allTextContents()).toEqual(['sweepA: topk', 'sweepA: vsae-topk', 'sweepB: sae']);
    const dashed = await page.locator('figure[data-chart="frontier-explained_variance"] path.line').evaluateAll((els) => els.map((e) => e.getAttribute('stroke-dasharray')));
    expect(dashed).toEqual([null, null, '5 3']);
    const pts = await points(page);
    expect(pts.filter((p) => p.sweep === 'sweepB').map((p) => p.label)).toEqual(['l1_coeff=0.05', 'l1_coeff=0.5']);
    // The stronger L1 penalty gives the sparser code: the frontier is read from real runs.
    const [weak, strong] = pts.filter((p) => p.sweep === 'sweepB');
    expect(strong!.values.l0).toBeLessThan(weak!.values.l0!);
    expect(await page.locator('table.frontier tbody tr').count()).toBe(6);
    expect(await page.locator('table.frontier tbody tr').nth(4).locator('td').first().textContent()).toBe('sweepB');
    // Runs of the same name in both sweeps would be told apart by their sweep; these differ.
    expect(await page.locator('.tabs .tab').count()).toBe(6);
  });
});
