import { defineConfig } from 'vitest/config';

// End-to-end tests run the real, built `vsae` bin; turbo builds every package first.
export default defineConfig({
  resolve: { conditions: ['vsae-source'] },
  ssr: { resolve: { conditions: ['vsae-source'] } },
  test: { include: ['**/*.test.ts'], exclude: ['node_modules/**'], testTimeout: 300_000, hookTimeout: 300_000, fileParallelism: false },
});
