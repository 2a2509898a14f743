/**
 * Sizes on the command line (`--max-memory`): one reading for every command. A number with a
 * unit — `512M`, `2G`, `1.5GiB`, `64k`, `4096B` (K, M, G, T are powers of 1024; the `i` and the
 * `B` are optional) — or a bare number, which means MiB (`--max-memory 512` is 512 MiB).
 */
import { UsageError } from './errors.js';

const UNITS = { b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 } as const;

/** `raw` as a whole number of bytes; a UsageError naming `--flag` when it is not a positive size. */
export function parseSize(flag: string, raw: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*(?:([kmgt])(?:i?b)?|(b))?\s*$/i.exec(raw);
  if (!m) throw new UsageError(`--${flag} takes a size such as 512M, 2G or 1.5GiB (a bare number is MiB), not "${raw}"`);
  const unit = m[2] ? UNITS[m[2].toLowerCase() as 'k' | 'm' | 'g' | 't'] : m[3] ? UNITS.b : UNITS.m;
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!(bytes > 0) || !Number.isSafeInteger(bytes)) throw new UsageError(`--${flag} must be a positive size such as 512M or 2G (got "${raw}")`);
  return bytes;
}
