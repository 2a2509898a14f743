// @ts-check
// The sections of one run: overview, training curves, feature density, reconstruction,
// dictionary similarity, latent space. The feature browser is in browser.js.

/** Notices for the files of a section that are missing or unreadable. @param {RunReport} run @param {string[]} files */
function notesFor(run, files) {
  return run.notes.filter((n) => files.includes(n.file)).map((n) => notice(n.message, n.command, n.state));
}

/** @param {string} id @param {string} title @param {string | null} intro */
function section(id, title, intro) {
  return h('section', { class: 'block', id }, h('h2', null, title), intro ? h('p', { class: 'intro' }, intro) : null);
}

const grid = () => h('div', { class: 'grid' });

/** A row of key figures. @param {Array<[string, string, string?]>} items label, value, note */
function cards(items) {
  const el = h('div', { class: 'cards' });
  for (const [label, value, note] of items) el.append(h('div', { class: 'card' }, h('div', { class: 'card-value' }, value), h('div', { class: 'card-label' }, label), note ? h('div', { class: 'card-note' }, note) : null));
  return el;
}

/** @param {RunReport} run @param {string} key */
function summaryNum(run, key) {
  const v = run.summary?.[key];
  return typeof v === 'number' ? v : null;
}

/** The last finite value of a metrics column. @param {RunReport} run @param {string} col */
function lastMetric(run, col) {
  const s = run.metrics?.series[col];
  if (!s) return null;
  for (let i = s.length - 1; i >= 0; i--) {
    const v = s[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) return v;
  }
  return null;
}

/** Headline figures of a run: from the analysis when there is one, else from training. @param {RunReport} run */
function headline(run) {
  const fromSummary = run.summary !== null;
  const deadFrac = fromSummary ? (summaryNum(run, 'percent_dead_neurons') ?? NaN) / 100 : lastMetric(run, 'dead_frac');
  return {
    source: fromSummary ? 'analysis' : run.metrics ? 'last training step' : null,
    l0: fromSummary ? summaryNum(run, 'l0') : lastMetric(run, 'l0'),
    ev: fromSummary ? summaryNum(run, 'explained_variance') : lastMetric(run, 'explained_variance'),
    dead: deadFrac !== null && Number.isFinite(deadFrac) ? deadFrac : null,
    mse: summaryNum(run, 'mse_mean'),
    cos: summaryNum(run, 'cosine_sim_mean'),
    mmcs: run.groundTruth?.mmcs ?? summaryNum(run, 'mmcs'),
    ce: summaryNum(run, 'ce_loss_recovered'),
    step: run.status?.step ?? (run.metrics ? (run.metrics.step[run.metrics.step.length - 1] ?? null) : null),
    steps: run.status?.steps ?? null,
  };
}

/** @param {RunReport} run */
function statusText(run) {
  if (!run.status) return run.metrics ? 'no _run.json' : 'not trained';
  const { status, step, steps } = run.status;
  return step !== null && steps !== null ? `${status} · step ${fmt(step)} of ${fmt(steps)}` : status;
}

/** @param {RunReport} run @param {number} ri */
function overviewSection(run, ri) {
  const s = section(`run-${ri}-overview`, 'Overview', null);
  const hl = headline(run);
  /** @type {Array<[string, string, string?]>} */
  const items = [
    ['L0 (active latents per row)', fmt(hl.l0), hl.source ?? undefined],
    ['explained variance', fmt(hl.ev), hl.source ?? undefined],
    ['dead latents', pct(hl.dead), hl.source ?? undefined],
  ];
  if (hl.mse !== null) items.push(['reconstruction MSE', fmt(hl.mse), 'mean over rows']);
  if (hl.cos !== null) items.push(['cosine(x, x̂)', fmt(hl.cos), 'mean over rows']);
  if (hl.mmcs !== null) items.push(['MMCS', fmt(hl.mmcs), 'true features vs. latents']);
  if (hl.ce !== null) items.push(['CE loss recovered', pct(hl.ce), 'SAE spliced in']);
  items.push(['training', hl.step !== null ? `step ${fmt(hl.step)}` : '—', run.status?.status ?? undefined]);
  s.append(cards(items));
  const problems = run.notes.filter((n) => n.state !== 'missing');
  const missing = run.notes.filter((n) => n.state === 'missing');
  if (missing.length + problems.length > 0) {
    const list = h('ul', { class: 'notes' });
    for (const n of [...problems, ...missing]) list.append(h('li', { class: n.state }, h('span', { class: 'file' }, n.file), ' — ', n.message, n.command ? ' ' : null, n.command ? h('code', null, n.command) : null));
    s.append(h('details', { class: 'notes-box', open: problems.length > 0 }, h('summary', null, `${missing.length} file${missing.length === 1 ? '' : 's'} not made yet${problems.length ? `, ${problems.length} with problems` : ''}`), list));
  }
  if (run.config.length) {
    const t = h('table', { class: 'kv' });
    for (const [k, v] of run.config) t.append(h('tr', null, h('th', null, k), h('td', null, v)));
    s.append(h('details', { class: 'config' }, h('summary', null, 'Training options (cfg.json)'), t));
  }
  return s;
}

const METRIC_CHARTS = /** @type {const} */ ([
  ['loss', 'Loss', 'total training loss'],
  ['recon', 'Reconstruction loss', 'squared error term'],
  ['l1', 'L1 penalty', 'sparsity term (before the coefficient)'],
  ['kl', 'KL divergence', 'sparsity term (before the coefficient)'],
  ['auxk', 'AuxK loss', 'dead latents\u2019 reconstruction of the residual (TopK models)'],
  ['coeff', 'Sparsity coefficient', 'L1/KL coefficient in force'],
  ['l0', 'L0', 'mean active latents per row'],
  ['dead_frac', 'Dead fraction', 'share of latents not firing over the window'],
  ['explained_variance', 'Explained variance', '1 − SSE / SST of the batch'],
  ['recon_z', 'Reconstruction loss of the sample', 'VSAEs: the decoded z (the curve above is the mean μ)'],
  ['explained_variance_z', 'Explained variance of the sample', 'VSAEs: the decoded z'],
  ['lr', 'Learning rate', 'schedule in force'],
]);

/** @param {RunReport} run @param {number} ri */
function trainingSection(run, ri) {
  const m = run.metrics;
  const s = section(`run-${ri}-training`, 'Training curves', m ? `${fmt(m.rows)} logged steps${m.step.length < m.rows ? `, ${fmt(m.step.length)} drawn (evenly spaced, last included)` : ''}${run.status?.status === 'running' ? '. The run was still training when this report was made: complete steps only.' : '.'}` : null);
  s.append(...notesFor(run, ['metrics.arrows']));
  if (!m) return s;
  const g = grid();
  // The known columns in their order, then any other the run logs (an architecture's own loss
  // term, say), so a new architecture's metrics are drawn without a change here.
  /** @type {Set<string>} */
  const known = new Set(METRIC_CHARTS.map(([col]) => col));
  /** @type {Array<readonly [string, string, string]>} */
  const charts = [...METRIC_CHARTS, ...Object.keys(m.series).filter((col) => !known.has(col)).map((col) => /** @type {const} */ ([col, col, 'logged by this run\u2019s architecture']))];
  for (const [col, title, sub] of charts) {
    const y = m.series[col];
    if (!y) continue;
    lineChart(g, {
      id: col,
      run: ri,
      title,
      subtitle: sub,
      series: [{ name: title, color: runColor(ri), x: m.step, y }],
      xLabel: 'step',
      log: col === 'loss' || col === 'recon' || col === 'recon_z' || col === 'l1' || col === 'kl' || col === 'auxk' ? 'auto' : false,
      yFormat: col === 'dead_frac' ? (v) => fmtPct(v) : undefined,
    });
  }
  s.append(g);
  return s;
}

/** @param {RunReport} run @param {number} ri */
function densitySection(run, ri) {
  const f = run.features;
  const s = section(`run-${ri}-density`, 'Feature density', 'How often each latent fires (share of analysed rows with activation > 1e-8), on a log scale. Click a bar to list its latents, or a point to open it in the feature browser.');
  s.append(...notesFor(run, ['analysis/features.arrow']));
  if (!f) return s;
  const alive = f.n - f.deadCount;
  s.append(cards([
    ['latents', fmt(f.n)],
    ['dead (never fired)', `${fmt(f.deadCount)} (${pct(f.deadCount / Math.max(1, f.n))})`],
    [`dense (≥ ${pct(f.denseThreshold)} of rows)`, `${fmt(f.denseCount)} (${pct(f.denseCount / Math.max(1, f.n))})`],
    ['median log10 density', fmt(d3.median(finite(f.log10.filter((_v, i) => !f.dead[i]))))],
  ]));
  const g = grid();
  const chips = h('div', { class: 'chips' });
  barHistogram(g, {
    id: 'density',
    run: ri,
    title: 'Feature density',
    subtitle: `${plural(alive, 'latent')} that fired; ${fmt(f.deadCount)} dead not shown`,
    hist: f.density,
    xLabel: 'log10 firing frequency',
    yLabel: 'latents',
    color: runColor(ri),
    markers: [{ x: Math.log10(f.denseThreshold), label: 'dense', color: '#e15759' }],
    onBar: (b) => {
      const lo = f.density.edges[b] ?? 0;
      const hi = f.density.edges[b + 1] ?? 0;
      const last = b === f.density.counts.length - 1;
      const inBin = [];
      for (let i = 0; i < f.n; i++) {
        const v = f.log10[i];
        if (!f.dead[i] && v !== null && v !== undefined && v >= lo && (v < hi || (last && v <= hi))) inBin.push(i);
      }
      chips.replaceChildren(h('span', { class: 'chips-title' }, `${plural(inBin.length, 'latent')} with log10 density in [${fmt(lo)}, ${fmt(hi)}]${inBin.length > 200 ? ' (first 200)' : ''}:`));
      for (const i of inBin.slice(0, 200)) chips.append(latentButton(ri, f.latent[i] ?? i));
    },
  });
  const sc = f.scatter;
  scatter(g, {
    id: 'density-scatter',
    run: ri,
    title: 'Density and activation',
    subtitle: `${fmt(sc.length)} of ${plural(f.n, 'latent')}; colour = encoder–decoder cosine`,
    x: sc.map((i) => (f.dead[i] ? null : (f.log10[i] ?? null))),
    y: sc.map((i) => f.meanAct[i] ?? null),
    color: (k) => d3.interpolateViridis(Math.max(0, Math.min(1, f.encDec[sc[k] ?? 0] ?? 0))),
    xLabel: 'log10 firing frequency',
    yLabel: 'mean activation when active',
    pointTip: (k) => latentTip(f, sc[k] ?? 0),
    onPoint: (k) => selectLatent(ri, f.latent[sc[k] ?? 0] ?? 0, true),
  });
  barHistogram(g, {
    id: 'enc-dec',
    run: ri,
    title: 'Encoder–decoder alignment',
    subtitle: 'cosine of each latent’s encoder column and decoder row',
    hist: binValues(f.encDec, 40, [-1, 1]),
    xLabel: 'cosine',
    yLabel: 'latents',
    color: '#59a14f',
  });
  if (f.meanVar) {
    barHistogram(g, {
      id: 'mean-var',
      run: ri,
      title: 'Mean posterior variance',
      subtitle: 'σ² per latent, averaged over rows (VSAE)',
      hist: binValues(f.meanVar, 40),
      xLabel: 'mean σ²',
      yLabel: 'latents',
      color: '#b07aa1',
    });
  }
  s.append(g, chips);
  return s;
}

/** latent number → position in the features arrays. @param {NonNullable<RunReport['features']>} f */
function latentPositions(f) {
  const m = new Map();
  f.latent.forEach((l, i) => m.set(l, i));
  return m;
}

/** Tooltip rows for a latent. @param {NonNullable<RunReport['features']>} f @param {number} i position @returns {[string, Array<[string, string]>]} */
function latentTip(f, i) {
  /** @type {Array<[string, string]>} */
  const rows = [
    ['frequency', pct(f.freq[i])],
    ['log10 density', f.dead[i] ? 'dead' : fmt(f.log10[i])],
    ['mean act (active)', fmt(f.meanAct[i])],
    ['max act', fmt(f.maxAct[i])],
    ['enc–dec cosine', fmt(f.encDec[i])],
  ];
  if (f.meanVar) rows.push(['mean σ²', fmt(f.meanVar[i])]);
  return [`latent ${f.latent[i]}`, rows];
}

/** A button that opens a latent in the run's feature browser. @param {number} ri @param {number} latent */
function latentButton(ri, latent) {
  return h('button', { type: 'button', class: 'latent-link', 'data-latent': latent, click: () => selectLatent(ri, latent, true) }, `#${latent}`);
}

/** @param {RunReport} run @param {number} ri */
function reconstructionSection(run, ri) {
  const r = run.reconstruction;
  const s = section(`run-${ri}-recon`, 'Reconstruction', 'How well the autoencoder rebuilds each analysed row: per-row mean squared error and cosine between input and reconstruction.');
  s.append(...notesFor(run, ['analysis/reconstruction.arrow', 'analysis/reconstruction_dims.arrow']));
  /** @type {Array<[string, string, string?]>} */
  const items = [];
  const ev = summaryNum(run, 'explained_variance');
  if (ev !== null) items.push(['explained variance', fmt(ev), '1 − SSE / SST']);
  if (r) {
    items.push(['MSE', `${fmt(r.mse.mean)} ± ${fmt(r.mse.std)}`, `median ${fmt(r.mse.median)}`]);
    items.push(['cosine(x, x̂)', `${fmt(r.cos.mean)} ± ${fmt(r.cos.std)}`, `median ${fmt(r.cos.median)}`]);
    items.push(['rows analysed', fmt(r.rows)]);
  }
  const l2 = summaryNum(run, 'l2_ratio');
  if (l2 !== null) items.push(['L2 ratio', fmt(l2), '‖x̂‖ / ‖x‖']);
  const ce = summaryNum(run, 'ce_loss_recovered');
  if (ce !== null) items.push(['CE loss recovered', pct(ce), `orig ${fmt(summaryNum(run, 'ce_loss_orig'))}, SAE ${fmt(summaryNum(run, 'ce_loss_sae'))}, zero ${fmt(summaryNum(run, 'ce_loss_zero'))}`]);
  if (items.length) s.append(cards(items));
  if (!r) return s;
  const g = grid();
  barHistogram(g, {
    id: 'recon-mse',
    run: ri,
    title: 'Reconstruction error',
    subtitle: `per row${r.mseZero ? `; ${fmt(r.mseZero)} row${r.mseZero === 1 ? '' : 's'} with MSE 0 not shown` : ''}`,
    hist: r.logMse,
    xLabel: 'log10 MSE',
    yLabel: 'rows',
    color: '#f28e2b',
    markers: r.mse.median !== null && r.mse.median > 0 ? [{ x: Math.log10(r.mse.median), label: 'median', color: '#333' }] : [],
  });
  barHistogram(g, {
    id: 'recon-cos',
    run: ri,
    title: 'Cosine of input and reconstruction',
    subtitle: 'per row',
    hist: r.cosine,
    xLabel: 'cosine(x, x̂)',
    yLabel: 'rows',
    color: '#76b7b2',
    markers: r.cos.median !== null ? [{ x: r.cos.median, label: 'median', color: '#333' }] : [],
  });
  if (r.dims) {
    lineChart(g, {
      id: 'recon-dims',
      run: ri,
      title: 'Error per input dimension',
      subtitle: `MSE of each of the ${plural(r.dims.dim.length, 'dimension')}`,
      series: [{ name: 'MSE', color: '#e15759', x: r.dims.dim, y: r.dims.mse }],
      xLabel: 'input dimension',
      log: 'auto',
    });
  }
  s.append(g);
  return s;
}

/** @param {RunReport} run @param {number} ri */
function dictionarySection(run, ri) {
  const d = run.similarity;
  const s = section(`run-${ri}-dictionary`, 'Dictionary similarity', 'Cosine similarity between decoder directions. Many near-duplicate pairs point to wasted capacity or feature splitting.');
  s.append(...notesFor(run, ['analysis/similarity.arrow', 'analysis/similarity_sample.arrow']));
  /** @type {Array<[string, string, string?]>} */
  const items = [];
  for (const [k, label] of /** @type {const} */ ([['mean_cosine_sim', 'mean cosine between latents'], ['max_cosine_sim', 'max cosine'], ['mean_diagonal_alignment', 'mean enc–dec alignment'], ['mean_coactivation', 'mean co-activation']])) {
    const v = summaryNum(run, k);
    if (v !== null) items.push([label, fmt(v)]);
  }
  if (items.length) s.append(cards(items));
  const g = grid();
  if (d?.sample) {
    heatmap(g, {
      id: 'sim-sample',
      run: ri,
      title: 'Decoder cosine, latent sample',
      subtitle: `${d.sample.latents.length} latents; click a cell to open its row’s latent`,
      labels: d.sample.latents,
      values: d.sample.cos,
      valueName: 'cosine',
      axisName: 'latent',
      width: 380,
      onCell: (a) => selectLatent(ri, a, true),
    });
  }
  if (d?.pairHist) {
    barHistogram(g, {
      id: 'sim-pairs',
      run: ri,
      title: 'Most similar pairs',
      subtitle: `cosines of the ${fmt(d.pairCount)} most similar decoder pairs`,
      hist: d.pairHist,
      xLabel: 'cosine',
      yLabel: 'pairs',
      color: '#edc948',
    });
  }
  s.append(g);
  if (d?.pairs) {
    const t = h('table', { class: 'pairs' }, h('thead', null, h('tr', null, h('th', null, 'rank'), h('th', null, 'latent'), h('th', null, 'latent'), h('th', null, 'cosine'))));
    const body = h('tbody');
    d.pairs.a.forEach((a, i) => {
      const b = d.pairs?.b[i] ?? 0;
      body.append(h('tr', null, h('td', null, i + 1), h('td', null, latentButton(ri, a)), h('td', null, latentButton(ri, b)), h('td', null, fmt(d.pairs?.cos[i]))));
    });
    t.append(body);
    s.append(h('details', { class: 'pairs-box' }, h('summary', null, `Top ${d.pairs.a.length} most similar decoder pairs`), t));
  }
  const gt = run.groundTruth;
  if (gt) {
    const gs = h('div', { class: 'subblock' }, h('h3', null, 'True features (toy model)'), h('p', { class: 'intro' }, 'For each true feature of the toy model, the latent whose decoder direction is closest to it. MMCS is the mean of these best cosines.'));
    gs.append(cards([
      ['MMCS, all features', fmt(gt.mmcs), plural(gt.rows, 'feature')],
      ['MMCS, represented', fmt(gt.mmcsRepresented), `${fmt(d3.sum(gt.represented))} with ‖W_i‖ ≥ ${gt.representedNorm}`],
    ]));
    barChart(gs, {
      id: 'ground-truth',
      run: ri,
      title: 'Best latent per true feature',
      subtitle: 'bar = cosine of the feature and its best latent; pale = not represented by the toy model',
      wide: true,
      width: 920,
      height: 260,
      labels: gt.feature,
      values: gt.cos,
      domain: [0, 1],
      color: (i) => (gt.represented[i] ? '#4e79a7' : '#c6d4e5'),
      xLabel: 'true feature',
      yLabel: 'best cosine',
      refLine: gt.mmcs !== null ? { y: gt.mmcs, label: `MMCS ${fmt(gt.mmcs)}` } : undefined,
      barTip: (i) => [`feature ${gt.feature[i]}`, [['best latent', String(gt.best[i])], ['cosine', fmt(gt.cos[i])], ['‖W_i‖', fmt(gt.norm[i])], ['represented', gt.represented[i] ? 'yes' : 'no']]],
      onBar: (i) => selectLatent(ri, gt.best[i] ?? 0, true),
    });
    s.append(gs);
  } else {
    s.append(...notesFor(run, ['analysis/ground_truth.arrow']));
  }
  const co = run.coactivation;
  if (co) {
    const cg = grid();
    heatmap(cg, {
      id: 'coactivation',
      run: ri,
      title: 'Co-activation of the most active latents',
      subtitle: 'Jaccard index of the rows where both fire',
      labels: co.latents,
      values: co.jaccard,
      valueName: 'Jaccard',
      axisName: 'latent',
      domain: [0, 1],
      scheme: 'sequential',
      width: 380,
      onCell: (a) => selectLatent(ri, a, true),
    });
    s.append(cg);
  }
  return s;
}

/** @param {RunReport} run @param {number} ri */
function latentSpaceSection(run, ri) {
  const s = section(`run-${ri}-latent`, 'Latent space', 'Decoder directions (and, for VSAEs, posterior means μ of sampled rows) projected to 2-D, coloured by DBSCAN cluster. Hover for details; click a latent to open it.');
  s.append(...notesFor(run, ['analysis/embedding.arrow']));
  const kinds = run.embedding;
  if (!kinds || kinds.length === 0) return s;
  const f = run.features;
  const pos = f ? latentPositions(f) : new Map();
  let kind = kinds[0];
  const hasUmap = (/** @type {typeof kind} */ k) => !!k && k.umapX.some((v) => v !== null);
  let proj = hasUmap(kind) ? 'umap' : 'pca';
  const controls = h('div', { class: 'controls' });
  const holder = h('div');
  s.append(controls, holder);
  let current = /** @type {ReturnType<typeof scatter> | null} */ (null);
  const draw = () => {
    if (!kind) return;
    const k = kind;
    holder.replaceChildren();
    const isDecoder = k.kind === 'decoder';
    current = scatter(holder, {
      id: 'latent-space',
      run: ri,
      title: `${isDecoder ? 'Decoder directions' : 'Posterior means μ'} (${proj.toUpperCase()})`,
      subtitle: `${fmt(k.id.length)} of ${fmt(k.total)} ${isDecoder ? 'latents' : 'rows'}`,
      wide: true,
      width: 920,
      height: 440,
      x: proj === 'umap' ? k.umapX : k.pcaX,
      y: proj === 'umap' ? k.umapY : k.pcaY,
      color: (i) => clusterColor(k.cluster[i] ?? -1),
      xLabel: `${proj.toUpperCase()} 1`,
      yLabel: `${proj.toUpperCase()} 2`,
      r: 3,
      pointTip: (i) => {
        const id = k.id[i] ?? 0;
        const c = k.cluster[i] ?? -1;
        /** @type {Array<[string, string]>} */
        const rows = [['cluster', c < 0 ? 'noise' : String(c)]];
        const p = pos.get(id);
        if (isDecoder && f && p !== undefined) rows.push(...latentTip(f, p)[1]);
        return [`${isDecoder ? 'latent' : 'row'} ${id}`, rows];
      },
      onPoint: isDecoder ? (i) => selectLatent(ri, k.id[i] ?? 0, true) : undefined,
    });
    const counts = d3.rollups(k.cluster, (v) => v.length, (c) => c).sort((a, b) => b[1] - a[1]);
    const shown = counts.filter(([c]) => c >= 0).slice(0, 12);
    const noise = counts.find(([c]) => c < 0);
    legend(current.fig, [
      ...shown.map(([c, n]) => ({ name: `cluster ${c} (${fmt(n)})`, color: clusterColor(c) })),
      ...(noise ? [{ name: `noise (${fmt(noise[1])})`, color: NOISE_COLOR }] : []),
    ]);
  };
  const projButtons = ['umap', 'pca'].map((p) =>
    h('button', { type: 'button', class: 'toggle', 'data-proj': p, disabled: p === 'umap' && !hasUmap(kind), click: () => { proj = p; sync(); draw(); } }, p.toUpperCase()),
  );
  const kindSelect = h('select', { 'aria-label': 'points' });
  kinds.forEach((k, i) => kindSelect.append(h('option', { value: i }, k.kind === 'decoder' ? 'decoder directions' : k.kind === 'mu' ? 'posterior means μ (rows)' : k.kind)));
  kindSelect.addEventListener('change', () => {
    kind = kinds[Number(/** @type {HTMLSelectElement} */ (kindSelect).value)];
    if (!hasUmap(kind)) proj = 'pca';
    sync();
    draw();
  });
  const sync = () => projButtons.forEach((b) => {
    b.classList.toggle('on', b.getAttribute('data-proj') === proj);
    /** @type {HTMLButtonElement} */ (b).disabled = b.getAttribute('data-proj') === 'umap' && !hasUmap(kind);
  });
  controls.append(h('span', { class: 'seg' }, ...projButtons));
  if (kinds.length > 1) controls.append(kindSelect);
  sync();
  draw();
  return s;
}
