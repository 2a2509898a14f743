import { Box, Text } from 'ink';
import { formatCount, formatPercent, formatSteps, formatValue } from './format.js';
import type { RunEntry } from './model.js';

const STATUS_COLOR: Record<string, string> = { running: 'green', complete: 'blue', interrupted: 'yellow', failed: 'red' };

export function statusColor(status: string): string | undefined {
  return STATUS_COLOR[status];
}

/** Two lines about a run: identity and progress, then its latest numbers. */
export function RunHeader({ run, width }: { run: RunEntry; width: number }) {
  const last = run.last ?? {};
  const shape = run.dIn !== undefined || run.dSae !== undefined ? `d_in ${formatCount(run.dIn)} → d_sae ${formatCount(run.dSae)}` : '';
  // The architecture's loss terms, those its metrics log (a TopK model has auxk, no l1 or kl).
  const terms = ['l1', 'kl', 'auxk'].filter((t) => last[t] !== undefined).map((t) => `${t} ${formatValue(last[t])}`);
  const numbers = [
    `loss ${formatValue(last.loss)}`,
    `recon ${formatValue(last.recon)}`,
    ...terms,
    `L0 ${formatValue(last.l0 ?? run.summary?.l0)}`,
    `dead ${formatPercent(last.dead_frac ?? (run.summary?.percent_dead_neurons !== undefined ? run.summary.percent_dead_neurons / 100 : undefined))}`,
    `expl.var ${formatValue(last.explained_variance ?? run.summary?.explained_variance)}`,
    ...(run.summary?.mmcs !== undefined ? [`MMCS ${formatValue(run.summary.mmcs)}`] : []),
    `lr ${formatValue(last.lr)}`,
  ];
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>{run.name}</Text>
        {`  ${run.arch}  `}
        <Text color={statusColor(run.status)}>{run.status}</Text>
        {`  step ${formatSteps(run.step, run.steps)}  ${shape}${run.hook ? `  ${run.hook}` : ''}`}
      </Text>
      <Text wrap="truncate-end" dimColor>{numbers.join('  ')}</Text>
    </Box>
  );
}
