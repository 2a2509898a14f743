export { VsaeError, InputError, UsageError, isVsaeError } from './errors.js';
export { Progress, formatNumber, formatDuration } from './progress.js';
export type { ProgressOptions } from './progress.js';
export {
  writeFileAtomic,
  writeFileAtomicSync,
  writeJsonAtomic,
  writeJsonAtomicSync,
  readJson,
} from './atomic.js';
export type { FileData } from './atomic.js';
export {
  readSafetensors,
  parseSafetensors,
  writeSafetensors,
  writeSafetensorsSync,
  serializeSafetensors,
  SAFE_DTYPE_SIZE,
  bytesToFloat32,
} from './safetensors.js';
export { openDataset, checkArrowIpc } from './dataset-read.js';
export { createDatasetWriter } from './dataset-write.js';
export { mergeParts } from './dataset-merge.js';
export type { MergeOptions, MergeSummary } from './dataset-merge.js';
export { writeTable, writeTableSync, readTable, makeTable } from './table.js';
export { TableStreamWriter } from './table-stream.js';
export { MetricsWriter, readMetrics, metricsColumns } from './metrics.js';
export { readRunConfig, runStatus, writeRunStatus, listRuns, RUN_FILES, REPRESENTED_NORM, ANALYSIS_TABLES, ANALYSIS_LIST, ANALYSIS_NAMES, analysisFile } from './run-dir.js';
export type { AnalysisTable, AnalysisName } from './run-dir.js';
export { inspectDataset, formatInspection } from './inspect.js';
export { SWEEP_FILES, FRONTIER_METRICS, isSweepDir, settingLabel, writeFrontier, readFrontier, formatFrontierTable } from './frontier.js';
export type { Frontier, FrontierRow, FrontierMetric } from './frontier.js';
export type * from './types.js';
export { acquireLock, processAlive } from './lock.js';
export type { DirLock, LockOptions } from './lock.js';
export { parseSize } from './size.js';
export type { FlagSpec } from './flags.js';
