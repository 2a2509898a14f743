import { Box, useApp } from 'ink';
import { useCallback, useEffect, useRef, useSyncExternalStore } from 'react';
import { CompareView } from './CompareView.js';
import { FeatureBrowser } from './FeatureBrowser.js';
import type { RunEntry } from './model.js';
import type { ListState } from './RunList.js';
import { INITIAL_LIST_STATE, RunList } from './RunList.js';
import type { RunsStore } from './runs-store.js';
import { RunView } from './RunView.js';
import { useAnalysis } from './use-analysis.js';
import { KeyRouter } from './use-keys.js';
import { useSyncedState } from './use-synced-state.js';
import { useTerminalSize } from './use-terminal-size.js';

type View =
  | { kind: 'list' }
  | { kind: 'run'; dir: string }
  | { kind: 'features'; dir: string; latent: number; from: 'list' | 'run' }
  | { kind: 'compare'; a: string; b: string };

export interface AppProps {
  store: RunsStore;
  /** Called when the user quits, just before Ink exits. */
  onQuit?: () => void;
}

/**
 * The dashboard: a run list, a run's live charts, a feature browser and a side-by-side compare
 * view, sized to the terminal (one line is left free so Ink redraws in place instead of
 * clearing the screen on every frame).
 */
export function App({ store, onQuit }: AppProps) {
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize();
  const snap = useSyncExternalStore(store.subscribe, store.snapshot);
  // Synced state: a key handled before the next render already sees the new view.
  const [view, updateView] = useSyncedState<View>({ kind: 'list' });
  const setView = (v: View): void => updateView(() => v);
  const [listState, updateList, getList] = useSyncedState<ListState>(INITIAL_LIST_STATE);
  // The feature browser reopens on the latent last viewed in that run.
  const lastLatent = useRef(new Map<string, number>());
  const openFeatures = (dir: string, from: 'list' | 'run'): void => setView({ kind: 'features', dir, latent: lastLatent.current.get(dir) ?? 0, from });
  const quit = useCallback(() => {
    onQuit?.();
    exit();
  }, [exit, onQuit]);

  const width = Math.max(20, columns);
  const height = Math.max(6, rows - 1);
  const find = (dir: string): RunEntry | undefined => snap.runs.find((r) => r.dir === dir);
  const featureDir = view.kind === 'features' ? view.dir : undefined;
  const analysis = useAnalysis(store, featureDir);

  // A run that disappears (deleted directory) sends the view back to the list.
  const missing =
    (view.kind === 'run' || view.kind === 'features') ? !find(view.dir)
    : view.kind === 'compare' ? !find(view.a) || !find(view.b)
    : false;
  useEffect(() => {
    if (missing) setView({ kind: 'list' });
  }, [missing]);

  let body;
  if (view.kind === 'run' && find(view.dir)) {
    const run = find(view.dir)!;
    body = (
      <RunView
        run={run}
        metrics={store.metrics(run.dir)}
        width={width}
        height={height}
        onBack={() => setView({ kind: 'list' })}
        onFeatures={() => openFeatures(run.dir, 'run')}
        onQuit={quit}
      />
    );
  } else if (view.kind === 'features' && find(view.dir)) {
    const run = find(view.dir)!;
    body = (
      <FeatureBrowser
        run={run}
        features={analysis.features}
        examples={analysis.examples}
        problem={analysis.problem}
        width={width}
        height={height}
        latent={view.latent}
        onLatent={(update) =>
          updateView((v) => {
            if (v.kind !== 'features') return v;
            const latent = update(v.latent);
            lastLatent.current.set(v.dir, latent);
            return { ...v, latent };
          })
        }
        onBack={() => setView(view.from === 'run' ? { kind: 'run', dir: view.dir } : { kind: 'list' })}
        onQuit={quit}
      />
    );
  } else if (view.kind === 'compare' && find(view.a) && find(view.b)) {
    const a = find(view.a)!;
    const b = find(view.b)!;
    body = (
      <CompareView
        a={{ run: a, metrics: store.metrics(a.dir) }}
        b={{ run: b, metrics: store.metrics(b.dir) }}
        width={width}
        height={height}
        onBack={() => setView({ kind: 'list' })}
        onQuit={quit}
      />
    );
  } else {
    body = (
      <RunList
        runs={snap.runs}
        state={listState}
        onState={updateList}
        getState={getList}
        title={snap.title}
        message={snap.message}
        frontier={snap.frontier}
        width={width}
        height={height}
        onOpen={(r) => setView({ kind: 'run', dir: r.dir })}
        onFeatures={(r) => openFeatures(r.dir, 'list')}
        onCompare={(a, b) => setView({ kind: 'compare', a: a.dir, b: b.dir })}
        onQuit={quit}
      />
    );
  }
  return (
    <KeyRouter>
      <Box width={width} height={height} flexDirection="column">
        {body}
      </Box>
    </KeyRouter>
  );
}
