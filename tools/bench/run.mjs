#!/usr/bin/env node
// `npm run bench`: runs every benchmark script in tools/bench/ (over the built packages), one
// after the other so they do not compete for the two cores, and prints a summary of the JSON
// line each one ends with. Pass names to run a subset: `npm run bench -- arrow train`.
// Extra arguments after `--args` go to every script (e.g. `--args --rows 100000`).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const split = argv.indexOf('--args');
const names = split >= 0 ? argv.slice(0, split) : argv;
const extra = split >= 0 ? argv.slice(split + 1) : [];
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'))
  .map((f) => f.replace(/\.mjs$/, ''))
  .filter((n) => names.length === 0 || names.includes(n))
  .sort();

const results = {};
for (const name of scripts) {
  process.stderr.write(`\n=== bench: ${name} ===\n`);
  const r = spawnSync(process.execPath, [path.join(here, `${name}.mjs`), ...extra], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20 });
  process.stdout.write(r.stdout ?? '');
  const last = (r.stdout ?? '').trim().split('\n').reverse().find((l) => l.startsWith('{'));
  results[name] = r.status === 0 && last ? JSON.parse(last) : { error: `exit ${r.status}` };
}
process.stdout.write(`\n=== summary (${new Date().toISOString()}) ===\n${JSON.stringify(results, null, 2)}\n`);
process.exitCode = Object.values(results).some((v) => v.error) ? 1 : 0;
