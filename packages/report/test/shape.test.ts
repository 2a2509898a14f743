import { describe, expect, it } from 'vitest';
import { contextWindow, evenIndices, histogram, jsonForScript, round, roundAll, stats, StringTable } from '../src/_shape.js';
import { chooseLatents, shellQuote } from '../src/load.js';

describe('histogram', () => {
  it('counts values into equal bins over the given range, the last bin closed', () => {
    // Bins over [0, 4]: [0,1) [1,2) [2,3) [3,4]; worked by hand.
    const h = histogram([0, 0.5, 1, 1.99, 2, 3.5, 4], 4, 0, 4);
    expect(h.edges).toEqual([0, 1, 2, 3, 4]);
    expect(h.counts).toEqual([2, 2, 1, 2]);
    expect(h.skipped).toBe(0);
  });

  it('skips values outside the range and non-finite ones, and says how many', () => {
    const h = histogram([-1, 0.5, 5, NaN, Infinity, -Infinity], 2, 0, 2);
    expect(h.counts).toEqual([1, 0]);
    expect(h.skipped).toBe(5);
  });

  it('takes the range from the data by default', () => {
    const h = histogram([2, 4, 6, 8], 3);
    expect(h.edges[0]).toBe(2);
    expect(h.edges[3]).toBe(8);
    expect(h.counts).toEqual([1, 1, 2]);
  });

  it('widens a zero-width range so a constant column still has a bin', () => {
    const h = histogram([3, 3, 3], 5);
    expect(h.edges[0]).toBe(2.5);
    expect(h.edges[5]).toBe(3.5);
    expect(h.counts).toEqual([0, 0, 3, 0, 0]);
  });

  it('returns empty bins for no values', () => {
    const h = histogram([], 4, -10, 0);
    expect(h.counts).toEqual([0, 0, 0, 0]);
    expect(h.edges).toEqual([-10, -7.5, -5, -2.5, 0]);
  });
});

describe('evenIndices', () => {
  it('spreads k indices over n, keeping the first and the last', () => {
    expect(evenIndices(10, 4)).toEqual([0, 3, 6, 9]);
    expect(evenIndices(1000, 3)).toEqual([0, 500, 999]);
  });

  it('returns every index when k >= n, and none for k = 0', () => {
    expect(evenIndices(3, 5)).toEqual([0, 1, 2]);
    expect(evenIndices(5, 0)).toEqual([]);
    expect(evenIndices(0, 5)).toEqual([]);
  });

  it('keeps the last row when only one is asked for (the newest training step)', () => {
    expect(evenIndices(7, 1)).toEqual([6]);
  });

  it('never repeats an index', () => {
    for (const [n, k] of [[11, 10], [100, 99], [5, 4], [1001, 1000]] as const) {
      const idx = evenIndices(n, k);
      expect(idx).toHaveLength(k);
      expect(new Set(idx).size).toBe(k);
      expect(idx).toEqual([...idx].sort((a, b) => a - b));
    }
  });
});

describe('stats', () => {
  it('gives count, mean, population std, median, min and max of the finite values', () => {
    // [1, 2, 3, 4]: mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25, median 2.5.
    const s = stats([4, NaN, 1, 3, 2]);
    expect(s).toEqual({ n: 4, mean: 2.5, std: Math.sqrt(1.25), median: 2.5, min: 1, max: 4 });
    expect(stats([5, 1, 3]).median).toBe(3);
  });

  it('gives nulls for no finite value', () => {
    expect(stats([NaN])).toEqual({ n: 0, mean: null, std: null, median: null, min: null, max: null });
  });
});

describe('rounding', () => {
  it('keeps the given significant digits and turns non-finite values into null', () => {
    expect(round(0.000123456, 3)).toBe(0.000123);
    expect(round(-1234.5678, 4)).toBe(-1235);
    expect(round(7, 2)).toBe(7);
    expect(round(NaN, 3)).toBeNull();
    expect(round(Infinity, 3)).toBeNull();
    expect(roundAll(Float64Array.of(1.23456, NaN, 2), 2)).toEqual([1.2, null, 2]);
    expect(roundAll([1.11, 2.22, 3.33], 2, [2, 0])).toEqual([3.3, 1.1]);
  });
});

describe('contextWindow', () => {
  it('keeps radius tokens on each side of the example token, clipped to the context', () => {
    expect(contextWindow(40, 20, 5)).toEqual([15, 26]);
    expect(contextWindow(40, 2, 5)).toEqual([0, 8]);
    expect(contextWindow(40, 38, 5)).toEqual([33, 40]);
  });

  it('keeps the end of the context when the index is unknown', () => {
    expect(contextWindow(40, null, 5)).toEqual([29, 40]);
    expect(contextWindow(4, null, 5)).toEqual([0, 4]);
  });
});

describe('jsonForScript', () => {
  it('writes no "<" at all, so "</script>" inside a token cannot close the element', () => {
    const value = { tokens: ['</script><script>alert(1)</script>', '<!--', 'a\u2028b'] };
    const text = jsonForScript(value);
    expect(text).not.toContain('<');
    expect(text).not.toContain('\u2028');
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('StringTable', () => {
  it('stores each distinct string once', () => {
    const t = new StringTable();
    expect([t.add('a'), t.add('b'), t.add('a'), t.add('')]).toEqual([0, 1, 0, 2]);
    expect(t.strings).toEqual(['a', 'b', '']);
  });
});

describe('chooseLatents', () => {
  it('takes the preferred latents that exist first, then an even spread of the rest', () => {
    const available = Array.from({ length: 100 }, (_, i) => i);
    const chosen = chooseLatents(available, [50, 7, 500, 50], 5);
    expect(chosen).toHaveLength(5);
    expect(chosen).toContain(50);
    expect(chosen).toContain(7);
    expect(chosen).not.toContain(500);
    // The other three spread over the 98 remaining latents: positions 0, 49 and 97 of [0..6, 8..49, 51..99].
    expect(chosen).toEqual([0, 7, 50, 51, 99]);
  });

  it('returns everything when the limit allows', () => {
    expect(chooseLatents([3, 1, 2], [], 10)).toEqual([1, 2, 3]);
  });
});

describe('shellQuote', () => {
  it('quotes a path only when the shell would split or expand it', () => {
    expect(shellQuote('runs/sae-1')).toBe('runs/sae-1');
    expect(shellQuote('my runs/a')).toBe("'my runs/a'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });
});
