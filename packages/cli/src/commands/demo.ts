import { VsaeError } from '@vsae/data';
import type { CommandSpec } from '../args.js';

// Placeholder: the real command replaces this file.
export const command: CommandSpec = {
  name: 'demo',
  summary: 'not built yet',
  usage: 'vsae demo',
  options: {},
  positionals: { names: 'ARGS', min: 0, max: 100 },
  async run() {
    throw new VsaeError('"vsae demo" is not built yet');
  },
};
