// @ts-check
// The feature browser of a run: pick a latent (by number, from the list, or by clicking in
// another view) and see its density, activation histogram, top and quantile examples with
// the tokens shaded by activation, and its logit effects.

/** @type {Array<(latent: number) => void>} */
const browsers = [];

/** Opens a latent in run ri's feature browser (and shows that run). */
function selectLatent(/** @type {number} */ ri, /** @type {number} */ latent, scroll = false) {
  showRun(ri);
  browsers[ri]?.(latent);
  if (scroll) document.getElementById(`run-${ri}-browser`)?.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

/** @param {RunReport} run @param {number} ri */
function browserSection(run, ri) {
  const s = section(`run-${ri}-browser`, 'Feature browser', 'Pick a latent by number or from the list, or click one in the views above.');
  s.append(...notesFor(run, ['analysis/features.arrow', 'analysis/top_examples.arrow', 'analysis/logits.arrow']));
  const f = run.features;
  const ex = run.examples;
  const dSae = run.dSae ?? f?.n ?? null;
  if (!f && !ex) return s;
  const pos = f ? latentPositions(f) : new Map();
  const withExamples = ex ? ex.latents.slice().sort((a, b) => a - b) : [];
  const maxLatent = dSae !== null ? dSae - 1 : d3.max(withExamples) ?? 0;

  const input = /** @type {HTMLInputElement} */ (h('input', { type: 'number', min: 0, max: maxLatent, step: 1, 'aria-label': 'latent number', class: 'latent-input' }));
  const list = /** @type {HTMLSelectElement} */ (h('select', { 'aria-label': 'latents with examples', class: 'latent-list' }, h('option', { value: '' }, withExamples.length ? `latents with examples (${fmt(withExamples.length)})` : 'no examples embedded')));
  for (const l of withExamples) list.append(h('option', { value: l }, `#${l}`));
  const body = h('div', { class: 'fb-body' });
  let current = -1;
  const go = (/** @type {number} */ l) => show(Math.max(0, Math.min(maxLatent, l)));
  const alive = f ? f.latent.filter((_l, i) => !f.dead[i]) : withExamples;
  let seed = 12345;
  const bar = h(
    'div',
    { class: 'fb-bar' },
    h('label', null, 'latent ', input),
    h('button', { type: 'button', click: () => go(current - 1), 'aria-label': 'previous latent' }, '◀'),
    h('button', { type: 'button', click: () => go(current + 1), 'aria-label': 'next latent' }, '▶'),
    h('button', {
      type: 'button',
      click: () => {
        // A small deterministic generator: the same sequence every time the page opens.
        seed = (seed * 1103515245 + 12345) % 2147483648;
        if (alive.length) show(alive[seed % alive.length] ?? 0);
      },
    }, 'random live latent'),
    list,
  );
  input.addEventListener('change', () => {
    const v = Number(input.value);
    if (Number.isInteger(v)) go(v);
  });
  list.addEventListener('change', () => {
    if (list.value !== '') show(Number(list.value));
  });
  s.append(h('div', { class: 'fb', 'data-run': ri }, bar, body));

  /** @param {number} latent */
  function show(latent) {
    current = latent;
    input.value = String(latent);
    list.value = withExamples.includes(latent) ? String(latent) : '';
    body.replaceChildren();
    body.append(h('h3', { class: 'fb-latent' }, `Latent ${latent}`));
    const p = pos.get(latent);
    const g = grid();
    if (f && p !== undefined) {
      body.append(latentCards(f, p));
      barHistogram(g, {
        id: 'fb-density',
        run: ri,
        title: 'Where it sits in the density histogram',
        hist: f.density,
        xLabel: 'log10 firing frequency',
        yLabel: 'latents',
        color: '#c6d4e5',
        markers: f.dead[p] ? [] : [{ x: f.log10[p] ?? NaN, label: `latent ${latent}` }],
      });
      const hc = f.hist[p];
      const mx = f.maxAct[p];
      if (hc && mx !== null && mx !== undefined && mx > 0) {
        barHistogram(g, {
          id: 'fb-hist',
          run: ri,
          title: 'Activation histogram',
          subtitle: 'rows where it fired, 20 bins over (0, max]',
          hist: { edges: d3.range(hc.length + 1).map((i) => (mx * i) / hc.length), counts: hc, skipped: 0 },
          xLabel: 'activation',
          yLabel: 'rows',
          color: '#f28e2b',
          logY: true,
        });
      } else {
        g.append(notice(f.dead[p] ? 'This latent never fired on the analysed rows (dead): no activations to show.' : 'No activation histogram for this latent.', undefined, 'empty'));
      }
    } else if (f) {
      body.append(notice(`Latent ${latent} is not in features.arrow (${plural(f.n, 'latent')}).`, undefined, 'empty'));
    }
    body.append(g);
    const lg = run.logits?.byLatent[String(latent)];
    if (lg && ex) body.append(logitsView(lg, ex.strings));
    body.append(examplesView(run, latent));
  }
  browsers[ri] = show;
  const first = f ? (withExamples[0] ?? f.latent.find((_l, i) => !f.dead[i]) ?? 0) : (withExamples[0] ?? 0);
  show(first);
  return s;
}

/** @param {NonNullable<RunReport['features']>} f @param {number} p */
function latentCards(f, p) {
  const rank = f.dead[p] ? null : 1 + f.log10.filter((v, i) => !f.dead[i] && v !== null && (v ?? 0) > (f.log10[p] ?? 0)).length;
  /** @type {Array<[string, string, string?]>} */
  const items = [
    ['firing frequency', f.dead[p] ? 'dead' : pct(f.freq[p]), f.dead[p] ? undefined : `log10 ${fmt(f.log10[p])}`],
    ['density rank', rank === null ? '—' : `${fmt(rank)} of ${fmt(f.n - f.deadCount)}`],
    ['mean activation (active)', fmt(f.meanAct[p])],
    ['max activation', fmt(f.maxAct[p])],
    ['encoder–decoder cosine', fmt(f.encDec[p])],
  ];
  if (f.meanVar) items.push(['mean σ²', fmt(f.meanVar[p])]);
  return cards(items);
}

/** @param {{ top: Array<[number, Num]>, bottom: Array<[number, Num]> }} lg @param {string[]} strings */
function logitsView(lg, strings) {
  const maxAbs = d3.max([...lg.top, ...lg.bottom], (d) => Math.abs(d[1] ?? 0)) || 1;
  /** @param {string} title @param {Array<[number, Num]>} rows @param {string} cls */
  const col = (title, rows, cls) => {
    const el = h('div', { class: `logits ${cls}` }, h('h4', null, title));
    for (const [si, v] of rows) {
      const barEl = h('span', { class: 'logit-bar' });
      barEl.style.width = `${(100 * Math.abs(v ?? 0)) / maxAbs}%`;
      el.append(h('div', { class: 'logit-row' }, h('span', { class: 'logit-tok' }, visibleToken(strings[si] ?? '')), h('span', { class: 'logit-val' }, fmt(v)), h('span', { class: 'logit-track' }, barEl)));
    }
    return el;
  };
  return h('div', { class: 'logit-cols', 'data-chart': 'fb-logits' }, col('Promotes (top logit effects)', lg.top, 'pos'), col('Suppresses (bottom logit effects)', lg.bottom, 'neg'));
}

/** @param {RunReport} run @param {number} latent */
function examplesView(run, latent) {
  const ex = run.examples;
  const el = h('div', { class: 'fb-examples', 'data-latent': latent });
  if (!ex) return el;
  const list = ex.byLatent[String(latent)];
  if (!list) {
    el.append(notice(ex.latents.length < ex.latentCount ? `This report embeds the examples of ${fmt(ex.latents.length)} of the ${plural(ex.latentCount, 'latent')} that have them; pick one from the list, or write a report with a larger limit.` : `No examples for latent ${latent} in top_examples.arrow.`, undefined, 'empty'));
    return el;
  }
  const top = list.filter((e) => e.kind === 'top');
  const quant = list.filter((e) => e.kind === 'quantile');
  const maxAct = d3.max(list, (e) => Math.max(e.act ?? 0, d3.max(e.acts ?? [], (a) => a ?? 0) ?? 0)) || 1;
  if (list.every((e) => e.ctx === null)) el.append(h('p', { class: 'intro' }, 'These rows have no token context (not a language-model dataset): each example is a row and its activation.'));
  el.append(h('h4', null, `Top activations (${top.length})`));
  for (const e of top) el.append(exampleRow(e, ex.strings, maxAct));
  if (quant.length) {
    el.append(h('h4', null, 'Samples from activation quantiles'));
    for (const [q, rows] of d3.groups(quant, (e) => e.quantile).sort((a, b) => (b[0] ?? 0) - (a[0] ?? 0))) {
      el.append(h('div', { class: 'quantile-title' }, q === null ? 'quantile —' : `quantile ${fmt(q)}`));
      for (const e of rows) el.append(exampleRow(e, ex.strings, maxAct));
    }
  }
  return el;
}

/** One example: its activation and its context, each token shaded by this latent's activation. @param {Example} e @param {string[]} strings @param {number} maxAct */
function exampleRow(e, strings, maxAct) {
  const ctx = h('span', { class: 'ctx' });
  if (e.ctx) {
    e.ctx.forEach((si, i) => {
      const a = e.acts?.[i] ?? 0;
      const t = h('span', { class: `tok${i === e.at ? ' here' : ''}` }, visibleToken(strings[si] ?? ''));
      if (a > 0) t.style.background = `rgba(242, 142, 43, ${Math.min(1, 0.08 + (0.92 * a) / maxAct).toFixed(3)})`;
      t.addEventListener('mousemove', (ev) => tip.show(ev, JSON.stringify(strings[si] ?? ''), [['activation', fmt(e.acts?.[i] ?? null)], ['position in context', String(i)]]));
      t.addEventListener('mouseleave', () => tip.hide());
      ctx.append(t);
    });
  } else if (e.token !== null) {
    ctx.append(h('span', { class: 'no-ctx' }, `token id ${e.token}`));
  }
  return h('div', { class: 'example' }, h('span', { class: 'ex-act' }, fmt(e.act)), h('span', { class: 'ex-row' }, `row ${fmt(e.row)}`), ctx);
}
