import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '@vsae/data';
import { TextTokenizer } from '../src/index.js';

const FIX = path.join(import.meta.dirname, 'fixtures');
const golden = JSON.parse(fs.readFileSync(path.join(FIX, 'tokenizer.golden.json'), 'utf8')) as { texts: string[]; gpt2: number[][]; gelu1l: number[][] };

describe('TextTokenizer', () => {
  const gpt2 = TextTokenizer.load(path.join(FIX, 'gpt2-tiny', 'tokenizer.json'));
  const neox = TextTokenizer.load(path.join(FIX, 'gelu1l-tiny'));

  it('matches a reference byte-level BPE (GPT-2 tokenizer) on every test string', () => {
    golden.texts.forEach((t, i) => expect(Array.from(gpt2.encode(t)), t).toEqual(golden.gpt2[i]));
  });

  it('matches the reference with NFC and digits split one by one (NeoX-digits style)', () => {
    golden.texts.forEach((t, i) => expect(Array.from(neox.encode(t)), t).toEqual(golden.gelu1l[i]));
  });

  it('decodes back to the text', () => {
    for (const t of golden.texts) expect(gpt2.decode(gpt2.encode(t))).toBe(t);
  });

  it('takes BOS from tokenizer_config.json, else from the <|endoftext|> added token', () => {
    expect(gpt2.bos).toBe(0);
    expect(gpt2.eos).toBe(0);
    expect(neox.bos).toBe(0);
    expect(gpt2.vocabSize).toBe(1000);
  });

  it('rejects truncated and non-tokenizer JSON with an InputError naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-tok-'));
    const text = fs.readFileSync(path.join(FIX, 'gelu1l-tiny', 'tokenizer.json'), 'utf8');
    const cases: Record<string, string> = { 'cut.json': text.slice(0, text.length >> 1), 'other.json': '{"hello": 1}', 'array.json': '[1,2]' };
    for (const [f, body] of Object.entries(cases)) {
      fs.writeFileSync(path.join(dir, f), body);
      expect(() => TextTokenizer.load(path.join(dir, f))).toThrow(InputError);
      expect(() => TextTokenizer.load(path.join(dir, f))).toThrow(f);
    }
    expect(() => TextTokenizer.load(path.join(dir, 'absent.json'))).toThrow(/no such file/);
    fs.rmSync(dir, { recursive: true });
  });
});
