/**
 * Property-based fuzzing (fast-check) of the .pth and tokenizer.json readers: truncations, bit
 * flips and lying length/size fields. Every case must end in a correct read or an InputError —
 * no other exception, no hang (the test timeout), no allocation of what a header claims (the
 * heap may not jump). Counts come from VSAE_FUZZ_RUNS (modest by default; `npm run stress`
 * makes them large).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '@vsae/data';
import { TextTokenizer, parseTorchCheckpoint } from '../src/index.js';

const FIX = path.join(import.meta.dirname, 'fixtures');
const RUNS = Number(process.env.VSAE_FUZZ_RUNS ?? (process.env.VSAE_STRESS ? 5000 : 150));

/** A mutation of a byte string: truncate, flip bits, or overwrite 1/2/4/8 bytes with a lying value. */
const mutation = (len: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant('truncate' as const), at: fc.integer({ min: 0, max: len - 1 }) }),
    fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.tuple(fc.integer({ min: 0, max: len - 1 }), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }) }),
    fc.record({
      kind: fc.constant('lie' as const),
      at: fc.integer({ min: 0, max: len - 8 }),
      width: fc.constantFrom(1, 2, 4, 8),
      value: fc.constantFrom(0, 1, 0x7f, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 0xfffffff0, 2 ** 31, 12345678),
    }),
  );

type Mutation = { kind: 'truncate'; at: number } | { kind: 'flip'; at: Array<[number, number]> } | { kind: 'lie'; at: number; width: number; value: number };

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  if (m.kind === 'truncate') return bytes.slice(0, m.at);
  const out = bytes.slice();
  if (m.kind === 'flip') {
    for (const [i, bit] of m.at) out[i]! ^= 1 << bit;
  } else {
    const dv = new DataView(out.buffer);
    if (m.width === 1) dv.setUint8(m.at, m.value & 0xff);
    else if (m.width === 2) dv.setUint16(m.at, m.value & 0xffff, true);
    else if (m.width === 4) dv.setUint32(m.at, m.value >>> 0, true);
    else dv.setBigUint64(m.at, BigInt(m.value) * 4096n, true);
  }
  return out;
}

/** Offsets worth lying at: zip header size/offset/count fields and the pickle's length fields. */
function interestingOffsets(bytes: Uint8Array): number[] {
  const out: number[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i + 4 <= bytes.length; i++) {
    const sig = dv.getUint32(i, true);
    if (sig === 0x04034b50) out.push(i + 18, i + 22, i + 26, i + 28, i + 8); // local header: sizes, name/extra lengths, method
    if (sig === 0x02014b50) out.push(i + 20, i + 24, i + 28, i + 30, i + 42, i + 10); // central: sizes, lengths, offset, method
    if (sig === 0x06054b50) out.push(i + 8, i + 10, i + 12, i + 16); // end of central directory: counts, size, offset
    if (sig === 0x06064b50) out.push(i + 24, i + 32, i + 40, i + 48); // zip64 end of central directory: counts, size, offset
    const op = bytes[i]!;
    if (op === 0x58 || op === 0x42 || op === 0x54 || op === 0x8d || op === 0x8e) out.push(i + 1); // BINUNICODE, BINBYTES, BINSTRING, BINUNICODE8, BINBYTES8
    if (op === 0x4d || op === 0x4a) out.push(i + 1); // BININT2 / BININT (sizes, strides, numel)
  }
  return out.filter((o) => o + 8 <= bytes.length);
}

function readEverything(bytes: Uint8Array): void {
  const sd = parseTorchCheckpoint(bytes, 'fuzzed.pth');
  for (const k of sd.keys()) {
    const t = sd.getFloat32(k);
    expect(t.data.length).toBe(t.shape.reduce((p, d) => p * d, 1));
  }
}

function expectReadOrInputError(f: () => void): void {
  const heap0 = process.memoryUsage().arrayBuffers;
  try {
    f();
  } catch (e) {
    if (!(e instanceof InputError)) throw new Error(`not an InputError: ${(e as Error)?.stack ?? String(e)}`);
    expect((e as Error).message.split('\n')).toHaveLength(1);
  }
  // Nothing near a header's claim (GBs) was allocated.
  expect(process.memoryUsage().arrayBuffers - heap0).toBeLessThan(256 * 2 ** 20);
}

describe('fuzzing the .pth reader', () => {
  for (const name of ['views.pth', 'gelu1l-tiny/model_final.pth']) {
    const bytes = new Uint8Array(fs.readFileSync(path.join(FIX, name)));
    const offsets = interestingOffsets(bytes);

    it(`${name}: random truncations, bit flips and overwrites end in a read or an InputError`, () => {
      fc.assert(fc.property(mutation(bytes.length), (m) => expectReadOrInputError(() => readEverything(mutate(bytes, m as Mutation)))), { numRuns: RUNS });
    }, 120_000);

    it(`${name}: lying sizes, counts and lengths in the zip and the pickle`, () => {
      const lie = fc.record({
        kind: fc.constant('lie' as const),
        at: fc.constantFrom(...offsets),
        width: fc.constantFrom(1, 2, 4),
        value: fc.constantFrom(0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 0xfffffff0, 0x80000000, 5, 1000000),
      });
      fc.assert(fc.property(lie, (m) => expectReadOrInputError(() => readEverything(mutate(bytes, m)))), { numRuns: RUNS });
    }, 120_000);
  }

  it('a zip64 entry count that lies (268 million entries) is refused at once', () => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(FIX, 'views.pth')));
    const z64 = Buffer.from(bytes).lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]));
    expect(z64).toBeGreaterThan(0);
    const out = bytes.slice();
    new DataView(out.buffer).setUint32(z64 + 32, 0x10000009, true);
    expect(() => readEverything(out)).toThrow(/claims more entries than fit in the file/);
  });

  it('a pickle whose length field points backwards cannot loop forever', () => {
    // BINBYTES (B) with length −5 would move the reader back onto its own opcode.
    const bytes = new Uint8Array(fs.readFileSync(path.join(FIX, 'views.pth')));
    const pkl = Buffer.from(bytes).indexOf(Buffer.from('data.pkl'));
    expect(pkl).toBeGreaterThan(0);
    const evil = new Uint8Array([0x80, 0x02, 0x42, 0xfb, 0xff, 0xff, 0xff, 0x2e]);
    // Put the evil pickle in place of data.pkl's first bytes (the zip is stored, not compressed).
    const start = bytes.indexOf(0x80, pkl);
    const out = bytes.slice();
    out.set(evil, start);
    expectReadOrInputError(() => readEverything(out));
  });
});

describe('fuzzing the tokenizer.json reader', () => {
  const text = fs.readFileSync(path.join(FIX, 'gelu1l-tiny', 'tokenizer.json'), 'utf8');
  const bytes = new Uint8Array(Buffer.from(text));
  const json = JSON.parse(text) as Record<string, unknown>;
  const sample = 'Fellow-Citizens of the Senate, 1790: the 13 states.';

  const loadAndEncode = (t: unknown): void => {
    const tok = TextTokenizer.fromJSON(t, 'fuzzed/tokenizer.json');
    tok.encode(sample);
  };

  it('truncated and bit-flipped files end in a read or an InputError', () => {
    fc.assert(
      fc.property(mutation(bytes.length), (m) =>
        expectReadOrInputError(() => {
          const s = Buffer.from(mutate(bytes, m as Mutation)).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(s);
          } catch {
            throw new InputError('fuzzed/tokenizer.json', 'is not valid JSON');
          }
          loadAndEncode(parsed);
        }),
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('lying structure (any JSON value at any place) ends in a read or an InputError', () => {
    const places: string[][] = [
      ['model'], ['model', 'type'], ['model', 'vocab'], ['model', 'merges'], ['model', 'unk_token'], ['model', 'byte_fallback'],
      ['pre_tokenizer'], ['pre_tokenizer', 'type'], ['pre_tokenizer', 'pretokenizers'], ['normalizer'], ['normalizer', 'type'],
      ['decoder'], ['post_processor'], ['added_tokens'], ['version'],
    ];
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(1e12, -1, 2 ** 53, 'Sequence', 'BPE', 'WordPiece', [], {}));
    fc.assert(
      fc.property(fc.constantFrom(...places), value, (where, v) =>
        expectReadOrInputError(() => {
          const t = structuredClone(json);
          let o: Record<string, unknown> = t;
          for (const k of where.slice(0, -1)) {
            if (o[k] === null || typeof o[k] !== 'object') return;
            o = o[k] as Record<string, unknown>;
          }
          o[where.at(-1)!] = v;
          loadAndEncode(t);
        }),
      ),
      { numRuns: RUNS },
    );
  }, 120_000);
});
