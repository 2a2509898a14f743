import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '@vsae/data';
import { readTorchCheckpoint } from '../src/index.js';

const FIX = path.join(import.meta.dirname, 'fixtures');

/** Row-major values of a strided view over arange, computed independently of the reader. */
function view(shape: number[], stride: number[], offset: number, f: (i: number) => number): number[] {
  const out: number[] = [];
  const rec = (d: number, off: number): void => {
    if (d === shape.length) {
      out.push(f(off));
      return;
    }
    for (let i = 0; i < shape[d]!; i++) rec(d + 1, off + i * stride[d]!);
  };
  rec(0, offset);
  return out;
}

describe('readTorchCheckpoint', () => {
  const sd = readTorchCheckpoint(path.join(FIX, 'views.pth'));

  it('lists the tensors in file order with dtypes and shapes', () => {
    expect(sd.keys()).toEqual(['contiguous', 'permuted', 'offset', 'strided', 'expanded', 'half', 'bfloat16', 'double', 'int64', 'scalar']);
    expect(sd.info('half')).toEqual({ dtype: 'F16', shape: [6] });
    expect(sd.info('bfloat16')).toEqual({ dtype: 'BF16', shape: [6] });
    expect(sd.info('permuted')).toEqual({ dtype: 'F32', shape: [4, 2, 3] });
  });

  it('reads views with their storage offset and strides', () => {
    const id = (i: number): number => i;
    expect(Array.from(sd.getFloat32('contiguous').data)).toEqual(view([2, 3, 4], [12, 4, 1], 0, id));
    expect(Array.from(sd.getFloat32('permuted').data)).toEqual(view([4, 2, 3], [1, 12, 4], 0, id));
    expect(Array.from(sd.getFloat32('offset').data)).toEqual(view([3, 4], [4, 1], 12, id));
    expect(Array.from(sd.getFloat32('strided').data)).toEqual(view([2, 2, 2], [12, 4, 2], 4, id));
    expect(Array.from(sd.getFloat32('expanded').data)).toEqual(view([3, 4], [1, 0], 0, id));
    expect(sd.getFloat32('scalar')).toEqual({ data: new Float32Array([7.5]), shape: [] });
  });

  it('converts half, bfloat16, double and int64 storages to float32', () => {
    expect(Array.from(sd.getFloat32('half').data)).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
    expect(Array.from(sd.getFloat32('bfloat16').data)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(Array.from(sd.getFloat32('double').data)).toEqual([0, 0.125, 0.25, 0.375, 0.5, 0.625]);
    expect(Array.from(sd.getFloat32('int64').data)).toEqual([-3, -2, -1, 0, 1, 2]);
  });

  it('names a missing tensor', () => {
    expect(() => sd.getFloat32('nope')).toThrow(/has no tensor "nope"/);
  });

  it('rejects a truncated checkpoint with one InputError', () => {
    const bytes = fs.readFileSync(path.join(FIX, 'gelu1l-tiny', 'model_final.pth'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-pth-'));
    for (const cut of [10, 100, 2000, bytes.length >> 1, bytes.length - 30]) {
      const f = path.join(dir, `cut-${cut}.pth`);
      fs.writeFileSync(f, bytes.subarray(0, cut));
      const read = (): void => {
        const s = readTorchCheckpoint(f);
        for (const k of s.keys()) s.getFloat32(k);
      };
      expect(read).toThrow(InputError);
    }
    fs.rmSync(dir, { recursive: true });
  });
});
