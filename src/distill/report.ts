/** Text/HTML/Vega-Lite rendering of a distillation comparison (plain data; the kernel displays it). */
import { distillChart } from '../charts/distill';
import type { DistillComparison, ModelFigures } from './distill';

const VEGA_LITE_MIME = 'application/vnd.vegalite.v5+json';
const fmt = (n: number) => n.toLocaleString('en-US');
const pct = (a: number) => (Number.isNaN(a) ? '-' : `${(100 * a).toFixed(2)} %`);
const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

function rows(c: DistillComparison): string[][] {
  return [c.teacher, c.alone, c.distilled].map((m: ModelFigures) => [
    m.role,
    pct(m.accuracy),
    fmt(m.params),
    fmt(m.macs),
    kib(m.int8WeightsFlashBytes),
    kib(m.int8FlashBytes),
  ]);
}

const HEAD = ['model', 'accuracy', 'params', 'MACs', 'int8 weights', 'int8 flash total'];

export function distillText(c: DistillComparison): string {
  const r = rows(c);
  const w = HEAD.map((h, i) => Math.max(h.length, ...r.map((x) => x[i].length)));
  const line = (x: string[]) => x.map((v, i) => (i === 0 ? v.padEnd(w[i]) : v.padStart(w[i]))).join('  ');
  return [
    ...(c.derived ? [c.derived.description] : []),
    `distillation T=${c.temperature}, alpha=${c.alpha}; flash on ${c.board}${c.aborted ? ' (interrupted: partial training)' : ''}`,
    line(HEAD),
    w.map((n) => '-'.repeat(n)).join('  '),
    ...r.map(line),
    `distilled − alone: ${c.gain >= 0 ? '+' : ''}${(100 * c.gain).toFixed(2)} points; student is ${(c.teacher.params / c.distilled.params).toFixed(1)}× smaller than the teacher`,
  ].join('\n');
}

function esc(t: string): string {
  return t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function distillHtml(c: DistillComparison): string {
  const body = rows(c)
    .map((r) => `<tr>${r.map((v, i) => `<td${i ? ' style="text-align:right"' : ''}>${esc(v)}</td>`).join('')}</tr>`)
    .join('');
  return (
    (c.derived ? `<p>${esc(c.derived.description)}</p>` : '') +
    `<table><caption>distillation T=${c.temperature}, α=${c.alpha}; flash on ${esc(c.board)}${c.aborted ? ' (interrupted)' : ''}</caption>` +
    `<thead><tr>${HEAD.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table>` +
    `<p>distilled − alone: <b>${c.gain >= 0 ? '+' : ''}${(100 * c.gain).toFixed(2)}</b> points</p>`
  );
}

export function distillReport(c: DistillComparison): { data: Record<string, unknown> } {
  return {
    data: {
      'text/plain': distillText(c),
      'text/html': distillHtml(c),
      [VEGA_LITE_MIME]: distillChart([c.teacher, c.alone, c.distilled], `accuracy vs int8 weights flash (${c.board})`),
    },
  };
}
