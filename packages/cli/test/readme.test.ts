/**
 * What README.md says about `vsae train`'s flags is what the code does: every default it
 * states (`--steps 10000`, "`--l1-coeff` (default 0.2)") equals the option's default (or the
 * coefficient default of @vsae/sae), and every choice list it writes (`--reduction mean|sum`)
 * is the option's choices. Examples (fenced code) are not statements of defaults.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_COEFF, TRAIN_DEFAULTS } from '@vsae/sae';
import { describe, expect, it } from 'vitest';
import { command } from '../src/commands/train.js';

const README = path.resolve(import.meta.dirname, '../../../README.md');

/** Defaults that live outside the option specs (they depend on the architecture). */
const COEFF_DEFAULTS: Record<string, number> = { 'l1-coeff': DEFAULT_COEFF.sae!, 'kl-coeff': DEFAULT_COEFF['vsae-iso']! };

/** The paragraph of README's `vsae train` section that lists the flags (it starts with `--arch`). */
function trainProse(text: string): string {
  const start = text.indexOf('### `vsae train`');
  expect(start, 'README has a "### `vsae train`" section').toBeGreaterThan(0);
  const end = text.indexOf('\n### ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end).replace(/```[\s\S]*?```/g, '');
  const para = section.split(/\n\s*\n/).find((p) => p.trimStart().startsWith('`--arch '));
  expect(para, 'the `vsae train` section has a paragraph listing the flags, starting with `--arch`').toBeDefined();
  return para!;
}

interface Claim {
  flag: string;
  kind: 'default' | 'choices';
  value: string;
}

/** `--flag VALUE` inside code spans, and "`--flag` (default VALUE" after one. */
export function claims(prose: string): Claim[] {
  const out: Claim[] = [];
  for (const m of prose.matchAll(/`([^`]+)`(\s*\(default\s+([^,;)\s]+))?/g)) {
    const span = m[1]!;
    const tokens = span.split(/\s+/);
    tokens.forEach((t, i) => {
      if (!/^--[a-z][a-z0-9-]*$/.test(t)) return;
      const next = tokens[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        if (next.includes('|')) out.push({ flag: t.slice(2), kind: 'choices', value: next });
        else if (!/^[A-Z]+$/.test(next)) out.push({ flag: t.slice(2), kind: 'default', value: next });
      } else if (i === tokens.length - 1 && m[3] !== undefined) {
        out.push({ flag: t.slice(2), kind: 'default', value: m[3] });
      }
    });
  }
  // "`--a` / `--b` (default X)": X is said of both.
  for (const m of prose.matchAll(/((?:`--[a-z0-9-]+`\s*\/\s*)+)`--[a-z0-9-]+`\s*\(default\s+([^,;)\s]+)/g)) {
    for (const f of m[1]!.matchAll(/`--([a-z0-9-]+)`/g)) out.push({ flag: f[1]!, kind: 'default', value: m[2]! });
  }
  return out;
}

describe('README.md on vsae train', () => {
  const prose = trainProse(fs.readFileSync(README, 'utf8'));
  const found = claims(prose);

  it('finds the stated defaults (the parser reads what the README writes)', () => {
    expect(claims('`--a 3 --b x|y`, `--c` (default 0.5), `--d N`, `--e`, `--f` / `--g` (default 7)')).toEqual([
      { flag: 'a', kind: 'default', value: '3' },
      { flag: 'b', kind: 'choices', value: 'x|y' },
      { flag: 'c', kind: 'default', value: '0.5' },
      { flag: 'g', kind: 'default', value: '7' },
      { flag: 'f', kind: 'default', value: '7' },
    ]);
    const flags = found.filter((c) => c.kind === 'default').map((c) => c.flag);
    for (const f of ['steps', 'batch-size', 'lr', 'dict-mult', 'seed', 'l1-coeff', 'kl-coeff', 'resample-every', 'dead-window']) expect(flags).toContain(f);
  });

  it('every default it states is the code\'s', () => {
    const wrong: string[] = [];
    for (const c of found.filter((x) => x.kind === 'default')) {
      const o = command.options[c.flag];
      expect(o, `README names --${c.flag}, which vsae train does not have`).toBeDefined();
      const code = o!.default ?? COEFF_DEFAULTS[c.flag];
      expect(code, `README states a default for --${c.flag}, which has none in the code`).toBeDefined();
      const same = typeof code === 'number' ? Number(c.value) === code : String(code) === c.value;
      if (!same) wrong.push(`--${c.flag}: README says ${c.value}, the code ${String(code)}`);
    }
    expect(wrong).toEqual([]);
    // and the option specs agree with @vsae/sae (the help repeats them)
    expect(command.options.steps!.default).toBe(TRAIN_DEFAULTS.steps);
  });

  it('every choice list it writes is the option\'s', () => {
    for (const c of found.filter((x) => x.kind === 'choices')) {
      const o = command.options[c.flag];
      expect(o, `--${c.flag}`).toBeDefined();
      const choices = o!.choices ?? (o!.type === 'int' && o!.min !== undefined && o!.max !== undefined ? Array.from({ length: o!.max - o!.min + 1 }, (_, i) => String(o!.min! + i)) : undefined);
      expect([...(choices ?? [])].sort(), `--${c.flag}`).toEqual(c.value.split('|').sort());
    }
  });
});
