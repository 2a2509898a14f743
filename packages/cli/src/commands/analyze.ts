import { VsaeError } from '@vsae/data';
import type { CommandSpec } from '../args.js';

// Placeholder: the real command replaces this file.
export const command: CommandSpec = {
  name: 'analyze',
  summary: 'not built yet',
  usage: 'vsae analyze',
  options: {},
  positionals: { names: 'ARGS', min: 0, max: 100 },
  async run() {
    throw new VsaeError('"vsae analyze" is not built yet');
  },
};
