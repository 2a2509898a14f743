import { Box, Text } from 'ink';
import { formatPercent } from './format.js';
import { LineChart } from './LineChart.js';
import type { MetricsSeries } from './model.js';

interface ChartSpec {
  column: string;
  title: string;
  color: string;
  /** A loss term: drawn on a log axis when log scale is on. */
  loss: boolean;
  format?: (v: number) => string;
}

const CHARTS: readonly ChartSpec[] = [
  { column: 'loss', title: 'loss', color: 'cyan', loss: true },
  { column: 'recon', title: 'reconstruction', color: 'cyan', loss: true },
  { column: 'l1', title: 'L1 penalty', color: 'magenta', loss: true },
  { column: 'kl', title: 'KL', color: 'magenta', loss: true },
  { column: 'auxk', title: 'AuxK loss', color: 'magenta', loss: true },
  { column: 'l0', title: 'L0 (active latents per row)', color: 'green', loss: false },
  { column: 'dead_frac', title: 'dead fraction', color: 'red', loss: false, format: formatPercent },
  { column: 'explained_variance', title: 'explained variance', color: 'yellow', loss: false },
  { column: 'recon_z', title: 'reconstruction of the sample z', color: 'cyan', loss: true },
  { column: 'explained_variance_z', title: 'explained variance of z', color: 'yellow', loss: false },
];

/** Logged columns that are not charts. */
const UNCHARTED = new Set(['step', 'lr', 'coeff', 'elapsed_s', 'skipped_rows']);

/** Smallest useful chart: title, two plot rows, x axis. */
const MIN_CHART_HEIGHT = 4;

/**
 * The metric charts of one run, laid out in a grid that fills `width` × `height`: as many
 * columns as fit at 50+ cells each, rows sharing the height; charts that do not fit are named.
 */
export function MetricCharts({ metrics, width, height, log }: { metrics: MetricsSeries; width: number; height: number; log: boolean }) {
  // The known columns in their order, then any other the run logs (an architecture's own loss
  // term, say), so a new architecture's metrics show without a change here.
  const known = new Set(CHARTS.map((c) => c.column));
  const others: ChartSpec[] = Object.keys(metrics.values)
    .filter((k) => !known.has(k) && !UNCHARTED.has(k))
    .map((k) => ({ column: k, title: k, color: 'magenta', loss: false }));
  const specs = [...CHARTS.filter((c) => metrics.values[c.column] !== undefined), ...others];
  if (metrics.length === 0 || specs.length === 0) {
    return (
      <Box width={width} height={height}>
        <Text dimColor>No metrics logged yet (metrics.arrows is missing or empty); the charts appear as training logs steps.</Text>
      </Box>
    );
  }
  const cols = Math.max(1, Math.min(specs.length, Math.floor(width / 50)));
  const chartW = Math.floor(width / cols);
  const maxRows = Math.max(1, Math.floor(height / MIN_CHART_HEIGHT));
  let rows = Math.ceil(specs.length / cols);
  let hidden = 0;
  if (rows > maxRows) {
    rows = maxRows;
    hidden = specs.length - rows * cols;
  }
  // Leave one line for the note naming the charts that did not fit.
  const avail = hidden > 0 ? height - 1 : height;
  const chartH = Math.max(MIN_CHART_HEIGHT - 1, Math.floor(avail / rows));
  const shown = specs.slice(0, specs.length - hidden);
  const steps = metrics.values.step ?? Array.from({ length: metrics.length }, (_, i) => i);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      {Array.from({ length: rows }, (_, r) => (
        <Box key={r} flexDirection="row" height={chartH}>
          {shown.slice(r * cols, r * cols + cols).map((c) => (
            <LineChart
              key={c.column}
              title={c.title}
              xs={steps}
              ys={metrics.values[c.column]!}
              width={chartW - 1}
              height={chartH}
              log={log && c.loss}
              color={c.color}
              format={c.format}
            />
          ))}
        </Box>
      ))}
      {hidden > 0 ? (
        <Text dimColor wrap="truncate-end">{`+${hidden} more (${specs.slice(-hidden).map((c) => c.title).join(', ')}): enlarge the window to see them`}</Text>
      ) : null}
    </Box>
  );
}
