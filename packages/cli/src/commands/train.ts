import { formatDuration, formatNumber, parseSize, UsageError } from '@vsae/data';
import { ARCHITECTURES, TRAIN_OPTIONS, checkArchOptions, type TrainOptionsInput } from '@vsae/sae/options';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { BACKEND_OPTION, getters, givenOptions } from '../args.js';
import { checkOutput } from '../output.js';

/** The values the user gave, as train() options (defaults are the library's to fill in). */
export function trainInput(args: ParsedArgs): TrainOptionsInput {
  return givenOptions(TRAIN_OPTIONS, args, (name, v) => (name === 'max-memory' ? parseSize(name, String(v)) : v)) as unknown as TrainOptionsInput;
}

export const command: CommandSpec = {
  name: 'train',
  summary: `train an autoencoder (${ARCHITECTURES.map((a) => a.name).join(', ')}) on an activation dataset into a run directory`,
  usage: `vsae train --arch ${ARCHITECTURES.map((a) => a.name).join('|')} --input PATH|- -o DIR [options]`,
  options: {
    ...TRAIN_OPTIONS,
    'allow-short-input': { type: 'boolean', help: 'exit 0 when stdin runs out before --steps (the run stops there, status input-ended)' },
    backend: BACKEND_OPTION,
    json: { type: 'boolean', help: 'print a JSON summary on stdout' },
    quiet: { type: 'boolean', help: 'no progress on stderr', short: 'q' },
  },
  implied: Object.fromEntries(ARCHITECTURES.flatMap((a) => a.impliedFlags.map((f) => [f, { sets: 'arch', to: a.name }]))),
  examples: [
    'vsae train --arch sae --input toy.arrow -o runs/sae --steps 3000',
    'vsae train --arch topk --k 5 --d-sae 160 --input toy.arrow -o runs/topk --steps 3000 --batch-size 1024',
    'vsae train --arch vsae-topk --k 5 --kl-coeff 1 --d-sae 160 --input toy.arrow -o runs/vtopk',
    'vsae train --arch vsae-multi --multi-kl batch-moments --kl-coeff 30 --decode mu --var-flag 1 --input toy.arrow -o runs/multi',
    'vsae toy -o - --truth toy.truth.safetensors | vsae train --arch vsae-iso --input - -o runs/iso',
    'vsae train --resume --input toy.arrow -o runs/sae',
    'vsae train --vsae_iso --dict_mult 8 --l1_coeff 0 --kl_coeff 1e-5 --reduction sum --input acts.arrow -o runs/orig',
  ],
  async run(args) {
    const g = getters(args);
    const input = trainInput(args);
    if (!input.input) throw new UsageError('needs --input PATH: the activation dataset (.arrow file, sharded directory, or - for stdin)');
    if (!input.out) throw new UsageError('needs -o DIR: the run directory to write');
    if (input.input === '-' && process.stdin.isTTY) throw new UsageError('--input - reads an Arrow stream from stdin, which is a terminal here: pipe one in (vsae toy -o - … | vsae train --input - …) or give a file');
    checkOutput(input.out, { kind: 'dir' });
    input.backend = g.str('backend');
    input.quiet = g.bool('quiet');
    // Check the architecture's flags before loading the tensor engine.
    if (!input.resume) checkArchOptions(input);
    const { train } = await import('@vsae/sae');
    const r = await train(input);
    // train() handled SIGINT/SIGTERM until it returned; one arriving now, with the run's files
    // written, must not kill the process and lose its exit status (it used to, by default).
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => undefined);
    if (!g.bool('quiet')) for (const n of r.notes) process.stderr.write(`vsae train: note: ${n}\n`);
    const last = r.last;
    const summary = {
      run: r.runDir,
      status: r.status,
      step: r.step,
      steps: r.steps,
      backend: r.backend,
      seconds: r.elapsedS,
      ...(last ? Object.fromEntries(Object.entries(last).filter(([k]) => k !== 'step')) : {}),
      message: r.message ?? null,
    };
    if (g.bool('json')) {
      process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    } else if (!g.bool('quiet') || r.status !== 'complete') {
      const m = last
        ? `loss ${formatNumber(last.loss)}, L0 ${formatNumber(last.l0)}, dead ${(100 * last.dead_frac).toFixed(1)}%, explained variance ${formatNumber(last.explained_variance)}`
        : 'no step logged';
      const head = r.status === 'complete' ? `trained ${r.step} steps` : r.message!;
      process.stderr.write(`vsae train: ${head} (${formatDuration(r.elapsedS)}, ${r.backend}): ${m}; run in ${r.runDir}\n`);
    }
    // Interrupted (SIGINT/SIGTERM): checkpoint written; 130 as a shell reports a SIGINT stop.
    if (r.status === 'interrupted') return 130;
    // Stdin ran out before --steps: the run is usable but shorter than asked.
    if (r.status === 'input-ended' && !g.bool('allow-short-input')) return 1;
    return 0;
  },
};
