export { main, reportError } from './main.js';
export { parseArgs, formatHelp, getters } from './args.js';
export type { CommandSpec, OptionSpec, ParsedArgs, OptionValue, ImpliedFlag } from './args.js';
export { runSweep, planSweep, sweepableFlags, frontierValues } from './sweep.js';
export type { SweepOptions, SweepPlan, SweepResult, PlannedRun, FlagValue } from './sweep.js';
export { runDemo, demoSettings, demoConclusions, formatDemoTable, DEMO_RUNS } from './demo.js';
export type { DemoOptions, DemoResult, DemoRow } from './demo.js';
