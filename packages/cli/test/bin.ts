/** Runs the real, built `vsae` bin for the end-to-end tests of this package. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const bin = fileURLToPath(new URL('../bin/vsae.js', import.meta.url));

export interface Run {
  status: number | null;
  /** stdout as bytes (Arrow streams) … */
  stdout: Buffer;
  /** … and as text. */
  out: string;
  stderr: string;
}

/**
 * A runner of `vsae [...before, ...args]` in `cwd`, with VSAE_BACKEND from the environment (auto
 * when unset) unless `env` says otherwise.
 */
export function binRunner(cwd: string, o: { before?: string[]; env?: NodeJS.ProcessEnv } = {}): (args: string[], opts?: { input?: Buffer | string }) => Run {
  const env = { ...process.env, VSAE_BACKEND: process.env.VSAE_BACKEND ?? 'auto', ...o.env };
  return (args, opts = {}) => {
    const r = spawnSync(process.execPath, [bin, ...(o.before ?? []), ...args], { cwd, env, input: opts.input, maxBuffer: 1 << 28 });
    return { status: r.status, stdout: r.stdout, out: r.stdout.toString(), stderr: r.stderr.toString() };
  };
}

/** A one-line message for people: exit `code`, the command's prefix, the pattern, no stack trace. */
export function expectOneLineError(r: Run, code: number, command: string, pattern: RegExp): void {
  expect(r.status, r.stderr).toBe(code);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines.length, r.stderr).toBe(1);
  expect(lines[0]).toMatch(new RegExp(`^vsae ${command}: `));
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}
