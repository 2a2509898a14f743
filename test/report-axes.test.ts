/// <reference lib="dom" />
/**
 * Report charts on a real, tiny pipeline (toy → train with one latent → analyze → report),
 * in Debian's Chromium: a constant series gets an axis near its value, tick labels do not
 * overlap, and counts of one are singular.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRun } from '@vsae/testkit/make-run';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'packages', 'cli', 'bin', 'vsae.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let tmp: string;
let profile: string;
let context: BrowserContext;
let page: Page;
let lmPage: Page;
let analyzeErr = '';

function vsae(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 300_000, env: { ...process.env, VSAE_BACKEND: 'wasm' } });
  expect(r.status, `vsae ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: the report tests need a real browser (sudo apt-get install chromium) or CHROMIUM_PATH`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-report-axes-'));
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-chromium-'));
  vsae('toy', '--n-features', '10', '--n-hidden', '5', '--toy-steps', '50', '--rows', '4000', '-o', 'toy.arrow', '-q');
  // One latent, 30 steps: no latent can be dead before --dead-window (400) steps, so dead_frac is 0 throughout.
  vsae('train', '--input', 'toy.arrow', '-o', 'one', '--d-sae', '1', '--steps', '30', '--batch-size', '256', '--log-every', '5', '-q');
  analyzeErr = vsae('analyze', 'one', '--input', 'toy.arrow', '--feature-sparsity').stderr;
  vsae('report', 'one', '-q');
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  await page.goto(pathToFileURL(path.join(tmp, 'one', 'report.html')).href);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  // A language-model run's fixture: its first latent fires on about 80 rows.
  const lm = await makeRun(path.join(tmp, 'lm'), { kind: 'lm', arch: 'sae', seed: 11 });
  vsae('report', lm.dir, '-q');
  lmPage = await context.newPage();
  await lmPage.goto(pathToFileURL(path.join(lm.dir, 'report.html')).href);
  await lmPage.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
}, 600_000);

afterAll(async () => {
  await context?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

/** Tick labels of one axis of a chart, with their boxes on the page. */
function ticks(chart: string, axis: 'x' | 'y', on: Page = page) {
  return on.$$eval(`figure[data-chart="${chart}"] g.axis.${axis} .tick text`, (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { text: e.textContent ?? '', left: r.left, right: r.right, top: r.top, bottom: r.bottom };
    }),
  );
}

describe('report axes on a one-latent run', () => {
  it('a constant series (dead fraction 0) gets a small axis around it, not −40 … 40 %', async () => {
    const ys = await ticks('dead_frac', 'y');
    expect(ys.length).toBeGreaterThanOrEqual(2);
    const values = ys.map((t) => Number(t.text.replace('−', '-').replace('%', '')) / 100);
    expect(values).toContain(0);
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(0.02);
  });

  it('the activation histogram\'s tick labels do not overlap (on either axis), on both runs', async () => {
    for (const on of [page, lmPage]) await noOverlap(on);
  });
});

async function noOverlap(on: Page): Promise<void> {
  {
    const ys = await ticks('fb-hist', 'y', on);
    const xs = await ticks('fb-hist', 'x', on);
    expect(ys.length).toBeGreaterThanOrEqual(3);
    expect(xs.length).toBeGreaterThanOrEqual(3);
    // Labels closer than a quarter of a line read as one (80 and 60 touched on the old symlog axis).
    const gap = 0.25 * (ys[0]!.bottom - ys[0]!.top);
    const byY = [...ys].sort((a, b) => a.top - b.top);
    for (let i = 1; i < byY.length; i++) expect(byY[i]!.top, `${byY[i - 1]!.text} / ${byY[i]!.text}`).toBeGreaterThanOrEqual(byY[i - 1]!.bottom + gap);
    const byX = [...xs].sort((a, b) => a.left - b.left);
    for (let i = 1; i < byX.length; i++) expect(byX[i]!.left, `${byX[i - 1]!.text} / ${byX[i]!.text}`).toBeGreaterThanOrEqual(byX[i - 1]!.right + gap);
  }
}

describe('report text', () => {

  it('counts of one are singular: in the report and in vsae analyze\'s line', async () => {
    const sub = await page.$eval('figure[data-chart="density"] .chart-sub', (e) => e.textContent);
    expect(sub).toMatch(/^1 latent that fired; 0 dead not shown$/);
    expect(analyzeErr).toMatch(/^vsae analyze: 1 analysis of 4000 rows → /m);
  });
});
