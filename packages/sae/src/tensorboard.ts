import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VsaeError } from '@vsae/data';

/**
 * A TensorBoard event-file writer for scalars, with no TensorFlow dependency.
 *
 * The file is a sequence of TFRecords (tensorflow/core/lib/io/record_writer.cc):
 *   uint64 length (LE) | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of data
 * Each record's data is a serialized `tensorflow.Event` (tensorflow/core/util/event.proto); the
 * first one holds `file_version: "brain.Event:2"`, the rest `wall_time`, `step` and
 * `summary { value { tag, simple_value } }` (tensorflow/core/framework/summary.proto). The few
 * protobuf fields needed are encoded by hand below.
 */

// ---- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) ----

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of bytes. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 and add a constant, so CRCs of CRCs do not look like CRCs. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Frames one record: length, masked CRC of the length, data, masked CRC of the data. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

// ---- protobuf wire encoding (only what Event and Summary need) ----

class ProtoWriter {
  private readonly bytes: number[] = [];

  private varint(v: bigint): void {
    // int64 fields encode negatives as their 64-bit two's complement (10 bytes).
    let u = BigInt.asUintN(64, v);
    while (u >= 0x80n) {
      this.bytes.push(Number(u & 0x7fn) | 0x80);
      u >>= 7n;
    }
    this.bytes.push(Number(u));
  }

  private key(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  int64(field: number, v: number | bigint): this {
    this.key(field, 0);
    this.varint(BigInt(v));
    return this;
  }

  double(field: number, v: number): this {
    this.key(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.bytes.push(...b);
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.bytes.push(...b);
    return this;
  }

  bytesField(field: number, v: Uint8Array): this {
    this.key(field, 2);
    this.varint(BigInt(v.length));
    this.bytes.push(...v);
    return this;
  }

  string(field: number, v: string): this {
    return this.bytesField(field, new TextEncoder().encode(v));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

// Field numbers from event.proto and summary.proto.
const EVENT_WALL_TIME = 1;
const EVENT_STEP = 2;
const EVENT_FILE_VERSION = 3;
const EVENT_SUMMARY = 5;
const SUMMARY_VALUE = 1;
const VALUE_TAG = 1;
const VALUE_SIMPLE_VALUE = 2;

/** Serialized `Event { wall_time, file_version }`. */
export function encodeFileVersionEvent(wallTime: number, version = 'brain.Event:2'): Uint8Array {
  return new ProtoWriter().double(EVENT_WALL_TIME, wallTime).string(EVENT_FILE_VERSION, version).finish();
}

/** Serialized `Event { wall_time, step, summary { value { tag, simple_value } } }`. */
export function encodeScalarEvent(tag: string, value: number, step: number | bigint, wallTime: number): Uint8Array {
  const v = new ProtoWriter().string(VALUE_TAG, tag).float(VALUE_SIMPLE_VALUE, value).finish();
  const summary = new ProtoWriter().bytesField(SUMMARY_VALUE, v).finish();
  return new ProtoWriter().double(EVENT_WALL_TIME, wallTime).int64(EVENT_STEP, step).bytesField(EVENT_SUMMARY, summary).finish();
}

export interface TensorBoardWriterOptions {
  /** Wall time (seconds since the epoch) for the file name and the first event; default now. */
  wallTime?: number;
  /** Host name in the file name; default os.hostname(). */
  hostname?: string;
  /** Flush on its own when this many bytes are buffered (default 64 KiB). */
  maxBufferBytes?: number;
}

/**
 * Writes scalars to `RUN/events.out.tfevents.<unix seconds>.<hostname>` for TensorBoard.
 * Events are buffered; `flush()` appends them to the file (call it at each log step so a live
 * TensorBoard sees them), `close()` flushes and closes. A name already taken (two writers in one
 * second) gets a `.1`, `.2`, … suffix, which TensorBoard's `*tfevents*` pattern still matches.
 */
export class TensorBoardWriter {
  /** Path of the event file. */
  readonly path: string;
  private fd: number | undefined;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private readonly maxBufferBytes: number;

  constructor(runDir: string, opts: TensorBoardWriterOptions = {}) {
    const wallTime = opts.wallTime ?? Date.now() / 1000;
    // Host names may hold characters that do not belong in a file name.
    const host = (opts.hostname ?? os.hostname()).replace(/[^A-Za-z0-9._-]/g, '_') || 'localhost';
    this.maxBufferBytes = opts.maxBufferBytes ?? 65536;
    const base = path.join(runDir, `events.out.tfevents.${Math.floor(wallTime)}.${host}`);
    let fd: number | undefined;
    let file = base;
    try {
      fs.mkdirSync(runDir, { recursive: true });
      for (let i = 1; fd === undefined; i++) {
        try {
          fd = fs.openSync(file, 'wx');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || i > 1000) throw e;
          file = `${base}.${i}`;
        }
      }
    } catch (e) {
      throw new VsaeError(`${runDir}: cannot create a TensorBoard event file there (${(e as Error).message}); check that the run directory is writable`, { cause: e });
    }
    this.fd = fd;
    this.path = file;
    this.push(encodeFileVersionEvent(wallTime));
    this.flush();
  }

  /** Queues one scalar. `wallTime` is seconds since the epoch (default now). */
  addScalar(tag: string, value: number, step: number | bigint, wallTime: number = Date.now() / 1000): void {
    if (this.fd === undefined) throw new VsaeError(`${this.path}: addScalar after close()`);
    this.push(encodeScalarEvent(tag, value, step, wallTime));
    if (this.pendingBytes >= this.maxBufferBytes) this.flush();
  }

  /** Appends the queued events to the file. */
  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    const all = new Uint8Array(this.pendingBytes);
    let o = 0;
    for (const r of this.pending) {
      all.set(r, o);
      o += r.length;
    }
    this.pending = [];
    this.pendingBytes = 0;
    let done = 0;
    while (done < all.length) done += fs.writeSync(this.fd, all, done, all.length - done);
  }

  /** Flushes and closes the file; later calls do nothing. */
  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private push(event: Uint8Array): void {
    const rec = tfRecord(event);
    this.pending.push(rec);
    this.pendingBytes += rec.length;
  }
}
