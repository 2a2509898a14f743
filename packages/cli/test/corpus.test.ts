/** vsae extract --text: the corpus's format is told by its bytes, the same through a file, a .json name or a pipe. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDataset } from '@vsae/data';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, binRunner, expectOneLineError } from './bin.js';

const ROOT = path.resolve(path.dirname(bin), '../../..');
const TINY = path.join(ROOT, 'packages/transformer/test/fixtures/gpt2-tiny');
const JSONL = path.join(ROOT, 'datasets/sotu-1810-1812.jsonl');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-cli-corpus-'));
const vsae = binRunner(tmp, { env: { VSAE_BACKEND: 'wasm' } });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const EXTRACT = ['extract', '--model', TINY, '--hook', 'hook_embed', '--context', '16', '--max-tokens', '256', '-q'];

async function tokens(file: string): Promise<number[]> {
  const ds = await openDataset(path.join(tmp, file));
  const out: number[] = [];
  for await (const b of ds.batches()) out.push(...b.token!);
  await ds.close();
  return out;
}

describe('vsae extract --text', () => {
  it('JSONL as .jsonl, renamed .json, or piped: the same rows; --format text reads it raw', async () => {
    expect(vsae([...EXTRACT, '--text', JSONL, '-o', 'a.arrow']).status).toBe(0);
    fs.copyFileSync(JSONL, path.join(tmp, 'corpus.json'));
    expect(vsae([...EXTRACT, '--text', 'corpus.json', '-o', 'b.arrow']).status).toBe(0);
    const piped = vsae([...EXTRACT, '--text', '-', '-o', 'c.arrow'], { input: fs.readFileSync(JSONL) });
    expect(piped.status, piped.stderr).toBe(0);
    const raw = vsae([...EXTRACT, '--text', 'corpus.json', '--format', 'text', '-o', 'd.arrow']);
    expect(raw.status, raw.stderr).toBe(0);
    const a = await tokens('a.arrow');
    expect(a.length).toBe(256);
    expect(await tokens('b.arrow')).toEqual(a);
    expect(await tokens('c.arrow')).toEqual(a);
    expect(await tokens('d.arrow')).not.toEqual(a); // the braces and "text" keys are tokens now
  });

  it('an Arrow file given as --text is read as Arrow; a JSON array is refused with a hint', async () => {
    // an activation dataset: read as Arrow (not tokenized as bytes), and it has no text or tokens column
    const r = vsae([...EXTRACT, '--text', 'a.arrow', '-o', 'f.arrow']);
    expectOneLineError(r, 1, 'extract', /a\.arrow: has no "text" \(Utf8\) or "tokens" \(List<Int32>\) column; its columns are act, seq, pos, token/);
    fs.writeFileSync(path.join(tmp, 'arr.json'), '[{"text": "a"}, {"text": "b"}]\n');
    expectOneLineError(vsae([...EXTRACT, '--text', 'arr.json', '-o', 'g.arrow']), 1, 'extract', /arr\.json: starts with a JSON array, not JSONL .* give --format text\|jsonl\|arrow/);
  });
});
