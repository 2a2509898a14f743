import { Box, Text } from 'ink';

/** A key and what it does, e.g. ['enter', 'open']. */
export type KeyHelp = readonly [key: string, action: string];

/** The always-visible keyboard help: one line cut to the width, `q quit` first so it never gets cut. */
export function Footer({ keys, width, note }: { keys: readonly KeyHelp[]; width: number; note?: string | undefined }) {
  const all: KeyHelp[] = keys.some(([k]) => k === 'q') ? [...keys] : [['q', 'quit'], ...keys];
  return (
    <Box width={width} height={1} overflow="hidden">
      <Text wrap="truncate-end">
        {all.map(([k, a], i) => (
          <Text key={k}>
            {i > 0 ? '  ' : ''}
            <Text bold inverse>{` ${k} `}</Text>
            <Text> {a}</Text>
          </Text>
        ))}
        {note ? <Text dimColor>{`   ${note}`}</Text> : null}
      </Text>
    </Box>
  );
}
