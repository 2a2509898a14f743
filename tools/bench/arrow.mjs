#!/usr/bin/env node
/**
 * Arrow dataset throughput: writes and reads N rows × 512 Float32 (default 1M rows, 2 GB) through
 * @vsae/data (built dist), as one IPC file and as a sharded directory, in a temp dir that is
 * deleted afterwards. Prints MB/s per phase on stderr and one JSON line on stdout.
 *
 *   node tools/bench/arrow.mjs [--rows N] [--dim D] [--batch-rows B] [--dir TMPDIR]
 *
 * Targets: write ≥ 500 MB/s, read ≥ 1 GB/s (batches viewed, not copied). Page cache matters:
 * the read follows the write, so it mostly measures reading from memory, as training does on a
 * machine with enough RAM; the write includes fsync + rename.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const here = path.dirname(new URL(import.meta.url).pathname);
const dist = path.resolve(here, '../../packages/data/dist/index.js');
if (!fs.existsSync(dist)) {
  console.error(`arrow bench: ${dist} is missing; build first: npx turbo run build --filter=@vsae/data`);
  process.exit(1);
}
const { createDatasetWriter, openDataset } = await import(dist);

// Not strict: tools/bench/run.mjs passes the same extra flags to every bench; others are ignored.
const { values } = parseArgs({
  strict: false,
  options: {
    rows: { type: 'string', default: '1000000' },
    dim: { type: 'string', default: '512' },
    'batch-rows': { type: 'string', default: '8192' },
    dir: { type: 'string', default: os.tmpdir() },
  },
});
const rows = Number(values.rows);
const dim = Number(values.dim);
const batchRows = Number(values['batch-rows']);
for (const [k, v] of Object.entries({ rows, dim, batchRows })) {
  if (!Number.isSafeInteger(v) || v <= 0) {
    console.error(`arrow bench: --${k} must be a positive integer`);
    process.exit(2);
  }
}

const dir = fs.mkdtempSync(path.join(values.dir, 'vsae-arrow-bench-'));
const bytes = rows * dim * 4;
const MB = 1e6;
// One batch of data, reused: generating 2 GB of random numbers is not what is measured.
const chunk = new Float32Array(batchRows * dim);
for (let i = 0; i < chunk.length; i++) chunk[i] = Math.sin(i) * 3;

async function write(target, extra = {}) {
  const t0 = performance.now();
  const w = await createDatasetWriter(target, { meta: { source: 'bench', dIn: dim }, batchRows, ...extra });
  for (let done = 0; done < rows; ) {
    const k = Math.min(batchRows, rows - done);
    await w.write({ numRows: k, act: k === batchRows ? chunk : chunk.subarray(0, k * dim) });
    done += k;
  }
  await w.close();
  return (performance.now() - t0) / 1000;
}

async function read(target) {
  const t0 = performance.now();
  const ds = await openDataset(target);
  let n = 0;
  let check = 0;
  for await (const b of ds.batches()) {
    n += b.numRows;
    check += b.act[0] + b.act[b.act.length - 1]; // touch both ends so nothing is skipped
  }
  await ds.close();
  const s = (performance.now() - t0) / 1000;
  if (n !== rows || !Number.isFinite(check)) throw new Error(`read ${n} rows, expected ${rows}`);
  return s;
}

/** Baseline in the same run: plain fs writes of the same bytes (+ fsync) and reads into fresh buffers. */
function raw(file) {
  const t0 = performance.now();
  const bytesChunk = new Uint8Array(chunk.buffer);
  const fd = fs.openSync(file, 'w');
  for (let done = 0; done < rows; done += batchRows) {
    const k = Math.min(batchRows, rows - done);
    fs.writeSync(fd, bytesChunk, 0, k * dim * 4);
  }
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const t1 = performance.now();
  const rfd = fs.openSync(file, 'r');
  let pos = 0;
  while (pos < bytes) {
    const n = Math.min(batchRows * dim * 4, bytes - pos);
    const buf = Buffer.allocUnsafeSlow(n);
    pos += fs.readSync(rfd, buf, 0, n, pos);
  }
  fs.closeSync(rfd);
  const t2 = performance.now();
  fs.rmSync(file);
  return [(t1 - t0) / 1000, (t2 - t1) / 1000];
}

const result = { bench: 'arrow', rows, dim, batch_rows: batchRows, bytes, cpus: os.cpus().length, node: process.version };
try {
  const file = path.join(dir, 'acts.arrow');
  const sharded = path.join(dir, 'sharded');
  const [rws, rrs] = raw(path.join(dir, 'raw.bin'));
  const ws = await write(file);
  const rs = await read(file);
  fs.rmSync(file);
  const wss = await write(sharded, { shardRows: 131072 });
  const rss = await read(sharded);
  Object.assign(result, {
    raw_write_MBps: Math.round(bytes / MB / rws),
    raw_read_MBps: Math.round(bytes / MB / rrs),
    write_MBps: Math.round(bytes / MB / ws),
    read_MBps: Math.round(bytes / MB / rs),
    sharded_write_MBps: Math.round(bytes / MB / wss),
    sharded_read_MBps: Math.round(bytes / MB / rss),
  });
  console.error(`arrow bench: ${rows} rows × ${dim} f32 = ${(bytes / MB).toFixed(0)} MB`);
  console.error(`  raw fs   write ${result.raw_write_MBps} MB/s (${rws.toFixed(2)} s)   read ${result.raw_read_MBps} MB/s (${rrs.toFixed(2)} s)  (baseline, same run)`);
  console.error(`  file     write ${result.write_MBps} MB/s (${ws.toFixed(2)} s)   read ${result.read_MBps} MB/s (${rs.toFixed(2)} s)`);
  console.error(`  sharded  write ${result.sharded_write_MBps} MB/s (${wss.toFixed(2)} s)   read ${result.sharded_read_MBps} MB/s (${rss.toFixed(2)} s)`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
