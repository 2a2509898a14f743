import type { CommandSpec } from '../args.js';

/** Every subcommand, loaded lazily so `vsae report` and `vsae dash` never load a tensor engine. */
export const COMMANDS: ReadonlyArray<{ name: string; summary: string }> = [
  { name: 'toy', summary: 'train a toy model of superposition and write its activations (with ground truth)' },
  { name: 'extract', summary: 'run a transformer over text and write a hook\'s activations' },
  { name: 'train', summary: 'train an SAE or a VSAE on an activation dataset' },
  { name: 'analyze', summary: 'sparsity, reconstruction, dictionary similarity, neurons and latent space of a run' },
  { name: 'sweep', summary: 'train a grid of settings per architecture and write their frontier (frontier.arrow)' },
  { name: 'report', summary: 'write a self-contained HTML report of one or more runs' },
  { name: 'dash', summary: 'terminal dashboard: browse runs, watch training live, explore features' },
  { name: 'demo', summary: 'the whole pipeline on a toy model: SAE, the three VSAEs, TopK and vSAE-TopK' },
  { name: 'inspect', summary: 'schema, metadata and column statistics of a dataset' },
  { name: 'info', summary: 'versions, tensor backends installed and in use, how to get a faster one' },
];

export async function loadCommand(name: string): Promise<CommandSpec> {
  const mod = (await import(`./${name}.js`)) as { command: CommandSpec };
  return mod.command;
}
