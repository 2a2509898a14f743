import { VsaeError } from '@vsae/data';
import type { CommandSpec } from '../args.js';

// Placeholder: the real command replaces this file.
export const command: CommandSpec = {
  name: 'extract',
  summary: 'not built yet',
  usage: 'vsae extract',
  options: {},
  positionals: { names: 'ARGS', min: 0, max: 100 },
  async run() {
    throw new VsaeError('"vsae extract" is not built yet');
  },
};
