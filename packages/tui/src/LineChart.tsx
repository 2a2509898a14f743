import { Box, Text } from 'ink';
import { plotLine } from './chart.js';
import { fit, formatValue } from './format.js';

export interface LineChartProps {
  title: string;
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  /** Total size in cells, labels included. */
  width: number;
  height: number;
  log?: boolean;
  color?: string;
  /** How y values are printed in the labels (default formatValue). */
  format?: (v: number) => string;
}

const LABEL = 9;

/**
 * A titled braille line chart: the title with the last value on the first line, the plot with
 * its y range on the left, and the x range (steps) on the last line.
 */
export function LineChart({ title, xs, ys, width, height, log = false, color = 'cyan', format = formatValue }: LineChartProps) {
  const plotW = Math.max(4, width - LABEL - 1);
  const plotH = Math.max(1, height - 2);
  const p = plotLine(xs, ys, { width: plotW, height: plotH, log });
  let last: number | undefined;
  for (let i = Math.min(xs.length, ys.length) - 1; i >= 0; i--) {
    if (Number.isFinite(ys[i]!)) {
      last = ys[i]!;
      break;
    }
  }
  const scale = log && p.drawn > 0 ? ' (log)' : '';
  const head = `${title}${scale}  ${last === undefined ? 'no data yet' : format(last)}`;
  const yTop = p.yMax === undefined ? '' : format(p.yMax);
  const yBot = p.yMin === undefined ? '' : format(p.yMin);
  const xLeft = p.xMin === undefined ? '' : formatValue(p.xMin);
  const xRight = p.xMax === undefined ? '' : formatValue(p.xMax);
  const xAxis = ' '.repeat(LABEL + 1) + fit(xLeft, Math.floor(plotW / 2)) + fit(xRight, plotW - Math.floor(plotW / 2), 'right');
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text bold wrap="truncate-end">{head}</Text>
      {p.lines.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          <Text dimColor>{fit(i === 0 ? yTop : i === p.lines.length - 1 ? yBot : '', LABEL, 'right')}│</Text>
          <Text color={color}>{line}</Text>
        </Text>
      ))}
      <Text dimColor wrap="truncate-end">{xAxis}</Text>
    </Box>
  );
}
