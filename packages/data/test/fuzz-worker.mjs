/**
 * Child process for fuzz.test.ts: runs one reader of the built package (dist/) over one file
 * per request and reports a read, an error (with its class), or a refused allocation. The
 * parent gives each case a deadline and kills this process when it passes, so a reader that
 * loops (synchronously or not) is caught; it runs with a small heap (--max-old-space-size), so
 * one that builds a header-claimed number of objects dies here, not in the test runner. (A
 * worker thread with resourceLimits is not enough: an out-of-memory there can abort the whole
 * process.)
 *
 * Allocation guard: typed-array, ArrayBuffer and Buffer allocations above LIMIT bytes throw
 * `AllocationRefused`. The fixtures are a few KB, so only a size taken from a lying header
 * without checking it against the file can ask for that much.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';

const LIMIT = Number(process.env.VSAE_FUZZ_ALLOC_LIMIT ?? 64 * 2 ** 20);

class AllocationRefused extends Error {
  constructor(bytes) {
    super(`allocation of ${bytes} bytes refused (limit ${LIMIT})`);
    this.name = 'AllocationRefused';
  }
}

function guardCtor(name, bytesPer) {
  const Orig = globalThis[name];
  const proxy = new Proxy(Orig, {
    construct(target, args, newTarget) {
      const a = args[0];
      if (typeof a === 'number' && a * bytesPer > LIMIT) throw new AllocationRefused(a * bytesPer);
      return Reflect.construct(target, args, newTarget === proxy ? target : newTarget);
    },
  });
  globalThis[name] = proxy;
}
for (const [n, b] of [['ArrayBuffer', 1], ['Uint8Array', 1], ['Int8Array', 1], ['Uint16Array', 2], ['Int16Array', 2], ['Uint32Array', 4], ['Int32Array', 4], ['Float32Array', 4], ['Float64Array', 8], ['BigInt64Array', 8], ['BigUint64Array', 8]]) {
  guardCtor(n, b);
}
for (const fn of ['alloc', 'allocUnsafe', 'allocUnsafeSlow']) {
  const orig = Buffer[fn].bind(Buffer);
  Buffer[fn] = (size, ...rest) => {
    if (typeof size === 'number' && size > LIMIT) throw new AllocationRefused(size);
    return orig(size, ...rest);
  };
}

const data = await import('../dist/index.js');

const fail = (what) => {
  throw new Error(`inconsistent read: ${what}`);
};

/** Reads every batch and column; checks that what came back is self-consistent. */
async function drain(ds) {
  let rows = 0;
  let next = 0;
  for await (const b of ds.batches()) {
    if (b.offset !== next) fail(`batch offset ${b.offset}, expected ${next}`);
    if (!Number.isSafeInteger(b.numRows) || b.numRows < 0) fail(`numRows ${b.numRows}`);
    if (b.act.length !== b.numRows * ds.dIn) fail(`act holds ${b.act.length} values for ${b.numRows} rows of ${ds.dIn}`);
    for (const c of ['seq', 'pos', 'token']) if (ds.has[c] && b[c].length !== b.numRows) fail(`${c} holds ${b[c].length} values for ${b.numRows} rows`);
    if (ds.has.features && b.features.length !== b.numRows * ds.nFeatures) fail('features length');
    // Touch every value (a view past the memory would throw here).
    let s = 0;
    for (let i = 0; i < b.act.length; i++) s += b.act[i];
    rows += b.numRows;
    next += b.numRows;
    void s;
  }
  if (ds.numRows !== undefined && rows !== ds.numRows) fail(`read ${rows} rows but numRows says ${ds.numRows}`);
  if (ds.shards) {
    const sum = ds.shards.reduce((a, s) => a + s.rows, 0);
    if (sum !== rows) fail(`shards say ${sum} rows, read ${rows}`);
  }
  await ds.close();
  return { rows, dIn: ds.dIn };
}

const readers = {
  async dataset(file) {
    return drain(await data.openDataset(file));
  },
  async stdin(file) {
    const bytes = fs.readFileSync(file);
    // Several chunks, as a pipe delivers them.
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 1000) chunks.push(bytes.subarray(i, i + 1000));
    return drain(await data.openDataset('-', { stdin: Readable.from(chunks) }));
  },
  async sharded(dir) {
    return drain(await data.openDataset(dir, { allowIncomplete: true }));
  },
  async inspect(file) {
    const info = await data.inspectDataset(file);
    return { rows: info.numRows };
  },
  safetensors(file) {
    const st = data.readSafetensors(file);
    const viaParse = data.parseSafetensors(new Uint8Array(fs.readFileSync(file)), file);
    let n = 0;
    for (const k of st.tensors.keys()) {
      const t = st.getFloat32(k);
      const g = st.get(k);
      const numel = t.shape.reduce((a, d) => a * d, 1);
      if (t.data.length !== numel || g.data.length !== numel) fail(`tensor ${k}: ${t.data.length} values for shape [${t.shape}]`);
      if (viaParse.getFloat32(k).data.length !== numel) fail(`parseSafetensors disagrees on ${k}`);
      n++;
    }
    return { tensors: n };
  },
  metrics(file) {
    const all = data.readMetrics(file);
    for (const r of all.rows) for (const c of all.columns) if (typeof r[c.name] !== 'number') fail(`row lacks ${c.name}`);
    // Following the file: from every offset a previous read could have returned.
    let from = 0;
    let got = 0;
    for (let i = 0; i < 64; i++) {
      const r = data.readMetrics(file, { fromByte: from });
      got += r.rows.length;
      if (r.nextByte === from || r.ended) break;
      if (r.nextByte < from) fail(`nextByte went back from ${from} to ${r.nextByte}`);
      from = r.nextByte;
    }
    return { rows: all.rows.length, followed: got };
  },
  table(file) {
    const t = data.readTable(file);
    // One cell at a time first (as the dashboard reads a large top_examples.arrow), then whole.
    const picks = t.numRows === 0 ? [] : [0, t.numRows >> 1, t.numRows - 1];
    const cells = t.fields.map((f) => picks.map((i) => t.cell(f.name, i)));
    const rows = t.rows();
    t.fields.forEach((f, k) => {
      const c = t.column(f.name);
      if (c.length !== t.numRows) fail(`column ${f.name} has ${c.length} values for ${t.numRows} rows`);
      picks.forEach((i, j) => {
        if (JSON.stringify(cells[k][j]) !== JSON.stringify(c[i])) fail(`column ${f.name} row ${i}: cell() read ${JSON.stringify(cells[k][j])}, column() ${JSON.stringify(c[i])}`);
      });
    });
    return { rows: rows.length };
  },
  /** checkArrowIpc, then apache-arrow's own reader over every value (as vsae extract reads a corpus). */
  async ipc(file) {
    const info = await data.checkArrowIpc(file);
    const { RecordBatchReader } = await import('apache-arrow');
    let rows = 0;
    const fh = await fs.promises.open(file, 'r');
    try {
      const reader = await RecordBatchReader.from(fh);
      await reader.open();
      for await (const batch of reader) {
        for (const f of batch.schema.fields) {
          const c = batch.getChild(f.name);
          for (let i = 0; i < batch.numRows; i++) {
            const v = c.get(i);
            if (v && typeof v.toArray === 'function') v.toArray(); // as vsae extract takes a row's token ids
          }
        }
        rows += batch.numRows;
      }
    } catch (e) {
      // Values that pass the check may still be garbage (a flipped offset): apache-arrow's error
      // then becomes the reader's InputError, as in vsae extract. What must not happen: a hang,
      // a crash, an allocation of a claimed size.
      if (e?.name === 'AllocationRefused') throw e;
      throw new data.InputError(file, `could not be read to the end (${e?.message})`);
    } finally {
      await fh.close();
    }
    if (rows !== info.rows) throw new Error(`inconsistent read: apache-arrow read ${rows} rows, checkArrowIpc counted ${info.rows}`);
    return { rows };
  },
  run(dir) {
    const cfg = data.readRunConfig(dir);
    const st = data.runStatus(dir);
    const list = data.listRuns(path.dirname(dir));
    return { d_in: cfg.d_in, status: st?.status ?? null, runs: list.length };
  },
};

const reply = (m) => process.send(m);
process.on('message', async ({ id, reader, file }) => {
  const heap0 = process.memoryUsage().arrayBuffers;
  try {
    const result = await readers[reader](file);
    reply({ id, ok: true, result, grew: process.memoryUsage().arrayBuffers - heap0 });
  } catch (e) {
    reply({
      id,
      ok: false,
      name: e?.name ?? typeof e,
      inputError: e instanceof data.InputError,
      message: String(e?.message ?? e),
      stack: String(e?.stack ?? e),
      grew: process.memoryUsage().arrayBuffers - heap0,
    });
  }
});
process.on('disconnect', () => process.exit(0));
reply({ ready: true });
