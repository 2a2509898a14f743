import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/index.js';
import { backendReport, formatBackendReport } from '../src/report.js';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(new URL('../dist/index.js', import.meta.url));

describe('backends', () => {
  it('backendReport says what is installed, what auto picks, and how to get a faster one', async () => {
    await initBackend('wasm');
    const r = await backendReport();
    expect(r.active.name).toBe('wasm');
    expect(r.tfjsVersion).toBe(tf.version_core);
    expect(r.backends.find((b) => b.name === 'wasm')?.installed).toBe(true);
    expect(r.backends.find((b) => b.name === 'cpu')?.installed).toBe(true);
    expect(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm']).toContain(r.autoPick);
    expect('adapter' in r.webgpu || 'missing' in r.webgpu).toBe(true);
    expect(r.wasm?.simd).toBe(true);
    expect(r.wasm?.threads).toBe(false);
    expect(r.hint).toMatch(/tfjs-node/);
    expect(formatBackendReport(r)).toMatch(/^backend: wasm/);
  });

  it('gradients are registered (tfjs-core alone has none)', async () => {
    await initBackend('wasm');
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([1, -2]));
    expect(Array.from(g.dataSync())).toEqual([2, -4]);
    g.dispose();
  });

  it.skipIf(!built)("never prints tfjs's Node.js banner (built package, cpu backend, fresh process)", () => {
    const script =
      "const m = await import('@vsae/compute'); await m.initBackend('cpu'); m.tf.add(m.tf.ones([2]), 1).dataSync();";
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: pkgDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
    const both = execFileSync('sh', ['-c', `"${process.execPath}" --input-type=module -e "${script}" 2>&1`], { cwd: pkgDir, encoding: 'utf8' });
    expect(both).not.toMatch(/looks like you are running TensorFlow\.js/);
  });
});
