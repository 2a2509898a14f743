#!/usr/bin/env node
/**
 * Training-step speed of @vsae/sae (built dist) on the default backend:
 *   - one SAE step at d_in 768, d_sae 6144, batch 1024 (forward, hand-written backward,
 *     decoder-gradient projection, Adam, unit-norm rows), ms/step, and a TopK step (k 384)
 *     beside it with the ratio (target ≤ 1.2);
 *   - steps/s at toy scale (d_in 20, d_sae 160, batch 4096), for the engine alone and for
 *     train() over a toy-like Arrow file (batches from the shuffling buffer, metrics, checkpoints);
 *   - when /usr/bin/python3 has torch: the same step in PyTorch on this machine (autograd,
 *     projection, torch.optim.Adam, unit-norm rows; float32; its default threads and 2 threads)
 *     and the ratio ours / best PyTorch (target ≤ 3);
 *   - with @vsae/blas's OpenBLAS in use, the large step again without it (VSAE_BLAS=0, child
 *     process), so the figure of the plain wasm backend is there too.
 *
 *   node tools/bench/train.mjs [--iters 3] [--toy-steps 200] [--arch sae] [--no-torch] [--no-plain]
 *
 * Progress on stderr, one JSON line on stdout.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const here = path.dirname(new URL(import.meta.url).pathname);
const dist = (p) => path.resolve(here, `../../packages/${p}/dist/index.js`);
for (const p of ['sae', 'compute', 'data']) {
  if (!fs.existsSync(dist(p))) {
    console.error(`train bench: ${dist(p)} is missing; build first: npx turbo run build --filter=@vsae/sae...`);
    process.exit(1);
  }
}
const { values } = parseArgs({
  options: {
    iters: { type: 'string', default: '3' },
    'toy-steps': { type: 'string', default: '200' },
    arch: { type: 'string', default: 'sae' },
    'no-torch': { type: 'boolean', default: false },
    'no-plain': { type: 'boolean', default: false },
    'large-only': { type: 'boolean', default: false },
  },
  strict: false,
});
const iters = Number(values.iters);
const arch = values.arch;
const sae = await import(dist('sae'));
const { initBackend, tf, Rng } = await import(dist('compute'));
const data = await import(dist('data'));
const backend = await initBackend(process.env.VSAE_BACKEND ?? 'auto');
const log = (s) => process.stderr.write(`${s}\n`);
log(`backend ${backend.name}${backend.matmul ? `, products: ${backend.matmul}` : ''}`);

function spec(dIn, dSae, a = arch) {
  // k = 6.25 % of d_sae, the paper's setting (384 at d_sae 6144).
  return { arch: a, dIn, dSae, varFlag: 0, varActivation: 'linear', reduction: 'mean', nCorrelatedPairs: 0, nAnticorrelatedPairs: 0, priorMean: 1, multiKl: 'per-row', k: Math.round(dSae / 16), auxCoeff: 1 / 32, deadTokens: 10_000_000, gradClip: 1 };
}

/**
 * ms per engine step (after `warm` untimed steps). Each step uploads its batch (and VSAE noise)
 * from a pool of POOL batches generated before timing: making random data is not part of a
 * training step (the PyTorch side below does the same).
 */
const POOL = 4;
async function engineStep(dIn, dSae, B, n, warm = 1, a = arch) {
  const s = spec(dIn, dSae, a);
  const rng = new Rng(1);
  const desc = sae.archOf(a);
  const host = desc.family === 'topk' ? sae.topkInitParams(s, rng) : sae.initParams(s, rng);
  const engine = new sae.SaeEngine(s, sae.buildPrior(s), { params: toTensors(s, host) });
  const xPool = Array.from({ length: POOL }, () => rng.fillNormal(new Float32Array(B * dIn)));
  const epsPool = desc.samples({ varFlag: 0 }) ? Array.from({ length: POOL }, () => rng.fillNormal(new Float32Array(B * dSae))) : undefined;
  const one = async (i, metrics) => {
    const x = tf.tensor2d(xPool[i % POOL], [B, dIn]);
    const eps = epsPool ? tf.tensor2d(epsPool[i % POOL], [B, dSae]) : undefined;
    const m = await engine.step(x, { eps, lr: 1e-4, coeff: 0.05, stepIndex: i, metrics, deadWindow: 400 });
    x.dispose();
    eps?.dispose();
    if (m) {
      await m.data();
      m.dispose();
    }
  };
  for (let i = 0; i < warm; i++) await one(i, true);
  await engine.firstNonFiniteStep(); // sync before timing
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await one(warm + i, i === n - 1);
  await engine.firstNonFiniteStep(); // the device has finished every step
  const ms = (performance.now() - t0) / n;
  engine.dispose();
  return ms;
}

function toTensors(s, host) {
  const t = {
    W_enc: tf.tensor2d(host.W_enc, [s.dIn, s.dSae]),
    b_enc: tf.tensor1d(host.b_enc),
    W_dec: tf.tensor2d(host.W_dec, [s.dSae, s.dIn]),
    b_dec: tf.tensor1d(host.b_dec),
  };
  if (host.W_enc_var) {
    t.W_enc_var = tf.tensor2d(host.W_enc_var, [s.dIn, s.dSae]);
    t.b_enc_var = tf.tensor1d(host.b_enc_var);
  }
  return t;
}

const out = { backend: backend.name, products: backend.matmul ?? backend.name, arch, host: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}` };

// Large step.
log(`large step: d_in 768, d_sae 6144, batch 1024, ${iters} timed steps…`);
out.large_step_ms = await engineStep(768, 6144, 1024, iters);
log(`  ${out.large_step_ms.toFixed(1)} ms/step`);
if (values.topk !== false && arch === 'sae') {
  // The TopK step at the paper's k (6.25 % of d_sae) beside the SAE step of the same run: the
  // top-k selection must not dominate (target ≤ 1.2×).
  log(`topk step: d_in 768, d_sae 6144, batch 1024, k 384, ${iters} timed steps…`);
  out.topk_step_ms = await engineStep(768, 6144, 1024, iters, 1, 'topk');
  out.topk_over_sae = out.topk_step_ms / out.large_step_ms;
  log(`  ${out.topk_step_ms.toFixed(1)} ms/step, ${out.topk_over_sae.toFixed(2)}× the SAE step`);
}

if (process.env.VSAE_TRAIN_BENCH_CHILD) {
  (await import(dist('compute'))).releaseBackend(); // a live WebGPU device would crash process.exit
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

if (!values['large-only']) {
  // Toy scale, engine only.
  const toySteps = Number(values['toy-steps']);
  log(`toy engine: d_in 20, d_sae 160, batch 4096, ${toySteps} steps…`);
  const toyMs = await engineStep(20, 160, 4096, toySteps, 5);
  out.toy_engine_steps_per_s = 1000 / toyMs;
  log(`  ${out.toy_engine_steps_per_s.toFixed(1)} steps/s`);

  // Toy scale, the whole trainer over a file (100 000 rows of sparse combinations of 100 directions).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-bench-train-'));
  try {
    const file = path.join(dir, 'toy.arrow');
    const rng = new Rng(2);
    const dIn = 20;
    const nDirs = 100;
    const dirs = rng.fillNormal(new Float32Array(nDirs * dIn));
    const rows = 100_000;
    const act = new Float32Array(rows * dIn);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < nDirs; j++) {
        if (rng.uniform() < 0.05) {
          const v = rng.uniform();
          for (let k = 0; k < dIn; k++) act[r * dIn + k] += v * dirs[j * dIn + k];
        }
      }
    }
    const w = await data.createDatasetWriter(file, { meta: { source: 'bench', dIn } });
    await w.write({ numRows: rows, act });
    await w.close();
    log(`toy train(): ${toySteps} steps over a 100000-row file…`);
    const t0 = performance.now();
    const r = await sae.train({ input: file, out: path.join(dir, 'run'), arch, steps: toySteps, batchSize: 4096, dictMult: 8, quiet: true, handleSignals: false, checkpointEvery: 1000 });
    out.toy_train_steps_per_s = r.step / ((performance.now() - t0) / 1000);
    log(`  ${out.toy_train_steps_per_s.toFixed(1)} steps/s (including start-up and the final checkpoint)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The same large step without the native BLAS, when it was in use.
if (!values['no-plain'] && backend.blas) {
  log('large step on the plain wasm backend (VSAE_BLAS=0)…');
  const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--iters', '2'], {
    env: { ...process.env, VSAE_BLAS: '0', VSAE_TRAIN_BENCH_CHILD: '1' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = (r.stdout ?? '').trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (line) out.large_step_ms_plain_wasm = JSON.parse(line).large_step_ms;
}

// PyTorch reference on the same machine.
const py = '/usr/bin/python3';
if (!values['no-torch'] && fs.existsSync(py) && spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) {
  const script = `
import time, torch, json, sys
B, D, S, iters = 1024, 768, 6144, int(sys.argv[1])
def run(threads):
    if threads: torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    W_enc = torch.nn.Parameter(torch.empty(D, S).uniform_(-(6/S)**0.5, (6/S)**0.5, generator=g))
    W_dec = torch.empty(S, D).uniform_(-(6/D)**0.5, (6/D)**0.5, generator=g)
    W_dec = torch.nn.Parameter(W_dec / W_dec.norm(dim=-1, keepdim=True))
    b_enc = torch.nn.Parameter(torch.zeros(S)); b_dec = torch.nn.Parameter(torch.zeros(D))
    opt = torch.optim.Adam([W_enc, b_enc, W_dec, b_dec], lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    xs = [torch.randn(B, D, generator=g) for _ in range(4)]  # a pool, as on our side
    calls = [0]
    def step():
        x = xs[calls[0] % 4]; calls[0] += 1
        f = torch.relu((x - b_dec) @ W_enc + b_enc)
        x_hat = f @ W_dec + b_dec
        loss = (x_hat - x).pow(2).sum(-1).mean() + 0.05 * f.abs().sum(-1).mean()
        opt.zero_grad(); loss.backward()
        with torch.no_grad():
            u = W_dec / W_dec.norm(dim=-1, keepdim=True)
            W_dec.grad -= (W_dec.grad * u).sum(-1, keepdim=True) * u
        opt.step()
        with torch.no_grad(): W_dec.div_(W_dec.norm(dim=-1, keepdim=True))
        return loss.item()
    step()
    t = time.perf_counter()
    for _ in range(iters): step()
    return (time.perf_counter() - t) / iters * 1000, torch.get_num_threads()
default_threads = torch.get_num_threads()
ms_default, th_default = run(0)
ms_2, th_2 = run(2)
print(json.dumps({"torch": torch.__version__, "default_threads": th_default, "ms_default": ms_default, "ms_2_threads": ms_2}))
`;
  log('PyTorch: the same step (float32)…');
  const r = spawnSync(py, ['-c', script, String(Math.max(iters, 3))], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = (r.stdout ?? '').trim().split('\n').pop();
  if (r.status === 0 && line) {
    const t = JSON.parse(line);
    out.torch = t.torch;
    out.torch_default_threads = t.default_threads;
    out.torch_step_ms = t.ms_default;
    out.torch_step_ms_2_threads = t.ms_2_threads;
    const best = Math.min(t.ms_default, t.ms_2_threads);
    out.ratio_vs_torch = out.large_step_ms / best;
    out.target_ratio = 3;
    log(`  PyTorch ${t.ms_default.toFixed(1)} ms (${t.default_threads} threads), ${t.ms_2_threads.toFixed(1)} ms (2 threads); ratio ours/best ${out.ratio_vs_torch.toFixed(2)}`);
  } else {
    out.torch_error = `exit ${r.status}`;
  }
}
(await import(dist('compute'))).releaseBackend(); // lets the process exit on webgpu
process.stdout.write(`${JSON.stringify(out)}\n`);
