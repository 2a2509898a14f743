/** The format of a --text corpus: told by its first bytes (or --format), never tokenized as raw bytes by mistake. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { Field, Int32, List, makeTable, tableFromArrays, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, UsageError } from '@vsae/data';
import { TextTokenizer } from '@vsae/transformer';
import { corpusSource, extract, sniffFormat, type TokenSource } from '../src/index.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const GELU = path.join(ROOT, 'packages/transformer/test/fixtures/gelu1l-tiny');
const JSONL = path.join(ROOT, 'datasets/sotu-1810-1812.jsonl');
let tmp: string;
let tok: TextTokenizer;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-formats-'));
  tok = TextTokenizer.load(GELU);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function tokens(src: TokenSource): Promise<number[][]> {
  const docs: number[][] = [];
  for await (const p of src.pieces()) {
    if (p.startsDoc || docs.length === 0) docs.push([]);
    docs[docs.length - 1]!.push(...p.tokens);
  }
  return docs;
}

const bytes = (s: string) => new Uint8Array(Buffer.from(s));

describe('sniffFormat', () => {
  it('Arrow by its magic (file and stream), JSONL by its first line, text otherwise', () => {
    const t = tableFromArrays({ text: ['a', 'b'] });
    expect(sniffFormat('x', tableToIPC(t, 'file'))).toBe('arrow');
    expect(sniffFormat('x', tableToIPC(t, 'stream'))).toBe('arrow');
    expect(sniffFormat('x', bytes('\n\n{"text": "hello", "id": 3}\n{"text": "again"}\n'))).toBe('jsonl');
    expect(sniffFormat('x', bytes('Fellow citizens of the Senate\n'))).toBe('text');
    expect(sniffFormat('x', bytes('[Applause] Thank you.\n'))).toBe('text');
    expect(sniffFormat('x', bytes('{curly} braces in prose\n'))).toBe('text');
    expect(sniffFormat('x', bytes(''))).toBe('text');
  });

  it('refuses what is none of them, with a hint to --format', () => {
    const cases: Array<[string | Uint8Array, RegExp]> = [
      ['PAR1\0\0\0', /is a Parquet file; write the corpus as Arrow/],
      [Uint8Array.of(1, 2, 0, 3, 4, 5, 6, 7, 8), /holds binary data, not plain text, JSONL or an Arrow file; give --format text\|jsonl\|arrow/],
      ['[{"text": "a"}, {"text": "b"}]\n', /starts with a JSON array, not JSONL .*give --format/],
      ['{\n  "text": "one document"\n}\n', /starts like JSON but its first line is not a JSON object on its own .*give --format/],
      ['{"body": "no text field", "id": 1}\n', /is JSONL whose first line has no "text" string field \(it has "body", "id"\); add one, or give --format/],
    ];
    for (const [head, re] of cases) {
      const b = typeof head === 'string' ? bytes(head) : head;
      expect(() => sniffFormat('c.json', b)).toThrow(InputError);
      expect(() => sniffFormat('c.json', b)).toThrow(re);
    }
  });
});

describe('corpusSource and extract --text', () => {
  it('JSONL named .json, or piped on stdin, is read as JSONL: the same documents as the .jsonl', async () => {
    const want = await tokens(await corpusSource(JSONL, undefined, tok));
    expect(want.length).toBe(fs.readFileSync(JSONL, 'utf8').trim().split('\n').length);
    const asJson = path.join(tmp, 'corpus.json');
    fs.copyFileSync(JSONL, asJson);
    expect(await tokens(await corpusSource(asJson, undefined, tok))).toEqual(want);
    // stdin in small chunks, as a pipe delivers it
    const raw = fs.readFileSync(JSONL);
    const chunks = Array.from({ length: Math.ceil(raw.length / 7) }, (_, i) => raw.subarray(i * 7, i * 7 + 7));
    expect(await tokens(await corpusSource('-', undefined, tok, Readable.from(chunks)))).toEqual(want);
    // --format text: the lines themselves, braces and all, as one document
    const raw1 = await tokens(await corpusSource(asJson, 'text', tok));
    expect(raw1).toEqual([Array.from(tok.encode(raw.toString('utf8')))]);
  });

  it('an Arrow corpus given as --text (file or stdin) is read as Arrow, like --dataset', async () => {
    const docs = [[5, 6, 7, 8, 9, 10], [11, 12, 13], [14, 15, 16, 17, 18, 19, 20, 21]];
    const file = path.join(tmp, 'texts.arrow');
    const list = vectorFromArray(docs.map((d) => Int32Array.from(d)), new List(new Field('item', new Int32(), true)));
    fs.writeFileSync(file, tableToIPC(makeTable({ tokens: list.data[0] as never }) as never, 'file'));
    const src = await corpusSource(file, undefined, tok);
    expect(src.kind).toBe('arrow-tokens');
    expect(await tokens(src)).toEqual(docs);
    const stream = tableToIPC(tableFromArrays({ text: ['Fellow citizens', 'of the Senate'] }), 'stream');
    const piped = await corpusSource('-', undefined, tok, Readable.from([Buffer.from(stream.subarray(0, 5)), Buffer.from(stream.subarray(5))]));
    expect(piped.kind).toBe('arrow-text');
    expect(await tokens(piped)).toEqual([Array.from(tok.encode('Fellow citizens')), Array.from(tok.encode('of the Senate'))]);

    const out = path.join(tmp, 'via-text.arrow');
    const s = await extract({ model: GELU, hooks: ['hook_embed'], text: file, context: 4, docSeparator: 'none', out, quiet: true });
    expect(s.outputs[0]!.rows).toBe(16);
  });

  it('--format is checked, and applies to --text only', async () => {
    const base = { model: GELU, hooks: ['hook_embed'], context: 4, out: path.join(tmp, 'f.arrow'), quiet: true };
    await expect(extract({ ...base, text: JSONL, format: 'csv' as never })).rejects.toThrow(/--format must be text, jsonl or arrow/);
    await expect(extract({ ...base, dataset: JSONL, format: 'jsonl' })).rejects.toThrow(UsageError);
    const arr = path.join(tmp, 'array.json');
    fs.writeFileSync(arr, '[{"text": "a"}]\n');
    await expect(extract({ ...base, text: arr })).rejects.toThrow(/array\.json: starts with a JSON array/);
  });
});
