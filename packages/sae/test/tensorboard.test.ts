import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { crc32c, TensorBoardWriter } from '../src/tensorboard.js';

// The event file is decoded here with protobufjs from the published .proto text
// (test/fixtures/event.proto, summary.proto) and every CRC is checked with a CRC-32C
// written below, independently of the writer's.

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** CRC-32C from the Castagnoli polynomial 0x1EDC6F41, bit-reversed for the LSB-first table. */
const refTable = (() => {
  let reflected = 0;
  for (let i = 0; i < 32; i++) if ((0x1edc6f41 >>> i) & 1) reflected |= 1 << (31 - i);
  reflected >>>= 0;
  const table: number[] = [];
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (c & 1 ? reflected : 0);
    table.push(c >>> 0);
  }
  return table;
})();

function refCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (refTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8)) >>> 0;
  return (crc ^ 0xffffffff) >>> 0;
}

function refMasked(bytes: Uint8Array): number {
  const crc = refCrc32c(bytes);
  const rotated = ((crc >>> 15) | (crc << 17)) >>> 0;
  return (rotated + 0xa282ead8) % 2 ** 32;
}

/** Splits a TFRecord file into its records, checking both CRCs of each. */
function readRecords(file: string): Uint8Array[] {
  const buf = new Uint8Array(fs.readFileSync(file));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: Uint8Array[] = [];
  let o = 0;
  while (o < buf.length) {
    if (o + 12 > buf.length) throw new Error(`truncated header at byte ${o}`);
    const len = Number(view.getBigUint64(o, true));
    const lenCrc = view.getUint32(o + 8, true);
    if (lenCrc !== refMasked(buf.subarray(o, o + 8))) throw new Error(`bad length CRC at byte ${o}`);
    const start = o + 12;
    if (start + len + 4 > buf.length) throw new Error(`truncated record at byte ${o}`);
    const data = buf.subarray(start, start + len);
    if (view.getUint32(start + len, true) !== refMasked(data)) throw new Error(`bad data CRC at byte ${o}`);
    records.push(data);
    o = start + len + 4;
  }
  return records;
}

let Event: protobuf.Type;
beforeAll(async () => {
  const root = await protobuf.load([path.join(fixtures, 'event.proto'), path.join(fixtures, 'summary.proto')]);
  Event = root.lookupType('tensorflow.Event');
});

interface DecodedEvent {
  wallTime: number;
  step: string;
  fileVersion?: string;
  summary?: { value: Array<{ tag: string; simpleValue?: number }> };
}

function decodeAll(file: string): DecodedEvent[] {
  return readRecords(file).map((r) => Event.toObject(Event.decode(r), { longs: String, defaults: true, oneofs: true }) as DecodedEvent);
}

const dirs: string[] = [];
function tmpRun(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-tb-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('CRC-32C', () => {
  // RFC 3720 appendix B.4 (the CRC bytes there are listed little-endian).
  const vectors: Array<[string, Uint8Array, number]> = [
    ['32 zero bytes', new Uint8Array(32), 0x8a9136aa],
    ['32 0xff bytes', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['32 incrementing bytes', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ['32 decrementing bytes', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
    ['"123456789"', new TextEncoder().encode('123456789'), 0xe3069283],
  ];
  for (const [name, bytes, want] of vectors) {
    it(`the test's reference CRC matches RFC 3720 for ${name}`, () => expect(refCrc32c(bytes)).toBe(want));
    it(`the writer's CRC matches RFC 3720 for ${name}`, () => expect(crc32c(bytes)).toBe(want));
  }
});

describe('TensorBoardWriter', () => {
  it('names the file events.out.tfevents.<unix seconds>.<hostname> inside the run directory', () => {
    const dir = tmpRun();
    const w = new TensorBoardWriter(dir, { wallTime: 1700000000.75, hostname: 'box1' });
    w.close();
    expect(w.path).toBe(path.join(dir, 'events.out.tfevents.1700000000.box1'));
    expect(fs.readdirSync(dir)).toEqual(['events.out.tfevents.1700000000.box1']);
    const host = new TensorBoardWriter(tmpRun());
    host.close();
    expect(path.basename(host.path)).toMatch(/^events\.out\.tfevents\.\d{10}\..+$/);
  });

  it('writes a first Event with file_version "brain.Event:2" and scalar Events that decode with the published protos', () => {
    const dir = tmpRun();
    const w = new TensorBoardWriter(dir, { wallTime: 1700000000.5, hostname: 'h' });
    const scalars: Array<[string, number, number, number]> = [
      ['train/loss', 0.123456789, 0, 1700000001.25],
      ['train/loss', -3.5, 1, 1700000002.125],
      ['train/l0', 12, 2 ** 40 + 3, 1700000003.0625],
      ['metrics/explained_variance', 1e-30, 999, 1700000004.5],
      ['ünïcode/tag ✓', Number.POSITIVE_INFINITY, 7, 1700000005.5],
    ];
    for (const [tag, value, step, wall] of scalars) w.addScalar(tag, value, step, wall);
    w.close();

    const events = decodeAll(w.path);
    expect(events.length).toBe(1 + scalars.length);
    expect(events[0]).toMatchObject({ fileVersion: 'brain.Event:2', wallTime: 1700000000.5, step: '0' });
    expect(events[0]!.summary).toBeUndefined();
    scalars.forEach(([tag, value, step, wall], i) => {
      const e = events[i + 1]!;
      expect(e.wallTime).toBe(wall);
      expect(e.step).toBe(String(step));
      expect(e.fileVersion).toBeUndefined();
      expect(e.summary!.value.length).toBe(1);
      expect(e.summary!.value[0]!.tag).toBe(tag);
      // simple_value is a float32: the value rounded to float32, exactly.
      expect(e.summary!.value[0]!.simpleValue).toBe(Math.fround(value));
    });
  });

  it('encodes a negative step as int64 two\'s complement', () => {
    const w = new TensorBoardWriter(tmpRun(), { hostname: 'h' });
    w.addScalar('x', 1, -5, 1);
    w.close();
    expect(decodeAll(w.path)[1]!.step).toBe('-5');
  });

  it('flush() makes queued events visible before close(), and the file stays valid across flushes', () => {
    const w = new TensorBoardWriter(tmpRun(), { hostname: 'h' });
    expect(decodeAll(w.path).length).toBe(1);
    w.addScalar('a', 1, 1);
    w.addScalar('a', 2, 2);
    w.flush();
    expect(decodeAll(w.path).map((e) => e.summary?.value[0]?.simpleValue)).toEqual([undefined, 1, 2]);
    w.addScalar('a', 3, 3);
    w.close();
    w.close();
    expect(decodeAll(w.path).map((e) => e.step)).toEqual(['0', '1', '2', '3']);
    expect(() => w.addScalar('a', 4, 4)).toThrow(/after close/);
  });

  it('flushes on its own once the buffer is full', () => {
    // Each of these records is 42 bytes, so the buffer flushes after the 24th scalar.
    const w = new TensorBoardWriter(tmpRun(), { hostname: 'h', maxBufferBytes: 1000 });
    for (let i = 0; i < 30; i++) w.addScalar('loss', i, i, 1);
    expect(decodeAll(w.path).length).toBe(1 + 24);
    w.close();
    expect(decodeAll(w.path).length).toBe(31);
  });

  it('gives a second writer in the same second its own file', () => {
    const dir = tmpRun();
    const a = new TensorBoardWriter(dir, { wallTime: 1700000000, hostname: 'h' });
    const b = new TensorBoardWriter(dir, { wallTime: 1700000000, hostname: 'h' });
    a.close();
    b.close();
    expect(a.path).not.toBe(b.path);
    expect(path.basename(b.path)).toMatch(/^events\.out\.tfevents\.1700000000\.h\.1$/);
    expect(decodeAll(b.path).length).toBe(1);
  });

  it('the reader used here rejects a corrupted record (so the CRC checks above can fail)', () => {
    const w = new TensorBoardWriter(tmpRun(), { hostname: 'h' });
    w.addScalar('loss', 1.5, 10, 2);
    w.close();
    const bytes = fs.readFileSync(w.path);
    const dataByte = bytes.length - 8; // inside the last record's data
    bytes[dataByte] = bytes[dataByte]! ^ 0x01;
    fs.writeFileSync(w.path, bytes);
    expect(() => readRecords(w.path)).toThrow(/bad data CRC/);
    bytes[dataByte] = bytes[dataByte]! ^ 0x01;
    const firstLen = bytes.readUInt32LE(0);
    bytes[0] = firstLen + 1;
    fs.writeFileSync(w.path, bytes);
    expect(() => readRecords(w.path)).toThrow(/bad length CRC/);
  });

  it('an unwritable run directory is a one-line error naming it', () => {
    const dir = tmpRun();
    const file = path.join(dir, 'not-a-dir');
    fs.writeFileSync(file, '');
    expect(() => new TensorBoardWriter(file)).toThrow(/not-a-dir: cannot create a TensorBoard event file/);
  });
});
