/**
 * Human forms of an McuReport: a terminal table (like a vendor "analyze" report), an HTML table, and a MIME bundle
 * (text/plain + text/html + Vega-Lite) attached as a non-enumerable `toMimeBundle()` so JSON.stringify(report) stays
 * the plain machine form.
 */
import { boardComparisonChart, mcuLayerChart } from '../charts/mcu';
import type { McuReport } from './estimate';

export const VEGA_LITE_MIME = 'application/vnd.vegalite.v5+json';

/** A MIME bundle as plain data (same shape as kernel/display/bundle.ts's MimeBundle). */
export interface PlainMimeBundle {
  data: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export function kib(bytes: number): string {
  return (bytes / 1024).toFixed(bytes < 10240 ? 2 : 1);
}

function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function ms(x: number): string {
  return x >= 100 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** Render rows as an aligned text table; numeric-looking columns right-aligned. */
export function textTable(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = header.map((_, i) => rows.every((r) => /^[-+\d.,%]*$/.test(r[i] ?? '')));
  const fmt = (r: string[]) => r.map((c, i) => (right[i] ? (c ?? '').padStart(w[i]) : (c ?? '').padEnd(w[i]))).join('  ').trimEnd();
  return [fmt(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(fmt)].join('\n');
}

const LAYER_HEADER = ['#', 'layer', 'op', 'output', 'params', 'MACs', 'flash KiB', 'RAM share', 'ms', '% time'];

function layerRows(r: McuReport): string[][] {
  return r.layers.map((l, i) => [
    String(i),
    l.name,
    l.op + (l.activation !== 'none' ? `+${l.activation}` : ''),
    l.outputShape.join('x'),
    int(l.params),
    int(l.macs),
    kib(l.weightsFlashBytes),
    pct(l.peakRamShare),
    ms(l.latencyMs),
    pct(l.latencyShare),
  ]);
}

function summaryLines(r: McuReport): string[] {
  const t = r.totals;
  const fit = (ok: boolean) => (ok ? 'fits' : 'DOES NOT FIT');
  return [
    `model ${r.model} on ${r.board} (${r.core} @ ${r.clockMhz} MHz), ${r.dtype}, runtime ${r.runtime}`,
    `params ${int(t.params)}   MACs ${int(t.macs)}   latency ${ms(t.latencyMs)} ms (${int(t.cycles)} cycles)`,
    `flash  ${kib(t.flashBytes)} KiB = weights ${kib(t.weightsFlashBytes)} + quant params ${kib(t.quantParamsFlashBytes)} + code ${kib(t.codeFlashBytes)}  of ${kib(r.capacity.flashBytes)} KiB: ${fit(r.fits.flash)} (margin ${kib(r.margins.flashBytes)} KiB, ${r.margins.flashPct.toFixed(1)}%)`,
    `RAM    ${kib(t.ramBytes)} KiB = activations ${kib(t.activationRamBytes)} + runtime ${kib(t.runtimeRamBytes)}  of ${kib(r.capacity.ramBytes)} KiB: ${fit(r.fits.ram)} (margin ${kib(r.margins.ramBytes)} KiB, ${r.margins.ramPct.toFixed(1)}%)`,
    `peak RAM at '${r.peak.layer}' (${kib(r.peak.liveBytes)} KiB live), set by ${r.peak.tensors.map((s) => `'${s}'`).join(' and ')}`,
    ...r.notes.map((n) => `note: ${n}`),
  ];
}

/** The terminal report: per-layer table then totals and fit. */
export function formatReport(r: McuReport): string {
  return [textTable(LAYER_HEADER, layerRows(r)), '', ...summaryLines(r)].join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function htmlTable(header: string[], rows: string[][]): string {
  const th = header.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('');
  return `<table class="tinylab-mcu"><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

export function reportHtml(r: McuReport): string {
  return `${htmlTable(LAYER_HEADER, layerRows(r))}<pre>${esc(summaryLines(r).join('\n'))}</pre>`;
}

export function reportBundle(r: McuReport): PlainMimeBundle {
  return { data: { 'text/plain': formatReport(r), 'text/html': reportHtml(r), [VEGA_LITE_MIME]: mcuLayerChart(r) }, metadata: {} };
}

/** Give a report a non-enumerable toMimeBundle() (the kernel displays it richly; JSON stays plain). */
export function attachReportDisplay<T extends McuReport>(r: T): T {
  Object.defineProperty(r, 'toMimeBundle', { value: () => reportBundle(r), enumerable: false });
  return r;
}

/** One row of a board comparison. */
export interface BoardRow {
  board: string;
  core: string;
  clockMhz: number;
  latencyMs: number;
  flashBytes: number;
  ramBytes: number;
  fitsFlash: boolean;
  fitsRam: boolean;
  flashPct: number;
  ramPct: number;
}

export interface BoardComparison {
  model: string;
  dtype: string;
  rows: BoardRow[];
}

export function comparisonRows(reports: McuReport[]): BoardRow[] {
  return reports.map((r) => ({
    board: r.board,
    core: r.core,
    clockMhz: r.clockMhz,
    latencyMs: r.totals.latencyMs,
    flashBytes: r.totals.flashBytes,
    ramBytes: r.totals.ramBytes,
    fitsFlash: r.fits.flash,
    fitsRam: r.fits.ram,
    flashPct: r.margins.flashPct,
    ramPct: r.margins.ramPct,
  }));
}

const CMP_HEADER = ['board', 'core', 'MHz', 'latency ms', 'flash KiB', 'flash margin', 'RAM KiB', 'RAM margin', 'fits'];

function cmpRows(c: BoardComparison): string[][] {
  return c.rows.map((r) => [
    r.board,
    r.core,
    String(r.clockMhz),
    ms(r.latencyMs),
    kib(r.flashBytes),
    `${r.flashPct.toFixed(1)}%`,
    kib(r.ramBytes),
    `${r.ramPct.toFixed(1)}%`,
    r.fitsFlash && r.fitsRam ? 'yes' : !r.fitsFlash && !r.fitsRam ? 'no: flash+RAM' : !r.fitsFlash ? 'no: flash' : 'no: RAM',
  ]);
}

export function formatComparison(c: BoardComparison): string {
  return `${c.model} (${c.dtype}) on ${c.rows.length} boards\n${textTable(CMP_HEADER, cmpRows(c))}`;
}

export function attachComparisonDisplay(c: BoardComparison): BoardComparison {
  Object.defineProperty(c, 'toMimeBundle', {
    value: (): PlainMimeBundle => ({
      data: {
        'text/plain': formatComparison(c),
        'text/html': htmlTable(CMP_HEADER, cmpRows(c)),
        [VEGA_LITE_MIME]: boardComparisonChart(c.rows, `${c.model} (${c.dtype}): latency by board`),
      },
      metadata: {},
    }),
    enumerable: false,
  });
  return c;
}
