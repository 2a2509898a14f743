/**
 * Errors meant for people. The CLI prints `message` as one line and exits with `exitCode`
 * (1 for bad input or a failed run, 2 for a usage mistake); anything else is a bug and
 * gets a stack trace.
 */
export class VsaeError extends Error {
  readonly exitCode: 1 | 2;
  constructor(message: string, options?: { cause?: unknown; exitCode?: 1 | 2 }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VsaeError';
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** A mistake in how a command was called (unknown flag, bad value): exit code 2. */
export class UsageError extends VsaeError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
    this.name = 'UsageError';
  }
}

/** Bad or unreadable input: names the file, says what is wrong and how to fix it. Exit code 1. */
export class InputError extends VsaeError {
  readonly path: string | undefined;
  constructor(path: string | undefined, message: string, options?: { cause?: unknown }) {
    super(path === undefined ? message : `${path === '-' ? 'stdin' : path}: ${message}`, options);
    this.name = 'InputError';
    this.path = path;
  }
}

export function isVsaeError(e: unknown): e is VsaeError {
  return e instanceof VsaeError;
}
