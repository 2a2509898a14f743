// @ts-check
// The frontier of one or more sweeps: each figure against L0 (log axis), a line per
// architecture (per sweep and architecture when sweeps are overlaid), each point labelled with
// its setting and linked to its run's section; then the frontier table.

/** The figures drawn against L0, in order, with their titles (those a sweep measured). */
const FRONTIER_CHARTS = /** @type {const} */ ([
  ['explained_variance', 'Explained variance', 'higher is better'],
  ['mmcs_represented', 'MMCS, represented features', 'toy data: mean best cosine of the true features the toy model represents'],
  ['ce_loss_score', 'CE loss score', 'language model: share of the CE loss the SAE recovers'],
  ['kl_div_score', 'KL divergence score', 'language model'],
  ['frac_alive', 'Alive fraction', 'share of latents that fire'],
]);

/** Frontier columns shown in the table, with their headers and formats. */
const FRONTIER_COLUMNS = /** @type {const} */ ([
  ['l0', 'L0', fmt],
  ['explained_variance', 'explained var.', fmt],
  ['mse', 'MSE', fmt],
  ['frac_alive', 'alive', pct],
  ['mmcs', 'MMCS', fmt],
  ['mmcs_represented', 'MMCS (repr.)', fmt],
  ['ce_loss_score', 'CE score', fmt],
  ['kl_div_score', 'KL score', fmt],
  ['train_s', 'train s', fmt],
]);

/** Opens a run's tab and scrolls to its overview. @param {number | null} ri */
function goToRun(ri) {
  if (ri === null) return;
  showRun(ri);
  document.getElementById(`run-${ri}-overview`)?.scrollIntoView({ behavior: 'smooth' });
}

/**
 * Lines of the frontier: one per (sweep, arch), points sorted by L0.
 * @param {SweepReport[]} sweeps
 */
function frontierLines(sweeps) {
  /** @type {Array<{ name: string, color: string, dashed: boolean, points: FrontierPoint[] }>} */
  const lines = [];
  sweeps.forEach((s, si) => {
    const archs = [...new Set(s.points.map((p) => p.arch))];
    for (const arch of archs) {
      const points = s.points.filter((p) => p.arch === arch).sort((a, b) => (a.values.l0 ?? Infinity) - (b.values.l0 ?? Infinity));
      lines.push({ name: sweeps.length > 1 ? `${s.name}: ${arch}` : arch, color: runColor(lines.length), dashed: si > 0, points });
    }
  });
  return lines;
}

/**
 * One frontier chart: `metric` against L0 on a log axis.
 * @param {HTMLElement} parent
 * @param {ReturnType<typeof frontierLines>} lines
 * @param {string} metric @param {string} title @param {string} subtitle
 */
function frontierChart(parent, lines, metric, title, subtitle) {
  const f = frame(parent, { id: `frontier-${metric}`, title: `${title} against L0`, subtitle, height: 280 });
  const ok = (/** @type {FrontierPoint} */ p) => {
    const x = p.values.l0;
    const y = p.values[metric];
    return x !== null && x !== undefined && x > 0 && y !== null && y !== undefined && Number.isFinite(y);
  };
  const all = lines.flatMap((l) => l.points.filter(ok));
  const xs = all.map((p) => /** @type {number} */ (p.values.l0));
  const ys = all.map((p) => /** @type {number} */ (p.values[metric]));
  const [xlo, xhi] = extentOf(xs);
  const x = d3.scaleLog().domain([xlo > 0 ? xlo / 1.15 : 0.5, xhi * 1.15]).range([0, f.w]);
  const y = d3.scaleLinear().domain(extentOf(ys)).range([f.h, 0]).nice();
  axes(f, x, y, { xLabel: 'L0 (active latents per row, log scale)', yLabel: title, yFormat: metric === 'frac_alive' ? (v) => fmtPct(v) : undefined });
  const line = d3
    .line()
    .x((d) => x(d[0]))
    .y((d) => y(d[1]));
  for (const l of lines) {
    const pts = l.points.filter(ok);
    if (pts.length === 0) continue;
    const g = f.g.append('g').attr('class', 'frontier-line').attr('data-series', l.name);
    g.append('path')
      .attr('class', 'line mark')
      .attr('fill', 'none')
      .attr('stroke', l.color)
      .attr('stroke-width', 1.8)
      .attr('stroke-dasharray', l.dashed ? '5 3' : null)
      .attr('d', line(pts.map((p) => /** @type {[number, number]} */ ([p.values.l0 ?? 0, p.values[metric] ?? 0]))));
    const dots = g
      .selectAll('circle')
      .data(pts)
      .join('circle')
      .attr('class', (p) => `point mark${p.runIndex !== null ? ' clickable' : ''}`)
      .attr('data-run-name', (p) => p.run)
      .attr('r', 4.5)
      .attr('cx', (p) => x(p.values.l0 ?? 0))
      .attr('cy', (p) => y(p.values[metric] ?? 0))
      .attr('fill', l.color);
    dots
      .on('mousemove', (ev, p) =>
        tip.show(ev, p.run, [['arch', p.arch], ['setting', p.label], ['L0', fmt(p.values.l0)], [title, metric === 'frac_alive' ? pct(p.values[metric]) : fmt(p.values[metric])], ...(p.runIndex !== null ? [/** @type {[string, string]} */ (['', 'click: open the run'])] : [])]),
      )
      .on('mouseleave', () => tip.hide())
      .on('click', (_ev, p) => goToRun(p.runIndex));
    g.selectAll('text')
      .data(pts)
      .join('text')
      .attr('class', 'point-label')
      .attr('x', (p) => x(p.values.l0 ?? 0) + 6)
      .attr('y', (p) => y(p.values[metric] ?? 0) - 6)
      .text((p) => p.label);
  }
  legend(f.fig, lines.filter((l) => l.points.some(ok)));
  return f;
}

/** The frontier table: a row per run of every sweep, its name opening the run. @param {SweepReport[]} sweeps */
function frontierTable(sweeps) {
  const metrics = FRONTIER_COLUMNS.filter(([m]) => sweeps.some((s) => s.metrics.includes(m)));
  const settings = [...new Set(sweeps.flatMap((s) => s.swept))];
  const many = sweeps.length > 1;
  const table = h('table', { class: 'compare frontier', 'data-chart': 'frontier-table' });
  table.append(h('thead', null, h('tr', null, many ? h('th', null, 'sweep') : null, h('th', null, 'run'), h('th', null, 'arch'), ...settings.map((s) => h('th', { class: 'num' }, s)), ...metrics.map(([, label]) => h('th', { class: 'num' }, label)))));
  const body = h('tbody');
  for (const s of sweeps) {
    for (const p of s.points) {
      const name = p.runIndex === null ? h('span', null, p.run) : h('button', { type: 'button', class: 'run-link', click: () => goToRun(p.runIndex) }, p.run);
      body.append(
        h(
          'tr',
          { class: 'mark' },
          many ? h('td', null, s.name) : null,
          h('td', null, name),
          h('td', null, p.arch),
          ...settings.map((k) => h('td', { class: 'num' }, fmt(p.setting[k] ?? null))),
          ...metrics.map(([m, , show]) => h('td', { class: 'num' }, show(p.values[m] ?? null))),
        ),
      );
    }
  }
  table.append(body);
  return h('div', { class: 'table-wrap' }, table);
}

/** The frontier section of a report of sweeps. @param {SweepReport[]} sweeps */
function frontierSection(sweeps) {
  const n = sweeps.reduce((a, s) => a + s.points.length, 0);
  const s = section(
    'frontier',
    sweeps.length > 1 ? 'Frontiers' : 'Frontier',
    `${n} runs of ${sweeps.length === 1 ? `the sweep ${sweeps[0]?.name}` : `${sweeps.length} sweeps (${sweeps.map((x) => x.name).join(', ')}; the later ones dashed)`}: each figure against L0, a line per architecture, each point labelled with its setting. Click a point or a run to open it.`,
  );
  const lines = frontierLines(sweeps);
  const g = grid();
  for (const [metric, title, sub] of FRONTIER_CHARTS) {
    // MMCS over every feature stands in when the represented ones were not counted.
    const m = metric === 'mmcs_represented' && !sweeps.some((x) => x.metrics.includes(metric)) ? 'mmcs' : metric;
    if (!sweeps.some((x) => x.metrics.includes(m) && x.points.some((p) => p.values[m] !== null && p.values[m] !== undefined))) continue;
    frontierChart(g, lines, m, m === 'mmcs' ? 'MMCS' : title, sub);
  }
  s.append(g, frontierTable(sweeps));
  return s;
}
