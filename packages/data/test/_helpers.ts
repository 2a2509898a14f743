import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';

type Num = ArrayLike<number>;

/**
 * Elementwise |a - e| <= atol + rtol * |e| over whole arrays, after checking the lengths.
 * NaN must meet NaN and ±Infinity the same infinity.
 */
export function expectAllClose(actual: Num, expected: Num, { rtol = 0, atol = 0 } = {}, what = 'array'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : !Number.isFinite(e) ? a === e : Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok && bad.length < 5) bad.push(`[${i}] got ${a}, expected ${e}`);
  }
  expect(bad, `${what}: elements outside rtol=${rtol} atol=${atol}`).toEqual([]);
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'vsae-data-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export const GOLDEN = path.join(path.dirname(new URL(import.meta.url).pathname), 'golden');

/** Deterministic pseudo-random floats (mulberry32) so tests need no fixtures for bulk data. */
export function randomFloats(n: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}
