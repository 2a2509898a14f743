/**
 * Test helpers shared by every package (import from `@vsae/compute/testing`). They throw a
 * plain Error with a readable message, so they work under any test runner.
 */
import { tf } from './backend.js';

/** Something with numbers and, optionally, a shape. */
export type Numeric =
  | tf.Tensor
  | ArrayLike<number>
  | { data: ArrayLike<number>; shape: readonly number[] }
  | number;

export interface CloseOptions {
  /** Relative tolerance: |a − e| ≤ atol + rtol·|e|. */
  rtol?: number;
  /** Absolute tolerance. */
  atol?: number;
  /** Whether NaN equals NaN (default true: a NaN must be expected to pass). */
  equalNaN?: boolean;
  /** A name for the message. */
  what?: string;
}

function unpack(v: Numeric): { data: ArrayLike<number>; shape: readonly number[] | undefined } {
  if (typeof v === 'number') return { data: [v], shape: [] };
  if (v instanceof tf.Tensor) return { data: v.dataSync() as ArrayLike<number>, shape: v.shape };
  if (typeof v === 'object' && v !== null && 'shape' in v && 'data' in v && !ArrayBuffer.isView(v)) {
    return { data: (v as { data: ArrayLike<number> }).data, shape: (v as { shape: readonly number[] }).shape };
  }
  return { data: v as ArrayLike<number>, shape: undefined };
}

function multiIndex(flat: number, shape: readonly number[] | undefined): string {
  if (!shape || shape.length <= 1) return `[${flat}]`;
  const idx: number[] = [];
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    idx.unshift(rest % n);
    rest = Math.floor(rest / n);
  }
  return `[${idx.join(', ')}]`;
}

/**
 * Checks that `actual` and `expected` have the same shape (when both carry one) and length,
 * then that every element satisfies |a − e| ≤ atol + rtol·|e|. On failure the message gives
 * how many elements failed and the worst one (its index, both values and the excess).
 */
export function expectAllClose(actual: Numeric, expected: Numeric, opts: CloseOptions = {}): void {
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-8;
  const equalNaN = opts.equalNaN ?? true;
  const what = opts.what ? `${opts.what}: ` : '';
  const a = unpack(actual);
  const e = unpack(expected);
  if (a.shape && e.shape && (a.shape.length !== e.shape.length || a.shape.some((d, i) => d !== e.shape![i]))) {
    throw new Error(`${what}shape [${a.shape.join(', ')}] differs from the expected [${e.shape.join(', ')}]`);
  }
  if (a.data.length !== e.data.length) {
    throw new Error(`${what}${a.data.length} elements, expected ${e.data.length}`);
  }
  const shape = e.shape ?? a.shape;
  let failures = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < e.data.length; i++) {
    const x = a.data[i]!;
    const y = e.data[i]!;
    let excess: number;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      excess = Number.isNaN(x) && Number.isNaN(y) && equalNaN ? -1 : Infinity;
    } else if (x === y) {
      excess = -1; // also equal infinities
    } else {
      excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    }
    if (excess > 0 || Number.isNaN(excess)) {
      failures++;
      if (!(excess <= worstExcess)) {
        worstExcess = excess;
        worst = i;
      }
    }
  }
  if (failures > 0) {
    const x = a.data[worst]!;
    const y = e.data[worst]!;
    throw new Error(
      `${what}${failures} of ${e.data.length} elements differ beyond rtol ${rtol}, atol ${atol}; ` +
        `worst at ${multiIndex(worst, shape)}: got ${x}, expected ${y} (|diff| ${Math.abs(x - y)}, allowed ${atol + rtol * Math.abs(y)})`,
    );
  }
}

/**
 * Runs `fn` and checks that the number of live tensors did not grow (tfjs's own
 * `expectNoLeakedTensors` idea). Tensors returned by `fn` are allowed when `allowReturned`
 * says how many it returns.
 */
export async function expectNoLeaks<T>(fn: () => T | Promise<T>, opts: { allowReturned?: number; what?: string } = {}): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  const after = tf.memory().numTensors;
  const allowed = opts.allowReturned ?? 0;
  if (after - before > allowed) {
    throw new Error(`${opts.what ? `${opts.what}: ` : ''}${after - before - allowed} tensor(s) leaked (${before} live before, ${after} after${allowed ? `, ${allowed} returned` : ''})`);
  }
  return out;
}

/** Synchronous form of expectNoLeaks. */
export function expectNoLeaksSync<T>(fn: () => T, opts: { allowReturned?: number; what?: string } = {}): T {
  const before = tf.memory().numTensors;
  const out = fn();
  const after = tf.memory().numTensors;
  const allowed = opts.allowReturned ?? 0;
  if (after - before > allowed) {
    throw new Error(`${opts.what ? `${opts.what}: ` : ''}${after - before - allowed} tensor(s) leaked (${before} live before, ${after} after)`);
  }
  return out;
}

/**
 * Why the webgpu backend cannot run here (no Vulkan loader or driver, no adapter), or undefined
 * when it can. Tests skip with this reason; with VSAE_REQUIRE_WEBGPU=1 (CI, which installs a
 * software adapter) a missing adapter is an error instead.
 */
export async function webgpuUnavailable(): Promise<string | undefined> {
  const { probeWebgpu } = await import('./webgpu.js');
  const p = await probeWebgpu(false);
  if (!('missing' in p)) return undefined;
  if (process.env.VSAE_REQUIRE_WEBGPU === '1') throw new Error(`VSAE_REQUIRE_WEBGPU=1 but the webgpu backend cannot run: ${p.missing}`);
  return p.missing;
}
