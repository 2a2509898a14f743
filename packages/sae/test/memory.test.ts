/**
 * Bounded memory (docs/reliability.md): training over a dataset several times larger than --max-memory
 * keeps the data it holds within the budget. Peak RSS of a real process training on a big file
 * is compared with the same run on a small file (same model, same steps): the difference —
 * memory that grows with the data — must stay under the budget. Sizes from VSAE_STRESS
 * (default: 16 MiB budget, 64 MiB dataset; stress: 64 MiB budget, 1 GiB dataset).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createDatasetWriter } from '@vsae/data';
import { tmpDir } from './helpers.js';
import { steadyPeaks } from '@vsae/testkit/harness';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/train-child.mjs', import.meta.url));
const built = fs.existsSync(path.join(pkg, 'dist', 'index.js'));
const stress = Boolean(process.env.VSAE_STRESS);
const MiB = 2 ** 20;
const budget = (stress ? 64 : 16) * MiB;
const dataBytes = (stress ? 1024 : 64) * MiB;
const D = 64;

async function writeRows(file: string, rows: number): Promise<void> {
  const w = await createDatasetWriter(file, { meta: { source: 'test', dIn: D }, batchRows: 4096 });
  const chunk = 16_384;
  let s = 1;
  for (let done = 0; done < rows; done += chunk) {
    const n = Math.min(chunk, rows - done);
    const act = new Float32Array(n * D);
    for (let i = 0; i < act.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      act[i] = s / 2 ** 32 < 0.1 ? s / 2 ** 32 : 0;
    }
    await w.write({ numRows: n, act });
  }
  await w.close();
}

function peak(input: string, out: string, steps: number): number {
  const opts = { input, out, arch: 'sae', dictMult: 2, steps, batchSize: 1024, maxMemory: budget, logEvery: 50, checkpointEvery: Math.floor(steps / 2), backend: 'wasm', silent: true };
  const r = spawnSync(process.execPath, [child, JSON.stringify(opts)], { cwd: pkg, encoding: 'utf8', env: { ...process.env, VSAE_QUIET: '1' } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!).maxRssBytes as number;
}

describe.skipIf(!built)('bounded memory', () => {
  it(`training on ${dataBytes / MiB} MiB with --max-memory ${budget / MiB} MiB holds less than the budget of data`, async () => {
    const dir = tmpDir('vsae-mem-');
    try {
      const bigRows = Math.floor(dataBytes / (4 * D));
      const steps = Math.ceil(bigRows / 1024) + 10; // one full pass over the big file
      await writeRows(path.join(dir, 'small.arrow'), 20_000);
      await writeRows(path.join(dir, 'big.arrow'), bigRows);
      expect(fs.statSync(path.join(dir, 'big.arrow')).size).toBeGreaterThan(4 * budget);
      // An over-budget difference is measured again and the lower peak of each kept (GC noise only adds).
      let n = 0;
      const { small, big } = steadyPeaks(
        () => peak(path.join(dir, 'small.arrow'), path.join(dir, `run-small-${n++}`), steps),
        () => peak(path.join(dir, 'big.arrow'), path.join(dir, `run-big-${n++}`), steps),
        budget,
      );
      // Figures for the record (vitest prints them under the test).
      console.log(`peak RSS: ${(small / MiB).toFixed(0)} MiB on a 5 MiB file, ${(big / MiB).toFixed(0)} MiB on ${dataBytes / MiB} MiB (budget ${budget / MiB} MiB)`);
      // What grows with the data (buffer, read-ahead, checkpoint copies) stays under the budget.
      expect(big - small, `peak RSS ${(big / MiB).toFixed(0)} MiB on the big file vs ${(small / MiB).toFixed(0)} MiB on the small one`).toBeLessThan(budget);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
