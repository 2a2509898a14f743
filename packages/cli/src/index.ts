export { main, reportError } from './main.js';
export { parseArgs, formatHelp, getters } from './args.js';
export type { CommandSpec, OptionSpec, ParsedArgs, OptionValue, ImpliedFlag } from './args.js';
