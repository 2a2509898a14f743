import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

/** The WebGPU adapter the backend runs on, as `vsae info` names it. */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (Mesa's lavapipe, SwiftShader, …) rather than a GPU. */
  software: boolean;
}

/** What a user needs to get an adapter, appended to every "not available" message. */
export const WEBGPU_HINT =
  'Install the GPU\'s Vulkan driver and the Vulkan loader (Debian: libvulkan1; NVIDIA: the driver\'s Vulkan ICD), ' +
  'or for a software adapter Mesa ≥ 25\'s lavapipe (Debian 12: mesa-vulkan-drivers from bookworm-backports) with VK_ICD_FILENAMES set to its lvp_icd json.';

interface DawnGpu {
  requestAdapter(opts?: object): Promise<DawnAdapter | null>;
}
interface DawnAdapter {
  info?: Record<string, unknown>;
  isFallbackAdapter?: boolean;
}

// Dawn's instance: it must stay referenced while the device is in use (collecting it under a
// live device crashes the process), and a live device keeps Node's event loop running, so
// releaseWebgpu() destroys the device before dropping the instance.
let gpu: DawnGpu | undefined;
let adapter: AdapterInfo | undefined;

const LIB_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/lib'];

function envList(name: string): string[] {
  return (process.env[name] ?? '').split(path.delimiter).filter(Boolean);
}

/**
 * On Linux, the Vulkan driver manifests (ICD files) the Vulkan loader will read, or why Dawn
 * cannot find a Vulkan device (without a loader or a driver Dawn only prints native warnings and
 * gives no adapter). Other platforms use Metal or Direct3D: no files, nothing missing.
 */
export function vulkanDrivers(): { files: string[]; missing?: string } {
  if (process.platform !== 'linux') return { files: [] };
  const libDirs = [...envList('LD_LIBRARY_PATH'), ...LIB_DIRS];
  if (!libDirs.some((d) => fs.existsSync(path.join(d, 'libvulkan.so.1')))) return { files: [], missing: 'the Vulkan loader libvulkan.so.1 is not installed' };
  const explicit = [...envList('VK_DRIVER_FILES'), ...envList('VK_ICD_FILENAMES')];
  if (explicit.length) {
    const files = explicit.filter((f) => fs.existsSync(f));
    return files.length ? { files } : { files, missing: `VK_ICD_FILENAMES names no existing file (${explicit.join(', ')})` };
  }
  const dataDirs = [...envList('XDG_CONFIG_DIRS'), '/etc/xdg', '/etc', ...envList('XDG_DATA_DIRS'), '/usr/local/share', '/usr/share'];
  const files = dataDirs.flatMap((d) => {
    const dir = path.join(d, 'vulkan', 'icd.d');
    try {
      return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, f));
    } catch {
      return [];
    }
  });
  return files.length ? { files } : { files, missing: 'no Vulkan driver is installed (no ICD file in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d, and VK_ICD_FILENAMES is not set)' };
}

/** Why webgpu cannot run here, from the files alone; undefined when Dawn may find an adapter. */
export function vulkanMissing(): string | undefined {
  return vulkanDrivers().missing;
}

/**
 * Whether every Vulkan driver here is a CPU implementation (Mesa's lavapipe, SwiftShader), read
 * from the manifests' library names: then `auto` need not load Dawn (which prints warnings about
 * lavapipe's limits) only to turn the adapter down.
 */
export function onlySoftwareVulkan(): boolean {
  const { files, missing } = vulkanDrivers();
  if (missing || files.length === 0) return false;
  return files.every((f) => {
    try {
      const lib = String((JSON.parse(fs.readFileSync(f, 'utf8')) as { ICD?: { library_path?: string } }).ICD?.library_path ?? '');
      return /lvp|lavapipe|swiftshader|llvmpipe/i.test(lib);
    } catch {
      return false;
    }
  });
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Reads a GPUAdapterInfo (its fields are getters, so they are copied one by one). */
function describe(a: DawnAdapter): AdapterInfo {
  const i = a.info ?? {};
  const info = { vendor: str(i.vendor), architecture: str(i.architecture), device: str(i.device), description: str(i.description) };
  const software =
    Boolean(i.isFallbackAdapter ?? a.isFallbackAdapter) || info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.device} ${info.description}`);
  return { ...info, software };
}

/**
 * Loads Dawn (npm package `webgpu`), finds an adapter and, when `install` is set, registers and
 * initialises tfjs's WebGPU backend on it. Returns the adapter, or why there is none.
 */
export async function probeWebgpu(install: boolean): Promise<{ adapter: AdapterInfo } | { missing: string }> {
  if (adapter && gpu) return { adapter };
  const missing = vulkanMissing();
  if (missing) return { missing };
  let dawn: { create(flags: string[]): DawnGpu; globals: Record<string, unknown> };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (e) {
    return { missing: `the npm package webgpu (Dawn) failed to load (${(e as Error).message.split('\n')[0]})` };
  }
  const instance = dawn.create([]);
  const found = await instance.requestAdapter({ powerPreference: 'high-performance' });
  if (!found) return { missing: 'Dawn found no WebGPU adapter (a Vulkan driver is installed but gives no usable device; Mesa\'s lavapipe needs version 25 or later)' };
  const info = describe(found);
  if (!install) return { adapter: info };
  // tfjs-backend-webgpu registers itself on import only where navigator.gpu exists, and uses
  // the WebGPU constants (GPUBufferUsage, …) as globals.
  Object.assign(globalThis, dawn.globals);
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  g.navigator!.gpu = instance;
  gpu = instance;
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) return { missing: 'tfjs\'s webgpu backend did not initialise on the adapter' };
  adapter = info;
  return { adapter };
}

/** The adapter in use, when the webgpu backend is. */
export function webgpuAdapter(): AdapterInfo | undefined {
  return adapter;
}

/**
 * Frees the GPU: disposes tfjs's webgpu backend and destroys its device, so that the process
 * can exit (a live Dawn device keeps Node running, and tearing one down at exit crashes).
 * A no-op when WebGPU is not in use.
 */
export function releaseWebgpu(): void {
  if (!gpu) return;
  const backend = tf.engine().registry.webgpu as unknown as { device?: { destroy(): void } } | undefined;
  const device = backend?.device;
  if (tf.engine().registry.webgpu) tf.removeBackend('webgpu');
  device?.destroy();
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu === gpu) delete g.navigator.gpu;
  gpu = undefined;
  adapter = undefined;
}
