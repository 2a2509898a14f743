import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  InputError,
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
  writeSafetensorsSync,
} from '../src/index.js';
import { GOLDEN, expectAllClose, tempDir } from './_helpers.js';

const FIXTURE = '/work/shared/fixtures/tiny-random-gpt2/model.safetensors';
const tmp = tempDir();
afterAll(tmp.cleanup);

/** Builds a raw safetensors buffer from a header object and a data section (no validation). */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerLen?: bigint): Uint8Array {
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('reading goldens written by PyTorch (struct + json)', () => {
  const names = ['bool', 'f32', 'i8', 'f64', 'u8', 'i32', 'f16', 'i64', 'bf16', 'i16', 'scalar', 'empty'];

  it('converts every dtype to float32 exactly as torch .to(float32) does', () => {
    const st = readSafetensors(path.join(GOLDEN, 'dtypes.safetensors'));
    expect(st.metadata).toEqual({ format: 'pt', source: 'tools/reference/data_safetensors.py' });
    for (const name of names) {
      const got = st.getFloat32(name);
      const want = st.getFloat32(`${name}.f32`);
      expect(got.shape, name).toEqual(want.shape);
      expect(st.tensors.get(`${name}.f32`)!.dtype).toBe('F32');
      // Exact: half, bfloat16 and small ints are exact in float32; F64/I64 round to nearest like torch.
      expectAllClose(got.data, want.data, { rtol: 0, atol: 0 }, name);
    }
    expect(st.tensors.get('f16')!.dtype).toBe('F16');
    expect(st.tensors.get('bf16')!.dtype).toBe('BF16');
    expect(st.getFloat32('scalar').shape).toEqual([]);
    expect(st.getFloat32('empty')).toEqual({ data: new Float32Array(0), shape: [0, 4] });
  });

  it('returns tensors at unaligned offsets as aligned copies and aligned ones as views', () => {
    const st = readSafetensors(path.join(GOLDEN, 'dtypes.safetensors'));
    const f32 = st.tensors.get('f32')!;
    expect(f32.bytes.byteOffset % 4).not.toBe(0); // the golden puts it after 5 bool bytes
    const got = st.getFloat32('f32').data;
    expect(got.byteOffset % 4).toBe(0);
    const twin = st.tensors.get('f32.f32')!;
    if (twin.bytes.byteOffset % 4 === 0) {
      const view = st.getFloat32('f32.f32').data;
      expect(view.buffer).toBe(twin.bytes.buffer); // zero-copy view
    }
  });

  it('gives integer tensors in their own dtype with get()', () => {
    const st = readSafetensors(path.join(GOLDEN, 'dtypes.safetensors'));
    const i64 = st.get('i64');
    expect(i64.dtype).toBe('I64');
    expect([...(i64.data as BigInt64Array)]).toEqual([0n, -1n, 2n ** 40n + 3n, -(2n ** 50n), 16777217n, 123456789012n]);
    expect([...(st.get('i8').data as Int8Array)]).toEqual([-128, -1, 0, 1, 127]);
    expect([...(st.get('u8').data as Uint8Array)]).toEqual([0, 1, 128, 255]);
    expect([...(st.get('i16').data as Int16Array)]).toEqual([-32768, -2, 0, 3, 32767]);
    expect([...(st.get('bool').data as Uint8Array)]).toEqual([1, 0, 0, 1, 1]);
  });

  it('parses a file whose whole data section starts at an odd offset', () => {
    const bytes = fs.readFileSync(path.join(GOLDEN, 'misaligned.safetensors'));
    const st = parseSafetensors(new Uint8Array(bytes), 'misaligned.safetensors');
    expect((8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true))) % 8).toBe(1);
    expectAllClose(st.getFloat32('w').data, st.getFloat32('w.f32').data, {}, 'w');
    expectAllClose(st.getFloat32('h').data, st.getFloat32('h.f32').data, {}, 'h');
  });

  it('names the tensors a file holds when one is missing', () => {
    const st = readSafetensors(path.join(GOLDEN, 'misaligned.safetensors'));
    expect(() => st.getFloat32('W_enc')).toThrow(/has no tensor "W_enc" \(it holds: w, w\.f32, h, h\.f32\)/);
  });
});

describe('the Hugging Face tiny-random-gpt2 checkpoint', () => {
  const present = fs.existsSync(FIXTURE);
  if (!present) console.log(`notice: ${FIXTURE} is absent; skipping the Hugging Face checkpoint test`);

  it.skipIf(!present)('reads every tensor with the shapes and values numpy read', () => {
    const st = readSafetensors(FIXTURE);
    const expected = JSON.parse(fs.readFileSync(path.join(GOLDEN, 'gpt2_expected.json'), 'utf8')) as {
      metadata: Record<string, string>;
      shapes: Record<string, number[]>;
    };
    expect(st.metadata).toEqual(expected.metadata);
    expect(Object.fromEntries([...st.tensors].map(([k, t]) => [k, t.shape]))).toEqual(expected.shapes);
    const ref = readSafetensors(path.join(GOLDEN, 'gpt2_expected.safetensors'));
    for (const name of ref.tensors.keys()) {
      expectAllClose(st.getFloat32(name).data, ref.getFloat32(name).data, { rtol: 0, atol: 0 }, name);
    }
    // Every tensor, elementwise, against a plain DataView decode of the same bytes.
    const raw = fs.readFileSync(FIXTURE);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const n = Number(dv.getBigUint64(0, true));
    const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
    for (const [name, t] of st.tensors) {
      const [b, e] = header[name]!.data_offsets;
      const want = new Float32Array((e - b) / 4);
      for (let i = 0; i < want.length; i++) want[i] = dv.getFloat32(8 + n + b + 4 * i, true);
      expect(t.dtype).toBe('F32');
      expectAllClose(st.getFloat32(name).data, want, {}, name);
    }
  });
});

describe('writing', () => {
  it('round-trips F32, F64, I32, I64, U8 and BOOL with metadata, data section 8-byte aligned', async () => {
    const file = path.join(tmp.dir, 'rt.safetensors');
    const tensors = {
      W_enc: { data: Float32Array.from([1.5, -2, 3e-8, Infinity, NaN, 0]), shape: [2, 3] },
      f64: { data: Float64Array.from([Math.PI, -1e300]), shape: [2] },
      i32: { data: Int32Array.from([-5, 7, 2 ** 31 - 1]), shape: [3, 1] },
      step: { data: BigInt64Array.from([123456789012345n]), shape: [] },
      mask: { data: Uint8Array.from([1, 0, 1]), shape: [3], dtype: 'BOOL' as const },
      bytes: { data: Uint8Array.from([9, 250]), shape: [2] },
    };
    await writeSafetensors(file, tensors, { arch: 'sae', 'vsae:version': '1' });
    expect(fs.readdirSync(tmp.dir).filter((f) => f.startsWith('.'))).toEqual([]);
    const raw = fs.readFileSync(file);
    const n = Number(new DataView(raw.buffer, raw.byteOffset).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; data_offsets: number[] }>;
    expect(header.__metadata__).toEqual({ arch: 'sae', 'vsae:version': '1' });
    expect(header.mask!.dtype).toBe('BOOL');
    expect(header.bytes!.dtype).toBe('U8');
    const st = readSafetensors(file);
    expectAllClose(st.getFloat32('W_enc').data, tensors.W_enc.data, {}, 'W_enc');
    expect(st.get('f64').data).toEqual(tensors.f64.data);
    expect(st.get('i32')).toEqual({ dtype: 'I32', shape: [3, 1], data: tensors.i32.data });
    expect(st.get('step').data).toEqual(tensors.step.data);
    expect(st.get('mask')).toEqual({ dtype: 'BOOL', shape: [3], data: tensors.mask.data });
    expect(st.get('bytes').dtype).toBe('U8');
  });

  it('replaces an existing file atomically and leaves no temp file behind', () => {
    const file = path.join(tmp.dir, 'replace.safetensors');
    writeSafetensorsSync(file, { a: { data: new Float32Array(4), shape: [4] } });
    writeSafetensorsSync(file, { b: { data: new Float32Array(2).fill(2), shape: [2] } });
    const st = readSafetensors(file);
    expect([...st.tensors.keys()]).toEqual(['b']);
    expect(fs.readdirSync(tmp.dir).filter((f) => f.includes('replace') && f !== 'replace.safetensors')).toEqual([]);
  });

  it('refuses a shape that does not match the data, and a dtype that does not match the array', () => {
    expect(() => serializeSafetensors({ a: { data: new Float32Array(5), shape: [2, 3] } })).toThrow(/shape \[2, 3\] holds 6 values but the array has 5/);
    expect(() => serializeSafetensors({ a: { data: new Float32Array(2), shape: [2], dtype: 'I32' } })).toThrow(/dtype I32 does not match its Float32Array/);
    expect(() => serializeSafetensors({ a: { data: Uint8Array.from([2]), shape: [1], dtype: 'BOOL' } })).toThrow(/values must be 0 or 1/);
  });

  it('fails with a sentence naming the file when the directory does not exist', async () => {
    await expect(writeSafetensors(path.join(tmp.dir, 'nope', 'x.safetensors'), {})).rejects.toThrow(/nope\/x\.safetensors: .*directory does not exist/);
  });
});

describe('validation before allocation', () => {
  const f32 = (n: number) => new Uint8Array(new Float32Array(n).buffer);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['a file shorter than 8 bytes', new Uint8Array(5), /5 bytes long, too short to be a safetensors file/],
    ['a header length past the end', rawFile({}, new Uint8Array(0), 1000n), /header length \(1000 bytes\) is larger than the file/],
    ['a huge header length', rawFile({}, new Uint8Array(0), 2n ** 62n), /exceeds the format's 100 MB limit/],
    ['a header that is not JSON', rawFile('{"a": [1, 2'), /header is not valid JSON/],
    ['a header that is a list', rawFile('[1]'), /header is not a JSON object/],
    ['an unknown dtype', rawFile({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /tensor "a" has dtype "F8_E4M3", which is not supported/],
    ['a shape with a negative dim', rawFile({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)), /shape \[-1\], which is not a list of non-negative integers/],
    ['shape × dtype size ≠ span', rawFile({ a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, f32(5)), /shape \[2, 3\] of F32 \(24 bytes\) but its data_offsets span 20 bytes/],
    ['offsets past the data section', rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32(2)), /data_offsets \[0, 16\] outside the 8-byte data section/],
    ['reversed offsets', rawFile({ a: { dtype: 'U8', shape: [0], data_offsets: [4, 2] } }, f32(2)), /data_offsets \[4, 2\] outside/],
    ['overlapping tensors', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(3)), /tensors "a" and "b" overlap/],
    ['non-string metadata', rawFile({ __metadata__: { n: 3 } }), /__metadata__ value "n" is not a string/],
    ['missing data_offsets', rawFile({ a: { dtype: 'F32', shape: [1] } }, f32(1)), /data_offsets undefined, expected \[begin, end\]/],
  ];
  for (const [what, bytes, message] of cases) {
    it(`rejects ${what} with an InputError naming the file`, () => {
      const file = path.join(tmp.dir, 'bad.safetensors');
      fs.writeFileSync(file, bytes);
      let err: unknown;
      try {
        readSafetensors(file);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message.startsWith(`${file}: `)).toBe(true);
      expect(() => parseSafetensors(bytes, 'mem.safetensors')).toThrow(message);
    });
  }

  it('reports a missing file as an InputError', () => {
    expect(() => readSafetensors(path.join(tmp.dir, 'absent.safetensors'))).toThrow(/absent\.safetensors: no such file/);
  });
});
