import { VsaeError } from '@vsae/data';
import type { CommandSpec } from '../args.js';

// Placeholder: the real command replaces this file.
export const command: CommandSpec = {
  name: 'toy',
  summary: 'not built yet',
  usage: 'vsae toy',
  options: {},
  positionals: { names: 'ARGS', min: 0, max: 100 },
  async run() {
    throw new VsaeError('"vsae toy" is not built yet');
  },
};
