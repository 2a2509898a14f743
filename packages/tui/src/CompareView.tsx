import { Box, Text } from 'ink';
import { formatValue } from './format.js';
import { Footer } from './Footer.js';
import { useKeys } from './use-keys.js';
import { useSyncedState } from './use-synced-state.js';
import { MetricCharts } from './MetricCharts.js';
import type { MetricsSeries, RunEntry } from './model.js';
import { RunHeader } from './RunHeader.js';

export interface CompareViewProps {
  a: { run: RunEntry; metrics: MetricsSeries };
  b: { run: RunEntry; metrics: MetricsSeries };
  width: number;
  height: number;
  onBack(): void;
  onQuit(): void;
}

const SUMMARY_KEYS: ReadonlyArray<readonly [string, string]> = [
  ['mse_mean', 'MSE'],
  ['cosine_sim_mean', 'cos'],
  ['explained_variance', 'EV'],
  ['l0', 'L0'],
  ['percent_dead_neurons', 'dead %'],
  ['mmcs', 'MMCS'],
  ['ce_loss_recovered', 'CE rec.'],
];

function SummaryLine({ run }: { run: RunEntry }) {
  const s = run.summary;
  const text = s
    ? 'analysis: ' + SUMMARY_KEYS.filter(([k]) => s[k] !== undefined).map(([k, label]) => `${label} ${formatValue(s[k])}`).join('  ')
    : 'analysis: none yet (vsae analyze)';
  return <Text dimColor wrap="truncate-end">{text}</Text>;
}

/** Two runs side by side: header, analysis summary and the same charts for each. */
export function CompareView({ a, b, width, height, onBack, onQuit }: CompareViewProps) {
  const [log, setLog] = useSyncedState(false);
  useKeys((input, key) => {
    if (input === 'q') onQuit();
    else if (key.escape || key.backspace || key.delete || key.leftArrow) onBack();
    else if (input === 'l') setLog((v) => !v);
  });
  const colW = Math.floor((width - 1) / 2);
  const chartsH = Math.max(1, height - 4);
  const side = (x: { run: RunEntry; metrics: MetricsSeries }) => (
    <Box flexDirection="column" width={colW} height={height - 1}>
      <RunHeader run={x.run} width={colW} />
      <SummaryLine run={x.run} />
      <MetricCharts metrics={x.metrics} width={colW} height={chartsH} log={log} />
    </Box>
  );
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Box flexDirection="row" height={height - 1}>
        {side(a)}
        <Box width={1} height={height - 1} borderStyle="single" borderLeft borderRight={false} borderTop={false} borderBottom={false} borderDimColor />
        {side(b)}
      </Box>
      <Footer width={width} keys={[['q', 'quit'], ['esc', 'back'], ['l', log ? 'linear scale' : 'log scale']]} />
    </Box>
  );
}
