// Builds the optional native addon. A failure (no compiler, no Node headers) is not an error:
// vsae then uses the wasm backend's own matrix products, and `vsae info` says so.
import { spawnSync } from 'node:child_process';

if (process.env.VSAE_SKIP_NATIVE === '1') {
  console.error('@vsae/blas: VSAE_SKIP_NATIVE=1, not building the native addon');
  process.exit(0);
}
const r = spawnSync('node-gyp', ['rebuild'], { stdio: ['ignore', 'ignore', 'pipe'], shell: process.platform === 'win32' });
if (r.status !== 0) {
  const why = r.error ? r.error.message : (r.stderr?.toString().trim().split('\n').slice(-3).join(' ') ?? '');
  console.error(`@vsae/blas: the optional native addon was not built (${why}); vsae will use the wasm backend's own matrix products.`);
}
process.exit(0);
