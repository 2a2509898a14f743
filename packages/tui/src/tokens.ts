/** Helpers for drawing a top example's context: shading by activation and a window that fits. */

/**
 * Background colour for a token whose activation is `t` of the latent's largest (0..1):
 * none for zero or less, then a ramp from dark to bright orange. Foreground switches to black
 * on bright backgrounds so the token stays readable.
 */
export function shadeColor(t: number): { bg: string; fg: string } | undefined {
  if (!(t > 0)) return undefined;
  const s = Math.min(1, t);
  const lerp = (a: number, b: number): number => Math.round(a + (b - a) * s);
  const hex = (v: number): string => v.toString(16).padStart(2, '0');
  return { bg: `#${hex(lerp(60, 255))}${hex(lerp(30, 150))}${hex(lerp(0, 20))}`, fg: s > 0.55 ? 'black' : 'white' };
}

/** Display width of a (sanitized) token, counting code points. */
export const tokenWidth = (t: string): number => [...t].length;

/**
 * The range [start, end) of tokens to draw within `width` columns, keeping the token at
 * `center` visible and as many tokens before it as after it where possible.
 */
export function contextWindow(tokens: readonly string[], center: number, width: number): [number, number] {
  const n = tokens.length;
  if (n === 0) return [0, 0];
  const c = Math.max(0, Math.min(n - 1, center));
  let start = c;
  let end = c + 1;
  let used = tokenWidth(tokens[c]!);
  let grew = true;
  while (grew) {
    grew = false;
    if (end < n && used + tokenWidth(tokens[end]!) <= width) {
      used += tokenWidth(tokens[end]!);
      end++;
      grew = true;
    }
    if (start > 0 && used + tokenWidth(tokens[start - 1]!) <= width) {
      start--;
      used += tokenWidth(tokens[start]!);
      grew = true;
    }
  }
  return [start, end];
}
