export { extract, memoryPlan } from './extract.js';
export type { ExtractOptions, ExtractOutput, ExtractSummary } from './extract.js';
export { windows } from './windows.js';
export type { WindowOptions } from './windows.js';
export { arrowSource, jsonlSource, textSource } from './sources.js';
export type { Piece, TokenSource } from './sources.js';
