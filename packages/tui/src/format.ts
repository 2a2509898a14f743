/** Number formatting for narrow terminal cells. Missing or non-finite values show as `–`. */

export const MISSING = '–';

/** About four significant digits, switching to exponent form for very large or small values. */
export function formatValue(x: number | undefined | null): string {
  if (x === undefined || x === null || Number.isNaN(x)) return MISSING;
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(2).replace('e+', 'e');
  if (Number.isInteger(x)) return String(x);
  return trimZeros(x.toPrecision(4));
}

function trimZeros(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s;
}

/** A fraction as a percentage with one decimal: 0.1234 → "12.3%". */
export function formatPercent(frac: number | undefined | null): string {
  if (frac === undefined || frac === null || !Number.isFinite(frac)) return MISSING;
  return `${(frac * 100).toFixed(1)}%`;
}

/** A count with thousands separators: 12000 → "12,000". */
export function formatCount(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return MISSING;
  return Math.round(n).toLocaleString('en-US');
}

/** "done/total" steps, or just "done" when the total is unknown. */
export function formatSteps(done: number | undefined, total: number | undefined): string {
  if (done === undefined && total === undefined) return MISSING;
  if (total === undefined) return formatCount(done);
  return `${done === undefined ? MISSING : formatCount(done)}/${formatCount(total)}`;
}

/** Pads or cuts `text` to exactly `width` columns (cut text ends with `…`). ASCII-width aware only for BMP text. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length > width) return width === 1 ? '…' : chars.slice(0, width - 1).join('') + '…';
  const pad = ' '.repeat(width - chars.length);
  return align === 'left' ? text + pad : pad + text;
}
