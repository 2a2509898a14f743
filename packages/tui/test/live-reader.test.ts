/**
 * Reliability: a dashboard pointed at a run that is still training reads only complete rows
 * and never crashes. A separate process appends metrics as fast as it can while the store
 * polls; every snapshot must be an exact prefix of what the writer writes (no partial row, no
 * duplicate, no gap). VSAE_STRESS=1 runs it longer.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { RunsStore } from '../src/runs-store.js';
import { tempRunsDir } from './fixtures.js';

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'live-writer.mjs');
const SECONDS = process.env.VSAE_STRESS ? 20 : 2;
const root = tempRunsDir('vsae-tui-live-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** The row live-writer.mjs logs at `step` (the same formulas). */
function expectedLoss(step: number): number {
  return 2 / (1 + step / 500) + 0.05;
}

it(`reads only complete rows while another process appends (${SECONDS}s)`, async () => {
  const dir = path.join(root, 'live');
  const child = spawn(process.execPath, [WRITER, dir, '100000000', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const store = new RunsStore(root);
  let polls = 0;
  let maxRows = 0;
  try {
    const end = Date.now() + SECONDS * 1000;
    while (Date.now() < end) {
      store.refresh();
      polls++;
      const run = store.snapshot().runs[0];
      if (run) {
        expect(run.problems).toEqual([]);
        const m = store.metrics(run.dir);
        const steps = m.values.step ?? [];
        expect(steps.length).toBe(m.length);
        for (let i = maxRows > 0 ? maxRows - 1 : 0; i < m.length; i++) {
          expect(steps[i]).toBe((i + 1) * 10);
          expect(m.values.loss![i]).toBe(expectedLoss((i + 1) * 10));
        }
        expect(m.length).toBeGreaterThanOrEqual(maxRows);
        maxRows = m.length;
      }
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    child.kill('SIGKILL');
  }
  expect(stderr).toBe('');
  expect(polls).toBeGreaterThan(10);
  expect(maxRows).toBeGreaterThan(10); // the writer did get ahead of us many times
});
