/**
 * Atomic writes (docs/reliability.md): every writer of the toolkit is SIGKILLed at random moments — `vsae
 * toy` to a file and to a sharded directory, `vsae train` (run directory, checkpoints,
 * sae_weights.safetensors, metrics), `vsae analyze` (tables, summary.json, over an earlier
 * analysis), `vsae report` (over an earlier report) and `vsae extract` to a single file — and
 * after each kill every file left is checked (@vsae/testkit's checkTree): it parses
 * completely and is consistent (row counts, _dataset.json, safetensors, Arrow footers, JSON,
 * the HTML's end and embedded data), or it has a temporary (dot) name.
 *
 * Kills per writer: VSAE_STRESS_KILLS (2; 15 under VSAE_STRESS). Moments: VSAE_STRESS_SEED.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED, SOTU, TINY_GPT2, checkTree, killAt, seeded, size, vsae, writeSparseDataset } from '@vsae/testkit/harness';

const KILLS = size('VSAE_STRESS_KILLS', 2, 15);
const rand = seeded(SEED ^ 0x5eed);
console.log(`reliability-atomic: seed ${SEED} (VSAE_STRESS_SEED), ${KILLS} kills per writer`);

let tmp: string;
const tally: Record<string, { kills: number; finished: number; files: number; temps: number }> = {};
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-rel-atomic-'));
  await writeSparseDataset(path.join(tmp, 'd.arrow'), { rows: 8000, dIn: 16, seed: 11 });
});
afterAll(() => {
  console.log(`reliability-atomic: ${JSON.stringify(tally)}`);
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Writer {
  name: string;
  /** Arguments writing to `out` (a fresh path per kill unless `reuse`). */
  args: (out: string) => string[];
  /** What to check after a kill: the output (or the directory holding it). */
  root: (out: string) => string;
  /** Rows a complete dataset output holds. */
  rows?: number;
  /** Kill every time into the same output (overwriting a complete earlier one). */
  reuse?: string;
  /** Set-up before the first kill (e.g. a trained run to analyse). */
  before?: () => void;
}

const trainArgs = (out: string) => ['train', '--input', 'd.arrow', '-o', out, '--arch', 'sae', '--dict-mult', '2', '--steps', '200', '--batch-size', '128', '--log-every', '1', '--checkpoint-every', '3', '-q'];

const writers: Writer[] = [
  { name: 'vsae toy -o FILE', args: (o) => ['toy', '--rows', '60000', '--toy-steps', '30', '--n-features', '40', '--n-hidden', '10', '-o', `${o}/toy.arrow`, '-q'], root: (o) => o, rows: 60_000 },
  { name: 'vsae toy --shard-rows', args: (o) => ['toy', '--rows', '60000', '--toy-steps', '30', '--n-features', '40', '--n-hidden', '10', '--shard-rows', '4000', '-o', `${o}/toyd`, '-q'], root: (o) => o, rows: 60_000 },
  { name: 'vsae train (run dir, checkpoints, weights)', args: (o) => trainArgs(`${o}/run`), root: (o) => o },
  {
    name: 'vsae analyze (tables, summary.json over an earlier analysis)',
    before: () => {
      const r = vsae(trainArgs('analysed'), { cwd: tmp });
      expect(r.code, r.stderr).toBe(0);
    },
    reuse: 'analysed',
    args: () => ['analyze', 'analysed', '--input', 'd.arrow', '--n-samples', '0', '--umap-epochs', '50', '-q'],
    root: () => 'analysed',
  },
  {
    name: 'vsae report (over an earlier report)',
    before: () => {
      // A complete analysis first; it also removes the staging folders the kills above left.
      const r = vsae(['analyze', 'analysed', '--input', 'd.arrow', '--n-samples', '2000', '--umap-epochs', '20', '-q'], { cwd: tmp });
      expect(r.code, r.stderr).toBe(0);
    },
    reuse: 'analysed',
    args: () => ['report', 'analysed'],
    root: () => 'analysed',
  },
  ...(fs.existsSync(TINY_GPT2)
    ? [{ name: 'vsae extract -o FILE', args: (o: string) => ['extract', '--model', TINY_GPT2, '--hook', 'blocks.1.hook_resid_post', '--text', SOTU, '--context', '64', '--max-tokens', '24576', '-o', `${o}/acts.arrow`, '-q'], root: (o: string) => o, rows: 24_576 }]
    : []),
];
if (!fs.existsSync(TINY_GPT2)) console.log(`reliability-atomic: ${TINY_GPT2} is absent; the extract writer is skipped`);

describe('SIGKILL at random moments leaves only complete files or temporary names', () => {
  for (const w of writers) {
    it(`${w.name}: ${KILLS} kills`, async () => {
      w.before?.();
      const t = (tally[w.name] = { kills: 0, finished: 0, files: 0, temps: 0 });
      // An uninterrupted run first: how long the writer takes, and that its output checks out whole.
      const refOut = w.reuse ?? 'ref-' + w.name.replace(/\W+/g, '-');
      fs.mkdirSync(path.join(tmp, refOut), { recursive: true });
      const ref = vsae(w.args(refOut), { cwd: tmp });
      expect(ref.code, ref.stderr).toBe(0);
      const whole = await checkTree(path.join(tmp, w.root(refOut)), { datasetRows: w.rows });
      expect(whole.problems).toEqual([]);
      expect(whole.temps, 'an uninterrupted run leaves no temporary files').toEqual([]);
      for (let k = 0; k < KILLS; k++) {
        const out = w.reuse ?? `${refOut}-${k}`;
        fs.mkdirSync(path.join(tmp, out), { recursive: true });
        // Even kills: any moment of a run. Odd kills: while it writes — once its output directory
        // has an entry (fresh outputs), or in the last half of the run (rewrites).
        const dir = path.join(tmp, w.root(out));
        const late = k % 2 === 1;
        const r = await killAt(w.args(out), {
          cwd: tmp,
          signal: 'SIGKILL',
          trigger: late && !w.reuse ? () => fs.readdirSync(dir).length > 0 : undefined,
          delayMs: !late ? rand() * ref.ms : w.reuse ? ref.ms * (0.5 + 0.5 * rand()) : rand() * ref.ms * 0.5,
        });
        if (r.killed) t.kills++;
        else {
          expect(r.code, r.stderr).toBe(0);
          t.finished++;
        }
        const check = await checkTree(path.join(tmp, w.root(out)), { datasetRows: w.rows });
        t.files += check.checked.length;
        t.temps += check.temps.length;
        expect(check.problems, `${w.name}, kill ${k} after ${r.ms.toFixed(0)} ms`).toEqual([]);
      }
    }, 600_000);
  }
});
