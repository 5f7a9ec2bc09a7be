/** Bundle builders preloaded in cells and reused by magics and the runner: html, markdown, svg, table. */
import { bundle, type MimeBundle } from './bundle';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export function html(source: string, plain = 'HTML output'): MimeBundle {
  return bundle({ 'text/html': source, 'text/plain': plain });
}

export function markdown(source: string): MimeBundle {
  return bundle({ 'text/markdown': source, 'text/plain': source });
}

export function svg(source: string): MimeBundle {
  return bundle({ 'image/svg+xml': source, 'text/plain': 'SVG image' });
}

export type TableRow = Record<string, unknown> | unknown[];

export interface TableOptions {
  /** Column order (and subset); default: keys in order of first appearance. */
  columns?: string[];
  /** Digits after the point for non-integer numbers (default 4). */
  digits?: number;
  caption?: string;
}

function cell(v: unknown, digits: number): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** An HTML table plus an aligned text/plain version, from an array of objects (or arrays with `columns`). */
export function table(rows: readonly TableRow[], opts: TableOptions = {}): MimeBundle {
  const digits = opts.digits ?? 4;
  let columns = opts.columns;
  if (!columns) {
    const seen = new Set<string>();
    for (const r of rows) {
      const keys = Array.isArray(r) ? r.map((_, i) => String(i)) : Object.keys(r);
      for (const k of keys) seen.add(k);
    }
    columns = [...seen];
  }
  const get = (r: TableRow, c: string, i: number): unknown => (Array.isArray(r) ? r[opts.columns ? i : Number(c)] : r[c]);
  const body = rows.map((r) => columns!.map((c, i) => cell(get(r, c, i), digits)));
  const numeric = columns.map((c, i) => rows.length > 0 && rows.every((r) => typeof get(r, c, i) === 'number' || get(r, c, i) == null));
  const widths = columns.map((c, i) => Math.max(c.length, ...body.map((row) => row[i].length)));
  const pad = (s: string, i: number): string => (numeric[i] ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const text = [
    ...(opts.caption ? [opts.caption] : []),
    columns.map(pad).join('  '),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map((row) => row.map(pad).join('  ')),
  ].join('\n');
  const th = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const trs = body
    .map((row) => `<tr>${row.map((v, i) => `<td${numeric[i] ? ' style="text-align:right"' : ''}>${escapeHtml(v)}</td>`).join('')}</tr>`)
    .join('');
  const caption = opts.caption ? `<caption>${escapeHtml(opts.caption)}</caption>` : '';
  return bundle({ 'text/html': `<table>${caption}<thead><tr>${th}</tr></thead><tbody>${trs}</tbody></table>`, 'text/plain': text });
}
