import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { blasInfo, installBlasMatMul } from '@vsae/blas';
import { UsageError, VsaeError } from '@vsae/data';
import { onlySoftwareVulkan, probeWebgpu, releaseWebgpu, webgpuAdapter, WEBGPU_HINT, type AdapterInfo } from './webgpu.js';

import { BACKEND_NAMES, type BackendName } from './backend-names.js';

export { BACKEND_NAMES, type BackendName };

export interface BackendInfo {
  /** Our name for it. */
  name: Exclude<BackendName, 'auto'>;
  /** tfjs's registered backend name (`tensorflow`, `webgpu`, `wasm`, `cpu`). */
  tfName: string;
  /** How it was chosen, for `vsae info` and logs. */
  detail: string;
  /** Who computes matrix products: OpenBLAS through @vsae/blas (wasm/cpu when available) or the backend itself. */
  matmul: string;
  /** True when @vsae/blas replaced the backend's matrix-product kernel. */
  blas: boolean;
  /** webgpu only: the adapter it runs on. */
  adapter?: AdapterInfo;
}

const require = createRequire(import.meta.url);
let active: BackendInfo | undefined;

// tfjs prints a "Hi, looks like you are running TensorFlow.js in Node.js…" banner (and other
// notices) through console.warn/log unless PROD is set; stdout carries data only, and the
// advice it gives is in `vsae info` (backendReport) instead.
tf.env().set('PROD', true);

/** Whether a package can be resolved from here (installed), without loading it. */
export function isInstalled(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

async function tryNative(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<string | undefined> {
  if (!isInstalled(pkg)) return `${pkg} is not installed`;
  try {
    // The native packages register the `tensorflow` backend on load.
    await import(pkg);
    if (!(await tf.setBackend('tensorflow'))) return `${pkg} loaded but the tensorflow backend did not initialise`;
    return undefined;
  } catch (e) {
    return `${pkg} is installed but failed to load (${(e as Error).message.split('\n')[0]})`;
  }
}

async function tryWasm(): Promise<string | undefined> {
  try {
    const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as typeof import('@tensorflow/tfjs-backend-wasm');
    const file = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    wasm.setWasmPaths(path.dirname(file) + path.sep);
    if (!(await tf.setBackend('wasm'))) return 'the wasm backend did not initialise';
    return undefined;
  } catch (e) {
    return `the wasm backend failed to load (${(e as Error).message.split('\n')[0]})`;
  }
}

/**
 * WebGPU through Dawn. `auto` takes it only on a hardware adapter: a software one (lavapipe)
 * is slower than wasm with the native BLAS, and is for tests.
 */
async function tryWebgpu(auto: boolean): Promise<string | undefined> {
  if (auto && onlySoftwareVulkan()) return 'the only Vulkan driver is a software one (lavapipe or SwiftShader)';
  const probe = await probeWebgpu(!auto);
  if ('missing' in probe) return probe.missing;
  if (auto && probe.adapter.software) return `the WebGPU adapter is a software one (${probe.adapter.description || probe.adapter.device})`;
  if (auto) {
    const loaded = await probeWebgpu(true);
    if ('missing' in loaded) return loaded.missing;
  }
  return undefined;
}

async function tryCpu(): Promise<string | undefined> {
  await import('@tensorflow/tfjs-backend-cpu');
  return (await tf.setBackend('cpu')) ? undefined : 'the cpu backend did not initialise';
}

/**
 * Chooses and initialises the tensor backend. `auto` takes the fastest one that loads:
 * tfjs-node-gpu (CUDA), tfjs-node, wasm, cpu. An explicit name that cannot load is an error.
 * The choice is made once per process; later calls with the same name return it.
 */
export async function initBackend(requested?: string): Promise<BackendInfo> {
  const name = (requested ?? process.env.VSAE_BACKEND ?? 'auto') as BackendName;
  if (!BACKEND_NAMES.includes(name)) {
    throw new UsageError(`unknown backend "${name}": use one of ${BACKEND_NAMES.join(', ')}`);
  }
  if (active && (name === 'auto' || name === active.name)) return active;
  const order: Array<Exclude<BackendName, 'auto'>> = name === 'auto' ? ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] : [name];
  const skipped: string[] = [];
  for (const candidate of order) {
    const why =
      candidate === 'tensorflow-gpu' ? await tryNative('@tensorflow/tfjs-node-gpu')
      : candidate === 'webgpu' ? await tryWebgpu(name === 'auto')
      : candidate === 'tensorflow' ? await tryNative('@tensorflow/tfjs-node')
      : candidate === 'wasm' ? await tryWasm()
      : await tryCpu();
    if (why === undefined) {
      await tf.ready();
      const tfName = tf.getBackend();
      // wasm and cpu run products on one thread, and transposed ones 10–40× slower; the
      // optional native BLAS (VSAE_BLAS=0 turns it off) runs every variant on all cores.
      const blas = tfName === 'wasm' || tfName === 'cpu' ? installBlasMatMul(tfName) : { installed: false, reason: '' };
      const adapter = tfName === 'webgpu' ? webgpuAdapterOrThrow() : undefined;
      active = {
        name: candidate,
        tfName,
        detail: skipped.length ? `auto: ${skipped.join('; ')}` : name === 'auto' ? 'auto: fastest available' : 'requested',
        matmul: blas.installed ? `OpenBLAS (${blas.reason})` : tfName === 'wasm' ? `wasm XNNPACK, one thread${blas.reason ? ` (native BLAS not used: ${blas.reason})` : ''}` : adapter ? `WebGPU shaders on ${adapterName(adapter)}` : tfName,
        blas: blas.installed,
        ...(adapter ? { adapter } : {}),
      };
      return active;
    }
    skipped.push(why);
    if (name !== 'auto') throw new VsaeError(`backend "${name}" is not available: ${why}. ${installHint(candidate)}`);
  }
  throw new VsaeError(`no tensor backend could be initialised: ${skipped.join('; ')}`);
}

function webgpuAdapterOrThrow(): AdapterInfo {
  const a = webgpuAdapter();
  if (!a) throw new VsaeError('the webgpu backend is active but its adapter is unknown');
  return a;
}

/** An adapter in one phrase: "NVIDIA H100 (nvidia, hardware)". */
export function adapterName(a: AdapterInfo): string {
  const what = a.description || a.device || a.architecture || 'unnamed adapter';
  return `${what} (${a.vendor || 'unknown vendor'}, ${a.software ? 'software' : 'hardware'})`;
}

/**
 * Frees what the backend holds outside the JS heap that would keep the process from exiting:
 * the WebGPU device (a no-op on the other backends). Call it when a program is done with
 * tensors; a later initBackend starts again.
 */
export function releaseBackend(): void {
  if (active?.tfName !== 'webgpu') return;
  releaseWebgpu();
  active = undefined;
}

/** The backend in use, if initBackend has run. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

export function installHint(name: Exclude<BackendName, 'auto'>): string {
  switch (name) {
    case 'tensorflow-gpu':
      return 'Install it with `npm install @tensorflow/tfjs-node-gpu@4.22.0` on a machine with CUDA 11.8 and cuDNN 8 (it downloads libtensorflow at install time).';
    case 'tensorflow':
      return 'Install it with `npm install @tensorflow/tfjs-node@4.22.0` (it downloads libtensorflow at install time).';
    case 'webgpu':
      return WEBGPU_HINT;
    default:
      return 'It ships with vsae; reinstall with `npm install` if it is missing.';
  }
}

export { tf, blasInfo };

/**
 * A tensor's values on the host, asynchronously on every backend (a GPU backend cannot read
 * synchronously). Tensors that already live in host memory (wasm, cpu, tensorflow) are copied
 * at once: in a long extraction tfjs's own `data()` on wasm kept ~18 MB more at the peak than
 * the synchronous copy of the same tensors.
 */
export function readTensor(t: tf.Tensor): Promise<tf.TypedArray> {
  if (tf.getBackend() === 'webgpu') return t.data() as Promise<tf.TypedArray>;
  return Promise.resolve(t.dataSync() as tf.TypedArray);
}
