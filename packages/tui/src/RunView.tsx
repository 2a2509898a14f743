import { Box, Text } from 'ink';
import { Footer } from './Footer.js';
import { useKeys } from './use-keys.js';
import { useSyncedState } from './use-synced-state.js';
import { MetricCharts } from './MetricCharts.js';
import type { MetricsSeries, RunEntry } from './model.js';
import { RunHeader } from './RunHeader.js';

export interface RunViewProps {
  run: RunEntry;
  metrics: MetricsSeries;
  width: number;
  height: number;
  onBack(): void;
  onFeatures(): void;
  onQuit(): void;
}

/** One run: its numbers and live charts of the loss terms, L0, dead fraction and explained variance. */
export function RunView({ run, metrics, width, height, onBack, onFeatures, onQuit }: RunViewProps) {
  const [log, setLog] = useSyncedState(false);
  useKeys((input, key) => {
    if (input === 'q') onQuit();
    else if (key.escape || key.backspace || key.delete || key.leftArrow) onBack();
    else if (input === 'f') onFeatures();
    else if (input === 'l') setLog((v) => !v);
  });
  const problems = run.problems.length > 0 ? run.problems.join('; ') : undefined;
  const chartsH = Math.max(1, height - 3 - (problems ? 1 : 0));
  return (
    <Box flexDirection="column" width={width} height={height}>
      <RunHeader run={run} width={width} />
      {problems ? <Text color="yellow" wrap="truncate-end">{problems}</Text> : null}
      <MetricCharts metrics={metrics} width={width} height={chartsH} log={log} />
      <Footer
        width={width}
        keys={[['q', 'quit'], ['esc', 'back'], ['f', 'features'], ['l', log ? 'linear scale' : 'log scale']]}
        note={`${metrics.length} logged steps${run.status === 'running' ? ', updating live' : ''}`}
      />
    </Box>
  );
}
