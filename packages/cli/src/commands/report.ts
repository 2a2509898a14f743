import { VsaeError } from '@vsae/data';
import type { CommandSpec } from '../args.js';

// Placeholder: the real command replaces this file.
export const command: CommandSpec = {
  name: 'report',
  summary: 'not built yet',
  usage: 'vsae report',
  options: {},
  positionals: { names: 'ARGS', min: 0, max: 100 },
  async run() {
    throw new VsaeError('"vsae report" is not built yet');
  },
};
