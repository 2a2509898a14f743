// @ts-check
// DOM and formatting helpers of the report page. Every string that comes from the data is
// put into the page as a text node (h(), d3 .text()), never parsed as HTML.

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * Creates an element; string children become text nodes. Attribute values are set with
 * setAttribute (functions become event listeners: `{ click: fn }`).
 * @param {string} tag
 * @param {Record<string, string | number | boolean | null | undefined | ((e: Event) => void)> | null} [attrs]
 * @param {...Child} children
 * @returns {HTMLElement}
 */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  return el;
}

const fmtSig = d3.format('.3~g');
const fmtInt = d3.format(',');
const fmtPct = d3.format('.1~%');

/** A number for people: integers with separators, others to 3 significant digits; — for none. */
function fmt(/** @type {number | null | undefined} */ x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (Number.isInteger(x) && Math.abs(x) < 1e9) return fmtInt(x);
  return fmtSig(x);
}

/** "1 latent", "2 latents": a count and its noun. @param {number} n @param {string} one @param {string} [many] */
function plural(n, one, many) {
  return `${fmt(n)} ${n === 1 ? one : many ?? `${one}s`}`;
}

function pct(/** @type {number | null | undefined} */ x) {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : fmtPct(x);
}

/** Shows control characters in a token: ↵ for a newline, ⇥ for a tab, \x1b for the others. */
function visibleToken(/** @type {string} */ s) {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\n') return '↵';
    if (c === '\t') return '⇥';
    if (c === '\r') return '␍';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** Finite numbers of an array (nulls and NaN dropped). */
function finite(/** @type {Array<number | null>} */ xs) {
  return /** @type {number[]} */ (xs.filter((x) => x !== null && Number.isFinite(x)));
}

const RUN_COLORS = d3.schemeTableau10;
const runColor = (/** @type {number} */ i) => RUN_COLORS[i % RUN_COLORS.length] ?? '#4e79a7';
const CLUSTER_COLORS = d3.schemeTableau10.concat(d3.schemeSet2);
const NOISE_COLOR = '#b8b8b8';
const clusterColor = (/** @type {number} */ c) => (c < 0 ? NOISE_COLOR : CLUSTER_COLORS[c % CLUSTER_COLORS.length] ?? '#888');

/** The page's one tooltip: rows of [label, value] under an optional title. */
const tip = (() => {
  const el = h('div', { class: 'tooltip', role: 'tooltip', 'aria-hidden': 'true' });
  document.body.append(el);
  return {
    /**
     * @param {MouseEvent} ev
     * @param {string | null} title
     * @param {Array<[string, string]>} rows
     */
    show(ev, title, rows) {
      el.replaceChildren();
      if (title) el.append(h('div', { class: 'tip-title' }, title));
      if (rows.length) {
        const t = h('table');
        for (const [k, v] of rows) t.append(h('tr', null, h('th', null, k), h('td', null, v)));
        el.append(t);
      }
      el.style.display = 'block';
      const pad = 14;
      const r = el.getBoundingClientRect();
      let x = ev.clientX + pad;
      let y = ev.clientY + pad;
      if (x + r.width > window.innerWidth - 4) x = ev.clientX - r.width - pad;
      if (y + r.height > window.innerHeight - 4) y = ev.clientY - r.height - pad;
      el.style.left = `${Math.max(4, x)}px`;
      el.style.top = `${Math.max(4, y)}px`;
    },
    hide() {
      el.style.display = 'none';
    },
  };
})();

/** A short notice inside a section (what is missing and how to make it). */
function notice(/** @type {string} */ text, /** @type {string | undefined} */ command, kind = 'missing') {
  return h('p', { class: `notice ${kind}` }, text, command ? ' ' : null, command ? h('code', null, command) : null);
}

/** Copies a JSON-safe number array into a Float64Array, null → NaN. */
function toF64(/** @type {Array<number | null>} */ xs) {
  const out = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = xs[i] ?? NaN;
  return out;
}
