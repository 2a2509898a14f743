export { renderReport, writeReport, buildReportData } from './report.js';
export { loadRun, checkRunDir, DEFAULT_LIMITS } from './load.js';
export type * from './types.js';
