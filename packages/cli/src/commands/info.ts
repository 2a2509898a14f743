import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandSpec } from '../args.js';
import { BACKEND_OPTION, getters } from '../args.js';

const require = createRequire(import.meta.url);

/** A package's version, found from its entry point (some packages do not export package.json). */
function versionOf(pkg: string): string | undefined {
  try {
    let dir = path.dirname(require.resolve(pkg));
    for (;;) {
      const file = path.join(dir, 'package.json');
      if (fs.existsSync(file)) {
        const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (json.name === pkg) return json.version;
      }
      const up = path.dirname(dir);
      if (up === dir) return undefined;
      dir = up;
    }
  } catch {
    return undefined;
  }
}

export const command: CommandSpec = {
  name: 'info',
  summary: 'versions, tensor backends installed and in use, how to get a faster one',
  usage: 'vsae info [--backend NAME] [--json]',
  options: {
    backend: { ...BACKEND_OPTION, help: 'backend to try (as the other commands take it)' },
    json: { type: 'boolean', help: 'print a JSON object instead of text' },
  },
  async run(args) {
    const g = getters(args);
    const { initBackend, backendReport, formatBackendReport } = await import('@vsae/compute');
    await initBackend(g.str('backend'));
    const report = await backendReport();
    const info = {
      vsae: versionOf('@vsae/cli') ?? 'unknown',
      node: process.versions.node,
      platform: `${os.platform()} ${os.arch()}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
      'apache-arrow': versionOf('apache-arrow'),
      ...report,
    };
    if (g.bool('json')) {
      process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      return 0;
    }
    const lines = [
      `vsae ${info.vsae}  node ${info.node}  apache-arrow ${info['apache-arrow']}`,
      `machine: ${info.platform}`,
      formatBackendReport(report),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
