import { createRequire } from 'node:module';
import { tf, initBackend, activeBackend, adapterName, isInstalled, installHint, type BackendName } from './backend.js';
import { probeWebgpu, type AdapterInfo } from './webgpu.js';

const require = createRequire(import.meta.url);

export interface BackendReport {
  /** The backend in use (initialising `auto` if none was chosen yet). */
  active: { name: Exclude<BackendName, 'auto'>; tfName: string; detail: string };
  /** What `auto` takes on this machine: the first of tensorflow-gpu, webgpu (hardware adapter only), tensorflow, wasm, cpu that is installed. */
  autoPick: Exclude<BackendName, 'auto'>;
  backends: Array<{ name: Exclude<BackendName, 'auto'>; package: string; installed: boolean; version?: string }>;
  tfjsVersion: string;
  /** wasm only: whether SIMD and multi-threading are used (threads are off under Node in tfjs 4). */
  wasm?: { simd: boolean; threads: boolean };
  /** Who computes matrix products (OpenBLAS through @vsae/blas, or the backend itself). */
  matmul: string;
  /** The WebGPU adapter Dawn finds (whether or not webgpu is in use), or why there is none. */
  webgpu: { adapter: AdapterInfo } | { missing: string };
  /** How to get a faster backend, or undefined when the fastest one is in use. */
  hint?: string;
}

const PACKAGES: Array<[Exclude<BackendName, 'auto'>, string]> = [
  ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'],
  ['webgpu', '@tensorflow/tfjs-backend-webgpu'],
  ['tensorflow', '@tensorflow/tfjs-node'],
  ['wasm', '@tensorflow/tfjs-backend-wasm'],
  ['cpu', '@tensorflow/tfjs-backend-cpu'],
];

function versionOf(pkg: string): string | undefined {
  try {
    return (require(`${pkg}/package.json`) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** What `vsae info` prints about tensor backends. Initialises `auto` when no backend is chosen yet. */
export async function backendReport(): Promise<BackendReport> {
  const active = activeBackend() ?? (await initBackend('auto'));
  const backends = PACKAGES.map(([name, pkg]) => {
    const installed = isInstalled(pkg);
    const version = installed ? versionOf(pkg) : undefined;
    return version === undefined ? { name, package: pkg, installed } : { name, package: pkg, installed, version };
  });
  const webgpu = active.adapter ? { adapter: active.adapter } : await probeWebgpu(false);
  const autoPick = backends.find((b) => b.installed && (b.name !== 'webgpu' || ('adapter' in webgpu && !webgpu.adapter.software)))?.name ?? 'cpu';
  const report: BackendReport = {
    active: { name: active.name, tfName: active.tfName, detail: active.detail },
    autoPick,
    backends,
    tfjsVersion: tf.version_core,
    matmul: active.matmul,
    webgpu,
  };
  if (active.name === 'wasm') {
    report.wasm = {
      simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
      threads: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
    };
  }
  if (active.name === 'wasm' || active.name === 'cpu') {
    report.hint =
      `a native backend is several times faster for training: ${installHint('tensorflow')} ` +
      `With a GPU: --backend webgpu, which auto takes on a hardware adapter (it needs the GPU's Vulkan driver and libvulkan1); ` +
      `for NVIDIA also ${installHint('tensorflow-gpu')} Then run with --backend auto (the default).`;
  } else if (active.name === 'tensorflow') {
    report.hint = `with an NVIDIA GPU: ${installHint('tensorflow-gpu')}`;
  }
  return report;
}

/** The report as lines of text for a terminal. */
export function formatBackendReport(r: BackendReport): string {
  const lines = [
    `backend: ${r.active.name} (tfjs ${r.active.tfName}, ${r.active.detail})`,
    `auto picks: ${r.autoPick}`,
    `tfjs: ${r.tfjsVersion}`,
    ...r.backends.map((b) => `  ${b.installed ? '✓' : '·'} ${b.name.padEnd(15)} ${b.package}${b.version ? `@${b.version}` : ' (not installed)'}`),
  ];
  lines.push(`matrix products: ${r.matmul}`);
  lines.push('adapter' in r.webgpu ? `webgpu adapter: ${adapterName(r.webgpu.adapter)}` : `webgpu adapter: none (${r.webgpu.missing})`);
  if (r.wasm) lines.push(`wasm: SIMD ${r.wasm.simd ? 'on' : 'off'}, threads ${r.wasm.threads ? 'on' : 'off (one thread under Node)'}`);
  if (r.hint) lines.push(`faster: ${r.hint}`);
  return lines.join('\n');
}
