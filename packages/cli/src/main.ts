import { isVsaeError, UsageError } from '@vsae/data';
import { closest, formatHelp, parseArgs } from './args.js';
import { COMMANDS, loadCommand } from './commands/index.js';

/**
 * Frees the GPU when a command used the webgpu backend (a live WebGPU device keeps Node from
 * exiting). Only loads @vsae/compute when a command already did.
 */
async function releaseBackend(): Promise<void> {
  if (!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) return;
  const { releaseBackend: release } = await import('@vsae/compute');
  release();
}

const VERSION = '0.1.0';

function topHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    `vsae ${VERSION} — sparse and variational sparse autoencoders on neural-network activations`,
    '',
    'Usage: vsae <command> [options]      (vsae <command> --help for its options)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}${c.summary}`),
    '',
    'Pipeline: vsae toy | vsae extract  →  activations (.arrow)  →  vsae train  →  run dir  →  vsae analyze  →  vsae report / vsae dash',
    'Data goes to stdout only as Arrow; progress and messages go to stderr.',
    '',
  ].join('\n');
}

/** Prints a one-line error for people; exit code 2 for usage, 1 otherwise. Bugs keep their stack. */
export function reportError(command: string | undefined, e: unknown): number {
  const where = command ? `vsae ${command}` : 'vsae';
  if (isVsaeError(e)) {
    process.stderr.write(`${where}: ${e.message}\n`);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EISDIR' || err.code === 'ENOTDIR' || err.code === 'ENOSPC') && err.path) {
    const what = { ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory, expected a file', ENOTDIR: 'a part of the path is not a directory', ENOSPC: 'no space left on the device' }[err.code];
    // A temporary name (`.toy.arrow.tmp-123-ab12cd`) means nothing to the user: name their file.
    const shown = err.path.replace(/(^|[\\/])\.([^\\/]+)\.tmp-\d+-[a-z0-9]+$/, '$1$2');
    process.stderr.write(`${where}: ${shown}: ${what}\n`);
    return 1;
  }
  if (err && err.code === 'EPIPE') return 0;
  process.stderr.write(`${where}: internal error (please report it): ${err?.stack ?? String(e)}\n`);
  return 1;
}

/** Runs `vsae` with the given arguments (without node and the script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  // A closed pipe on stdout (`vsae toy -o - | head`) is a normal way to stop.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') void releaseBackend().then(() => process.exit(process.exitCode ?? 0));
  });
  let [name, ...rest] = argv;
  // `vsae help train` is `vsae train --help`.
  if (name === 'help' && rest.length > 0) [name, rest] = [rest[0], ['--help']];
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    const near = closest(name, COMMANDS.map((c) => c.name));
    process.stderr.write(`vsae: unknown command "${name}"${near ? `; did you mean "vsae ${near}"?` : ''} (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
    return 2;
  }
  try {
    const spec = await loadCommand(entry.name);
    const args = parseArgs(spec, rest);
    if (args.values.help) {
      process.stdout.write(formatHelp(spec));
      return 0;
    }
    const code = await spec.run(args);
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    return reportError(name, e);
  } finally {
    await releaseBackend();
  }
}

export { UsageError };
