/**
 * Text that came from a file (run names, config fields, decoded tokens) is untrusted: an
 * escape sequence in a token such as `\x1b[2J` would clear the user's screen, a bidi override
 * would reorder what they read. Every such string goes through `sanitizeText` before it reaches
 * the terminal; the dangerous characters are replaced by visible stand-ins, not dropped, so the
 * researcher still sees that the token held them.
 */

// C0 controls (U+0000–U+001F) have Unicode "control pictures" at U+2400 + code: ESC → ␛.
const C0_PICTURE_BASE = 0x2400;
const DEL_PICTURE = '\u2421'; // ␡

/** Code points that reorder or hide text (bidi embeddings/overrides/isolates, marks) or break lines. */
const INVISIBLE = new Set([
  0x061c, // ARABIC LETTER MARK
  0x200e, 0x200f, // LRM, RLM
  0x2028, 0x2029, // LINE / PARAGRAPH SEPARATOR
  0x202a, 0x202b, 0x202c, 0x202d, 0x202e, // LRE RLE PDF LRO RLO
  0x2066, 0x2067, 0x2068, 0x2069, // LRI RLI FSI PDI
]);

// One pass over every code point that needs replacing: C0, DEL, C1, and the set above.
const UNSAFE_CLASS = '[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]';
const UNSAFE_ALL = new RegExp(UNSAFE_CLASS, 'g');
const UNSAFE_ANY = new RegExp(UNSAFE_CLASS);

function hex(cp: number, digits: number): string {
  return cp.toString(16).padStart(digits, '0');
}

function standIn(ch: string): string {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x20) return String.fromCodePoint(C0_PICTURE_BASE + cp);
  if (cp === 0x7f) return DEL_PICTURE;
  if (cp <= 0x9f) return `\\x${hex(cp, 2)}`; // C1 (0x9b is a one-byte CSI in some terminals)
  if (INVISIBLE.has(cp)) return `\\u${hex(cp, 4)}`;
  return ch;
}

/** Replaces control characters, escape-sequence introducers and bidi controls by visible text. */
export function sanitizeText(text: string): string {
  return text.replace(UNSAFE_ALL, standIn);
}

/** True when `text` holds nothing that `sanitizeText` would replace. */
export function isSafeText(text: string): boolean {
  return !UNSAFE_ANY.test(text);
}

/** Sanitizes any value for display: strings as above, numbers and others via String(). */
export function safeString(value: unknown): string {
  if (value === undefined || value === null) return '';
  return sanitizeText(typeof value === 'string' ? value : String(value));
}
