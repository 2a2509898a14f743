/**
 * Terminal plots as plain strings, so they are easy to test and fit any width:
 * braille line charts (each character cell holds 2×4 dots) and block-character bar charts.
 */

export interface PlotOptions {
  /** Plot area in character cells (axis labels are not included). */
  width: number;
  height: number;
  /** Logarithmic y axis; points with y ≤ 0 are then left out. */
  log?: boolean;
}

export interface Plot {
  /** `height` strings of `width` characters (braille, or a space for an empty cell), top row first. */
  lines: string[];
  /** Data range shown (in data units, also for a log axis); undefined when nothing was drawable. */
  yMin: number | undefined;
  yMax: number | undefined;
  xMin: number | undefined;
  xMax: number | undefined;
  log: boolean;
  /** Points drawn (finite, and positive on a log axis). */
  drawn: number;
}

// Bit of each dot in a braille cell, indexed [row][col] (Unicode braille patterns, U+2800).
const DOT_BITS = [
  [0x01, 0x08],
  [0x02, 0x10],
  [0x04, 0x20],
  [0x40, 0x80],
] as const;
const BRAILLE_BASE = 0x2800;

/** Sets dot (px, py) — px from the left, py from the top, in dots — in a cell grid. */
function setDot(cells: Uint8Array, width: number, px: number, py: number): void {
  const cell = Math.floor(py / 4) * width + Math.floor(px / 2);
  cells[cell] = cells[cell]! | DOT_BITS[py % 4]![px % 2]!;
}

/** Bresenham's line between two dots, endpoints included. */
function drawLine(cells: Uint8Array, width: number, x0: number, y0: number, x1: number, y1: number): void {
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1;
  const sy = y0 < y1 ? 1 : -1;
  let err = dx + dy;
  for (;;) {
    setDot(cells, width, x0, y0);
    if (x0 === x1 && y0 === y1) return;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

/**
 * The [min, max] of the finite values. A flat series is widened so it sits mid-height, except
 * a series of zeros (no dead latents yet, say), which sits on the bottom of [0, 1].
 */
function range(values: number[]): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return undefined;
  if (lo === hi) {
    if (lo === 0) return [0, 1];
    const pad = Math.abs(lo) * 0.1;
    return [lo - pad, hi + pad];
  }
  return [lo, hi];
}

/**
 * Plots y over x as a braille line chart. Consecutive drawable points are joined by straight
 * lines; a non-finite y (or y ≤ 0 on a log axis) leaves a gap. Many points per column draw the
 * column's whole min–max span, so no spike is lost when the series is longer than the width.
 */
export function plotLine(xs: ArrayLike<number>, ys: ArrayLike<number>, opts: PlotOptions): Plot {
  const width = Math.max(1, Math.floor(opts.width));
  const height = Math.max(1, Math.floor(opts.height));
  const log = opts.log === true;
  const n = Math.min(xs.length, ys.length);
  const ok: boolean[] = new Array<boolean>(n);
  const px: number[] = [];
  const py: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    ok[i] = Number.isFinite(x) && Number.isFinite(y) && (!log || y > 0);
    if (ok[i]) {
      px.push(x);
      py.push(log ? Math.log10(y) : y);
    }
  }
  const cells = new Uint8Array(width * height);
  const yr = range(py);
  if (yr === undefined) {
    return { lines: Array.from({ length: height }, () => ' '.repeat(width)), yMin: undefined, yMax: undefined, xMin: undefined, xMax: undefined, log, drawn: 0 };
  }
  let xMin = Infinity;
  let xMax = -Infinity;
  for (const x of px) {
    if (x < xMin) xMin = x;
    if (x > xMax) xMax = x;
  }
  const dotsX = width * 2 - 1;
  const dotsY = height * 4 - 1;
  const xSpan = xMax - xMin || 1; // one x value: its points sit at the left edge
  let prev: [number, number] | undefined;
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (!ok[i]) {
      prev = undefined;
      continue;
    }
    const dx = Math.round(((px[k]! - xMin) / xSpan) * dotsX);
    const dy = Math.round(((yr[1] - py[k]!) / (yr[1] - yr[0])) * dotsY);
    k++;
    const cx = Math.min(dotsX, Math.max(0, dx));
    const cy = Math.min(dotsY, Math.max(0, dy));
    if (prev) drawLine(cells, width, prev[0], prev[1], cx, cy);
    else setDot(cells, width, cx, cy);
    prev = [cx, cy];
  }
  const lines: string[] = [];
  for (let r = 0; r < height; r++) {
    let s = '';
    for (let c = 0; c < width; c++) {
      const bits = cells[r * width + c]!;
      s += bits === 0 ? ' ' : String.fromCharCode(BRAILLE_BASE + bits); // empty cells as spaces
    }
    lines.push(s);
  }
  const un = (v: number): number => (log ? 10 ** v : v);
  return { lines, yMin: un(yr[0]), yMax: un(yr[1]), xMin, xMax, log, drawn: k };
}

const BLOCKS = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * Vertical bars, one per count, scaled so the largest fills `height` rows (eighth-block
 * resolution). Each bar is `barWidth` columns wide. Returns `height` strings, top row first.
 */
export function blockBars(counts: ArrayLike<number>, height: number, barWidth = 1): string[] {
  const h = Math.max(1, Math.floor(height));
  let max = 0;
  for (let i = 0; i < counts.length; i++) max = Math.max(max, counts[i]!);
  const lines: string[] = [];
  for (let r = 0; r < h; r++) {
    let s = '';
    const rowFromBottom = h - 1 - r;
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i]!;
      // In eighths; a non-zero count always shows at least one eighth.
      const eighths = max > 0 && c > 0 ? Math.max(1, Math.round((c / max) * h * 8)) : 0;
      const here = Math.min(8, Math.max(0, eighths - rowFromBottom * 8));
      s += BLOCKS[here]!.repeat(barWidth);
    }
    lines.push(s);
  }
  return lines;
}
