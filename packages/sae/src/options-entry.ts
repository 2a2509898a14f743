/**
 * `@vsae/sae/options`: the option definitions and the architecture registry without the tensor
 * engine, for the CLI's flags and help, the report and the dashboard.
 */
export { TRAIN_OPTIONS, TRAIN_DEFAULTS, DEFAULT_COEFF, checkArchOptions, flagOf, topkWarmupSteps, withTrainDefaults, validateTrainOptions } from './options.js';
export type { OptionDef, TrainOptions, TrainOptionsInput, TrainFlag, NormalizeActivations } from './options.js';
export { ARCHITECTURES, ARCH_NAMES, findArch, archOf, topkDefaultLr } from './archs/index.js';
export type { ArchDescriptor, ArchOptionKey, Family } from './archs/index.js';
export { LR_DECAYS } from './schedule.js';
