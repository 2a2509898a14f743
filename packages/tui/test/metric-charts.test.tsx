import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { MetricCharts } from '../src/MetricCharts.js';

describe('MetricCharts', () => {
  it('charts a loss term it has no entry for (a new architecture\'s), after the known ones', () => {
    const n = 20;
    const ramp = (f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
    const metrics = { names: ['step', 'loss', 'l0', 'orthogonality'], values: { step: ramp((i) => i + 1), loss: ramp((i) => 1 / (i + 1)), l0: ramp(() => 5), orthogonality: ramp((i) => i / n) }, length: n };
    const frame = render(<MetricCharts metrics={metrics} width={160} height={30} log={false} />).lastFrame() ?? '';
    expect(frame).toContain('loss');
    expect(frame).toContain('orthogonality');
    expect(frame.indexOf('orthogonality')).toBeGreaterThan(frame.indexOf('L0'));
  });
});
