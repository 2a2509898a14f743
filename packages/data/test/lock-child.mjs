/**
 * Child process for lock.test.ts: `node lock-child.mjs DIR MODE` takes the lock of DIR as
 * "test writer <pid>" from the built package (dist/). MODE hold: prints "locked" and waits
 * until stdin closes (then exits without calling release(): the exit hook must clean up);
 * MODE try: prints "locked" or the error's message and exit code, then exits.
 */
const { acquireLock, isVsaeError } = await import('../dist/index.js');
const [dir, mode] = process.argv.slice(2);
try {
  acquireLock(dir, `test writer ${process.pid}`);
  process.stdout.write('locked\n');
} catch (e) {
  process.stdout.write(`${isVsaeError(e) ? `VsaeError ${e.exitCode}` : 'other'}: ${e.message}\n`);
  process.exit(3);
}
if (mode === 'hold') {
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}
