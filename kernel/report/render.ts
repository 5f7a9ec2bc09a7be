/**
 * Executed notebook → one self-contained HTML report that works offline: header from the run metadata, pinned
 * results, a table of contents, rendered markdown, collapsible code, every output; Vega-Lite charts as their static
 * SVG, replaced by the live chart when the viewer runs JavaScript (vega and vega-lite are inlined, no CDN).
 */
import { withoutRasterFallback } from '../display/raster';
import { Cell, ErrorOutput, Notebook, Output, RunMetadata, joinSource } from '../run/notebook';
import { getMarked, vegaBrowserScripts } from './assets';
import { REPORT_CSS, REPORT_JS } from './style';

export const SUMMARY_KEY = 'tinylab/summary';
const VEGALITE_RE = /^application\/vnd\.vegalite\.v\d+(\.\d+)?\+json$/;

export interface ReportOptions {
  /** Override the title (default: the first markdown heading). */
  title?: string;
  /** Leave out the vega scripts even when there are charts (static SVG only): a much smaller file. */
  staticOnly?: boolean;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Drop ANSI escape sequences (tracebacks from IPython and tslab are coloured). */
export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g, '');
}

/** JSON inside <script type="application/json">: `<` escaped so no content can close the tag. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function slug(text: string, used: Set<string>): string {
  const base =
    text
      .toLowerCase()
      .replace(/<[^>]*>/g, '')
      .replace(/&[a-z#0-9]+;/g, '')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'section';
  let s = base;
  for (let i = 2; used.has(s); i++) s = `${base}-${i}`;
  used.add(s);
  return s;
}

interface Heading {
  level: number;
  id: string;
  html: string;
  text: string;
}

class Context {
  readonly headings: Heading[] = [];
  readonly ids = new Set<string>();
  charts = 0;

  /** Markdown → HTML with ids on headings, collected for the table of contents. */
  markdown(src: string): string {
    const html = getMarked().parse(src, { async: false, gfm: true });
    return html.replace(/<h([1-6])([^>]*)>([\s\S]*?)<\/h\1>/g, (_m, lv: string, attrs: string, inner: string) => {
      const text = inner.replace(/<[^>]*>/g, '').trim();
      const existing = /\sid="([^"]+)"/.exec(attrs);
      const id = existing ? existing[1] : slug(text, this.ids);
      this.headings.push({ level: Number(lv), id, html: inner, text });
      return `<h${lv}${existing ? attrs : `${attrs} id="${id}"`}>${inner}</h${lv}>`;
    });
  }
}

function textOf(v: unknown): string {
  return Array.isArray(v) ? v.join('') : typeof v === 'string' ? v : JSON.stringify(v, null, 2);
}

function renderError(o: ErrorOutput): string {
  const tb = o.traceback.length ? stripAnsi(o.traceback.join('\n')) : `${o.ename}: ${o.evalue}`;
  return `<div class="output error"><div class="ename">${escapeHtml(o.ename)}: ${escapeHtml(stripAnsi(o.evalue))}</div><pre class="traceback">${escapeHtml(tb)}</pre></div>`;
}

function renderChart(ctx: Context, spec: unknown, svg: string | undefined): string {
  const id = `chart-${++ctx.charts}`;
  const fallback = svg ? svg : `<div class="no-static">(no static image in this output; the chart needs JavaScript)</div>`;
  return (
    `<div class="output chart vega-chart" id="${id}">` +
    `<div class="static">${fallback}</div><div class="interactive"></div>` +
    `<script type="application/json" class="vl-spec">${scriptJson(spec)}</script></div>`
  );
}

/** One MIME bundle → HTML, choosing the richest representation we can show offline. */
function renderBundle(ctx: Context, data: Record<string, unknown>): string {
  const keys = Object.keys(data);
  const vl = keys.find((k) => VEGALITE_RE.test(k));
  if (vl) {
    // The report shows the SVG itself, so the PNG copy it carries for nbconvert (display/raster.ts) only adds weight.
    const svg = data['image/svg+xml'] !== undefined ? withoutRasterFallback(textOf(data['image/svg+xml'])) : undefined;
    const spec = typeof data[vl] === 'string' ? (JSON.parse(data[vl] as string) as unknown) : data[vl];
    // A bundle with a table beside its chart (from kernels before they split them: mime.ts outputBundles) shows both.
    const table = data['text/html'] !== undefined ? `<div class="output html">${textOf(data['text/html'])}</div>` : '';
    return table + renderChart(ctx, spec, svg);
  }
  if (data['text/html'] !== undefined) return `<div class="output html">${textOf(data['text/html'])}</div>`;
  if (data['image/svg+xml'] !== undefined) return `<div class="output image">${withoutRasterFallback(textOf(data['image/svg+xml']))}</div>`;
  for (const t of ['image/png', 'image/jpeg', 'image/gif']) {
    if (data[t] !== undefined) return `<div class="output image"><img alt="" src="data:${t};base64,${textOf(data[t]).replace(/\s/g, '')}"></div>`;
  }
  if (data['text/markdown'] !== undefined) return `<div class="output markdown">${ctx.markdown(textOf(data['text/markdown']))}</div>`;
  if (data['application/json'] !== undefined) return `<pre class="output json">${escapeHtml(textOf(data['application/json']))}</pre>`;
  if (data['text/plain'] !== undefined) return `<pre class="output text">${escapeHtml(stripAnsi(textOf(data['text/plain'])))}</pre>`;
  return '';
}

function renderOutput(ctx: Context, o: Output): string {
  switch (o.output_type) {
    case 'stream':
      return `<pre class="output stream ${o.name}">${escapeHtml(stripAnsi(joinSource(o.text)))}</pre>`;
    case 'error':
      return renderError(o);
    case 'display_data':
    case 'execute_result':
      return renderBundle(ctx, o.data ?? {});
    default:
      return '';
  }
}

function isSummary(o: Output): o is Extract<Output, { data: Record<string, unknown> }> {
  if (o.output_type !== 'display_data' && o.output_type !== 'execute_result') return false;
  const m = o.metadata ?? {};
  return !!m[SUMMARY_KEY];
}

/** A summary value shown as a metrics table when it is a flat object of figures, else as its richest rendering. */
function renderSummaryItem(ctx: Context, o: Extract<Output, { data: Record<string, unknown> }>): string {
  const json = o.data['application/json'];
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const rows = Object.entries(json as Record<string, unknown>)
      .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(typeof v === 'number' ? fmtNumber(v) : textOf(v))}</td></tr>`)
      .join('');
    return `<table class="metrics">${rows}</table>`;
  }
  return renderBundle(ctx, o.data);
}

function fmtNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

function fmtDuration(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Run date and duration: from tinylab's run metadata, else from nbclient's per-cell timings (nbconvert output). */
function runTimes(nb: Notebook, run: RunMetadata | undefined): { start?: string; duration?: number } {
  if (run) return { start: run.started, duration: run.duration_s };
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of nb.cells) {
    const ex = c.metadata?.execution as Record<string, string> | undefined;
    if (!ex) continue;
    for (const v of Object.values(ex)) {
      const t = Date.parse(v);
      if (Number.isFinite(t)) {
        lo = Math.min(lo, t);
        hi = Math.max(hi, t);
      }
    }
  }
  return Number.isFinite(lo) ? { start: new Date(lo).toISOString(), duration: (hi - lo) / 1000 } : {};
}

function headerBlock(nb: Notebook, run: RunMetadata | undefined): string {
  const rows: Array<[string, string]> = [];
  const { start, duration } = runTimes(nb, run);
  if (start) rows.push(['Run', `${escapeHtml(start.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC'))}`]);
  if (duration !== undefined) rows.push(['Duration', fmtDuration(duration)]);
  if (run) {
    const cls = run.status === 'ok' ? 'ok' : 'bad';
    const failed = run.failure
      ? ` at <a href="#cell-${run.failure.cell_index}">cell ${run.failure.cell_index}</a>: ${escapeHtml(run.failure.ename)}: ${escapeHtml(run.failure.evalue.split('\n')[0])}`
      : '';
    rows.push(['Status', `<span class="status ${cls}">${escapeHtml(run.status)}</span>${failed} (${run.cells.executed}/${run.cells.total} cells run)`]);
  }
  const ks = nb.metadata.kernelspec as { display_name?: string; name?: string } | undefined;
  if (ks) rows.push(['Kernel', escapeHtml(ks.display_name ?? ks.name ?? '')]);
  if (run) {
    const v = run.versions;
    const parts = [`tinylab ${v.tinylab}`, `Node ${v.node}`];
    if (v.tfjs) parts.push(`tfjs ${v.tfjs}`);
    if (v.backend) parts.push(`backend ${v.backend}`);
    rows.push(['Versions', escapeHtml(parts.join(' · '))]);
    const params = Object.entries(run.parameters ?? {});
    rows.push([
      'Parameters',
      params.length
        ? `<table class="params">${params.map(([k, val]) => `<tr><th>${escapeHtml(k)}</th><td><code>${escapeHtml(JSON.stringify(val))}</code></td></tr>`).join('')}</table>`
        : '<span class="muted">defaults</span>',
    ]);
  }
  return `<table class="run-header">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function cellStatus(c: Cell): string | undefined {
  const s = (c.metadata?.tinylab as { status?: string } | undefined)?.status;
  if (s) return s;
  return c.outputs?.some((o) => o.output_type === 'error') ? 'error' : undefined;
}

function renderCodeCell(ctx: Context, c: Cell, index: number): string {
  const src = joinSource(c.source);
  const first = src.split('\n').find((l) => l.trim()) ?? '';
  const tags = Array.isArray(c.metadata?.tags) ? (c.metadata.tags as string[]) : [];
  const status = cellStatus(c);
  const prompt = `In [${c.execution_count ?? ' '}]`;
  const badges = [
    ...tags.map((t) => `<span class="tag">${escapeHtml(t)}</span>`),
    status && status !== 'ok' ? `<span class="status bad">${escapeHtml(status)}</span>` : '',
  ].join('');
  const hidden = (c.metadata?.jupyter as { source_hidden?: boolean } | undefined)?.source_hidden;
  const open = tags.includes('injected-parameters') || status === 'error' || (!hidden && src.split('\n').length <= 12);
  const outputs = (c.outputs ?? []).map((o) => renderOutput(ctx, o)).join('');
  return (
    `<section class="cell code${status && status !== 'ok' ? ' failed' : ''}" id="cell-${index}" data-index="${index}">` +
    `<details class="source"${open ? ' open' : ''}><summary><span class="prompt">${prompt}</span> <code>${escapeHtml(first.slice(0, 120))}</code>${badges}</summary>` +
    `<pre><code>${escapeHtml(src)}</code></pre></details>` +
    (outputs ? `<div class="outputs">${outputs}</div>` : '') +
    `</section>`
  );
}

function titleOf(nb: Notebook): string | undefined {
  for (const c of nb.cells) {
    if (c.cell_type !== 'markdown') continue;
    const m = /^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$/m.exec(joinSource(c.source));
    if (m) return m[1].replace(/[*_`]/g, '');
  }
  const t = nb.metadata.title;
  return typeof t === 'string' ? t : undefined;
}

/** Render the whole report as one HTML string. */
export function renderReport(nb: Notebook, opts: ReportOptions = {}): string {
  const ctx = new Context();
  const run = (nb.metadata.tinylab as { run?: RunMetadata } | undefined)?.run;
  const title = opts.title ?? titleOf(nb) ?? 'Notebook report';

  const body: string[] = [];
  const summary: string[] = [];
  nb.cells.forEach((c, i) => {
    if (c.cell_type === 'markdown') body.push(`<section class="cell markdown" id="cell-${i}">${ctx.markdown(joinSource(c.source))}</section>`);
    else if (c.cell_type === 'raw') body.push(`<section class="cell raw" id="cell-${i}"><pre>${escapeHtml(joinSource(c.source))}</pre></section>`);
    else {
      body.push(renderCodeCell(ctx, c, i));
      for (const o of c.outputs ?? []) if (isSummary(o)) summary.push(`<div class="summary-item">${renderSummaryItem(ctx, o)}</div>`);
    }
  });

  const toc = ctx.headings.length
    ? `<nav class="toc"><h2>Contents</h2><ul>${ctx.headings
        .filter((h) => h.level <= 3)
        .map((h) => `<li class="l${h.level}"><a href="#${h.id}">${escapeHtml(h.text)}</a></li>`)
        .join('')}</ul></nav>`
    : '';
  const results = summary.length ? `<section class="results" id="results"><h2>Results</h2>${summary.join('')}</section>` : '';
  let scripts = '';
  if (ctx.charts > 0 && !opts.staticOnly) {
    const v = vegaBrowserScripts();
    scripts = `<script>${v.vega}</script>\n<script>${v.vegaLite}</script>\n<script>${REPORT_JS}</script>`;
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tinylab report">
<title>${escapeHtml(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header class="report-header"><h1 class="report-title">${escapeHtml(title)}</h1>${headerBlock(nb, run)}</header>
${results}
${toc}
<main>
${body.join('\n')}
</main>
<footer>Generated by tinylab report on ${new Date().toISOString().slice(0, 10)}.</footer>
${scripts}
</body>
</html>
`;
}
