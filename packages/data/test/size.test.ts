import { describe, expect, it } from 'vitest';
import { parseSize, UsageError } from '../src/index.js';

describe('parseSize', () => {
  it('reads units as powers of 1024 and a bare number as MiB', () => {
    const cases: Array<[string, number]> = [
      ['512M', 512 * 2 ** 20], ['2G', 2 * 2 ** 30], ['1.5GiB', 1.5 * 2 ** 30], ['64k', 64 * 1024], ['64KB', 64 * 1024],
      ['1t', 2 ** 40], ['4096B', 4096], ['4096b', 4096], ['512', 512 * 2 ** 20], ['0.5', 2 ** 19], [' 256 MiB ', 256 * 2 ** 20], ['1024', 2 ** 30],
    ];
    for (const [raw, bytes] of cases) expect(parseSize('max-memory', raw), raw).toBe(bytes);
  });

  it('refuses what is not a positive size, naming the flag', () => {
    for (const raw of ['', 'lots', '-1G', '0', '0M', '12X', 'M', '1.2.3G', '2GG', '1e400']) {
      expect(() => parseSize('max-memory', raw), raw).toThrow(UsageError);
      expect(() => parseSize('max-memory', raw), raw).toThrow(/^--max-memory (takes a size such as 512M|must be a positive size)/);
    }
  });
});
