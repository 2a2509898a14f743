import { Box, Text } from 'ink';
import { useMemo } from 'react';
import { fit } from './format.js';
import { sanitizeText } from './sanitize.js';
import type { KeyHelp } from './Footer.js';
import { Footer } from './Footer.js';
import { useKeys } from './use-keys.js';
import { useSyncedState } from './use-synced-state.js';
import type { RunEntry } from './model.js';
import { statusColor } from './RunHeader.js';
import type { SortState } from './run-table.js';
import { filterRuns, layoutColumns, RUN_COLUMNS, sortRuns } from './run-table.js';

/** What the list remembers while other views are open. */
export interface ListState {
  sort: SortState;
  filter: string;
  /** The selection follows the run (by dir), not the row, as rows reorder while runs update. */
  selectedDir: string | undefined;
  /** Up to two runs marked for comparison. */
  marked: string[];
}

export const INITIAL_LIST_STATE: ListState = { sort: { key: 'name', descending: false }, filter: '', selectedDir: undefined, marked: [] };

export interface RunListProps {
  runs: readonly RunEntry[];
  state: ListState;
  /** Changes the list state (applied at once, rendered soon after). */
  onState(update: (s: ListState) => ListState): void;
  /** The list state as of now (key handlers may run before the next render). */
  getState(): ListState;
  /** Directory shown in the title (sanitized by the caller). */
  title: string;
  width: number;
  height: number;
  onOpen(run: RunEntry): void;
  onFeatures(run: RunEntry): void;
  onCompare(a: RunEntry, b: RunEntry): void;
  onQuit(): void;
  /** A line about the runs directory itself (missing, unreadable), if any. */
  message?: string | undefined;
  /** A sweep directory's frontier table (sanitized lines), shown under the list. */
  frontier?: string[] | undefined;
}

/** The runs as listed: filtered, sorted, and the index of the selected one (0 if it is not shown). */
function listed(runs: readonly RunEntry[], s: ListState): { shown: RunEntry[]; cursor: number } {
  const shown = sortRuns(filterRuns(runs, s.filter), s.sort);
  const found = shown.findIndex((r) => r.dir === s.selectedDir);
  return { shown, cursor: found >= 0 ? found : 0 };
}

/** The list of runs: sortable by any column, filterable by text, two runs can be marked to compare. */
export function RunList({ runs, state, onState, getState, title, width, height, onOpen, onFeatures, onCompare, onQuit, message, frontier }: RunListProps) {
  const { sort, filter, marked } = state;
  const [typing, setTyping, isTyping] = useSyncedState(false);
  const { shown, cursor } = useMemo(() => listed(runs, state), [runs, state]);
  const current = shown[cursor];

  useKeys((input, key) => {
    const s = getState();
    const now = listed(runs, s);
    const cur = now.shown[now.cursor];
    const move = (delta: number): void => {
      const next = now.shown[Math.max(0, Math.min(now.shown.length - 1, now.cursor + delta))];
      if (next) onState((x) => ({ ...x, selectedDir: next.dir }));
    };
    if (isTyping()) {
      if (key.return || key.escape) setTyping(() => false);
      if (key.escape) onState((x) => ({ ...x, filter: '' }));
      else if (key.backspace || key.delete) onState((x) => ({ ...x, filter: x.filter.slice(0, -1) }));
      else if (!key.return && !key.ctrl && !key.meta && input && !key.upArrow && !key.downArrow) onState((x) => ({ ...x, filter: x.filter + input }));
      return;
    }
    if (input === 'q') onQuit();
    else if (key.upArrow || input === 'k') move(-1);
    else if (key.downArrow || input === 'j') move(1);
    else if (key.pageUp) move(-10);
    else if (key.pageDown) move(10);
    else if (input === 'g' || key.home) move(-now.shown.length);
    else if (input === 'G' || key.end) move(now.shown.length);
    else if (key.return && cur) onOpen(cur);
    else if (input === 'f' && cur) onFeatures(cur);
    else if (input === '/') setTyping(() => true);
    else if (key.escape) onState((x) => ({ ...x, filter: '' }));
    else if (input === 's' || input === 'S') {
      const n = RUN_COLUMNS.length;
      onState((x) => {
        const i = RUN_COLUMNS.findIndex((c) => c.key === x.sort.key);
        return { ...x, sort: { key: RUN_COLUMNS[(i + (input === 's' ? 1 : n - 1)) % n]!.key, descending: x.sort.descending } };
      });
    } else if (input === 'r') onState((x) => ({ ...x, sort: { ...x.sort, descending: !x.sort.descending } }));
    else if (input === ' ' && cur) {
      // At most two marks: marking a third drops the oldest.
      onState((x) => ({ ...x, marked: x.marked.includes(cur.dir) ? x.marked.filter((d) => d !== cur.dir) : [...x.marked.slice(-1), cur.dir] }));
    } else if (input === 'c') {
      const m = s.marked;
      const pair = m.length === 2 ? m : m.length === 1 && cur && cur.dir !== m[0] ? [m[0]!, cur.dir] : undefined;
      const a = pair && runs.find((r) => r.dir === pair[0]);
      const b = pair && runs.find((r) => r.dir === pair[1]);
      if (a && b) onCompare(a, b);
    }
  });

  const layout = layoutColumns(width - 2);
  const header = layout.map(({ column: c, width: w }) => {
    const arrow = c.key === sort.key ? (sort.descending ? '▼' : '▲') : '';
    return fit(c.title + arrow, w, c.align);
  }).join('  ');
  // A sweep's frontier takes up to half the screen under the list: its title and table lines.
  const frontierRows = frontier ? Math.min(frontier.length + 1, Math.floor(height / 2)) : 0;
  const bodyRows = Math.max(1, height - 5 - frontierRows); // title, header, filter line, footer, spare
  const top = Math.max(0, Math.min(cursor - Math.floor(bodyRows / 2), shown.length - bodyRows));
  const visible = shown.slice(top, top + bodyRows);

  const keys: KeyHelp[] = typing
    ? [['enter', 'done'], ['esc', 'clear filter']]
    : [['q', 'quit'], ['↑↓', 'move'], ['enter', 'charts'], ['f', 'features'], ['space', 'mark'], ['c', 'compare'], ['s/S', 'sort column'], ['r', 'reverse'], ['/', 'filter']];

  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate-end">
        {`vsae dash — ${title}  `}
        <Text dimColor>{`${shown.length} of ${runs.length} run${runs.length === 1 ? '' : 's'}`}</Text>
      </Text>
      <Text bold underline wrap="truncate-end">{'  ' + header}</Text>
      <Box flexDirection="column" flexGrow={1}>
        {message ? <Text color="yellow" wrap="truncate-end">{message}</Text> : null}
        {runs.length === 0 && !message ? <Text dimColor>No runs yet: waiting for run directories (cfg.json) to appear…</Text> : null}
        {visible.map((r) => {
          const sel = r.dir === current?.dir;
          const mark = marked.includes(r.dir) ? '●' : ' ';
          return (
            <Text key={r.dir} inverse={sel} wrap="truncate-end">
              {mark + (sel ? '▸' : ' ')}
              {layout.map(({ column: c, width: w }, i) => {
                const cell = fit(c.text(r), w, c.align);
                const color = c.key === 'status' ? statusColor(r.status) : undefined;
                return (
                  <Text key={c.key} color={color}>
                    {i > 0 ? '  ' : ''}
                    {cell}
                  </Text>
                );
              })}
            </Text>
          );
        })}
      </Box>
      {frontier ? (
        <Box flexDirection="column" height={frontierRows}>
          <Text bold wrap="truncate-end">{`frontier (frontier.arrow)${frontier.length + 1 > frontierRows ? `: first ${frontierRows - 1} lines, enlarge the window for the rest` : ''}`}</Text>
          {frontier.slice(0, frontierRows - 1).map((line, i) => (
            <Text key={i} wrap="truncate-end" dimColor={i === 1}>
              {line}
            </Text>
          ))}
        </Box>
      ) : null}
      <Text wrap="truncate-end">
        {typing || filter ? <Text color="cyan">{`filter: ${sanitizeText(filter)}${typing ? '▏' : ''}`}</Text> : <Text dimColor>{current?.problems.length ? `${current.name}: ${current.problems.join('; ')}` : ' '}</Text>}
      </Text>
      <Footer keys={keys} width={width} />
    </Box>
  );
}
