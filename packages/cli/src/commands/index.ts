import type { CommandSpec } from '../args.js';

/** Every subcommand, loaded lazily so `vsae report` and `vsae dash` never load a tensor engine. */
export const COMMANDS: ReadonlyArray<{ name: string; summary: string }> = [
  { name: 'toy', summary: 'train a toy model of superposition and write its activations (with ground truth)' },
  { name: 'extract', summary: 'run a transformer over text and write a hook\'s activations' },
  { name: 'merge', summary: 'join the parts of a split extraction (vsae extract --part I/N) into one dataset' },
  { name: 'train', summary: 'train an SAE, a VSAE or a TopK model on an activation dataset' },
  { name: 'encode', summary: 'the sparse codes of a trained run for new activations (indices + values per row)' },
  { name: 'analyze', summary: 'sparsity, reconstruction, dictionary similarity, neurons and latent space of a run' },
  { name: 'sweep', summary: 'train a grid of settings per architecture and write their frontier (frontier.arrow)' },
  { name: 'report', summary: 'write a self-contained HTML report of one or more runs' },
  { name: 'dash', summary: 'terminal dashboard: browse runs, watch training live, explore features' },
  { name: 'demo', summary: 'the whole pipeline on a toy model: SAE, the three VSAEs, TopK and vSAE-TopK' },
  { name: 'inspect', summary: 'schema, metadata and column statistics of a dataset' },
  { name: 'export', summary: 'an Arrow table or dataset as CSV or JSON Lines (for spreadsheets and other tools)' },
  { name: 'info', summary: 'versions, tensor backends installed and in use, how to get a faster one' },
];

export async function loadCommand(name: string): Promise<CommandSpec> {
  const mod = (await import(`./${name}.js`)) as { command: CommandSpec };
  return mod.command;
}
