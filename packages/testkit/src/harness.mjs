/**
 * Helpers for the reliability tests (test/reliability-*.test.ts, docs/reliability.md): run the built
 * `vsae` bin, kill it at a chosen or random moment, measure its peak RSS, and check that every
 * file it left behind is either complete and consistent or a temporary (dot) name.
 *
 * Sizes come from the environment: `size(name, normal, stress)` reads `name`, else the stress
 * value under VSAE_STRESS (set by `npm run stress`), else the normal one.
 * Types: harness.d.mts.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatasetWriter, openDataset, readJson, readMetrics, readRunConfig, readSafetensors, readTable, runStatus } from '@vsae/data';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..', '..');
export const BIN = path.join(ROOT, 'packages', 'cli', 'bin', 'vsae.js');
export const PEAK = path.join(HERE, 'peak.mjs');
export const TINY_GPT2 = path.resolve(ROOT, '..', 'shared', 'fixtures', 'tiny-random-gpt2');
export const SOTU = path.join(ROOT, 'datasets', 'sotu-1790-1809.txt');
export const STRESS = Boolean(process.env.VSAE_STRESS);

/** An integer size from the environment (see the module comment). */
export function size(name, normal, stress) {
  const v = process.env[name];
  if (v !== undefined && v !== '') {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v} is not a non-negative number`);
    return n;
  }
  return STRESS ? stress : normal;
}

/** The seed of this run's random kill moments: VSAE_STRESS_SEED, else a fresh one (printed by the tests). */
export const SEED = Number(process.env.VSAE_STRESS_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** A small seeded generator (mulberry32): uniform in [0, 1). */
export function seeded(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes a toy-like activation dataset: each value is `scale × uniform` with probability
 * `density`, else 0; `poison` sets one value of chosen rows ([row, value]). Written a chunk of
 * rows at a time, so a dataset larger than memory can be made.
 */
export async function writeSparseDataset(file, { rows, dIn, seed, density = 0.2, scale = 1, poison = [], batchRows } = {}) {
  const r = seeded(seed);
  const w = await createDatasetWriter(file, { meta: { source: 'test', dIn }, ...(batchRows ? { batchRows } : {}) });
  const chunk = 16_384;
  for (let done = 0; done < rows; done += chunk) {
    const n = Math.min(chunk, rows - done);
    const act = new Float32Array(n * dIn);
    for (let i = 0; i < act.length; i++) act[i] = r() < density ? r() * scale : 0;
    for (const [row, v] of poison) if (row >= done && row < done + n) act[(row - done) * dIn + (row % dIn)] = v;
    await w.write({ numRows: n, act });
  }
  await w.close();
}

const baseEnv = () => ({ ...process.env, VSAE_BACKEND: process.env.VSAE_BACKEND ?? 'wasm', NO_COLOR: '1' });

/** Runs `vsae ARGS` to the end. */
export function vsae(args, opts = {}) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...baseEnv(), ...opts.env },
    input: opts.input,
    maxBuffer: 1 << 28,
    timeout: opts.timeout ?? 300_000,
    killSignal: 'SIGKILL', // a hung tool may be waiting out its SIGTERM handler
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '', ms: performance.now() - t0 };
}

/**
 * Starts `vsae ARGS` and sends `signal` once `trigger()` is true (checked every 20 ms; at once
 * without a trigger) plus `delayMs`. Resolves when the process has ended.
 */
export function killAt(args, { cwd, env, signal = 'SIGKILL', delayMs = 0, trigger, stdin } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd: cwd ?? ROOT, env: { ...baseEnv(), ...env }, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (stdin !== undefined) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    }
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let sent = false;
    let timer;
    const poll = setInterval(() => {
      let ready = true;
      try {
        ready = trigger ? trigger() : true;
      } catch {
        ready = false;
      }
      if (ready) {
        clearInterval(poll);
        timer = setTimeout(() => {
          sent = child.kill(signal);
        }, delayMs);
      }
    }, 20);
    child.on('error', reject);
    child.on('close', (code, sig) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ code, signal: sig, killed: sent && sig === signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/**
 * Runs `vsae ARGS` through peak.mjs and returns its exit code and peak RSS (MiB). With
 * `gcMs`, garbage is collected every gcMs ms (the peak is then what the command holds).
 */
export function peakRss(args, opts = {}) {
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-peak-')), 'peak.json');
  const node = opts.gcMs ? ['--expose-gc', PEAK] : [PEAK];
  const env = { ...baseEnv(), ...opts.env, ...(opts.gcMs ? { VSAE_PEAK_GC_MS: String(opts.gcMs) } : {}) };
  const r = spawnSync(process.execPath, [...node, report, ...args], { cwd: opts.cwd ?? ROOT, env, input: opts.input, maxBuffer: 1 << 28, timeout: opts.timeout ?? 600_000 });
  const peak = fs.existsSync(report) ? JSON.parse(fs.readFileSync(report, 'utf8')) : { maxRssBytes: NaN };
  fs.rmSync(path.dirname(report), { recursive: true, force: true });
  return { code: r.status, stderr: r.stderr?.toString() ?? '', peakMiB: peak.maxRssBytes / 2 ** 20 };
}

/**
 * Peak RSS of a small and a big run, for "what grows with the data stays under the budget".
 * A peak can be lifted by garbage the collector had not reached (a forced collection cannot run
 * inside a long synchronous call); that noise only adds, so when big − small reaches `budget`
 * both are run once more and the lower peak of each kept. The runs return a peak (any unit).
 */
export function steadyPeaks(runSmall, runBig, budget) {
  let small = runSmall();
  let big = runBig();
  if (big - small < budget) return { small, big, runs: 1 };
  small = Math.min(small, runSmall());
  big = Math.min(big, runBig());
  return { small, big, runs: 2 };
}

// --- what a killed writer left behind ---------------------------------------------------------

const isTemp = (name) => name.startsWith('.');

async function readAllRows(target, opts) {
  const ds = await openDataset(target, opts);
  let rows = 0;
  let values = 0;
  for await (const b of ds.batches()) {
    rows += b.numRows;
    for (let i = 0; i < b.act.length; i += 97) values += Number.isNaN(b.act[i]) ? 0 : 1;
  }
  await ds.close();
  if (ds.numRows !== undefined && rows !== ds.numRows) throw new Error(`read ${rows} rows but the index says ${ds.numRows}`);
  return rows;
}

/**
 * Walks `root` and checks every file that is not a temporary (dot) name:
 * - a dataset directory (`_dataset.json`): the index parses; every shard it lists is a complete
 *   Arrow file with the rows it says; with `complete: true` the rows are `expect.datasetRows`;
 *   shards present but not listed (renamed just before a kill) are complete files too;
 * - `*.arrow` datasets: read to the end (only a complete file parses; rows = expect.datasetRows);
 * - `analysis/*.arrow`: readTable and every column; `*.json`: valid JSON (cfg.json, _run.json,
 *   state.json checked by their readers); `*.safetensors`: every tensor complete;
 * - a run directory: cfg.json readable, metrics.arrows readable (complete batches only), the
 *   weights' shapes equal cfg.json's d_in/d_sae; `_run.json` complete ⇒ step = steps and weights;
 * - `checkpoints/latest`: state.json and state.safetensors both present and complete;
 * - `*.html`: ends with </html> and its embedded JSON parses.
 * Returns the files checked and the problems found (`problems` must be empty).
 */
export async function checkTree(root, expect = {}) {
  const checked = [];
  const problems = [];
  const temps = [];
  const bad = (file, what) => problems.push(`${path.relative(root, file) || '.'}: ${what}`);
  const attempt = async (file, fn) => {
    try {
      await fn();
      checked.push(path.relative(root, file) || '.');
    } catch (e) {
      bad(file, `${e?.name ?? 'Error'}: ${e?.message ?? e}`);
    }
  };
  if (!fs.existsSync(root)) return { checked, problems, temps };

  const walk = async (dir) => {
    const names = fs.readdirSync(dir).sort();
    if (names.includes('_dataset.json')) {
      await checkDatasetDir(dir, names);
      return;
    }
    if (names.includes('cfg.json') && !names.includes('state.json')) await checkRunDir(dir, names);
    for (const name of names) {
      const file = path.join(dir, name);
      if (isTemp(name)) {
        temps.push(path.relative(root, file));
        continue;
      }
      const st = fs.statSync(file);
      if (st.isDirectory()) {
        if (name === 'latest' && path.basename(dir) === 'checkpoints') await checkCheckpoint(file);
        else await walk(file);
        continue;
      }
      if (name.endsWith('.arrow')) {
        if (path.basename(dir) === 'analysis') await attempt(file, () => void readTable(file).rows());
        else
          await attempt(file, async () => {
            const rows = await readAllRows(file);
            if (expect.datasetRows !== undefined && rows !== expect.datasetRows) throw new Error(`parses as complete with ${rows} rows, expected ${expect.datasetRows}`);
          });
      } else if (name.endsWith('.safetensors')) {
        await attempt(file, () => {
          const t = readSafetensors(file);
          for (const k of t.tensors.keys()) t.getFloat32(k);
        });
      } else if (name === 'metrics.arrows') {
        await attempt(file, () => {
          const steps = readMetrics(file).rows.map((r) => r.step);
          for (let i = 1; i < steps.length; i++) if (!(steps[i] > steps[i - 1])) throw new Error(`steps not increasing at row ${i}`);
        });
      } else if (name === '_run.json') {
        await attempt(file, () => void runStatus(dir));
      } else if (name === 'cfg.json') {
        await attempt(file, () => void readRunConfig(dir));
      } else if (name.endsWith('.json')) {
        await attempt(file, () => void readJson(file));
      } else if (name.endsWith('.html')) {
        await attempt(file, () => {
          const html = fs.readFileSync(file, 'utf8');
          if (!/<\/html>\s*$/.test(html)) throw new Error('does not end with </html>');
          const m = /<script type="application\/json"[^>]*>([\s\S]*?)<\/script>/.exec(html);
          if (!m) throw new Error('has no embedded data');
          JSON.parse(m[1]);
        });
      } else if (name.startsWith('events.out.tfevents.')) {
        checked.push(path.relative(root, file));
      } else {
        bad(file, 'an unexpected file');
      }
    }
  };

  const checkDatasetDir = async (dir, names) => {
    const jsonPath = path.join(dir, '_dataset.json');
    await attempt(jsonPath, async () => {
      const info = readJson(jsonPath);
      const listed = new Set(info.shards.map((s) => s.file));
      if (!info.complete && info.shards.length === 0) {
        // Killed before its first shard closed: an index that says so, and nothing else to read.
        for (const name of names) if (isTemp(name)) temps.push(path.relative(root, path.join(dir, name)));
        return;
      }
      const rows = await readAllRows(dir, { allowIncomplete: true });
      if (rows !== info.rows) throw new Error(`its shards hold ${rows} rows but it says ${info.rows}`);
      if (info.complete && expect.datasetRows !== undefined && info.rows !== expect.datasetRows) throw new Error(`says complete with ${info.rows} rows, expected ${expect.datasetRows}`);
      for (const name of names) {
        const file = path.join(dir, name);
        if (isTemp(name)) temps.push(path.relative(root, file));
        else if (/^part-\d+\.arrow$/.test(name) && !listed.has(name)) {
          if (info.complete) throw new Error(`${name} is not listed in a complete index`);
          await attempt(file, () => readAllRows(file)); // renamed into place just before the kill
        } else if (name.endsWith('.safetensors')) {
          await attempt(file, () => void readSafetensors(file));
        } else if (name !== '_dataset.json' && !listed.has(name)) bad(file, 'an unexpected file in a dataset directory');
      }
    });
  };

  const checkRunDir = async (dir, names) => {
    await attempt(path.join(dir, '(run)'), () => {
      const cfg = readRunConfig(dir);
      const status = names.includes('_run.json') ? runStatus(dir) : undefined;
      const weights = path.join(dir, 'sae_weights.safetensors');
      if (fs.existsSync(weights)) {
        const t = readSafetensors(weights);
        const w = t.get('W_enc').shape.join('x');
        if (w !== `${cfg.d_in}x${cfg.d_sae}`) throw new Error(`W_enc is ${w} but cfg.json says ${cfg.d_in}x${cfg.d_sae}`);
      }
      if (status?.status === 'complete') {
        if (status.step !== status.steps && !/ran out|input/.test(status.message ?? '')) throw new Error(`_run.json says complete at step ${status.step} of ${status.steps}`);
        if (!fs.existsSync(weights)) throw new Error('_run.json says complete but there are no weights');
      }
    });
  };

  const checkCheckpoint = async (dir) => {
    await attempt(path.join(dir, '(checkpoint)'), () => {
      const meta = readJson(path.join(dir, 'state.json'));
      if (meta.format !== 'vsae-checkpoint') throw new Error(`state.json has format ${meta.format}`);
      const t = readSafetensors(path.join(dir, 'state.safetensors'));
      const w = t.get('params.W_enc').shape.join('x');
      if (w !== `${meta.d_in}x${meta.d_sae}`) throw new Error(`params.W_enc is ${w}, state.json says ${meta.d_in}x${meta.d_sae}`);
      for (const k of t.tensors.keys()) t.getFloat32(k);
    });
  };

  const st = fs.statSync(root);
  if (st.isDirectory()) await walk(root);
  else if (!isTemp(path.basename(root))) {
    await attempt(root, async () => {
      const rows = await readAllRows(root);
      if (expect.datasetRows !== undefined && rows !== expect.datasetRows) throw new Error(`parses as complete with ${rows} rows, expected ${expect.datasetRows}`);
    });
  }
  return { checked, problems, temps };
}
