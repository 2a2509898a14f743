export { tf, initBackend, activeBackend, isInstalled, installHint, BACKEND_NAMES } from './backend.js';
export type { BackendName, BackendInfo } from './backend.js';
