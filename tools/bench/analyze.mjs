#!/usr/bin/env node
/**
 * `vsae analyze` throughput: all five analyses of a random SAE (d_in 512, d_sae 4096, encoder
 * columns of unit norm and b_enc −2, so ~2% of latents fire on N(0, 1) rows: L0 ≈ 90) over
 * 200k random rows, through @vsae/analyze (built dist), in a child process whose peak RSS is
 * reported. Baselines measured in the same run: reading the dataset (no encode), and one plain
 * encode+decode pass over the same rows with the same batch size (the tensor work of pass 1).
 *
 *   node tools/bench/analyze.mjs [--rows 200000] [--d-in 512] [--d-sae 4096] [--max-memory 1024]
 *
 * Prints progress on stderr and one JSON line on stdout. Other flags (from npm run bench) are ignored.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const here = path.dirname(new URL(import.meta.url).pathname);
const dist = (p) => path.resolve(here, `../../packages/${p}/dist/index.js`);
for (const p of ['analyze', 'data', 'compute', 'sae']) {
  if (!fs.existsSync(dist(p))) {
    console.error(`analyze bench: ${dist(p)} is missing; build first: npx turbo run build --filter=@vsae/analyze...`);
    process.exit(1);
  }
}

const { values } = parseArgs({
  strict: false,
  options: {
    rows: { type: 'string', default: '200000' },
    'd-in': { type: 'string', default: '512' },
    'd-sae': { type: 'string', default: '4096' },
    'max-memory': { type: 'string', default: '1024' },
    child: { type: 'string' },
  },
});

if (values.child) {
  // The measured process: analyze() only, or a baseline pass.
  const { mode, run, data, maxMemoryMb } = JSON.parse(values.child);
  const t0 = performance.now();
  let extra = {};
  if (mode === 'analyze') {
    const { analyze } = await import(dist('analyze'));
    const r = await analyze({ run, input: data, nSamples: 0, maxMemoryMb, quiet: false });
    extra = { batch_rows: r.summary.parameters.batch_rows, l0: r.summary.l0, n_clusters: r.summary.n_clusters };
  } else {
    const { openDataset } = await import(dist('data'));
    const ds = await openDataset(data);
    let sink = 0;
    if (mode === 'read') {
      for await (const b of ds.batches()) sink += b.act[0];
    } else {
      const { initBackend, tf } = await import(dist('compute'));
      const { loadSae } = await import(dist('sae'));
      await initBackend();
      const sae = await loadSae(run);
      const bs = Number(JSON.parse(values.child).batchRows);
      for await (const b of ds.batches()) {
        for (let s = 0; s < b.numRows; s += bs) {
          const m = Math.min(bs, b.numRows - s);
          const x = tf.tensor2d(b.act.subarray(s * sae.dIn, (s + m) * sae.dIn), [m, sae.dIn]);
          const o = sae.forward(x);
          sink += (await o.act.data())[0] + (await o.recon.data())[0];
          tf.dispose([x, o.act, o.recon]);
        }
      }
      sae.dispose();
      (await import(dist('compute'))).releaseBackend(); // a live WebGPU device would crash process.exit
    }
    await ds.close();
    extra = { sink: Number.isFinite(sink) };
  }
  process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - t0) / 1000, peak_rss_mb: (process.resourceUsage().maxRSS * 1024) / 2 ** 20, ...extra })}\n`);
  process.exit(0);
}

const rows = Number(values.rows);
const dIn = Number(values['d-in']);
const dSae = Number(values['d-sae']);
const maxMemoryMb = Number(values['max-memory']);
const { createDatasetWriter, writeJsonAtomic, writeSafetensors } = await import(dist('data'));
const { Rng, initBackend } = await import(dist('compute'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-bench-analyze-'));
try {
  // Random SAE in SAELens layout.
  const rng = new Rng(1);
  const W_enc = new Float32Array(dIn * dSae);
  rng.fillNormal(W_enc, 0, 1 / Math.sqrt(dIn));
  const W_dec = new Float32Array(dSae * dIn);
  rng.fillNormal(W_dec, 0, 1 / Math.sqrt(dIn));
  const run = path.join(tmp, 'run');
  fs.mkdirSync(run);
  await writeJsonAtomic(path.join(run, 'cfg.json'), { architecture: 'standard', d_in: dIn, d_sae: dSae, apply_b_dec_to_input: true, normalize_activations: 'none', hook_name: 'bench' });
  await writeSafetensors(path.join(run, 'sae_weights.safetensors'), {
    W_enc: { data: W_enc, shape: [dIn, dSae] },
    b_enc: { data: new Float32Array(dSae).fill(-2), shape: [dSae] },
    W_dec: { data: W_dec, shape: [dSae, dIn] },
    b_dec: { data: new Float32Array(dIn), shape: [dIn] },
  });
  const data = path.join(tmp, 'data.arrow');
  const w = await createDatasetWriter(data, { meta: { source: 'bench', dIn } });
  const chunk = 8192;
  const buf = new Float32Array(chunk * dIn);
  for (let r = 0; r < rows; r += chunk) {
    const m = Math.min(chunk, rows - r);
    rng.fillNormal(buf.subarray(0, m * dIn));
    await w.write({ numRows: m, act: buf.subarray(0, m * dIn) });
  }
  await w.close();
  const backend = (await initBackend()).name;
  process.stderr.write(`analyze bench: ${rows} rows × ${dIn}, d_sae ${dSae}, ${(fs.statSync(data).size / 2 ** 20).toFixed(0)} MiB, backend ${backend}\n`);

  const child = (mode, batchRows) => {
    const r = spawnSync(process.execPath, [fileURLPath(), '--child', JSON.stringify({ mode, run, data, maxMemoryMb, batchRows })], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`${mode} child failed (exit ${r.status})`);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  };
  const read = child('read');
  process.stderr.write(`  read only: ${read.seconds.toFixed(1)} s\n`);
  const full = child('analyze');
  process.stderr.write(`  analyze (all five): ${full.seconds.toFixed(1)} s, peak RSS ${full.peak_rss_mb.toFixed(0)} MiB\n`);
  const enc = child('encode', full.batch_rows);
  process.stderr.write(`  one encode+decode pass: ${enc.seconds.toFixed(1)} s\n`);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'analyze',
      rows,
      d_in: dIn,
      d_sae: dSae,
      backend,
      cpus: os.cpus().length,
      analyze_s: round(full.seconds),
      rows_per_s: Math.round(rows / full.seconds),
      peak_rss_mb: Math.round(full.peak_rss_mb),
      max_memory_mb: maxMemoryMb,
      batch_rows: full.batch_rows,
      l0: round(full.l0),
      read_only_s: round(read.seconds),
      encode_decode_pass_s: round(enc.seconds),
      ratio_to_encode_pass: round(full.seconds / enc.seconds),
    })}\n`,
  );
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

function fileURLPath() {
  return new URL(import.meta.url).pathname;
}
function round(v) {
  return Math.round(v * 100) / 100;
}
