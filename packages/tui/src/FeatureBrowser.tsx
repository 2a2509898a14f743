import { Box, Text } from 'ink';
import { useEffect } from 'react';
import { blockBars } from './chart.js';
import { fit, formatCount, formatValue } from './format.js';
import { Footer } from './Footer.js';
import { useKeys } from './use-keys.js';
import { useSyncedState } from './use-synced-state.js';
import type { ExamplesByLatent, FeatureTable, RunEntry, TopExample } from './model.js';
import { contextWindow, shadeColor } from './tokens.js';

export interface FeatureBrowserProps {
  run: RunEntry;
  /** undefined while loading; null when the run has no features.arrow. */
  features: FeatureTable | undefined | null;
  /** Top examples by latent; undefined while loading, null when top_examples.arrow is absent. */
  examples: ExamplesByLatent | undefined | null;
  /** Why the analysis tables could not be read (sanitized), if so. */
  problem?: string | undefined;
  width: number;
  height: number;
  latent: number;
  /** Moves to another latent, computed from the current one (keys may come faster than renders). */
  onLatent(update: (latent: number) => number): void;
  onBack(): void;
  onQuit(): void;
}

/**
 * Next latent after (dir 1) or before (dir −1) `from` in the table, optionally skipping dead
 * ones; without a table (still loading, or no analysis) simply the neighbouring number.
 */
function step(table: FeatureTable | null | undefined, from: number, dir: 1 | -1, skipDead: boolean): number {
  if (!table) return Math.max(0, from + dir);
  const ls = table.latents;
  let i = ls.findIndex((l) => l >= from);
  if (i < 0) i = ls.length;
  if (ls[i] !== from) i = dir > 0 ? i - 1 : i; // `from` absent: start between its neighbours
  for (let k = i + dir; k >= 0 && k < ls.length; k += dir) {
    const l = ls[k]!;
    if (!skipDead || !table.byLatent.get(l)?.dead) return l;
  }
  return from;
}

function ExampleLine({ ex, maxAct, width }: { ex: TopExample; maxAct: number; width: number }) {
  const label = ex.kind === 'quantile' && ex.quantile !== undefined ? `q${formatValue(ex.quantile)}` : `#${ex.rank + 1}`;
  const head = `${fit(label, 6)} ${fit(formatValue(ex.activation), 8, 'right')}  `;
  if (!ex.tokens || ex.tokens.length === 0) {
    const where = ex.token !== undefined ? `token ${ex.token}` : '';
    return <Text wrap="truncate-end">{`${head}row ${formatCount(ex.row)}  ${where}`}</Text>;
  }
  const avail = Math.max(10, width - head.length - 1);
  const center = ex.index ?? Math.floor(ex.tokens.length / 2);
  const [start, end] = contextWindow(ex.tokens, center, avail);
  // Shade against the latent's largest activation; fall back to this context's own maximum.
  const scale = maxAct > 0 ? maxAct : Math.max(0, ...(ex.acts ?? []).filter(Number.isFinite));
  return (
    <Text wrap="truncate-end">
      <Text dimColor>{head}</Text>
      {ex.tokens.slice(start, end).map((tok, j) => {
        const i = start + j;
        const act = ex.acts?.[i] ?? 0;
        const shade = shadeColor(scale > 0 ? act / scale : 0);
        const own = i === ex.index;
        return (
          <Text key={i} backgroundColor={shade?.bg} color={shade?.fg} bold={own} underline={own}>
            {tok}
          </Text>
        );
      })}
    </Text>
  );
}

/**
 * One latent of a run at a time: density, mean/max activation, activation histogram and the
 * top activating examples with each context token shaded by this latent's activation on it.
 */
export function FeatureBrowser({ run, features, examples, problem, width, height, latent, onLatent, onBack, onQuit }: FeatureBrowserProps) {
  const [jump, setJump, getJump] = useSyncedState<string | undefined>(undefined);
  const [skipDead, setSkipDead, getSkipDead] = useSyncedState(false);
  const [scroll, setScroll] = useSyncedState(0);
  useEffect(() => setScroll(() => 0), [latent, setScroll]);

  useKeys((input, key) => {
    const typed = getJump();
    if (typed !== undefined) {
      if (key.return) {
        if (typed !== '') onLatent(() => Number(typed));
        setJump(() => undefined);
      } else if (key.escape) setJump(() => undefined);
      else if (key.backspace || key.delete) setJump(() => typed.slice(0, -1));
      else if (/^[0-9]+$/.test(input)) setJump(() => (typed + input).slice(0, 9));
      return;
    }
    const skip = getSkipDead();
    if (input === 'q') onQuit();
    else if (key.escape || key.backspace || key.delete) onBack();
    else if (/^[0-9]+$/.test(input)) setJump(() => input.slice(0, 9));
    else if (input === 'g' || input === '#') setJump(() => '');
    else if (key.rightArrow || input === 'n') onLatent((l) => step(features, l, 1, skip));
    else if (key.leftArrow || input === 'p') onLatent((l) => step(features, l, -1, skip));
    else if (input === 'd') setSkipDead((v) => !v);
    else if (key.downArrow || input === 'j') setScroll((s) => s + 1);
    else if (key.upArrow || input === 'k') setScroll((s) => Math.max(0, s - 1));
  });

  const keys = jump !== undefined
    ? ([['enter', 'go'], ['esc', 'cancel']] as const)
    : ([['q', 'quit'], ['esc', 'back'], ['←→/n p', 'prev/next latent'], ['g or 0-9', 'jump to latent'], ['d', skipDead ? 'show dead' : 'skip dead'], ['↑↓', 'scroll examples']] as const);
  const footer = <Footer width={width} keys={keys} />;
  const title = (
    <Text wrap="truncate-end">
      <Text bold>{`${run.name}  `}</Text>
      {`latent ${latent}`}
      {features ? <Text dimColor>{` of ${features.latents.length} (${features.latents[0] ?? 0}–${features.latents.at(-1) ?? 0})`}</Text> : null}
      {jump !== undefined ? <Text color="cyan">{`   go to latent: ${jump}▏`}</Text> : null}
    </Text>
  );

  let body;
  if (problem) body = <Text color="yellow" wrap="wrap">{problem}</Text>;
  else if (features === undefined) body = <Text dimColor>Loading analysis tables…</Text>;
  else if (features === null) body = <Text dimColor wrap="wrap">{`No feature table yet: run "vsae analyze" on this run to write analysis/features.arrow.`}</Text>;
  else {
    const f = features.byLatent.get(latent);
    if (!f) body = <Text color="yellow">{`Latent ${latent} is not in this run's feature table (latents ${features.latents[0] ?? 0}–${features.latents.at(-1) ?? 0}).`}</Text>;
    else {
      const exs = examples?.get(latent) ?? [];
      const exProblem = examples?.problemFor?.(latent);
      const histH = 3;
      const barW = Math.max(1, Math.min(3, Math.floor((width - 12) / Math.max(1, f.histCounts.length))));
      const bars = blockBars(f.histCounts, histH, barW);
      const histW = f.histCounts.length * barW;
      const exRows = Math.max(1, height - 2 /* title, stats */ - 1 - histH - 1 - 1 /* example header */ - 1 /* footer */);
      const first = Math.min(scroll, Math.max(0, exs.length - exRows));
      body = (
        <Box flexDirection="column">
          <Text wrap="truncate-end">
            {`density ${formatValue(f.frequency)} (log10 ${formatValue(f.log10Density)})  mean act ${formatValue(f.meanAct)}  max act ${formatValue(f.maxAct)}  enc·dec cos ${formatValue(f.encDecCos)}`}
            {f.meanVar !== undefined ? `  mean σ² ${formatValue(f.meanVar)}` : ''}
            {f.dead ? <Text color="red" bold>{'  DEAD'}</Text> : null}
          </Text>
          <Text dimColor>{`activation histogram (${f.histCounts.length} bins over (0, max act], counts ${formatCount(Math.max(0, ...f.histCounts))} max)`}</Text>
          {bars.map((line, i) => (
            <Text key={i} color="green">{'  ' + line}</Text>
          ))}
          <Text dimColor>{'  ' + fit('0', Math.floor(histW / 2)) + fit(formatValue(f.maxAct), histW - Math.floor(histW / 2), 'right')}</Text>
          <Text bold wrap="truncate-end">
            {exProblem !== undefined ? <Text color="yellow">{exProblem}</Text> : examples === null ? 'No top examples (analysis/top_examples.arrow is absent).' : examples === undefined ? 'Loading top examples…' : exs.length === 0 ? 'No examples for this latent.' : `Top activating examples (${exs.length}${exs.length > exRows ? `, ${first + 1}–${Math.min(exs.length, first + exRows)} shown` : ''})`}
          </Text>
          {exs.slice(first, first + exRows).map((ex, i) => (
            <ExampleLine key={`${ex.kind}-${ex.rank}-${i}`} ex={ex} maxAct={f.maxAct} width={width} />
          ))}
        </Box>
      );
    }
  }
  return (
    <Box flexDirection="column" width={width} height={height}>
      {title}
      <Box flexDirection="column" flexGrow={1} overflow="hidden">
        {body}
      </Box>
      {footer}
    </Box>
  );
}
