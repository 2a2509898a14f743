// @ts-check
// Entry: reads the embedded JSON, builds the header, the comparison of several runs and one
// tab per run.

const DATA = /** @type {ReportData} */ (JSON.parse(document.getElementById('vsae-data')?.textContent ?? 'null'));
/** @type {HTMLElement[]} */
const runViews = [];
/** @type {HTMLElement[]} */
const runTabs = [];

/** Shows run ri's details (the others are hidden). */
function showRun(/** @type {number} */ ri) {
  runViews.forEach((v, i) => (v.hidden = i !== ri));
  runTabs.forEach((t, i) => t.classList.toggle('on', i === ri));
  const nav = document.querySelector('nav.sections');
  nav?.querySelectorAll('a[data-part]').forEach((a) => a.setAttribute('href', `#run-${ri}-${a.getAttribute('data-part')}`));
}

/** Side-by-side table and overlaid curves of several runs. */
function compareSection(/** @type {RunReport[]} */ runs) {
  const s = section('compare', 'Comparison', `${plural(runs.length, 'run')} side by side. Bold marks the best value of a column.`);
  const rows = runs.map((r) => ({ r, hl: headline(r) }));
  /** @type {Array<{ label: string, get: (x: typeof rows[number]) => number | null, show: (v: number | null) => string, best?: 'max' | 'min' }>} */
  const cols = [
    { label: 'd_sae', get: (x) => x.r.dSae, show: fmt },
    { label: 'step', get: (x) => x.hl.step, show: fmt },
    { label: 'L0', get: (x) => x.hl.l0, show: fmt },
    { label: 'explained var.', get: (x) => x.hl.ev, show: fmt, best: 'max' },
    { label: 'dead', get: (x) => x.hl.dead, show: pct, best: 'min' },
    { label: 'MSE', get: (x) => x.hl.mse, show: fmt, best: 'min' },
    { label: 'cosine', get: (x) => x.hl.cos, show: fmt, best: 'max' },
    { label: 'MMCS', get: (x) => x.hl.mmcs, show: fmt, best: 'max' },
    { label: 'CE recovered', get: (x) => x.hl.ce, show: pct, best: 'max' },
  ];
  const used = cols.filter((c) => rows.some((x) => c.get(x) !== null));
  const table = h('table', { class: 'compare', 'data-chart': 'compare-table' });
  table.append(h('thead', null, h('tr', null, h('th', null, 'run'), h('th', null, 'arch'), h('th', null, 'status'), ...used.map((c) => h('th', { class: 'num' }, c.label)))));
  const body = h('tbody');
  rows.forEach((x, i) => {
    const sw = h('i', { class: 'swatch' });
    sw.style.background = runColor(i);
    const nameCell = h('td', null, h('button', { type: 'button', class: 'run-link', click: () => { showRun(i); document.getElementById(`run-${i}-overview`)?.scrollIntoView({ behavior: 'smooth' }); } }, sw, x.r.name));
    const cells = used.map((c) => {
      const v = c.get(x);
      const vals = finite(rows.map(c.get));
      const best = c.best && v !== null && vals.length > 1 && v === (c.best === 'max' ? d3.max(vals) : d3.min(vals));
      return h('td', { class: `num${best ? ' best' : ''}` }, c.show(v));
    });
    body.append(h('tr', { class: 'mark' }, nameCell, h('td', null, x.r.arch ?? '—'), h('td', null, statusText(x.r)), ...cells));
  });
  table.append(body);
  s.append(h('div', { class: 'table-wrap' }, table));

  const g = grid();
  for (const [col, title] of /** @type {const} */ ([['loss', 'Loss'], ['recon', 'Reconstruction loss'], ['l0', 'L0'], ['dead_frac', 'Dead fraction'], ['explained_variance', 'Explained variance']])) {
    const series = runs.flatMap((r, i) => (r.metrics?.series[col] ? [{ name: r.name, color: runColor(i), x: r.metrics.step, y: r.metrics.series[col] ?? [] }] : []));
    if (series.length === 0) continue;
    lineChart(g, { id: `compare-${col}`, title, subtitle: 'all runs', series, xLabel: 'step', log: col === 'loss' || col === 'recon' ? 'auto' : false, yFormat: col === 'dead_frac' ? (v) => fmtPct(v) : undefined });
  }
  const withF = runs.map((r, i) => ({ r, i })).filter((x) => x.r.features);
  if (withF.length) {
    // One set of bins over every run's live latents, as a share of each run's latents.
    const all = withF.flatMap((x) => finite(x.r.features?.log10.filter((_v, k) => !x.r.features?.dead[k]) ?? []));
    const dom = extentOf(all);
    const series = withF.map(({ r, i }) => {
      const f = /** @type {NonNullable<RunReport['features']>} */ (r.features);
      const hist = binValues(f.log10.filter((_v, k) => !f.dead[k]), 40, dom);
      return { name: r.name, color: runColor(i), x: hist.counts.map((_c, k) => ((hist.edges[k] ?? 0) + (hist.edges[k + 1] ?? 0)) / 2), y: hist.counts.map((c) => c / Math.max(1, f.n)) };
    });
    lineChart(g, { id: 'compare-density', title: 'Feature density', subtitle: 'share of each run’s latents per bin (dead not shown)', series, xLabel: 'log10 firing frequency', yFormat: (v) => fmtPct(v) });
  }
  s.append(g);
  return s;
}

function main() {
  const app = /** @type {HTMLElement} */ (document.getElementById('app'));
  app.replaceChildren();
  const runs = DATA.runs;
  const sweeps = DATA.sweeps ?? [];
  const header = h(
    'header',
    { class: 'top' },
    h('div', { class: 'brand' }, h('span', { class: 'logo' }, 'vsae'), h('h1', null, DATA.title)),
    h('div', { class: 'meta' }, `${sweeps.length ? `${sweeps.length} sweep${sweeps.length === 1 ? '' : 's'}, ` : ''}${runs.length} run${runs.length === 1 ? '' : 's'} · made ${DATA.created.replace('T', ' ').slice(0, 16)} UTC by ${DATA.generator}`),
  );
  const parts = [['overview', 'Overview'], ['training', 'Training'], ['density', 'Density'], ['recon', 'Reconstruction'], ['dictionary', 'Dictionary'], ['latent', 'Latent space'], ['browser', 'Feature browser']];
  const nav = h('nav', { class: 'sections' }, ...(sweeps.length ? [h('a', { href: '#frontier' }, 'Frontier')] : []), ...(runs.length > 1 ? [h('a', { href: '#compare' }, 'Comparison')] : []), ...parts.map(([p, label]) => h('a', { href: `#run-0-${p}`, 'data-part': p ?? '' }, label ?? '')));
  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  app.append(header, nav);
  if (sweeps.length) app.append(frontierSection(sweeps));
  if (runs.length > 1) app.append(compareSection(runs));
  if (runs.length > 1) app.append(tabs);
  runs.forEach((run, ri) => {
    const tab = h('button', { type: 'button', role: 'tab', class: 'tab', click: () => showRun(ri) }, h('i', { class: 'swatch' }), run.name);
    /** @type {HTMLElement} */ (tab.firstChild).style.background = runColor(ri);
    runTabs.push(tab);
    tabs.append(tab);
    const view = h(
      'section',
      { class: 'run', id: `run-${ri}`, 'data-run': ri },
      h('div', { class: 'run-head' }, h('h2', { class: 'run-name' }, run.name), run.arch ? h('span', { class: 'badge arch' }, run.arch) : null, h('span', { class: `badge status ${run.status?.status ?? 'none'}` }, statusText(run)), h('code', { class: 'path' }, run.path)),
    );
    runViews.push(view);
    app.append(view);
    // One failing section must not take the page down: say so in its place.
    for (const make of [overviewSection, trainingSection, densitySection, reconstructionSection, dictionarySection, latentSpaceSection, browserSection]) {
      try {
        view.append(make(run, ri));
      } catch (e) {
        console.warn(e);
        view.append(notice(`This section could not be drawn (${e instanceof Error ? e.message : String(e)}).`, undefined, 'unreadable'));
      }
    }
  });
  if (runs.length) showRun(0);
  document.body.setAttribute('data-ready', 'true');
}

main();
