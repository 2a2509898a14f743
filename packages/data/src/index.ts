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
export { MetricsWriter, readMetrics, metricsColumns } from './metrics.js';
export { readRunConfig, runStatus, writeRunStatus, listRuns, RUN_FILES, RUN_ARCHS } from './run-dir.js';
export { inspectDataset, formatInspection } from './inspect.js';
export type * from './types.js';
