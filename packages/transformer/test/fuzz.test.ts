/**
 * Property-based fuzzing (fast-check) of the .pth and tokenizer.json readers: truncations, bit
 * flips and lying length/size/count fields (zip, zip64, pickle) or JSON structure. Every case
 * must end in a consistent read or a one-line InputError. The readers run in a worker thread
 * (fuzz-worker.mjs, over dist/) so that a hang is caught by a per-case deadline, an allocation of
 * what a header claims by an allocation guard (anything over 64 MiB throws there; the fixtures
 * are a few KB) and a flood of objects by the worker's heap limit.
 * Counts: VSAE_FUZZ_RUNS per property (150 by default, 5000 under VSAE_STRESS); VSAE_FUZZ_SEED
 * replays a run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTorchCheckpoint } from '../src/index.js';

const FIX = path.join(import.meta.dirname, 'fixtures');
const RUNS = Number(process.env.VSAE_FUZZ_RUNS ?? (process.env.VSAE_STRESS ? 5000 : 150));
const SEED = Number(process.env.VSAE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASE_MS = Number(process.env.VSAE_FUZZ_CASE_MS ?? 10_000);
const built = fs.existsSync(new URL('../dist/index.js', import.meta.url));
if (!built) console.log('fuzz.test.ts: skipped, build @vsae/transformer first (npx turbo run build --filter=@vsae/transformer...)');
else console.log(`fuzz.test.ts: ${RUNS} cases per property, seed ${SEED} (replay with VSAE_FUZZ_SEED=${SEED})`);

type Outcome = { ok: true } | { ok: false; name: string; inputError: boolean; message: string; stack: string } | { timeout: true } | { crashed: string };

/** One worker, restarted after a hang or a crash. */
class Harness {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private seq = 0;

  private start(): void {
    // execArgv [] : the worker runs the built dist/ of every package (no vsae-source condition).
    const w = new Worker(new URL('./fuzz-worker.mjs', import.meta.url), { execArgv: [], resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 16 } });
    this.worker = w;
    this.ready = new Promise((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    });
  }

  async run(msg: { kind: 'pth' | 'tokenizer'; bytes?: Uint8Array; json?: unknown }): Promise<Outcome> {
    if (!this.worker) this.start();
    await this.ready;
    const w = this.worker!;
    const id = ++this.seq;
    return new Promise<Outcome>((resolve) => {
      const done = (o: Outcome, restart: boolean): void => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        if (restart) {
          void w.terminate();
          this.worker = undefined;
        }
        resolve(o);
      };
      const onMessage = (m: { id: number } & Outcome): void => {
        if (m.id === id) done(m, false);
      };
      const onError = (e: Error): void => done({ crashed: `${e.name}: ${e.message}` }, true);
      const onExit = (code: number): void => done({ crashed: `worker exited with ${code}` }, true);
      const timer = setTimeout(() => done({ timeout: true }, true), CASE_MS);
      w.on('message', onMessage);
      w.once('error', onError);
      w.once('exit', onExit);
      w.postMessage({ id, ...msg });
    });
  }

  async stop(): Promise<void> {
    await this.worker?.terminate();
  }
}
const harness = new Harness();
afterAll(() => harness.stop());

/** Runs one case in the worker; throws unless it read cleanly or failed with a one-line InputError. */
async function expectReadOrInputError(msg: { kind: 'pth' | 'tokenizer'; bytes?: Uint8Array; json?: unknown }, what: string): Promise<void> {
  const o = await harness.run(msg);
  if ('timeout' in o) throw new Error(`${what}: no answer within ${CASE_MS} ms (a hang)`);
  if ('crashed' in o) throw new Error(`${what}: the reader's thread died (${o.crashed})`);
  if (o.ok) return;
  if (o.name === 'AllocationRefused') throw new Error(`${what}: tried to allocate what a header claims: ${o.message}\n${o.stack}`);
  if (!o.inputError) throw new Error(`${what}: threw ${o.name}, not an InputError: ${o.message}\n${o.stack}`);
  if (o.message.includes('\n')) throw new Error(`${what}: the message is not one line: ${o.message}`);
}

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

/** In this thread: for the deterministic cases below. */
function readEverything(bytes: Uint8Array): void {
  const sd = parseTorchCheckpoint(bytes, 'fuzzed.pth');
  for (const k of sd.keys()) sd.getFloat32(k);
}

describe.skipIf(!built)('fuzzing the .pth reader', () => {
  for (const name of ['views.pth', 'gelu1l-tiny/model_final.pth']) {
    const bytes = new Uint8Array(fs.readFileSync(path.join(FIX, name)));
    const offsets = interestingOffsets(bytes);

    it(`${name}: random truncations, bit flips and overwrites end in a read or an InputError`, async () => {
      await fc.assert(fc.asyncProperty(mutation(bytes.length), (m) => expectReadOrInputError({ kind: 'pth', bytes: mutate(bytes, m as Mutation) }, `${name} ${JSON.stringify(m)}`)), { numRuns: RUNS, seed: SEED });
    }, 120_000);

    it(`${name}: lying sizes, counts and lengths in the zip and the pickle`, async () => {
      const lie = fc.record({
        kind: fc.constant('lie' as const),
        at: fc.constantFrom(...offsets),
        width: fc.constantFrom(1, 2, 4),
        value: fc.constantFrom(0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 0xfffffff0, 0x80000000, 5, 1000000),
      });
      await fc.assert(fc.asyncProperty(lie, (m) => expectReadOrInputError({ kind: 'pth', bytes: mutate(bytes, m) }, `${name} ${JSON.stringify(m)}`)), { numRuns: RUNS, seed: SEED });
    }, 120_000);
  }

  it('a zip64 entry count that lies (268 million entries) is refused at once', async () => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(FIX, 'views.pth')));
    const z64 = Buffer.from(bytes).lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]));
    expect(z64).toBeGreaterThan(0);
    const out = bytes.slice();
    new DataView(out.buffer).setUint32(z64 + 32, 0x10000009, true);
    expect(() => readEverything(out)).toThrow(/claims more entries than fit in the file/);
    await expectReadOrInputError({ kind: 'pth', bytes: out }, 'zip64 lie');
  });

  it('a pickle whose length field points backwards cannot loop forever', async () => {
    // BINBYTES (B) with length −5 would move the reader back onto its own opcode.
    const bytes = new Uint8Array(fs.readFileSync(path.join(FIX, 'views.pth')));
    const pkl = Buffer.from(bytes).indexOf(Buffer.from('data.pkl'));
    expect(pkl).toBeGreaterThan(0);
    const evil = new Uint8Array([0x80, 0x02, 0x42, 0xfb, 0xff, 0xff, 0xff, 0x2e]);
    // Put the evil pickle in place of data.pkl's first bytes (the zip is stored, not compressed).
    const start = bytes.indexOf(0x80, pkl);
    const out = bytes.slice();
    out.set(evil, start);
    await expectReadOrInputError({ kind: 'pth', bytes: out }, 'backwards BINBYTES');
  });
});

describe.skipIf(!built)('fuzzing the tokenizer.json reader', () => {
  const text = fs.readFileSync(path.join(FIX, 'gelu1l-tiny', 'tokenizer.json'), 'utf8');
  const bytes = new Uint8Array(Buffer.from(text));
  const json = JSON.parse(text) as Record<string, unknown>;

  it('truncated and bit-flipped files end in a read or an InputError', async () => {
    await fc.assert(
      fc.asyncProperty(mutation(bytes.length), (m) => expectReadOrInputError({ kind: 'tokenizer', bytes: mutate(bytes, m as Mutation) }, `tokenizer.json ${JSON.stringify(m)}`)),
      { numRuns: RUNS, seed: SEED },
    );
  }, 120_000);

  it('lying structure (any JSON value at any place) ends in a read or an InputError', async () => {
    const places: string[][] = [
      ['model'], ['model', 'type'], ['model', 'vocab'], ['model', 'merges'], ['model', 'unk_token'], ['model', 'byte_fallback'],
      ['pre_tokenizer'], ['pre_tokenizer', 'type'], ['pre_tokenizer', 'pretokenizers'], ['normalizer'], ['normalizer', 'type'],
      ['decoder'], ['post_processor'], ['added_tokens'], ['version'],
    ];
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(1e12, -1, 2 ** 53, 'Sequence', 'BPE', 'WordPiece', [], {}));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...places), value, async (where, v) => {
        const t = structuredClone(json);
        let o: Record<string, unknown> = t;
        for (const k of where.slice(0, -1)) {
          if (o[k] === null || typeof o[k] !== 'object') return;
          o = o[k] as Record<string, unknown>;
        }
        o[where.at(-1)!] = v;
        await expectReadOrInputError({ kind: 'tokenizer', json: t }, `tokenizer.json ${where.join('.')} = ${JSON.stringify(v)}`);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 120_000);
});
