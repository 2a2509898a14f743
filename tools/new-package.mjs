// Writes the skeleton of a workspace package (package.json, tsconfigs, vitest config).
// Usage: node tools/new-package.mjs <name> "<description>" [dep ...]
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
const [name, description, ...deps] = process.argv.slice(2);
const dir = new URL(`../packages/${name}/`, import.meta.url);
mkdirSync(new URL('src/', dir), { recursive: true });
mkdirSync(new URL('test/', dir), { recursive: true });
const pkg = {
  name: `@vsae/${name}`,
  version: '0.1.0',
  description,
  license: 'MIT',
  type: 'module',
  exports: { '.': { 'vsae-source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } },
  files: ['dist'],
  scripts: {
    build: 'tsc -p tsconfig.build.json',
    typecheck: 'tsc -p tsconfig.json --noEmit',
    test: 'vitest run',
  },
  dependencies: Object.fromEntries(deps.map((d) => [d, d.startsWith('@vsae/') ? '*' : 'latest'])),
};
const w = (f, s) => { const u = new URL(f, dir); if (!existsSync(u)) writeFileSync(u, s); };
w('package.json', JSON.stringify(pkg, null, 2) + '\n');
w('tsconfig.json', JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { customConditions: ['vsae-source'], noEmit: true }, include: ['src', 'test'] }, null, 2) + '\n');
w('tsconfig.build.json', JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { rootDir: 'src', outDir: 'dist' }, include: ['src'] }, null, 2) + '\n');
w('vitest.config.ts', `import { defineConfig } from 'vitest/config';\n\n// Tests import sibling packages from their sources (the "vsae-source" export condition).\nexport default defineConfig({\n  resolve: { conditions: ['vsae-source'] },\n  ssr: { resolve: { conditions: ['vsae-source'] } },\n  test: { include: ['test/**/*.test.ts', 'test/**/*.test.tsx'], testTimeout: 60_000 },\n});\n`);
w('src/index.ts', `export {};\n`);
w('README.md', `# @vsae/${name}\n\n${description}\n`);
