export { tf, initBackend, activeBackend, releaseBackend, readTensor, adapterName, isInstalled, installHint, BACKEND_NAMES } from './backend.js';
export { vulkanMissing, WEBGPU_HINT } from './webgpu.js';
export type { AdapterInfo } from './webgpu.js';
export type { BackendName, BackendInfo } from './backend.js';
// Side effect: registers tfjs's gradient functions (after backend.js has set PROD).
import './gradients.js';
export { Rng } from './rng.js';
export type { RngState } from './rng.js';
export { randomNormalTensor, randomUniformTensor, kaimingUniform, sizeOf } from './random.js';
export { matMul, fastMatMul, transposeIsSlow } from './matmul.js';
export { backendReport, formatBackendReport } from './report.js';
export type { BackendReport } from './report.js';
export { ADAM_DEFAULTS, adam } from './adam.js';
