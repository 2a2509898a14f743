import { describe, expect, it } from 'vitest';
import { isSafeText, sanitizeText } from '../src/sanitize.js';

/** Code points that must never reach the terminal raw. */
function isUnsafe(cp: number): boolean {
  return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || [0x061c, 0x200e, 0x200f, 0x2028, 0x2029].includes(cp) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

describe('sanitizeText', () => {
  it('shows an erase-screen escape sequence as harmless visible text', () => {
    expect(sanitizeText('\x1b[2J')).toBe('␛[2J');
    expect(sanitizeText('a\x1b]0;title\x07b')).toBe('a␛]0;title␇b');
  });

  it('replaces every C0 control by its control picture, DEL by ␡', () => {
    for (let cp = 0; cp < 0x20; cp++) expect(sanitizeText(String.fromCharCode(cp))).toBe(String.fromCharCode(0x2400 + cp));
    expect(sanitizeText('\t\n\r')).toBe('␉␊␍');
    expect(sanitizeText('\x7f')).toBe('␡');
  });

  it('writes C1 controls (such as the one-byte CSI) and bidi controls as visible escapes', () => {
    expect(sanitizeText('\x9b2J')).toBe('\\x9b2J');
    expect(sanitizeText('\x85')).toBe('\\x85');
    expect(sanitizeText('ab\u202ecd')).toBe('ab\\u202ecd');
    expect(sanitizeText('\u2066x\u2069')).toBe('\\u2066x\\u2069');
    expect(sanitizeText('\u200f\u061c\u2028')).toBe('\\u200f\\u061c\\u2028');
  });

  it('leaves ordinary text, accents, CJK, emoji and GPT-2 style tokens unchanged', () => {
    for (const s of [' the', 'Ġcat', 'café', '東京', '🙂', 'naïve—“quoted”', '']) expect(sanitizeText(s)).toBe(s);
  });

  it('never lets an unsafe code point through, and changes nothing else (all of the BMP)', () => {
    const wrong: string[] = [];
    for (let cp = 0; cp < 0x10000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates are not text
      const ch = String.fromCharCode(cp);
      const out = sanitizeText(ch);
      const ok = isUnsafe(cp)
        ? out !== ch && [...out].every((c) => !isUnsafe(c.codePointAt(0)!)) && !isSafeText(ch)
        : out === ch && isSafeText(ch);
      if (!ok) wrong.push(`U+${cp.toString(16)} → ${JSON.stringify(out)}`);
    }
    expect(wrong).toEqual([]);
  });
});
