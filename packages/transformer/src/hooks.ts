/**
 * Hook points with TransformerLens's names and shapes, in the order the forward pass reaches
 * them, and TransformerLens's `get_act_name` shorthand.
 */
import { VsaeError } from '@vsae/data';
import type { TransformerConfig } from './config.js';

const BLOCK_HOOKS = [
  'hook_resid_pre',
  'ln1.hook_scale',
  'ln1.hook_normalized',
  'attn.hook_q',
  'attn.hook_k',
  'attn.hook_v',
  'attn.hook_attn_scores',
  'attn.hook_pattern',
  'attn.hook_z',
  'hook_attn_out',
  'hook_resid_mid',
  'ln2.hook_scale',
  'ln2.hook_normalized',
  'mlp.hook_pre',
  'mlp.hook_post',
  'hook_mlp_out',
  'hook_resid_post',
] as const;

/** Every hook of a model, in forward order. */
export function hookNames(cfg: Pick<TransformerConfig, 'nLayers'>): string[] {
  const out = ['hook_embed', 'hook_pos_embed'];
  for (let l = 0; l < cfg.nLayers; l++) for (const h of BLOCK_HOOKS) out.push(`blocks.${l}.${h}`);
  out.push('ln_final.hook_scale', 'ln_final.hook_normalized');
  return out;
}

/** Shape of a hook's activation for a batch of `batch` windows of `pos` tokens (TransformerLens's). */
export function hookShape(cfg: TransformerConfig, name: string, batch: number, pos: number): number[] {
  const suffix = name.replace(/^blocks\.\d+\./, '');
  switch (suffix) {
    case 'attn.hook_q':
    case 'attn.hook_k':
    case 'attn.hook_v':
    case 'attn.hook_z':
      return [batch, pos, cfg.nHeads, cfg.dHead];
    case 'attn.hook_attn_scores':
    case 'attn.hook_pattern':
      return [batch, cfg.nHeads, pos, pos];
    case 'mlp.hook_pre':
    case 'mlp.hook_post':
      return [batch, pos, cfg.dMlp];
    case 'ln1.hook_scale':
    case 'ln2.hook_scale':
    case 'ln_final.hook_scale':
      return [batch, pos, 1];
    default:
      return [batch, pos, cfg.dModel];
  }
}

/**
 * Width of one token's activation vector at a hook (heads flattened, as SAELens does for
 * `hook_z`), or undefined for the attention maps, which are per query–key pair.
 */
export function hookWidth(cfg: TransformerConfig, name: string): number | undefined {
  if (/attn\.hook_(pattern|attn_scores)$/.test(name)) return undefined;
  const s = hookShape(cfg, name, 1, 1);
  return s.slice(2).reduce((p, v) => p * v, 1);
}

/**
 * TransformerLens's `utils.get_act_name(name, layer, layer_type)`: `post` + layer 0 →
 * `blocks.0.mlp.hook_post`, `k6` → `blocks.6.attn.hook_k`, `scale4ln1` → `blocks.4.ln1.hook_scale`.
 * One change, for the models vsae runs: `mid` names `blocks.L.hook_resid_mid` (TransformerLens
 * maps it to `mlp.hook_mid`, a hook only SoLU models have).
 */
export function getActName(name: string, layer?: number, layerType?: string): string {
  if ((name.includes('.') || name.startsWith('hook_')) && layer === undefined && layerType === undefined) return name;
  let n = name;
  let l: number | string | undefined = layer;
  let lt = layerType;
  const m = /^([a-z]+)(\d+)([a-z]?.*)$/.exec(name);
  if (m) {
    n = m[1]!;
    l = Number(m[2]);
    lt = m[3] || undefined;
  }
  const layerTypeAlias: Record<string, string> = { a: 'attn', m: 'mlp', b: '', block: '', blocks: '', attention: 'attn' };
  const actAlias: Record<string, string> = {
    attn: 'pattern',
    attn_logits: 'attn_scores',
    key: 'k',
    query: 'q',
    value: 'v',
    mlp_pre: 'pre',
    mlp_mid: 'mid',
    mlp_post: 'post',
  };
  if (n in actAlias) n = actAlias[n]!;
  if (n === 'mid') n = 'resid_mid';
  let full = l !== undefined ? `blocks.${l}.` : '';
  if (['k', 'v', 'q', 'z', 'rot_k', 'rot_q', 'result', 'pattern', 'attn_scores'].includes(n)) lt = 'attn';
  else if (['pre', 'post', 'pre_linear'].includes(n)) lt = 'mlp';
  else if (lt !== undefined && lt in layerTypeAlias) lt = layerTypeAlias[lt];
  if (lt) full += `${lt}.`;
  full += `hook_${n}`;
  if ((n === 'scale' || n === 'normalized') && l === undefined) full = `ln_final.${full}`;
  return full;
}

/** Checks hook names against a model; the error (exit 1: it depends on the model) lists the valid ones. */
export function checkHooks(cfg: TransformerConfig, names: readonly string[]): void {
  const valid = new Set(hookNames(cfg));
  for (const n of names) {
    if (!valid.has(n)) {
      const all = hookNames(cfg);
      const layer0 = all.filter((h) => !/^blocks\.[1-9]/.test(h));
      throw new VsaeError(
        `hook "${n}" does not exist in this ${cfg.nLayers}-layer model; valid hooks: ${layer0.join(', ')}${cfg.nLayers > 1 ? ` (and the same for blocks.1 … blocks.${cfg.nLayers - 1})` : ''}`,
      );
    }
  }
}
