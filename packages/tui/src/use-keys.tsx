import type { Key } from 'ink';
import { useInput } from 'ink';
import type { ReactNode } from 'react';
import { createContext, useContext, useRef } from 'react';

export type KeyHandler = (input: string, key: Key) => void;

type HandlerRef = { current: KeyHandler | undefined };

const KeysContext = createContext<HandlerRef | undefined>(undefined);

const NO_KEY: Key = {
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
  return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
  super: false, hyper: false, capsLock: false, numLock: false,
};

/** What Ink would have reported for `ch` typed on its own. */
function keyFor(ch: string): Key {
  return {
    ...NO_KEY,
    return: ch === '\r' || ch === '\n',
    tab: ch === '\t',
    backspace: ch === '\x7f' || ch === '\b',
    shift: /^[A-Z]$/.test(ch),
  };
}

/**
 * Ink hands over a run of plain characters that arrived together (fast typing, a paste, tmux
 * send-keys) as one input; the dashboard's keys are single characters, so split such a run.
 */
function splitKeys(input: string, key: Key): Array<[string, Key]> {
  const chars = [...input];
  if (chars.length <= 1 || key.ctrl || key.meta) return [[input, key]];
  return chars.map((ch) => [ch, keyFor(ch)]);
}

/**
 * Routes every key press to the handler of the view rendered last, one key per render.
 *
 * Ink's useInput subscribes in a passive effect, which React may run a good while after a
 * render, so a key pressed in between would reach the previous view. The router subscribes
 * once; each view hands over its handler during render. Keys that arrive together are queued
 * and handled one at a time, each after the render caused by the one before (React flushes
 * that render before the next setImmediate), so `f` then `n` opens the feature browser and
 * then moves to the next latent there.
 */
export function KeyRouter({ children }: { children: ReactNode }) {
  const ref = useRef<KeyHandler | undefined>(undefined);
  const queue = useRef<Array<[string, Key]>>([]);
  const pump = (): void => {
    const next = queue.current.shift();
    if (!next) return;
    if (queue.current.length > 0) setImmediate(pump);
    ref.current?.(next[0], next[1]);
  };
  useInput((input, key) => {
    const idle = queue.current.length === 0;
    queue.current.push(...splitKeys(input, key));
    if (idle) pump();
  });
  return <KeysContext.Provider value={ref}>{children}</KeysContext.Provider>;
}

/** Handles key presses for the calling view (through the router when there is one). */
export function useKeys(handler: KeyHandler): void {
  const ref = useContext(KeysContext);
  if (ref) ref.current = handler;
  useInput(handler, { isActive: ref === undefined });
}
