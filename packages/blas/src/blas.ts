import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Optional native matrix products. The wasm backend runs one thread and takes 10–40× longer
 * for a product with a transposed operand; OpenBLAS runs every transpose variant at full speed
 * on all cores. `installBlasMatMul()` replaces the BatchMatMul kernel of the `wasm` (and `cpu`)
 * backend with one that calls cblas_sgemm directly on the tensors' memory — no copies: the wasm
 * backend's tensors live in its heap, an ArrayBuffer the addon reads and writes in place.
 * Everything else (shapes, broadcasting rules, gradients) stays tfjs's own.
 */
export interface BlasInfo {
  available: boolean;
  /** The shared library in use, e.g. libopenblas.so.0. */
  library: string;
  threads: number;
  config: string;
  /** Why it is not available. */
  error: string;
}

interface Addon {
  gemm(
    a: ArrayBufferLike, aOff: number, b: ArrayBufferLike, bOff: number, c: ArrayBufferLike, cOff: number,
    batch: number, strideA: number, strideB: number, strideC: number,
    m: number, n: number, k: number, transA: boolean, transB: boolean,
  ): void;
  info(): BlasInfo;
  setThreads(n: number): void;
}

const require = createRequire(import.meta.url);
let addon: Addon | null | undefined;
let loadError = '';

function load(): Addon | null {
  if (addon !== undefined) return addon;
  try {
    addon = require('../build/Release/vsae_blas.node') as Addon;
  } catch (e) {
    addon = null;
    loadError = `the native addon is not built (${(e as Error).message.split('\n')[0]}); rebuild with \`npm rebuild @vsae/blas\` (needs g++ and make)`;
  }
  return addon;
}

export function blasInfo(): BlasInfo {
  if (process.env.VSAE_BLAS === '0') return { available: false, library: '', threads: 0, config: '', error: 'disabled by VSAE_BLAS=0' };
  const a = load();
  if (!a) return { available: false, library: '', threads: 0, config: '', error: loadError };
  return a.info();
}

export function setBlasThreads(n: number): void {
  load()?.setThreads(n);
}

/** C[batch,M,N] = op(A)·op(B) on Float32Arrays (for tests and plain-JS callers). */
export function gemm(
  a: Float32Array, b: Float32Array, m: number, n: number, k: number,
  opts: { transA?: boolean; transB?: boolean; batch?: number; broadcastA?: boolean; broadcastB?: boolean } = {},
): Float32Array {
  const x = load();
  if (!x) throw new Error(loadError);
  const batch = opts.batch ?? 1;
  const c = new Float32Array(batch * m * n);
  x.gemm(a.buffer, a.byteOffset, b.buffer, b.byteOffset, c.buffer, c.byteOffset, batch, opts.broadcastA ? 0 : m * k, opts.broadcastB ? 0 : k * n, m * n, m, n, k, Boolean(opts.transA), Boolean(opts.transB));
  return c;
}

/** Below this many multiply-adds the backend's own kernel is as fast (no thread wake-up). */
const MIN_WORK = 32 * 32 * 32;

interface WasmBackendLike {
  dataIdMap: { get(id: object): { memoryOffset: number } };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}
interface CpuBackendLike {
  data: { get(id: object): { values?: Float32Array } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

const originals = new Map<string, tf.KernelConfig>();

function makeKernel(backendName: 'wasm' | 'cpu', fallback: tf.KernelFunc, x: Addon): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(args);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const K = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const Kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
    const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = outerA.reduce((p, d) => p * d, 1);
    const batchB = outerB.reduce((p, d) => p * d, 1);
    // Only the simple cases: equal batch shapes, or one side unbatched. Others (general
    // broadcasting) and tiny products go to the backend's own kernel.
    const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
    if (K !== Kb || M * N * K < MIN_WORK || !(sameOuter || batchA === 1 || batchB === 1)) return fallback(args);
    const outer = batchA >= batchB ? outerA : outerB;
    const batch = Math.max(batchA, batchB);
    const outShape = [...outer, M, N];
    const sA = batchA === 1 ? 0 : M * K;
    const sB = batchB === 1 ? 0 : K * N;
    if (backendName === 'wasm') {
      const be = args.backend as unknown as WasmBackendLike;
      const out = be.makeOutput(outShape, 'float32');
      const heap = be.wasm.HEAPU8.buffer; // read after makeOutput: the heap may have grown
      const aOff = be.dataIdMap.get(a.dataId).memoryOffset;
      const bOff = be.dataIdMap.get(b.dataId).memoryOffset;
      const cOff = be.dataIdMap.get(out.dataId).memoryOffset;
      x.gemm(heap, aOff, heap, bOff, heap, cOff, batch, sA, sB, M * N, M, N, K, transposeA, transposeB);
      return out;
    }
    const be = args.backend as unknown as CpuBackendLike;
    const av = be.data.get(a.dataId).values;
    const bv = be.data.get(b.dataId).values;
    if (!(av instanceof Float32Array) || !(bv instanceof Float32Array)) return fallback(args);
    const c = new Float32Array(batch * M * N);
    x.gemm(av.buffer, av.byteOffset, bv.buffer, bv.byteOffset, c.buffer, c.byteOffset, batch, sA, sB, M * N, M, N, K, transposeA, transposeB);
    return be.makeTensorInfo(outShape, 'float32', c);
  };
}

/**
 * Routes BatchMatMul on the given backend through BLAS. Returns why not when it cannot
 * (no addon, no library, VSAE_BLAS=0, unknown backend); the backend's own kernel stays then.
 */
export function installBlasMatMul(backendName: string): { installed: boolean; reason: string } {
  if (backendName !== 'wasm' && backendName !== 'cpu') return { installed: false, reason: `not used with the ${backendName} backend` };
  const info = blasInfo();
  if (!info.available) return { installed: false, reason: info.error };
  const key = `${tf.BatchMatMul}/${backendName}`;
  if (originals.has(key)) return { installed: true, reason: `${info.library}, ${info.threads} threads` };
  const original = tf.getKernel(tf.BatchMatMul, backendName);
  if (!original) return { installed: false, reason: `the ${backendName} backend has no BatchMatMul kernel to replace` };
  originals.set(key, original);
  tf.unregisterKernel(tf.BatchMatMul, backendName);
  tf.registerKernel({ kernelName: tf.BatchMatMul, backendName, kernelFunc: makeKernel(backendName, original.kernelFunc, load()!) });
  return { installed: true, reason: `${info.library}, ${info.threads} threads` };
}

/** Puts the backend's own BatchMatMul kernel back (for side-by-side tests and benchmarks). */
export function uninstallBlasMatMul(backendName: string): void {
  const key = `${tf.BatchMatMul}/${backendName}`;
  const original = originals.get(key);
  if (!original) return;
  tf.unregisterKernel(tf.BatchMatMul, backendName);
  tf.registerKernel(original);
  originals.delete(key);
}
