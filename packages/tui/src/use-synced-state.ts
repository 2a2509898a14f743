import { useCallback, useRef, useState } from 'react';

/**
 * State whose latest value key handlers can read at once. Keys can arrive faster than Ink
 * redraws (a paste, key repeat, tmux send-keys): a handler that read the value of its last
 * render would act twice on the same state and lose a key. `update` applies the change to a
 * ref immediately and schedules the render; `get` reads the ref.
 */
export function useSyncedState<T>(initial: T | (() => T)): [value: T, update: (f: (prev: T) => T) => void, get: () => T] {
  const [value, setValue] = useState(initial);
  const ref = useRef(value);
  const update = useCallback((f: (prev: T) => T) => {
    ref.current = f(ref.current);
    setValue(ref.current);
  }, []);
  const get = useCallback(() => ref.current, []);
  return [value, update, get];
}
