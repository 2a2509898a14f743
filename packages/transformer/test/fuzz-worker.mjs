/**
 * Worker thread for fuzz.test.ts: runs the .pth or tokenizer.json reader of the built package
 * (dist/) on one input per request and reports a read or an error (with its class). The parent
 * gives each case a deadline and terminates this worker when it passes, so a reader that loops
 * is caught; `resourceLimits` caps the JS heap. Allocation guard: typed-array, ArrayBuffer and
 * Buffer allocations above LIMIT bytes throw `AllocationRefused` — the fixtures are a few KB,
 * so only a size taken from a lying header without checking it against the file asks for that.
 */
import { parentPort } from 'node:worker_threads';

const LIMIT = 64 * 2 ** 20;

class AllocationRefused extends Error {
  constructor(bytes) {
    super(`allocation of ${bytes} bytes refused (limit ${LIMIT})`);
    this.name = 'AllocationRefused';
  }
}
for (const [name, per] of [['ArrayBuffer', 1], ['Uint8Array', 1], ['Int8Array', 1], ['Uint16Array', 2], ['Int16Array', 2], ['Uint32Array', 4], ['Int32Array', 4], ['Float32Array', 4], ['Float64Array', 8], ['BigInt64Array', 8]]) {
  const Orig = globalThis[name];
  const proxy = new Proxy(Orig, {
    construct(target, args, newTarget) {
      if (typeof args[0] === 'number' && args[0] * per > LIMIT) throw new AllocationRefused(args[0] * per);
      return Reflect.construct(target, args, newTarget === proxy ? target : newTarget);
    },
  });
  globalThis[name] = proxy;
}
for (const fn of ['alloc', 'allocUnsafe', 'allocUnsafeSlow']) {
  const orig = Buffer[fn].bind(Buffer);
  Buffer[fn] = (size, ...rest) => {
    if (typeof size === 'number' && size > LIMIT) throw new AllocationRefused(size);
    return orig(size, ...rest);
  };
}

const { parseTorchCheckpoint, TextTokenizer } = await import('../dist/index.js');
const { InputError } = await import('@vsae/data');

const SAMPLE = 'Fellow-Citizens of the Senate, 1790: the 13 states.';

parentPort.on('message', ({ id, kind, bytes, json }) => {
  try {
    if (kind === 'pth') {
      const sd = parseTorchCheckpoint(bytes, 'fuzzed.pth');
      for (const k of sd.keys()) {
        const t = sd.getFloat32(k);
        if (t.data.length !== t.shape.reduce((p, d) => p * d, 1)) throw new Error(`inconsistent read of ${k}`);
      }
    } else {
      let parsed;
      if (json !== undefined) parsed = json;
      else {
        try {
          parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
        } catch {
          throw new InputError('fuzzed/tokenizer.json', 'is not valid JSON');
        }
      }
      TextTokenizer.fromJSON(parsed, 'fuzzed/tokenizer.json').encode(SAMPLE);
    }
    parentPort.postMessage({ id, ok: true });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, name: e?.name ?? typeof e, inputError: e instanceof InputError, message: String(e?.message ?? e), stack: String(e?.stack ?? '') });
  }
});
parentPort.postMessage({ ready: true });
