import path from 'node:path';
import { REPRESENTED_NORM } from '@vsae/data';
import type { CommandSpec } from '../args.js';
import { BACKEND_OPTION, getters } from '../args.js';

export const command: CommandSpec = {
  name: 'demo',
  summary: 'the whole pipeline on a toy model: SAE, the three VSAEs, TopK and vSAE-TopK (with its KL-free control), one comparison report',
  usage: 'vsae demo [--out DIR] [--quick] [--json]',
  options: {
    out: { type: 'string', short: 'o', help: 'directory for the dataset, the seven runs and the report', default: 'demo-out', value: 'DIR' },
    quick: { type: 'boolean', help: 'fewer rows and steps (under a minute on two cores)' },
    seed: { type: 'int', help: 'random seed of the toy model and the training runs', default: 42 },
    jobs: { type: 'int', help: 'processes at a time (default 2 on a machine with two or more cores)', min: 1, value: 'N' },
    backend: BACKEND_OPTION,
    json: { type: 'boolean', help: 'print the results as JSON instead of a table' },
    quiet: { type: 'boolean', short: 'q', help: 'no progress on stderr' },
  },
  examples: ['vsae demo', 'vsae demo --quick --out /tmp/demo', 'vsae demo --json | jq .rows'],
  async run(args) {
    const g = getters(args);
    const { runDemo, formatDemoTable, demoConclusions } = await import('../demo.js');
    const r = await runDemo({ out: g.str('out')!, quick: g.bool('quick'), seed: g.num('seed')!, jobs: g.num('jobs'), backend: g.str('backend'), quiet: g.bool('quiet') });
    if (g.bool('json')) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return 0;
    }
    const rel = (p: string) => path.relative(process.cwd(), p) || '.';
    process.stdout.write(
      [
        '',
        `Toy model: 100 features in 20 dimensions (2 correlated pairs, 1 anti-correlated pair), ${r.settings.toy[r.settings.toy.indexOf('--rows') + 1]} rows; dictionaries of 160 latents.`,
        '',
        formatDemoTable(r),
        '',
        'L0: active latents per row (the toy rows hold about 5 features). Explained variance: 1 − Σ‖x − x̂‖² / Σ‖x − x̄‖². Alive: share of latents that fire.',
        'MMCS: mean over the true feature directions of the best cosine with a decoder row (1 = every feature recovered);',
        `"repr." counts only the features the toy model represents (‖W_i‖ ≥ ${REPRESENTED_NORM}). VSAEs are measured on μ.`,
        '"random dictionary" is the MMCS of as many random unit directions: what a dictionary that learned nothing scores.',
        `vsae-topk-kl0 is vSAE-TopK with --kl-coeff 0: the control that shows what the KL term does.`,
        '',
        ...demoConclusions(r),
        '',
        `Report: ${rel(r.report)}   Runs: ${rel(path.join(r.out, 'runs'))}   (${r.seconds.toFixed(0)} s in all)`,
        `Next: vsae dash ${rel(path.join(r.out, 'runs'))}   ·   open ${rel(r.report)} in a browser`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};
