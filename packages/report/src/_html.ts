/**
 * Assembles the single HTML file: a CSP that forbids every network request, the stylesheet,
 * the data as JSON in a non-executable script element, d3's minified bundle and the client
 * script, all inline. Nothing from the data is written as HTML: the client inserts it as text.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonForScript } from './_shape.js';
import type { ReportData } from './types.js';

/**
 * The Content-Security-Policy of a report: no requests of any kind, inline style, and inline
 * script. The hashes of our two scripts follow 'unsafe-inline': a browser that knows hashes
 * then runs those two scripts only (no injected element or inline handler could run), and an
 * old one falls back to 'unsafe-inline'.
 */
export function contentSecurityPolicy(scripts: string[]): string {
  const hashes = scripts.map((s) => ` 'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`).join('');
  return `default-src 'none'; script-src 'unsafe-inline'${hashes}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
}

/** Client files, concatenated in this order inside one function scope. */
const CLIENT_FILES = ['util.js', 'charts.js', 'sections.js', 'browser.js', 'frontier.js', 'main.js'];

export interface Assets {
  d3: string;
  client: string;
  css: string;
}

let cached: Assets | undefined;

/** d3.min.js from the installed d3 package, and the client script and stylesheet of this package. */
export function loadAssets(): Assets {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  // d3's export map hides dist/, so find the folder through its entry point (dist/d3.mjs).
  const d3Path = path.join(path.dirname(require.resolve('d3')), 'd3.min.js');
  // client/ sits beside src/ and dist/, so the same relative path works from both.
  const clientDir = fileURLToPath(new URL('../client/', import.meta.url));
  const client = CLIENT_FILES.map((f) => `// --- ${f}\n${fs.readFileSync(path.join(clientDir, f), 'utf8')}`).join('\n');
  cached = { d3: fs.readFileSync(d3Path, 'utf8'), client, css: fs.readFileSync(path.join(clientDir, 'report.css'), 'utf8') };
  return cached;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * Script text that cannot end its element early (`</script` and `<!--` neutralised), with the
 * line ends the HTML parser would give it (CR LF → LF), so that its hash matches.
 */
export function inlineScript(js: string): string {
  return js.replace(/\r\n?/g, '\n').replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

export function buildHtml(data: ReportData, assets: Assets = loadAssets()): string {
  // Script texts exactly as they sit between the tags, so that their hashes match.
  const d3 = `\n${inlineScript(assets.d3)}\n`;
  const client = `\n(function () {\n'use strict';\n${inlineScript(assets.client)}\n})();\n`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy([d3, client])}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="${escapeHtml(data.generator)}">`,
    `<title>${escapeHtml(data.title)}</title>`,
    `<style>\n${assets.css.replace(/<\/(style)/gi, '<\\/$1')}\n</style>`,
    '</head>',
    '<body>',
    '<div id="app"><noscript>This report draws its charts with JavaScript; allow scripts for this file to see them.</noscript></div>',
    `<script type="application/json" id="vsae-data">${jsonForScript(data)}</script>`,
    `<script>${d3}</script>`,
    `<script>${client}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
