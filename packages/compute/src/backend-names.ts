/**
 * The names `--backend` takes, without loading a tensor engine (`@vsae/compute/backends`), so
 * the CLI's flags and help come from the same list the backend choice uses.
 */
export type BackendName = 'auto' | 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];
