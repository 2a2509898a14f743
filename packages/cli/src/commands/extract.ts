import * as path from 'node:path';
import { formatDuration, formatNumber, parseSize, UsageError } from '@vsae/data';
import type { CommandSpec } from '../args.js';
import { BACKEND_OPTION, getters } from '../args.js';
import { checkOutput } from '../output.js';

export const command: CommandSpec = {
  name: 'extract',
  summary: "run a transformer over text and write a hook's activations",
  usage: 'vsae extract --model DIR --hook NAME[,NAME…] (--text FILE | --dataset FILE.arrow) [options] -o PATH|DIR|-',
  options: {
    model: { type: 'string', help: 'model directory: Hugging Face GPT-2 (config.json, model.safetensors, tokenizer.json) or TransformerLens GELU-1L (config.json, model_final.pth, tokenizer.json)', value: 'DIR', aliases: ['model_name'] },
    hook: { type: 'list', help: 'TransformerLens hook name(s), comma-separated: one dataset each, from one pass', value: 'NAME[,NAME…]', aliases: ['hook_name'] },
    layer: { type: 'int', help: 'layer for --act-name', min: 0, value: 'L' },
    'act-name': { type: 'string', help: "get_act_name shorthand with --layer: post → blocks.L.mlp.hook_post, pre, mid (→ hook_resid_mid), resid_post, z, …", value: 'NAME' },
    text: { type: 'string', help: 'corpus: plain text, JSONL with a "text" field, or an Arrow file (told apart by their first bytes); - for stdin', value: 'FILE' },
    format: { type: 'string', help: 'the format of --text, when its first bytes do not say it (default: Arrow by its magic bytes, JSONL by its first line, else text)', choices: ['text', 'jsonl', 'arrow'] },
    dataset: { type: 'string', help: 'corpus: an Arrow file with a text (Utf8) or tokens (List<Int32>) column', value: 'FILE.arrow' },
    tokenizer: { type: 'string', help: "tokenizer.json to use (default: the model directory's)", value: 'FILE' },
    context: { type: 'int', help: 'tokens per window', default: 128, min: 1, aliases: ['ctx_len', 'context_size'] },
    'prepend-bos': { type: 'boolean', help: "start every window with the tokenizer's BOS token (then context − 1 corpus tokens)" },
    'exclude-bos': { type: 'boolean', help: 'write no row for the BOS position' },
    'max-tokens': { type: 'int', help: 'stop after this many rows (tokens) per hook (default: the whole corpus)', min: 1, value: 'N' },
    'batch-size': { type: 'int', help: 'windows per forward pass (lowered to fit --max-memory)', default: 8, min: 1 },
    'max-memory': { type: 'string', help: 'memory budget for the data held (a batch\'s activations, the rows staged for writing), e.g. 256M or 1G (a bare number is MiB); the weights are not counted', value: 'SIZE' },
    'doc-separator': { type: 'string', help: 'token between documents (JSONL lines, Arrow rows)', choices: ['eos', 'none'], default: 'eos' },
    out: { type: 'string', short: 'o', help: 'dataset: a .arrow file, - (Arrow stream on stdout), or a directory (with --shard-rows, or for several hooks)', value: 'PATH|DIR|-' },
    'shard-rows': { type: 'int', help: 'write a sharded directory with this many rows per shard', min: 1, value: 'N' },
    resume: { type: 'boolean', help: 'continue an interrupted sharded extraction after its last complete shard' },
    part: { type: 'string', help: 'write only part I of N (windows I, I+N, I+2N, …) for N processes on one corpus; join them with vsae merge', value: 'I/N' },
    backend: BACKEND_OPTION,
    json: { type: 'boolean', help: 'print a JSON summary on stdout (not with -o -)' },
    quiet: { type: 'boolean', help: 'no progress on stderr', short: 'q' },
  },
  examples: [
    'vsae extract --model packages/transformer/test/fixtures/gpt2-tiny --hook blocks.0.mlp.hook_post --text datasets/sotu-1790-1809.txt --context 32 --max-tokens 2048 -o acts.arrow',
    'vsae extract --model gpt2 --layer 0 --act-name post --text corpus.jsonl --prepend-bos --shard-rows 65536 -o acts/',
    'vsae extract --model gelu-1l --hook blocks.0.hook_resid_mid,blocks.0.mlp.hook_post --text corpus.txt -o acts/',
    'vsae extract --model gpt2 --layer 6 --act-name resid_post --text corpus.txt --part 2/8 --shard-rows 65536 -o acts/part-2/',
  ],
  async run(args) {
    const g = getters(args);
    const out = g.str('out');
    const model = g.str('model');
    if (!model) throw new UsageError('needs --model DIR: a GPT-2 (Hugging Face) or GELU-1L (TransformerLens) checkpoint directory');
    if (!out) throw new UsageError('needs -o PATH: a .arrow file, a directory (--shard-rows or several hooks), or - for an Arrow stream on stdout');
    if (out === '-') {
      if (process.stdout.isTTY) throw new UsageError('-o - writes binary Arrow data to stdout, which is a terminal here: pipe it (| vsae train --input - -o runs/x) or use -o FILE');
      if (g.bool('json')) throw new UsageError('--json prints on stdout, which -o - already uses for the dataset; drop one of them');
    }
    const part = parsePart(g.str('part'));
    if (g.given('layer') !== g.given('act-name')) throw new UsageError('--layer and --act-name go together (e.g. --layer 0 --act-name post)');
    checkOutputs(out, g.list('hook'), g.given('shard-rows'), g.bool('resume'));
    // SIGINT/SIGTERM: finish the batch in flight, keep the complete shards, exit 130. A second signal exits at once.
    const ctl = new AbortController();
    const onSignal = (): void => {
      if (ctl.signal.aborted) process.exit(130);
      ctl.abort();
      if (!g.bool('quiet')) process.stderr.write('\nvsae extract: stopping after this batch (again to stop now)\n');
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const { extract } = await import('@vsae/extract');
      const s = await extract({
        model,
        hooks: g.list('hook'),
        layer: g.num('layer'),
        actName: g.str('act-name'),
        text: g.str('text'),
        format: g.str('format') as 'text' | 'jsonl' | 'arrow' | undefined,
        dataset: g.str('dataset'),
        tokenizer: g.str('tokenizer'),
        context: g.num('context'),
        prependBos: g.bool('prepend-bos'),
        excludeBos: g.bool('exclude-bos'),
        maxTokens: g.num('max-tokens'),
        batchSize: g.num('batch-size'),
        maxMemory: g.given('max-memory') ? parseSize('max-memory', g.str('max-memory')!) : undefined,
        docSeparator: g.str('doc-separator') as 'eos' | 'none',
        out,
        shardRows: g.num('shard-rows'),
        resume: g.bool('resume'),
        ...(part ? { part } : {}),
        backend: g.str('backend'),
        quiet: g.bool('quiet'),
        signal: ctl.signal,
      });
      if (s.interrupted) {
        process.stderr.write(`vsae extract: interrupted; complete shards are kept: rerun the same command with --resume to continue\n`);
        return 130;
      }
      if (g.bool('json')) {
        process.stdout.write(
          JSON.stringify(
            {
              model: s.model,
              source: s.source,
              context: s.context,
              windows: s.windows,
              tokens: s.tokens,
              seconds: s.seconds,
              tokens_per_s: s.tokensPerSecond,
              backend: s.backend,
              outputs: s.outputs.map((o) => ({ hook: o.hook, path: o.path, d_in: o.dIn, rows: o.rows, resumed_rows: o.resumedRows })),
            },
            null,
            2,
          ) + '\n',
        );
      } else if (!g.bool('quiet')) {
        for (const o of s.outputs) {
          process.stderr.write(`vsae extract: wrote ${o.rows} rows of ${o.hook} (d_in ${o.dIn}) to ${o.path === '-' ? 'stdout' : o.path}${o.resumedRows ? ` (${o.resumedRows} kept from before)` : ''}\n`);
        }
        process.stderr.write(`vsae extract: ${s.windows} windows of ${s.context}, ${formatNumber(s.tokensPerSecond)} tokens/s on ${s.backend}, ${formatDuration(s.seconds)}\n`);
      }
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

/** -o before the model loads: nothing that exists is overwritten, and the place can be written. */
function checkOutputs(out: string, hooks: string[], sharded: boolean, resume: boolean): void {
  if (out === '-') return;
  if (hooks.length <= 1) {
    checkOutput(out, sharded ? { kind: 'dir', dataset: true, resume } : { kind: 'file', dirHint: ', or add --shard-rows N to write a sharded dataset there' });
    return;
  }
  checkOutput(out, { kind: 'dir' });
  for (const h of hooks) checkOutput(path.join(out, sharded ? h : `${h}.arrow`), sharded ? { kind: 'dir', dataset: true, resume } : { kind: 'file' });
}

/** `--part I/N` → { index, count }; a usage error for anything else. */
export function parsePart(raw: string | undefined): { index: number; count: number } | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count)) throw new UsageError(`--part ${raw}: give I/N with 0 ≤ I < N, e.g. --part 0/4 (SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX as I)`);
  return { index, count };
}
