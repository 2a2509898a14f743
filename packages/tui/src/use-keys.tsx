import type { Key } from 'ink';
import { useInput } from 'ink';
import type { ReactNode } from 'react';
import { createContext, useContext, useRef } from 'react';

export type KeyHandler = (input: string, key: Key) => void;

type HandlerRef = { current: KeyHandler | undefined };

const KeysContext = createContext<HandlerRef | undefined>(undefined);

/**
 * Routes every key press to the handler of the view rendered last. Ink's useInput subscribes in
 * a passive effect, which React may run a good while after a render: a key pressed in between
 * would reach the previous view (or see its old state). The router subscribes once, and each
 * view hands over its handler during render, so a key always meets the screen the user sees.
 */
export function KeyRouter({ children }: { children: ReactNode }) {
  const ref = useRef<KeyHandler | undefined>(undefined);
  useInput((input, key) => ref.current?.(input, key));
  return <KeysContext.Provider value={ref}>{children}</KeysContext.Provider>;
}

/** Handles key presses for the calling view (through the router when there is one). */
export function useKeys(handler: KeyHandler): void {
  const ref = useContext(KeysContext);
  if (ref) ref.current = handler;
  useInput(handler, { isActive: ref === undefined });
}
