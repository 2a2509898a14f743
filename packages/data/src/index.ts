export { VsaeError, InputError, UsageError, isVsaeError } from './errors.js';
export { Progress, formatNumber, formatDuration } from './progress.js';
export type { ProgressOptions } from './progress.js';
export type * from './types.js';
