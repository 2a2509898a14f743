/**
 * The flags of `vsae extract`, defined once with their defaults and help (`vsae extract` derives
 * its flags from EXTRACT_OPTIONS), and the checks of the options that need no model. No tensor
 * engine is loaded here (import it as `@vsae/extract/options`).
 */
import { UsageError, type FlagSpec } from '@vsae/data';

/** An extract flag: @vsae/data's FlagSpec (`key`: the ExtractOptions field it sets; absent: the CLI converts it, e.g. --part). */
export type ExtractOptionDef = FlagSpec;

export const EXTRACT_OPTIONS = {
  model: { type: 'string', key: 'model', help: 'model directory: Hugging Face GPT-2 (config.json, model.safetensors, tokenizer.json) or TransformerLens GELU-1L (config.json, model_final.pth, tokenizer.json)', value: 'DIR', aliases: ['model_name'] },
  hook: { type: 'list', key: 'hooks', help: 'TransformerLens hook name(s), comma-separated: one dataset each, from one pass', value: 'NAME[,NAME…]', aliases: ['hook_name'] },
  layer: { type: 'int', key: 'layer', help: 'layer for --act-name', min: 0, value: 'L' },
  'act-name': { type: 'string', key: 'actName', help: 'get_act_name shorthand with --layer: post → blocks.L.mlp.hook_post, pre, mid (→ hook_resid_mid), resid_post, z, …', value: 'NAME' },
  text: { type: 'string', key: 'text', help: 'corpus: plain text, JSONL with a "text" field, or an Arrow file (told apart by their first bytes); - for stdin', value: 'FILE' },
  format: { type: 'string', key: 'format', help: 'the format of --text, when its first bytes do not say it (default: Arrow by its magic bytes, JSONL by its first line, else text)', choices: ['text', 'jsonl', 'arrow'] },
  dataset: { type: 'string', key: 'dataset', help: 'corpus: an Arrow file with a text (Utf8) or tokens (List<Int32>) column', value: 'FILE.arrow' },
  tokenizer: { type: 'string', key: 'tokenizer', help: "tokenizer.json to use (default: the model directory's)", value: 'FILE' },
  context: { type: 'int', key: 'context', help: 'tokens per window', default: 128, min: 1, aliases: ['ctx_len', 'context_size'] },
  'prepend-bos': { type: 'boolean', key: 'prependBos', help: "start every window with the tokenizer's BOS token (then context − 1 corpus tokens)" },
  'exclude-bos': { type: 'boolean', key: 'excludeBos', help: 'write no row for the BOS position' },
  'max-tokens': { type: 'int', key: 'maxTokens', help: 'stop after this many rows (tokens) per hook (default: the whole corpus)', min: 1, value: 'N' },
  'batch-size': { type: 'int', key: 'batchSize', help: 'windows per forward pass (lowered to fit --max-memory)', default: 8, min: 1 },
  'max-memory': { type: 'string', help: "memory budget for the data held (a batch's activations, the rows staged for writing), e.g. 256M or 1G (a bare number is MiB); the weights are not counted", value: 'SIZE' },
  'doc-separator': { type: 'string', key: 'docSeparator', help: 'token between documents (JSONL lines, Arrow rows)', choices: ['eos', 'none'], default: 'eos' },
  out: { type: 'string', key: 'out', short: 'o', help: 'dataset: a .arrow file, - (Arrow stream on stdout), or a directory (with --shard-rows, or for several hooks)', value: 'PATH|DIR|-' },
  'shard-rows': { type: 'int', key: 'shardRows', help: 'write a sharded directory with this many rows per shard', min: 1, value: 'N' },
  resume: { type: 'boolean', key: 'resume', help: 'continue an interrupted sharded extraction after its last complete shard' },
  part: { type: 'string', help: 'write only part I of N (windows I, I+N, I+2N, …) for N processes on one corpus; join them with vsae merge', value: 'I/N' },
} as const satisfies Record<string, ExtractOptionDef>;

/** Defaults of the options, from EXTRACT_OPTIONS. */
export const EXTRACT_DEFAULTS = {
  context: EXTRACT_OPTIONS.context.default,
  batchSize: EXTRACT_OPTIONS['batch-size'].default,
  docSeparator: EXTRACT_OPTIONS['doc-separator'].default,
} as const;

/** The options checked before the model loads (the ExtractOptions fields they read). */
export interface ExtractOptionsToCheck {
  text?: string | undefined;
  dataset?: string | undefined;
  context: number;
  batchSize: number;
  maxTokens?: number | undefined;
  shardRows?: number | undefined;
  maxMemory?: number | undefined;
  excludeBos?: boolean | undefined;
  prependBos?: boolean | undefined;
  resume?: boolean | undefined;
  out: string;
  format?: string | undefined;
  part?: { index: number; count: number } | undefined;
}

/** Checks every option that needs no model, with a sentence naming the flag (UsageError, exit 2). */
export function validateExtractOptions(o: ExtractOptionsToCheck): void {
  if ((o.text === undefined) === (o.dataset === undefined)) throw new UsageError('give the corpus as --text FILE (plain text or JSONL) or as --dataset FILE.arrow (one of them)');
  for (const [k, v] of [['context', o.context], ['batch-size', o.batchSize], ['max-tokens', o.maxTokens], ['shard-rows', o.shardRows]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new UsageError(`--${k} must be a positive whole number, got ${v}`);
  }
  if (o.maxMemory !== undefined && !(o.maxMemory > 0)) throw new UsageError(`--max-memory must be a positive size, got ${o.maxMemory}`);
  if (o.excludeBos && !o.prependBos) throw new UsageError('--exclude-bos needs --prepend-bos (there is no BOS position to leave out)');
  if (o.resume && !o.shardRows) throw new UsageError('--resume continues a sharded directory: give --shard-rows too (a single file is written whole or not at all)');
  if (o.shardRows && o.out === '-') throw new UsageError('--shard-rows writes a directory; it cannot go to stdout (-o -)');
  if (o.prependBos && o.context < 2) throw new UsageError('--context must be at least 2 with --prepend-bos');
  if (o.format !== undefined && !['text', 'jsonl', 'arrow'].includes(o.format)) throw new UsageError(`--format must be text, jsonl or arrow (got "${o.format}")`);
  if (o.format !== undefined && o.dataset !== undefined) throw new UsageError('--format says what --text is; --dataset is always Arrow (drop --format, or pass the file as --text)');
  const part = o.part ?? { index: 0, count: 1 };
  if (!(Number.isInteger(part.count) && part.count >= 1 && Number.isInteger(part.index) && part.index >= 0 && part.index < part.count)) {
    throw new UsageError(`--part ${part.index}/${part.count} is not a part: give I/N with 0 ≤ I < N (e.g. --part 0/4)`);
  }
}
