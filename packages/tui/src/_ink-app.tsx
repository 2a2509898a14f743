import { render } from 'ink';
import { App } from './App.js';
import type { RunsStore } from './runs-store.js';

// Alternate screen buffer: the dashboard takes the whole window and leaves the shell's
// scrollback as it was when it quits.
const ENTER_ALT_SCREEN = '\x1b[?1049h\x1b[H';
const LEAVE_ALT_SCREEN = '\x1b[?1049l';

/** Runs the Ink app over `store` in the alternate screen until the user quits. */
export async function runInkApp(store: RunsStore, streams: { stdout: NodeJS.WriteStream; stdin: NodeJS.ReadStream; stderr: NodeJS.WriteStream }): Promise<void> {
  const { stdout } = streams;
  stdout.write(ENTER_ALT_SCREEN);
  const leave = (): void => {
    stdout.write(LEAVE_ALT_SCREEN);
  };
  // Leave the alternate screen even if the process ends some other way (signal-exit in Ink unmounts first).
  process.once('exit', leave);
  try {
    const app = render(<App store={store} />, { ...streams, exitOnCtrlC: true, patchConsole: true });
    store.start();
    await app.waitUntilExit();
  } finally {
    store.stop();
    process.off('exit', leave);
    leave();
  }
}
