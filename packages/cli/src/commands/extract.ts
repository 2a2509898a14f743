import * as path from 'node:path';
import { formatDuration, formatNumber, parseSize, UsageError } from '@vsae/data';
import { EXTRACT_OPTIONS } from '@vsae/extract/options';
import type { CommandSpec } from '../args.js';
import { BACKEND_OPTION, getters, givenOptions } from '../args.js';
import { checkOutput } from '../output.js';

export const command: CommandSpec = {
  name: 'extract',
  summary: "run a transformer over text and write a hook's activations",
  usage: 'vsae extract --model DIR --hook NAME[,NAME…] (--text FILE | --dataset FILE.arrow) [options] -o PATH|DIR|-',
  options: {
    ...EXTRACT_OPTIONS,
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
        ...givenOptions(EXTRACT_OPTIONS, args),
        model,
        out,
        maxMemory: g.given('max-memory') ? parseSize('max-memory', g.str('max-memory')!) : undefined,
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
