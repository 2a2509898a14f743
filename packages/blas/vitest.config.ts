import { defineConfig } from 'vitest/config';

// Tests import sibling packages from their sources (the "vsae-source" export condition).
export default defineConfig({
  resolve: { conditions: ['vsae-source'] },
  ssr: { resolve: { conditions: ['vsae-source'] } },
  test: { include: ['test/**/*.test.ts', 'test/**/*.test.tsx'], testTimeout: 60_000 },
});
