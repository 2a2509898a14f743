import { describe, expect, it } from 'vitest';
import { blockBars, plotLine } from '../src/chart.js';

/** Decodes braille lines back into the set of dots "x,y" (x, y in dots from the top left). */
function dots(lines: string[]): Set<string> {
  const out = new Set<string>();
  // Unicode braille: dot bits 1,2,3,7 are the left column rows 0..3; 4,5,6,8 the right column.
  const bit = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]];
  lines.forEach((line, r) => {
    [...line].forEach((ch, c) => {
      const v = ch === ' ' ? 0 : ch.codePointAt(0)! - 0x2800;
      expect(v >= 0 && v < 256, `not braille: ${ch}`).toBe(true);
      for (let y = 0; y < 4; y++) for (let x = 0; x < 2; x++) if (v & bit[y]![x]!) out.add(`${c * 2 + x},${r * 4 + y}`);
    });
  });
  return out;
}

describe('plotLine', () => {
  it('draws a rising line as the hand-worked braille characters', () => {
    // 4 points over a 2×1 cell plot (4×4 dots): dots (0,3) (1,2) (2,1) (3,0).
    const p = plotLine([0, 1, 2, 3], [0, 1, 2, 3], { width: 2, height: 1 });
    expect(p.lines).toEqual(['\u2860\u280a']); // ⡠ = dots 6,7; ⠊ = dots 2,4
    expect([p.xMin, p.xMax, p.yMin, p.yMax, p.drawn]).toEqual([0, 3, 0, 3, 4]);
  });

  it('puts a constant series mid-height across the whole width', () => {
    const p = plotLine([0, 10], [5, 5], { width: 3, height: 2 });
    // y range widened to [4.5, 5.5]; y=5 → dot row round(0.5 × 7) = 4: top dot row of the second cell row.
    expect(p.lines).toEqual(['   ', '\u2809\u2809\u2809']);
  });

  it('marks each data point at its scaled position and joins neighbours without holes', () => {
    const xs = Array.from({ length: 37 }, (_, i) => i * 25);
    const ys = xs.map((x) => Math.sin(x / 90) * 3 + x / 400);
    const W = 30;
    const H = 6;
    const p = plotLine(xs, ys, { width: W, height: H });
    const set = dots(p.lines);
    const lo = Math.min(...ys);
    const hi = Math.max(...ys);
    const pts = xs.map((x, i) => [Math.round((x / xs.at(-1)!) * (2 * W - 1)), Math.round(((hi - ys[i]!) / (hi - lo)) * (4 * H - 1))] as const);
    for (const [x, y] of pts) expect(set.has(`${x},${y}`), `point ${x},${y}`).toBe(true);
    // Every dot lies within the bounding box of the segment it belongs to, and consecutive
    // points are 8-connected through set dots (a walk along the segment never jumps).
    for (let i = 1; i < pts.length; i++) {
      const [x0, y0] = pts[i - 1]!;
      const [x1, y1] = pts[i]!;
      const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0));
      for (let k = 0; k <= steps; k++) {
        const x = Math.round(x0 + ((x1 - x0) * k) / (steps || 1));
        const y = Math.round(y0 + ((y1 - y0) * k) / (steps || 1));
        const near = [-1, 0, 1].some((dx) => [-1, 0, 1].some((dy) => set.has(`${x + dx},${y + dy}`)));
        expect(near, `segment ${i} at ${x},${y}`).toBe(true);
      }
    }
    for (const d of set) {
      const [x, y] = d.split(',').map(Number) as [number, number];
      const ok = pts.some((_, i) => i > 0 && x >= Math.min(pts[i - 1]![0], pts[i]![0]) && x <= Math.max(pts[i - 1]![0], pts[i]![0]) && y >= Math.min(pts[i - 1]![1], pts[i]![1]) && y <= Math.max(pts[i - 1]![1], pts[i]![1]));
      expect(ok, `stray dot ${d}`).toBe(true);
    }
  });

  it('puts an all-zero series on the bottom row of a [0, 1] axis', () => {
    const p = plotLine([0, 1, 2, 3], [0, 0, 0, 0], { width: 2, height: 2 });
    expect(p.lines).toEqual(['  ', '\u28c0\u28c0']); // ⣀ = dots 7 and 8: the bottom dot row
    expect([p.yMin, p.yMax]).toEqual([0, 1]);
  });

  it('leaves gaps at non-finite values and reports the drawn range', () => {
    const p = plotLine([0, 1, 2, 3], [1, NaN, Infinity, 1.5], { width: 2, height: 1 });
    expect(p.drawn).toBe(2);
    // (0, y=1 → bottom dot row 3) and (3, y=1.5 → top row 0), not joined.
    expect(dots(p.lines)).toEqual(new Set(['0,3', '3,0']));
    expect([p.yMin, p.yMax]).toEqual([1, 1.5]);
  });

  it('plots log10(y) on a log axis and leaves out y ≤ 0', () => {
    const p = plotLine([0, 1, 2, 3], [1, 10, 0, 100], { width: 2, height: 1, log: true });
    expect(p.drawn).toBe(3);
    expect(p.yMin).toBeCloseTo(1, 12);
    expect(p.yMax).toBeCloseTo(100, 12);
    // log10: 0 → row 3, 1 → row round(1.5) = 2, 2 → row 0; x=3 → dot 3.
    expect(dots(p.lines)).toEqual(new Set(['0,3', '1,2', '3,0']));
  });

  it('draws nothing (spaces) when there is no drawable point', () => {
    const p = plotLine([], [], { width: 4, height: 2 });
    expect(p.lines).toEqual(['    ', '    ']);
    expect(p.yMin).toBeUndefined();
  });

  it('keeps every spike of a series much longer than the plot is wide', () => {
    const ys = Array.from({ length: 1000 }, (_, i) => (i === 501 ? 10 : 0));
    const p = plotLine(Array.from({ length: 1000 }, (_, i) => i), ys, { width: 10, height: 2 });
    expect(dots(p.lines).has(`${Math.round((501 / 999) * 19)},0`)).toBe(true);
  });
});

describe('blockBars', () => {
  it('scales the largest count to the full height in eighth blocks', () => {
    expect(blockBars([0, 1, 2, 4, 8], 1)).toEqual([' ▁▂▄█']);
    // 16 → 16 eighths over two rows; 3 → 3 eighths in the bottom row; 8 fills the bottom row.
    expect(blockBars([0, 3, 8, 16], 2)).toEqual(['   █', ' ▃██']);
  });

  it('repeats each bar to the bar width and shows any non-zero count', () => {
    expect(blockBars([1, 2], 1, 2)).toEqual(['▄▄██']);
    expect(blockBars([1, 1000], 1)).toEqual(['▁█']);
    expect(blockBars([0, 0], 2)).toEqual(['  ', '  ']);
  });
});
