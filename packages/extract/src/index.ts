export { extract, memoryPlan } from './extract.js';
export type { ExtractOptions, ExtractOutput, ExtractSummary } from './extract.js';
export { windows } from './windows.js';
export type { WindowOptions } from './windows.js';
export { arrowSource, corpusSource, jsonlSource, sniffFormat, textSource } from './sources.js';
export type { CorpusFormat, Piece, TokenSource } from './sources.js';
export { EXTRACT_OPTIONS, EXTRACT_DEFAULTS, validateExtractOptions } from './options.js';
export type { ExtractOptionDef } from './options.js';
