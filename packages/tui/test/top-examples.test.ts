/**
 * loadTopExamples decodes a latent's examples only when asked (a GPT-2-sized table opens at
 * once), gives the same examples as reading the whole table would, and turns a damaged row into
 * a problem for that latent instead of an exception in the render.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readTable } from '@vsae/data';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTopExamples, TOP_EXAMPLES_FILE } from '../src/analysis.js';
import { tempRunsDir, writeFixtureRuns } from './fixtures.js';

const root = tempRunsDir('vsae-tui-top-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const { lm } = writeFixtureRuns(root);

describe('loadTopExamples', () => {
  it('gives every row of the table once, under its latent, in the browser order', () => {
    const ex = loadTopExamples(lm.dir);
    const t = readTable(path.join(lm.dir, TOP_EXAMPLES_FILE));
    const latents = [...new Set(t.numbers('latent'))];
    let n = 0;
    for (const l of latents) {
      const list = ex.get(l)!;
      expect(list.every((e) => e.latent === l)).toBe(true);
      expect(list.map((e) => e.kind)).toEqual([...list.map((e) => e.kind)].sort((a, b) => (a === 'top' ? 0 : 1) - (b === 'top' ? 0 : 1)));
      expect(ex.get(l)).toBe(list); // decoded once, then kept
      n += list.length;
    }
    expect(n).toBe(t.numRows);
    expect(ex.get(1e9)).toBeUndefined();
    expect(ex.problemFor?.(1)).toBeUndefined();
  });

  it('a row whose token list lies about its length is a problem of its latent only', () => {
    const file = path.join(lm.dir, TOP_EXAMPLES_FILE);
    const bytes = fs.readFileSync(file);
    // Find the offsets of the context_tokens list in the file (apache-arrow reads it in place)
    // and make the second row's list end far past the values the column holds.
    const col = tableFromIPC(bytes).getChild('context_tokens')!;
    const offsets = col.data[0]!.valueOffsets as Int32Array;
    const at = offsets.byteOffset - bytes.byteOffset + 2 * 4;
    expect(at).toBeGreaterThan(0);
    bytes.writeInt32LE(1 << 30, at);
    fs.writeFileSync(file, bytes);
    const latents = readTable(file).numbers('latent');
    const damaged = latents[1]!;
    const ex = loadTopExamples(lm.dir);
    expect(ex.get(damaged)).toBeUndefined();
    expect(ex.problemFor?.(damaged)).toMatch(/top_examples\.arrow: column "context_tokens" row 1 claims a list of \d+ values/);
    const other = [...new Set(latents)].find((l) => l !== damaged && latents.indexOf(l) > 2)!;
    expect(ex.get(other)!.length).toBeGreaterThan(0);
  });
});
