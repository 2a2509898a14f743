#!/usr/bin/env node
/**
 * Runs the built `vsae` in this process and records its peak resident set size:
 *   node packages/testkit/src/peak.mjs REPORT.json <vsae arguments…>
 * writes {"code", "maxRssBytes"} to REPORT.json when the command ends (process.resourceUsage's
 * maxRSS: the high-water mark of the whole process, runtime and tensor engine included).
 * With `node --expose-gc` and VSAE_PEAK_GC_MS=N, garbage is collected every N ms, so the peak is
 * what the command holds rather than how late V8 collected buffers it had dropped.
 */
import * as fs from 'node:fs';

const [report, ...args] = process.argv.slice(2);
if (!report) {
  process.stderr.write('usage: node packages/testkit/src/peak.mjs REPORT.json <vsae arguments…>\n');
  process.exit(2);
}
const gcMs = Number(process.env.VSAE_PEAK_GC_MS ?? 0);
if (gcMs > 0 && typeof globalThis.gc === 'function') setInterval(() => globalThis.gc(), gcMs).unref();
const { main } = await import('../../cli/dist/main.js');
const code = await main(args);
fs.writeFileSync(report, JSON.stringify({ code, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
process.exitCode = code;
