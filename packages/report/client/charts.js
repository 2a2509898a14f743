// @ts-check
// Reusable SVG charts. Each draws into a <figure class="chart" data-chart=ID> whose marks
// (bars, lines, cells, points) carry the class "mark"; the SVG scales with its container
// through its viewBox, so nothing is measured and hidden tabs draw the same.

/**
 * @typedef {{ top: number, right: number, bottom: number, left: number }} Margin
 * @typedef {{ fig: HTMLElement, svg: Sel<SVGSVGElement>, g: Sel<SVGGElement>, w: number, h: number }} Frame
 * @typedef {{ id: string, run?: number | undefined, title: string, subtitle?: string | undefined, width?: number | undefined, height?: number | undefined, margin?: Partial<Margin> | undefined, wide?: boolean | undefined, square?: boolean | undefined }} FrameOptions
 */

/** @param {HTMLElement} parent @param {FrameOptions} o @returns {Frame} */
function frame(parent, o) {
  const width = o.width ?? 460;
  const height = o.height ?? 250;
  const m = { top: 10, right: 18, bottom: 42, left: 58, ...o.margin };
  const fig = h('figure', { class: `chart${o.wide ? ' wide' : ''}${o.square ? ' square' : ''}`, 'data-chart': o.id, 'data-run': o.run ?? null });
  fig.append(h('figcaption', null, h('span', { class: 'chart-title' }, o.title), o.subtitle ? h('span', { class: 'chart-sub' }, o.subtitle) : null));
  parent.append(fig);
  const svg = d3.select(fig).append('svg').attr('viewBox', `0 0 ${width} ${height}`).attr('role', 'img').attr('aria-label', o.title);
  const g = svg.append('g').attr('transform', `translate(${m.left},${m.top})`);
  return { fig, svg, g, w: width - m.left - m.right, h: height - m.top - m.bottom };
}

/**
 * Axes with light grid lines and labels.
 * @param {Frame} f
 * @param {AxisScale} x
 * @param {AxisScale} y
 * @param {{ xLabel?: string, yLabel?: string, xTicks?: number, yTicks?: number, yValues?: number[], xFormat?: (v: number) => string, yFormat?: (v: number) => string }} o
 */
function axes(f, x, y, o) {
  const yTicks = o.yTicks ?? 5;
  const xTicks = o.xTicks ?? 6;
  const ax = d3.axisBottom(x).ticks(xTicks);
  const ay = d3.axisLeft(y).ticks(yTicks);
  if (o.yValues) ay.tickValues(o.yValues);
  // A log axis gets only the ticks d3 would label (1, 2, 5 × 10^k or fewer), not every minor one.
  const logY = /** @type {Partial<LogScale>} */ (/** @type {unknown} */ (y));
  if (typeof logY.base === 'function' && logY.ticks && logY.tickFormat) {
    const labelled = logY.tickFormat(yTicks, '~g');
    const values = logY.ticks(yTicks).filter((/** @type {number} */ v) => labelled(v) !== '');
    ay.tickValues(values);
  }
  if (o.xFormat) ax.tickFormat((v) => /** @type {(v: number) => string} */ (o.xFormat)(+v));
  else ax.tickFormat((v) => fmt(+v));
  if (o.yFormat) ay.tickFormat((v) => /** @type {(v: number) => string} */ (o.yFormat)(+v));
  else ay.tickFormat((v) => fmt(+v));
  const grid = d3.axisLeft(y).ticks(yTicks).tickSize(-f.w).tickFormat(() => '');
  const tv = ay.tickValues();
  if (tv) grid.tickValues(tv);
  f.g.append('g').attr('class', 'gridlines').call(grid);
  f.g.append('g').attr('class', 'axis x').attr('transform', `translate(0,${f.h})`).call(ax);
  f.g.append('g').attr('class', 'axis y').call(ay);
  if (o.xLabel) f.g.append('text').attr('class', 'axis-label').attr('x', f.w / 2).attr('y', f.h + 34).attr('text-anchor', 'middle').text(o.xLabel);
  if (o.yLabel) {
    f.g.append('text').attr('class', 'axis-label').attr('transform', `translate(-46,${f.h / 2}) rotate(-90)`).attr('text-anchor', 'middle').text(o.yLabel);
  }
}

/** 0 and the powers of ten up to `max` (every other one when there are more than five). @param {number} max */
function symlogTicks(max) {
  const pows = [];
  for (let p = 1; p <= max; p *= 10) pows.push(p);
  const step = pows.length > 5 ? 2 : 1;
  return [0, ...pows.filter((_p, i) => (pows.length - 1 - i) % step === 0)];
}

/** An HTML legend under a chart. @param {HTMLElement} fig @param {Array<{ name: string, color: string }>} items */
function legend(fig, items) {
  const el = h('div', { class: 'legend' });
  for (const it of items) {
    const sw = h('i', { class: 'swatch' });
    sw.style.background = it.color;
    el.append(h('span', { class: 'key' }, sw, it.name));
  }
  fig.append(el);
}

/**
 * Domain [lo, hi]; a constant gets a small symmetric pad (5 % of it, or 0.01 around 0), so a
 * flat line sits mid-chart on an axis near its value (not 0 on −40 … 40 %).
 * @param {number[]} v @returns {[number, number]}
 */
function extentOf(v) {
  let lo = d3.min(v) ?? 0;
  let hi = d3.max(v) ?? 1;
  if (!(hi > lo)) {
    const d = Math.abs(lo) * 0.05 || 0.01;
    lo -= d;
    hi += d;
  }
  return [lo, hi];
}

/** Whether a positive series spans enough decades to read better on a log axis. */
function wantsLog(/** @type {number[]} */ v) {
  const lo = d3.min(v);
  const hi = d3.max(v);
  return lo !== undefined && hi !== undefined && lo > 0 && hi / lo > 30;
}

/**
 * @typedef {{ name: string, color: string, x: number[], y: Array<number | null> }} Series
 * @param {HTMLElement} parent
 * @param {FrameOptions & { series: Series[], xLabel: string, yLabel?: string, log?: boolean | 'auto', yFormat?: (v: number) => string }} o
 */
function lineChart(parent, o) {
  const f = frame(parent, o);
  /** @type {number[]} */ const xs = [];
  /** @type {number[]} */ const ys = [];
  for (const s of o.series) {
    s.x.forEach((x, i) => {
      const y = s.y[i];
      if (y !== null && y !== undefined && Number.isFinite(y)) {
        xs.push(x);
        ys.push(y);
      }
    });
  }
  const log = o.log === 'auto' ? wantsLog(ys) : !!o.log;
  const yv = log ? ys.filter((v) => v > 0) : ys;
  if (yv.length === 0) {
    f.svg.remove();
    f.fig.append(notice('No finite values to draw yet.', undefined, 'empty'));
    return f;
  }
  const x = d3.scaleLinear().domain(extentOf(xs)).range([0, f.w]);
  const [ylo, yhi] = extentOf(yv);
  const y = log ? d3.scaleLog().domain([ylo, yhi]).range([f.h, 0]).nice() : d3.scaleLinear().domain([ylo, yhi]).range([f.h, 0]).nice();
  axes(f, x, y, { xLabel: o.xLabel, yLabel: o.yLabel, yFormat: o.yFormat });
  const line = d3
    .line()
    .defined((d) => Number.isFinite(d[1]) && (!log || d[1] > 0))
    .x((d) => x(d[0]))
    .y((d) => y(d[1]));
  const pts = o.series.map((s) => s.x.map((xv, i) => /** @type {[number, number]} */ ([xv, s.y[i] ?? NaN])));
  o.series.forEach((s, i) => {
    f.g.append('path').attr('class', 'line mark').attr('fill', 'none').attr('stroke', s.color).attr('stroke-width', 1.6).attr('d', line(pts[i] ?? []));
  });
  if (o.series.length > 1) legend(f.fig, o.series);

  // Hover: a rule at the nearest logged step and each series' value there.
  const rule = f.g.append('line').attr('class', 'hover-rule').attr('y1', 0).attr('y2', f.h).style('display', 'none');
  const dots = f.g.selectAll('circle.hover-dot').data(o.series).join('circle').attr('class', 'hover-dot').attr('r', 3.5).attr('fill', (s) => s.color).style('display', 'none');
  const bisect = d3.bisector((/** @type {number} */ d) => d).center;
  f.g
    .append('rect')
    .attr('class', 'overlay')
    .attr('width', f.w)
    .attr('height', f.h)
    .on('mousemove', (ev) => {
      const [mx] = d3.pointer(ev, f.g.node());
      const at = x.invert(mx);
      /** @type {Array<[string, string]>} */ const rows = [];
      let stepShown = NaN;
      dots.each(function (s, i) {
        const k = bisect(s.x, at);
        const sx = s.x[k];
        const sy = s.y[k];
        const ok = sx !== undefined && sy !== null && sy !== undefined && Number.isFinite(sy) && (!log || sy > 0);
        d3.select(this).style('display', ok ? '' : 'none');
        if (ok) d3.select(this).attr('cx', x(sx)).attr('cy', y(sy));
        if (i === 0 && sx !== undefined) stepShown = sx;
        rows.push([s.name, ok ? fmt(sy) : '—']);
      });
      if (Number.isFinite(stepShown)) rule.style('display', null).attr('x1', x(stepShown)).attr('x2', x(stepShown));
      tip.show(ev, `${o.xLabel} ${fmt(stepShown)}`, rows);
    })
    .on('mouseleave', () => {
      rule.style('display', 'none');
      dots.style('display', 'none');
      tip.hide();
    });
  return f;
}

/**
 * A histogram as bars (one rect per bin, empty bins have zero height).
 * @param {HTMLElement} parent
 * @param {FrameOptions & { hist: Histogram, xLabel: string, yLabel?: string, color?: string, logY?: boolean,
 *   markers?: Array<{ x: number, label: string, color?: string }>, onBar?: (i: number) => void,
 *   barTip?: (i: number) => Array<[string, string]>, xFormat?: (v: number) => string }} o
 */
function barHistogram(parent, o) {
  const f = frame(parent, o);
  const { edges, counts } = o.hist;
  const lo = edges[0] ?? 0;
  const hi = edges[edges.length - 1] ?? 1;
  const x = d3.scaleLinear().domain([lo, hi]).range([0, f.w]);
  const maxC = d3.max(counts) ?? 0;
  const y = o.logY ? d3.scaleSymlog().domain([0, Math.max(1, maxC)]).range([f.h, 0]) : d3.scaleLinear().domain([0, Math.max(1, maxC)]).range([f.h, 0]).nice();
  // A symlog axis with linear ticks crowds them all at the top: 0 and powers of ten instead.
  const yValues = o.logY ? symlogTicks(Math.max(1, maxC)) : undefined;
  axes(f, x, y, { xLabel: o.xLabel, yLabel: o.yLabel ?? 'count', xFormat: o.xFormat, xTicks: 5, yTicks: o.logY ? 4 : 5, yValues });
  const bins = counts.map((c, i) => ({ i, c, x0: edges[i] ?? 0, x1: edges[i + 1] ?? 0 }));
  const bars = f.g
    .append('g')
    .selectAll('rect')
    .data(bins)
    .join('rect')
    .attr('class', `bar mark${o.onBar ? ' clickable' : ''}`)
    .attr('x', (d) => x(d.x0) + 0.5)
    .attr('width', (d) => Math.max(0.5, x(d.x1) - x(d.x0) - 1))
    .attr('y', (d) => y(d.c))
    .attr('height', (d) => f.h - y(d.c))
    .attr('fill', o.color ?? '#4e79a7');
  bars
    .on('mousemove', (ev, d) => {
      const xf = o.xFormat ?? fmt;
      tip.show(ev, `${xf(d.x0)} … ${xf(d.x1)}`, [['count', fmt(d.c)], ...(o.barTip ? o.barTip(d.i) : [])]);
    })
    .on('mouseleave', () => tip.hide());
  if (o.onBar) {
    const onBar = o.onBar;
    bars.on('click', (_ev, d) => onBar(d.i));
  }
  for (const m of o.markers ?? []) {
    if (!Number.isFinite(m.x)) continue;
    const mx = x(Math.min(hi, Math.max(lo, m.x)));
    f.g.append('line').attr('class', 'marker').attr('x1', mx).attr('x2', mx).attr('y1', -4).attr('y2', f.h).attr('stroke', m.color ?? '#e15759');
    f.g.append('text').attr('class', 'marker-label').attr('x', mx + 4).attr('y', 8).attr('fill', m.color ?? '#e15759').text(m.label);
  }
  return f;
}

/**
 * A square matrix of cells over `labels` (row-major `values`), diverging colours over [-1, 1].
 * @param {HTMLElement} parent
 * @param {FrameOptions & { labels: number[], values: Array<number | null>, valueName: string, axisName: string,
 *   domain?: [number, number], scheme?: 'diverging' | 'sequential', onCell?: (a: number, b: number) => void }} o
 */
function heatmap(parent, o) {
  const n = o.labels.length;
  const size = o.width ?? 460;
  const f = frame(parent, { ...o, square: true, width: size + 130, height: size + 44, margin: { top: 4, right: 78, bottom: 40, left: 52 } });
  const side = Math.min(f.w, f.h);
  const cell = side / Math.max(1, n);
  const [d0, d1] = o.domain ?? [-1, 1];
  const color =
    o.scheme === 'sequential'
      ? d3.scaleSequential(d3.interpolateBlues).domain([d0, d1])
      : d3.scaleDiverging((t) => d3.interpolateRdBu(1 - t)).domain([d0, (d0 + d1) / 2, d1]);
  /** @type {Array<{ r: number, c: number, v: number | null }>} */
  const cells = [];
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) cells.push({ r, c, v: o.values[r * n + c] ?? null });
  const cg = f.g.append('g');
  cg.selectAll('rect')
    .data(cells)
    .join('rect')
    .attr('class', `cell mark${o.onCell ? ' clickable' : ''}`)
    .attr('x', (d) => d.c * cell)
    .attr('y', (d) => d.r * cell)
    .attr('width', cell + 0.3)
    .attr('height', cell + 0.3)
    .attr('fill', (d) => (d.v === null ? '#eee' : color(d.v)));
  cg.on('mousemove', (ev) => {
    const d = /** @type {{ r: number, c: number, v: number | null } | undefined} */ (d3.select(/** @type {Element} */ (ev.target)).datum());
    if (!d || d.r === undefined) return;
    tip.show(ev, `${o.axisName} ${o.labels[d.r]} × ${o.axisName} ${o.labels[d.c]}`, [[o.valueName, fmt(d.v)]]);
  }).on('mouseleave', () => tip.hide());
  if (o.onCell) {
    const onCell = o.onCell;
    cg.on('click', (ev) => {
      const d = /** @type {{ r: number, c: number } | undefined} */ (d3.select(/** @type {Element} */ (ev.target)).datum());
      if (d && d.r !== undefined) onCell(o.labels[d.r] ?? 0, o.labels[d.c] ?? 0);
    });
  }
  // Sparse tick labels: every k-th latent.
  const every = Math.max(1, Math.ceil(n / 8));
  const ticks = o.labels.map((l, i) => ({ l, i })).filter((t) => t.i % every === 0);
  f.g.append('g').attr('class', 'axis').selectAll('text').data(ticks).join('text').attr('x', -4).attr('y', (t) => (t.i + 0.5) * cell).attr('dy', '0.32em').attr('text-anchor', 'end').text((t) => String(t.l));
  f.g.append('g').attr('class', 'axis').selectAll('text').data(ticks).join('text').attr('x', (t) => (t.i + 0.5) * cell).attr('y', side + 12).attr('text-anchor', 'middle').text((t) => String(t.l));
  f.g.append('text').attr('class', 'axis-label').attr('x', side / 2).attr('y', side + 30).attr('text-anchor', 'middle').text(o.axisName);
  colorbar(f, color, [d0, d1], side + 16, side, o.valueName);
  return f;
}

/**
 * A vertical colour bar drawn from stacked rects (no gradient ids to clash between charts).
 * @param {Frame} f @param {(v: number) => string} color @param {[number, number]} domain @param {number} x0 @param {number} hgt @param {string} label
 */
function colorbar(f, color, domain, x0, hgt, label) {
  const steps = 40;
  const g = f.g.append('g').attr('class', 'colorbar').attr('transform', `translate(${x0},0)`);
  const y = d3.scaleLinear().domain(domain).range([hgt, 0]);
  for (let i = 0; i < steps; i++) {
    const v0 = domain[0] + ((domain[1] - domain[0]) * i) / steps;
    const v1 = domain[0] + ((domain[1] - domain[0]) * (i + 1)) / steps;
    g.append('rect').attr('x', 0).attr('width', 12).attr('y', y(v1)).attr('height', y(v0) - y(v1) + 0.5).attr('fill', color((v0 + v1) / 2));
  }
  g.append('g').attr('class', 'axis').attr('transform', 'translate(12,0)').call(d3.axisRight(y).ticks(5).tickFormat((v) => fmt(+v)));
  g.append('text').attr('class', 'axis-label').attr('transform', `translate(52,${hgt / 2}) rotate(90)`).attr('text-anchor', 'middle').text(label);
}

/**
 * A scatter plot with nearest-point hover (Delaunay) and click.
 * @param {HTMLElement} parent
 * @param {FrameOptions & { x: Array<number | null>, y: Array<number | null>, color: (i: number) => string, xLabel: string, yLabel: string,
 *   pointTip: (i: number) => [string, Array<[string, string]>], onPoint?: (i: number) => void, r?: number }} o
 */
function scatter(parent, o) {
  const f = frame(parent, o);
  const idx = d3.range(o.x.length).filter((i) => {
    const a = o.x[i];
    const b = o.y[i];
    return a !== null && b !== null && a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b);
  });
  if (idx.length === 0) {
    f.svg.remove();
    f.fig.append(notice('No points to draw.', undefined, 'empty'));
    return { ...f, update: () => {} };
  }
  const x = d3.scaleLinear().range([0, f.w]);
  const y = d3.scaleLinear().range([f.h, 0]);
  const ax = f.g.append('g').attr('class', 'axis x').attr('transform', `translate(0,${f.h})`);
  const ay = f.g.append('g').attr('class', 'axis y');
  f.g.append('text').attr('class', 'axis-label').attr('x', f.w / 2).attr('y', f.h + 34).attr('text-anchor', 'middle').text(o.xLabel);
  const yl = f.g.append('text').attr('class', 'axis-label').attr('transform', `translate(-46,${f.h / 2}) rotate(-90)`).attr('text-anchor', 'middle').text(o.yLabel);
  const pg = f.g.append('g');
  const pts = pg
    .selectAll('circle')
    .data(idx)
    .join('circle')
    .attr('class', `point mark${o.onPoint ? ' clickable' : ''}`)
    .attr('r', o.r ?? 2.6)
    .attr('fill', (i) => o.color(i));
  const ring = f.g.append('circle').attr('class', 'hover-ring').attr('r', 6).style('display', 'none');
  /** @type {Delaunay} */
  let delaunay;
  /** @param {Array<number | null>} xv @param {Array<number | null>} yv @param {string} xLabel @param {string} yLabel */
  function place(xv, yv, xLabel, yLabel) {
    // Points without coordinates in this projection are hidden and kept out of reach.
    const ok = idx.map((i) => Number.isFinite(xv[i] ?? NaN) && Number.isFinite(yv[i] ?? NaN));
    const xs = idx.map((i, k) => (ok[k] ? /** @type {number} */ (xv[i]) : NaN));
    const ys = idx.map((i, k) => (ok[k] ? /** @type {number} */ (yv[i]) : NaN));
    x.domain(extentOf(xs.filter(Number.isFinite))).nice();
    y.domain(extentOf(ys.filter(Number.isFinite))).nice();
    ax.call(d3.axisBottom(x).ticks(6).tickFormat((v) => fmt(+v)));
    ay.call(d3.axisLeft(y).ticks(5).tickFormat((v) => fmt(+v)));
    f.g.select('text.axis-label').text(xLabel);
    yl.text(yLabel);
    const px = (/** @type {number} */ k) => (ok[k] ? x(xs[k] ?? 0) : -1e6);
    const py = (/** @type {number} */ k) => (ok[k] ? y(ys[k] ?? 0) : -1e6);
    pts.style('display', (_i, k) => (ok[k] ? null : 'none')).attr('cx', (_i, k) => px(k)).attr('cy', (_i, k) => py(k));
    delaunay = d3.Delaunay.from(idx, (_i, k) => px(k), (_i, k) => py(k));
  }
  place(o.x, o.y, o.xLabel, o.yLabel);
  /** @param {MouseEvent} ev @returns {number | undefined} position in idx of the nearest point within 14 px */
  const nearest = (ev) => {
    const [mx, my] = d3.pointer(ev, f.g.node());
    const k = delaunay.find(mx, my);
    const px = delaunay.points[2 * k] ?? 0;
    const py = delaunay.points[2 * k + 1] ?? 0;
    return Math.hypot(px - mx, py - my) <= 14 ? k : undefined;
  };
  f.svg
    .on('mousemove', (ev) => {
      const k = nearest(ev);
      if (k === undefined) {
        ring.style('display', 'none');
        tip.hide();
        return;
      }
      ring.style('display', null).attr('cx', delaunay.points[2 * k] ?? 0).attr('cy', delaunay.points[2 * k + 1] ?? 0);
      const [title, rows] = o.pointTip(idx[k] ?? 0);
      tip.show(ev, title, rows);
    })
    .on('mouseleave', () => {
      ring.style('display', 'none');
      tip.hide();
    });
  if (o.onPoint) {
    const onPoint = o.onPoint;
    f.svg.on('click', (ev) => {
      const k = nearest(ev);
      if (k !== undefined) onPoint(idx[k] ?? 0);
    });
  }
  return { ...f, update: place };
}

/**
 * Bars over categories (e.g. true features), with an optional reference line.
 * @param {HTMLElement} parent
 * @param {FrameOptions & { labels: number[], values: Array<number | null>, color: (i: number) => string, xLabel: string, yLabel: string,
 *   domain?: [number, number], refLine?: { y: number, label: string }, barTip: (i: number) => [string, Array<[string, string]>], onBar?: (i: number) => void }} o
 */
function barChart(parent, o) {
  const f = frame(parent, o);
  const n = o.labels.length;
  const x = d3.scaleBand().domain(d3.range(n).map(String)).range([0, f.w]).paddingInner(n > 60 ? 0 : 0.15);
  const vals = finite(o.values);
  const y = d3.scaleLinear().domain(o.domain ?? [Math.min(0, d3.min(vals) ?? 0), Math.max(1e-9, d3.max(vals) ?? 1)]).range([f.h, 0]).nice();
  f.g.append('g').attr('class', 'gridlines').call(d3.axisLeft(y).ticks(5).tickSize(-f.w).tickFormat(() => ''));
  const every = Math.max(1, Math.ceil(n / 12));
  f.g.append('g').attr('class', 'axis x').attr('transform', `translate(0,${f.h})`).call(
    d3.axisBottom(x).tickValues(d3.range(0, n, every).map(String)).tickFormat((k) => String(o.labels[+k] ?? '')),
  );
  f.g.append('g').attr('class', 'axis y').call(d3.axisLeft(y).ticks(5).tickFormat((v) => fmt(+v)));
  f.g.append('text').attr('class', 'axis-label').attr('x', f.w / 2).attr('y', f.h + 34).attr('text-anchor', 'middle').text(o.xLabel);
  f.g.append('text').attr('class', 'axis-label').attr('transform', `translate(-46,${f.h / 2}) rotate(-90)`).attr('text-anchor', 'middle').text(o.yLabel);
  const y0 = y(Math.max(y.domain()[0] ?? 0, 0));
  const bars = f.g
    .append('g')
    .selectAll('rect')
    .data(d3.range(n))
    .join('rect')
    .attr('class', `bar mark${o.onBar ? ' clickable' : ''}`)
    .attr('x', (i) => x(String(i)) ?? 0)
    .attr('width', Math.max(0.5, x.bandwidth()))
    .attr('y', (i) => Math.min(y0, y(o.values[i] ?? 0)))
    .attr('height', (i) => Math.abs(y0 - y(o.values[i] ?? 0)))
    .attr('fill', (i) => o.color(i));
  bars.on('mousemove', (ev, i) => tip.show(ev, ...o.barTip(i))).on('mouseleave', () => tip.hide());
  if (o.onBar) {
    const onBar = o.onBar;
    bars.on('click', (_ev, i) => onBar(i));
  }
  if (o.refLine && Number.isFinite(o.refLine.y)) {
    const ry = y(o.refLine.y);
    f.g.append('line').attr('class', 'marker').attr('x1', 0).attr('x2', f.w).attr('y1', ry).attr('y2', ry).attr('stroke', '#e15759');
    f.g.append('text').attr('class', 'marker-label').attr('x', f.w - 4).attr('y', ry - 5).attr('text-anchor', 'end').attr('fill', '#e15759').text(o.refLine.label);
  }
  return f;
}

/**
 * A histogram computed here from raw values (d3.bin), for views the server did not bin.
 * @param {Array<number | null>} values @param {number} bins @param {[number, number]} [domain] @returns {Histogram}
 */
function binValues(values, bins, domain) {
  const v = finite(values);
  const dom = domain ?? extentOf(v);
  const b = d3.bin().domain(dom).thresholds(d3.range(bins + 1).map((i) => dom[0] + ((dom[1] - dom[0]) * i) / bins).slice(1, -1))(v);
  return { edges: [dom[0], ...b.map((x) => x.x1 ?? dom[1])], counts: b.map((x) => x.length), skipped: values.length - d3.sum(b, (x) => x.length) };
}
