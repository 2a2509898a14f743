/**
 * A command-line flag as the library that owns the option defines it (its type, default, choices
 * and help, and the option key it sets); `vsae`'s parser takes these definitions as they are, so
 * each option is written once, where its meaning lives.
 */
export interface FlagSpec {
  type: 'string' | 'number' | 'int' | 'boolean' | 'list';
  /** One line of help. */
  help: string;
  default?: string | number | boolean | string[];
  /** Allowed values (for string options). */
  choices?: readonly string[];
  /** Other long names (without dashes, any case style) and one-letter short names. */
  aliases?: string[];
  short?: string;
  /** Placeholder in help, e.g. PATH. */
  value?: string;
  /** Lower/upper bounds checked for numbers (inclusive). */
  min?: number;
  max?: number;
  /** Hidden from help (compat spellings). */
  hidden?: boolean;
  /** The library option (camelCase) the flag sets; absent for flags a command handles itself. */
  key?: string;
}
