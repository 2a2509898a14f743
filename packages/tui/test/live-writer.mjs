#!/usr/bin/env node
// Stand-in for a training process in the dashboard's end-to-end test while `vsae train` is not
// built: writes a run directory the way the trainer does (cfg.json, _run.json, metrics.arrows
// through @vsae/data's MetricsWriter) and appends one metrics row every INTERVAL_MS until
// STEPS, or until killed. Usage: node live-writer.mjs RUN_DIR [STEPS=100000] [INTERVAL_MS=100]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetricsWriter, writeJsonAtomicSync, writeRunStatus } from '@vsae/data';

const [dir, stepsArg, intervalArg] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: live-writer.mjs RUN_DIR [STEPS] [INTERVAL_MS]\n');
  process.exit(2);
}
const steps = Number(stepsArg ?? 100000);
const interval = Number(intervalArg ?? 100);
fs.mkdirSync(dir, { recursive: true });
writeJsonAtomicSync(path.join(dir, 'cfg.json'), {
  architecture: 'standard', d_in: 20, d_sae: 160, dtype: 'float32', device: 'cpu', hook_name: 'toy', hook_layer: 0,
  model_name: 'toy', context_size: 1, prepend_bos: false, apply_b_dec_to_input: true, normalize_activations: 'none',
  activation_fn_str: 'relu', metadata: {}, vsae: { arch: 'sae', steps, seed: 1, dataset: 'toy.arrow', version: '0.1.0' },
});
const writer = new MetricsWriter(path.join(dir, 'metrics.arrows'), { arch: 'sae' });
let step = 0;
const stop = (status) => {
  writer.close();
  writeRunStatus(dir, { status, step, steps });
  process.exit(status === 'complete' ? 0 : 130);
};
process.on('SIGINT', () => stop('interrupted'));
process.on('SIGTERM', () => stop('interrupted'));
const tick = () => {
  step += 10;
  const loss = 2 / (1 + step / 500) + 0.05;
  writer.append({ step, lr: 1e-3, loss, recon: loss * 0.7, l1: loss * 0.6, coeff: 0.5, l0: 40 / (1 + step / 2000) + 3, dead_frac: Math.min(0.5, step / 40000), explained_variance: 1 - 0.9 / (1 + step / 1000), elapsed_s: step / 100, skipped_rows: 0 });
  writeRunStatus(dir, { status: 'running', step, steps });
  if (step >= steps) stop('complete');
  else setTimeout(tick, interval);
};
tick();
