import { describe, expect, it } from 'vitest';
import type { RunEntry } from '../src/model.js';
import { filterRuns, formatRunTable, layoutColumns, RUN_COLUMNS, sortRuns } from '../src/run-table.js';

function entry(name: string, o: Partial<RunEntry> = {}): RunEntry {
  return { dir: `/runs/${name}`, name, arch: 'sae', dIn: 20, dSae: 160, hook: 'toy', status: 'complete', step: 100, steps: 100, updated: undefined, last: undefined, logged: 0, summary: undefined, problems: [], ...o };
}

const runs: RunEntry[] = [
  entry('b-iso', { arch: 'vsae-iso', status: 'running', step: 500, steps: 3000, last: { step: 500, loss: 0.25, l0: 12.5, dead_frac: 0.1, explained_variance: 0.8 } }),
  entry('a-sae', { step: 3000, steps: 3000, last: { step: 3000, loss: 0.125, l0: 7, dead_frac: 0.0125, explained_variance: 0.93 }, summary: { mmcs: 0.912 } }),
  entry('c-mix', { arch: 'vsae-mix', status: 'failed', step: undefined, steps: undefined, hook: 'blocks.0.mlp.hook_post' }),
  entry('d-multi', { arch: 'vsae-multi', last: { step: 100, loss: 1.5, l0: 30, dead_frac: 0.5, explained_variance: 0.5 }, summary: { mmcs: 0.75, l0: 28 } }),
];

describe('run list columns', () => {
  it('sorts by each column, missing values last in both directions, ties by name', () => {
    const names = (key: string, descending = false) => sortRuns(runs, { key, descending }).map((r) => r.name);
    expect(names('name')).toEqual(['a-sae', 'b-iso', 'c-mix', 'd-multi']);
    expect(names('name', true)).toEqual(['d-multi', 'c-mix', 'b-iso', 'a-sae']);
    expect(names('loss')).toEqual(['a-sae', 'b-iso', 'd-multi', 'c-mix']);
    expect(names('loss', true)).toEqual(['d-multi', 'b-iso', 'a-sae', 'c-mix']);
    expect(names('mmcs', true)).toEqual(['a-sae', 'd-multi', 'b-iso', 'c-mix']);
    expect(names('steps')).toEqual(['d-multi', 'b-iso', 'a-sae', 'c-mix']);
    expect(names('arch')).toEqual(['a-sae', 'b-iso', 'c-mix', 'd-multi']);
    expect(names('status')).toEqual(['a-sae', 'd-multi', 'c-mix', 'b-iso']);
    expect(names('dead')).toEqual(['a-sae', 'b-iso', 'd-multi', 'c-mix']);
    expect(names('ev', true)).toEqual(['a-sae', 'b-iso', 'd-multi', 'c-mix']);
    expect(names('l0')).toEqual(['a-sae', 'b-iso', 'd-multi', 'c-mix']);
    // Every column sorts without throwing.
    for (const c of RUN_COLUMNS) expect(sortRuns(runs, { key: c.key, descending: false })).toHaveLength(4);
  });

  it('filters on every word in name, arch, status or hook', () => {
    const names = (q: string) => filterRuns(runs, q).map((r) => r.name);
    expect(names('')).toEqual(['b-iso', 'a-sae', 'c-mix', 'd-multi']);
    expect(names('VSAE')).toEqual(['b-iso', 'c-mix', 'd-multi']);
    expect(names('vsae running')).toEqual(['b-iso']);
    expect(names('mlp')).toEqual(['c-mix']);
    expect(names('nothing-like-this')).toEqual([]);
  });

  it('prints a plain table: header, one line per run, aligned columns, no escape codes', () => {
    expect(formatRunTable(sortRuns(runs, { key: 'name', descending: false }))).toBe(
      [
        'run      arch        status          steps   loss    L0   dead  expl.var   MMCS',
        'a-sae    sae         complete  3,000/3,000  0.125     7   1.3%      0.93  0.912',
        'b-iso    vsae-iso    running     500/3,000   0.25  12.5  10.0%       0.8      –',
        'c-mix    vsae-mix    failed              –      –     –      –         –      –',
        'd-multi  vsae-multi  complete      100/100    1.5    30  50.0%       0.5   0.75',
        '',
      ].join('\n'),
    );
  });

  it('gives the name column the width left over, dropping columns when the terminal is narrow', () => {
    const used = (l: ReturnType<typeof layoutColumns>) => l.reduce((s, c) => s + c.width, 0) + 2 * (l.length - 1);
    const wide = layoutColumns(120);
    expect(wide.map((c) => c.column.key)).toEqual(RUN_COLUMNS.map((c) => c.key));
    expect(wide.slice(1).map((c) => c.width)).toEqual(RUN_COLUMNS.slice(1).map((c) => c.width));
    expect(used(wide)).toBe(120);
    const mid = layoutColumns(80);
    expect(mid.map((c) => c.column.key)).toEqual(['name', 'arch', 'status', 'steps', 'loss', 'l0', 'mmcs']);
    expect(mid[0]!.width).toBeGreaterThanOrEqual(12);
    expect(used(mid)).toBe(80);
    const narrow = layoutColumns(30);
    expect(narrow.map((c) => c.column.key)).toEqual(['name', 'steps', 'loss']);
    expect(used(narrow)).toBeLessThanOrEqual(Math.max(30, 8 + 2 + 13 + 2 + 8));
  });
});
