import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_TOKENS, makeRun } from '@vsae/testkit/make-run';
import { renderReport, writeReport } from '../src/index.js';
import type { ReportData } from '../src/types.js';

let tmp: string;
let hostileDir: string;
let toyDir: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-report-html-'));
  // The run's own name is hostile too: it becomes the page title and a heading.
  hostileDir = path.join(tmp, 'run-<img src=x onerror=alert(3)>');
  await makeRun(hostileDir, { kind: 'lm', hostile: true });
  toyDir = path.join(tmp, 'toy');
  await makeRun(toyDir, { kind: 'toy' });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The page without the contents of its script elements. */
const outsideScripts = (html: string): string => html.replace(/(<script[^>]*>)[\s\S]*?(<\/script>)/gi, '$1$2');

function embedded(html: string): ReportData {
  const m = /<script type="application\/json" id="vsae-data">([\s\S]*?)<\/script>/.exec(html);
  expect(m, 'the data element').not.toBeNull();
  return JSON.parse(m![1]!) as ReportData;
}

describe('renderReport', () => {
  it('writes one page with a CSP that forbids network access, and nothing that loads a resource', async () => {
    const html = await renderReport({ runs: [toyDir] });
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
    // The CSP comes before any script; the two executable scripts are allowed by their hashes.
    expect(html.indexOf('Content-Security-Policy')).toBeLessThan(html.indexOf('<script'));
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(2);
    const hash = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
    expect(csp).toBe(`default-src 'none'; script-src 'unsafe-inline' ${scripts.map(hash).join(' ')}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`);
    const outside = outsideScripts(html);
    expect(outside.match(/<script/g)).toHaveLength(3);
    expect(outside).not.toMatch(/\s(src|href|srcset|action)=/i);
    expect(outside).not.toMatch(/<(link|img|iframe|object|embed|base)\b/i);
    expect(outside).not.toMatch(/@import|url\(/i);
    // d3's own bundle is inlined.
    expect(html).toContain('d3js.org v7');
  });

  it('embeds the run data as JSON the page can parse', async () => {
    const html = await renderReport({ runs: [toyDir], title: 'My toy' });
    const data = embedded(html);
    expect(data).toMatchObject({ format: 'vsae-report', version: 1, title: 'My toy' });
    expect(data.runs).toHaveLength(1);
    expect(data.runs[0]!.features!.n).toBe(48);
    expect(html).toContain('<title>My toy</title>');
  });

  it('keeps hostile token strings and run names inert: escaped in HTML, intact in the data', async () => {
    const html = await renderReport({ runs: [hostileDir] });
    for (const bad of ['<script>alert', '<img src=x', '</script><script>alert(2)']) expect(html).not.toContain(bad);
    expect(html).toContain('<title>run-&lt;img src=x onerror=alert(3)&gt;</title>');
    const data = embedded(html);
    const strings = data.runs[0]!.examples!.strings;
    for (const t of HOSTILE_TOKENS) expect(strings).toContain(t);
    expect(data.runs[0]!.name).toBe('run-<img src=x onerror=alert(3)>');
  });

  it('names two runs that share a directory name by their parents', async () => {
    const a = path.join(tmp, 'a', 'sae');
    const b = path.join(tmp, 'b', 'sae');
    await makeRun(a, { parts: ['train'] });
    await makeRun(b, { parts: ['train'], seed: 9 });
    const data = embedded(await renderReport({ runs: [a, b] }));
    expect(data.runs.map((r) => r.name)).toEqual([path.join('a', 'sae'), path.join('b', 'sae')]);
    expect(data.title).toBe(`2 runs: ${path.join('a', 'sae')}, ${path.join('b', 'sae')}`);
  });

  it('needs at least one run', async () => {
    await expect(renderReport({ runs: [] })).rejects.toThrow(/at least one run/);
  });
});

describe('writeReport', () => {
  it('writes the file and returns its size', async () => {
    const out = path.join(tmp, 'out', 'r.html');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const res = await writeReport({ runs: [toyDir], out });
    expect(res).toEqual({ out, bytes: fs.statSync(out).size });
    expect(fs.readdirSync(path.dirname(out))).toEqual(['r.html']);
  });

  it('keeps the report of a d_sae 16384 run under 5 MB', async () => {
    // Examples exist for 600 latents here; the report embeds 256 at most either way.
    const dir = path.join(tmp, 'big');
    await makeRun(dir, { kind: 'lm', dSae: 16384, dIn: 768, rows: 100_000, context: 33, topK: 10, quantiles: [0.9, 0.7, 0.5, 0.3, 0.1], perQuantile: 2, exampleLatents: 600 });
    const res = await writeReport({ runs: [dir], out: path.join(dir, 'report.html') });
    expect(res.bytes).toBeLessThan(5e6);
    const data = embedded(fs.readFileSync(res.out, 'utf8'));
    const run = data.runs[0]!;
    expect(run.features!.n).toBe(16384);
    expect(run.examples!.latents).toHaveLength(256);
    expect(run.embedding![0]!.id).toHaveLength(4000);
    expect(run.features!.scatter.length).toBeLessThanOrEqual(3000);
  }, 120_000);
});
