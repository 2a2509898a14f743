import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tableFromArrays, tableToIPC, vectorFromArray, List, Field, Int32, makeTable } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@vsae/compute';
import { expectAllClose } from '@vsae/compute/testing';
import { InputError, UsageError, VsaeError, openDataset } from '@vsae/data';
import type { ActivationDataset } from '@vsae/data';
import { TextTokenizer, loadModel } from '@vsae/transformer';
import type { LoadedModel } from '@vsae/transformer';
import { extract } from '../src/index.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const GPT2 = path.join(ROOT, 'packages/transformer/test/fixtures/gpt2-tiny');
const GELU = path.join(ROOT, 'packages/transformer/test/fixtures/gelu1l-tiny');
const REAL = path.resolve(ROOT, '../shared/fixtures/tiny-random-gpt2');
const TEXT = path.join(ROOT, 'datasets/sotu-1790-1809.txt');
const JSONL = path.join(ROOT, 'datasets/sotu-1810-1812.jsonl');

let tmp: string;
beforeAll(async () => {
  await initBackend(process.env.VSAE_BACKEND ?? 'wasm');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-extract-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Rows { act: Float32Array; seq: bigint[]; pos: number[]; token: number[]; n: number; dIn: number }
async function readAll(p: string): Promise<Rows & { ds: ActivationDataset }> {
  const ds = await openDataset(p);
  const acts: Float32Array[] = [];
  const seq: bigint[] = [];
  const pos: number[] = [];
  const token: number[] = [];
  for await (const b of ds.batches()) {
    acts.push(b.act.slice());
    seq.push(...b.seq!);
    pos.push(...b.pos!);
    token.push(...b.token!);
  }
  const act = new Float32Array(acts.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of acts) {
    act.set(a, o);
    o += a.length;
  }
  await ds.close();
  return { act, seq, pos, token, n: seq.length, dIn: ds.dIn, ds };
}

/** The activations of the given windows, straight from the model (the independent check of what was written). */
function expected(m: LoadedModel, hook: string, windows: number[][]): Float32Array {
  const { captures } = m.model.run(windows, { capture: [hook] });
  const out = captures.get(hook)!.dataSync().slice() as Float32Array;
  tf.dispose([...captures.values()]);
  return out;
}

describe('extract from plain text (GPT-2)', () => {
  let m: LoadedModel;
  beforeAll(async () => {
    m = await loadModel(GPT2);
  });
  afterAll(() => m.model.dispose());

  it('writes windows of the tokenized corpus in order, with seq, pos, token and the hook activations', async () => {
    const out = path.join(tmp, 'plain.arrow');
    const s = await extract({ model: GPT2, hooks: ['blocks.0.mlp.hook_post'], text: TEXT, context: 16, maxTokens: 200, batchSize: 3, out, quiet: true });
    expect(s.outputs[0]).toMatchObject({ rows: 200, dIn: 64 });
    const r = await readAll(out);
    expect(r.n).toBe(200);
    expect(r.ds.meta).toMatchObject({ source: 'gpt2', hook: 'blocks.0.mlp.hook_post', context: 16, dIn: 64, model: GPT2 });
    // tokens: the first 200 of the whole text, tokenized in one call
    const text = fs.readFileSync(TEXT, 'utf8').slice(0, 20000);
    const all = Array.from(m.tokenizer!.encode(text)).slice(0, 208);
    expect(r.token).toEqual(all.slice(0, 200));
    expect(r.seq).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(Math.floor(i / 16))));
    expect(r.pos).toEqual(Array.from({ length: 200 }, (_, i) => i % 16));
    const windows = Array.from({ length: 13 }, (_, w) => all.slice(w * 16, w * 16 + 16));
    expectAllClose(r.act, expected(m, 'blocks.0.mlp.hook_post', windows).subarray(0, 200 * 64), { atol: 1e-5, rtol: 0 });
  });

  it('tokenizes a long text in pieces exactly as in one call', async () => {
    const out = path.join(tmp, 'long.arrow');
    await extract({ model: GPT2, hooks: ['hook_embed'], text: TEXT, context: 32, out, quiet: true, batchSize: 64 });
    const r = await readAll(out);
    const all = m.tokenizer!.encode(fs.readFileSync(TEXT, 'utf8'));
    const whole = Math.floor(all.length / 32) * 32;
    expect(r.n).toBe(whole);
    expect(r.token).toEqual(Array.from(all.subarray(0, whole)));
  });

  it('prepends BOS to every window and can leave its row out', async () => {
    const out = path.join(tmp, 'bos.arrow');
    await extract({ model: GPT2, hooks: ['blocks.1.hook_resid_post'], text: TEXT, context: 8, prependBos: true, excludeBos: true, maxTokens: 21, out, quiet: true });
    const r = await readAll(out);
    expect(r.n).toBe(21);
    expect(r.pos).toEqual(Array.from({ length: 21 }, (_, i) => 1 + (i % 7)));
    const all = Array.from(m.tokenizer!.encode(fs.readFileSync(TEXT, 'utf8').slice(0, 2000)));
    const windows = Array.from({ length: 3 }, (_, w) => [0, ...all.slice(w * 7, w * 7 + 7)]);
    expect(r.token).toEqual(windows.flatMap((w) => w.slice(1)));
    const exp = expected(m, 'blocks.1.hook_resid_post', windows);
    const keep = new Float32Array(21 * 16);
    for (let w = 0; w < 3; w++) keep.set(exp.subarray((w * 8 + 1) * 16, (w * 8 + 8) * 16), w * 7 * 16);
    expectAllClose(r.act, keep, { atol: 1e-5, rtol: 0 });
    expect(r.ds.meta.bos).toBe(0);
  });

  it('writes several hooks from one pass, one dataset each, and takes --layer/--act-name', async () => {
    const dir = path.join(tmp, 'multi');
    const s = await extract({ model: GPT2, hooks: ['blocks.0.hook_resid_mid', 'blocks.0.attn.hook_z', 'blocks.1.mlp.hook_pre'], text: TEXT, context: 16, maxTokens: 64, out: dir, quiet: true });
    expect(s.outputs.map((o) => [path.basename(o.path), o.dIn, o.rows])).toEqual([
      ['blocks.0.hook_resid_mid.arrow', 16, 64],
      ['blocks.0.attn.hook_z.arrow', 16, 64],
      ['blocks.1.mlp.hook_pre.arrow', 64, 64],
    ]);
    const mid = await readAll(path.join(dir, 'blocks.0.hook_resid_mid.arrow'));
    const one = path.join(tmp, 'mid.arrow');
    await extract({ model: GPT2, layer: 0, actName: 'mid', text: TEXT, context: 16, maxTokens: 64, out: one, quiet: true });
    const alone = await readAll(one);
    expect(alone.ds.meta.hook).toBe('blocks.0.hook_resid_mid');
    expect(alone.token).toEqual(mid.token);
    expectAllClose(alone.act, mid.act, { atol: 0, rtol: 0 });
  });
});

describe('extract from JSONL and Arrow inputs (GELU-1L)', () => {
  let m: LoadedModel;
  beforeAll(async () => {
    m = await loadModel(GELU);
  });
  afterAll(() => m.model.dispose());

  it('JSONL documents are joined with the EOS token', async () => {
    const out = path.join(tmp, 'jsonl.arrow');
    await extract({ model: GELU, hooks: ['blocks.0.mlp.hook_post'], text: JSONL, context: 32, out, quiet: true });
    const r = await readAll(out);
    const docs = fs.readFileSync(JSONL, 'utf8').trim().split('\n').map((l) => JSON.parse(l).text as string);
    const stream = docs.flatMap((d, i) => [...(i ? [0] : []), ...m.tokenizer!.encode(d)]);
    const whole = Math.floor(stream.length / 32) * 32;
    expect(r.token).toEqual(stream.slice(0, whole));
    expect(r.ds.meta.source).toBe('gelu-1l');
  });

  it('reads an Arrow tokens column (List<Int32>) and a text column', async () => {
    const docs = [[5, 6, 7, 8, 9, 10], [11, 12, 13], [14, 15, 16, 17, 18, 19, 20, 21]];
    const tokensFile = path.join(tmp, 'tokens.arrow');
    const list = vectorFromArray(docs.map((d) => Int32Array.from(d)), new List(new Field('item', new Int32(), true)));
    fs.writeFileSync(tokensFile, tableToIPC(makeTable({ tokens: list.data[0] as never }) as never, 'file'));
    const out = path.join(tmp, 'from-tokens.arrow');
    await extract({ model: GELU, hooks: ['hook_embed'], dataset: tokensFile, context: 4, docSeparator: 'none', out, quiet: true });
    const r = await readAll(out);
    expect(r.token).toEqual(docs.flat().slice(0, 16));

    const textFile = path.join(tmp, 'text.arrow');
    const texts = ['Fellow citizens of the Senate', 'and House of Representatives'];
    fs.writeFileSync(textFile, tableToIPC(tableFromArrays({ text: texts }), 'stream'));
    const out2 = path.join(tmp, 'from-text.arrow');
    await extract({ model: GELU, hooks: ['hook_embed'], dataset: textFile, context: 4, out: out2, quiet: true });
    const r2 = await readAll(out2);
    const stream = [...m.tokenizer!.encode(texts[0]!), 0, ...m.tokenizer!.encode(texts[1]!)];
    expect(r2.token).toEqual(stream.slice(0, Math.floor(stream.length / 4) * 4));
  });
});

describe('resume', () => {
  it('an interrupted sharded extraction continues after its last complete shard: no row duplicated or missing', async () => {
    const opts = { model: GPT2, hooks: ['blocks.0.hook_mlp_out', 'blocks.1.hook_resid_post'], text: TEXT, context: 16, batchSize: 2, shardRows: 40, maxTokens: 400, quiet: true };
    const ref = path.join(tmp, 'ref');
    await extract({ ...opts, out: ref });
    const dir = path.join(tmp, 'resumed');
    let batches = 0;
    // Interrupt after the 7th batch (224 rows: shards of 40 → 5 complete, one partial dropped).
    const signal = {
      get aborted() {
        return ++batches >= 7;
      },
    } as unknown as AbortSignal;
    const s1 = await extract({ ...opts, out: dir, signal });
    expect(s1.interrupted).toBe(true);
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'blocks.0.hook_mlp_out', '_dataset.json'), 'utf8'));
    expect(j.complete).toBe(false);
    expect(j.rows).toBe(200);
    expect(fs.readdirSync(path.join(dir, 'blocks.0.hook_mlp_out')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const s2 = await extract({ ...opts, out: dir, resume: true });
    expect(s2.outputs.map((o) => [o.resumedRows, o.rows])).toEqual([[200, 400], [200, 400]]);
    for (const h of opts.hooks) {
      const a = await readAll(path.join(ref, h));
      const b = await readAll(path.join(dir, h));
      expect(b.n).toBe(400);
      expect(b.seq).toEqual(a.seq);
      expect(b.pos).toEqual(a.pos);
      expect(b.token).toEqual(a.token);
      expectAllClose(b.act, a.act, { atol: 1e-6, rtol: 0 });
    }
  });

  it('refuses to resume with different options, or a complete dataset', async () => {
    const dir = path.join(tmp, 'resumed2');
    const opts = { model: GPT2, hooks: ['hook_embed'], text: TEXT, context: 16, shardRows: 32, maxTokens: 64, quiet: true, out: dir };
    await extract(opts);
    await expect(extract({ ...opts, resume: true })).rejects.toThrow(/already a complete dataset/);
    fs.writeFileSync(path.join(dir, '_dataset.json'), fs.readFileSync(path.join(dir, '_dataset.json'), 'utf8').replace('"complete": true', '"complete": false'));
    await expect(extract({ ...opts, context: 8, resume: true })).rejects.toThrow(/different context \(16 then, 8 now\)/);
  });
});

describe('errors', () => {
  it('one clear error each', async () => {
    const base = { model: GPT2, hooks: ['blocks.0.mlp.hook_post'], text: TEXT, context: 16, out: path.join(tmp, 'err.arrow'), quiet: true };
    await expect(extract({ ...base, model: path.join(tmp, 'no-model') })).rejects.toThrow(InputError);
    await expect(extract({ ...base, context: 64 })).rejects.toThrow(/--context 64 is longer than the model's context of 32/);
    await expect(extract({ ...base, hooks: ['blocks.9.mlp.hook_post'] })).rejects.toThrow(/does not exist.*valid hooks: hook_embed/);
    await expect(extract({ ...base, hooks: ['blocks.0.attn.hook_pattern'] })).rejects.toThrow(/attention map/);
    await expect(extract({ ...base, text: undefined })).rejects.toThrow(UsageError);
    await expect(extract({ ...base, resume: true })).rejects.toThrow(/--resume continues a sharded directory/);
    await expect(extract({ ...base, excludeBos: true })).rejects.toThrow(/--exclude-bos needs --prepend-bos/);
    const tiny = path.join(tmp, 'tiny.txt');
    fs.writeFileSync(tiny, 'Too short.');
    await expect(extract({ ...base, text: tiny, context: 32 })).rejects.toThrow(/fewer tokens than one window/);
    const big = path.join(tmp, 'big-ids.arrow');
    const list = vectorFromArray([Int32Array.from([1, 2, 5000, 3])], new List(new Field('item', new Int32(), true)));
    fs.writeFileSync(big, tableToIPC(makeTable({ tokens: list.data[0] as never }) as never, 'file'));
    await expect(extract({ ...base, text: undefined, dataset: big, context: 4 })).rejects.toThrow(/token id 5000 .*vocabulary of 1000/);
    expect(fs.existsSync(base.out)).toBe(false);
    const noTok = path.join(tmp, 'notok');
    fs.cpSync(GELU, noTok, { recursive: true });
    fs.rmSync(path.join(noTok, 'tokenizer.json'));
    await expect(extract({ ...base, model: noTok, hooks: ['hook_embed'] })).rejects.toThrow(/has no tokenizer.json \(this model uses NeelNanda\/gpt-neox-tokenizer-digits's\)/);
    await expect(extract({ ...base, model: noTok, hooks: ['hook_embed'] })).rejects.toThrow(VsaeError);
  });
});

describe.skipIf(!fs.existsSync(REAL))('the real tiny-random-gpt2 checkpoint', () => {
  it('extracts 2048 rows of width 128 (64 windows of 32) from the sample corpus', async () => {
    const out = path.join(tmp, 'acts.arrow');
    const s = await extract({ model: REAL, hooks: ['blocks.0.mlp.hook_post'], text: TEXT, context: 32, maxTokens: 2048, out, quiet: true });
    expect(s.windows).toBe(64);
    const r = await readAll(out);
    expect([r.n, r.dIn]).toEqual([2048, 128]);
    expect(new Set(r.seq).size).toBe(64);
    const tok = TextTokenizer.load(path.join(REAL, 'tokenizer.json'));
    expect(r.token.slice(0, 64)).toEqual(Array.from(tok.encode(fs.readFileSync(TEXT, 'utf8').slice(0, 2000))).slice(0, 64));
  });
});
if (!fs.existsSync(REAL)) console.warn(`skipping the real-checkpoint extraction test: ${REAL} is absent`);
