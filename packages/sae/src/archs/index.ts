/**
 * The registry of architectures: every consumer (CLI choices and help, trainer, run loading,
 * analysis, report, dashboard) reads this list. Adding an architecture: its descriptor module
 * here, one line below, its math in a family module, and its tests (packages/sae/README.md).
 */
import { batchtopk } from './batchtopk.js';
import { sae } from './sae.js';
import { topk } from './topk.js';
import type { ArchDescriptor } from './types.js';
import { vsaeIso } from './vsae-iso.js';
import { vsaeMix } from './vsae-mix.js';
import { vsaeMulti } from './vsae-multi.js';
import { vsaeTopk } from './vsae-topk.js';

export const ARCHITECTURES: readonly ArchDescriptor[] = [sae, vsaeIso, vsaeMix, vsaeMulti, topk, batchtopk, vsaeTopk];

export const ARCH_NAMES: readonly string[] = ARCHITECTURES.map((a) => a.name);

/** The descriptor of an architecture name, or undefined. */
export function findArch(name: string): ArchDescriptor | undefined {
  return ARCHITECTURES.find((a) => a.name === name);
}

/** The descriptor of a name known to be valid (validated options, a loaded run). */
export function archOf(name: string): ArchDescriptor {
  const a = findArch(name);
  if (!a) throw new Error(`unknown architecture ${JSON.stringify(name)} (known: ${ARCH_NAMES.join(', ')})`);
  return a;
}

export { topkDefaultLr } from './topk.js';
export type { ArchDescriptor, ArchOptionKey, Family } from './types.js';
