/** Plain-data rendering of sweep results (text table, HTML table, Vega-Lite convergence chart) for toMimeBundle(). */
import { sweepConvergenceChart } from '../charts/sweep';
import type { TrialRow } from '../store/store';

export interface SweepResultLike {
  name: string;
  objective: string;
  direction: 'minimize' | 'maximize';
  trials: TrialRow[];
  best?: TrialRow;
  /** How best was chosen (sweep.ts SweepResult.bestRule); absent: lowest observed. */
  bestRule?: 'posterior-mean' | 'min-observed';
  /** The lowest (best) observed trial, shown beside a recommendation that differs from it. */
  bestObserved?: TrialRow;
  pareto?: TrialRow[];
}

function fmt(v: unknown): string {
  if (typeof v !== 'number') return String(v ?? '');
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(3) : Number(v.toPrecision(4)).toString();
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Rows of a trials table: index, status, params…, objective, costs, seconds. */
export function trialTable(trials: TrialRow[], objective: string): { header: string[]; rows: string[][] } {
  const pnames = [...new Set(trials.flatMap((t) => Object.keys(t.params)))];
  const cnames = [...new Set(trials.flatMap((t) => Object.keys(t.costs)))];
  const header = ['#', 'status', ...pnames, objective, ...cnames, 's'];
  const rows = trials.map((t) => [
    String(t.index),
    t.status === 'infeasible' ? `skipped${t.reason ? `: ${t.reason}` : ''}` : t.status === 'failed' ? `failed: ${(t.error ?? '').slice(0, 40)}` : t.status,
    ...pnames.map((n) => fmt(t.params[n])),
    fmt(t.metrics[objective] ?? t.costs[objective] ?? ''),
    ...cnames.map((n) => fmt(t.costs[n] ?? '')),
    t.durationMs !== undefined ? (t.durationMs / 1000).toFixed(1) : '',
  ]);
  return { header, rows };
}

export function tableText(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
}

export function tableHtml(header: string[], rows: string[][], highlight?: number): string {
  return `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r, i) => `<tr${i === highlight ? ' style="font-weight:bold"' : ''}>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function bestLine(r: SweepResultLike): string {
  if (!r.best) return `sweep ${r.name}: no completed trial`;
  const p = Object.entries(r.best.params).map(([k, v]) => `${k}=${fmt(v)}`).join(', ');
  const value = (t: TrialRow) => fmt(t.metrics[r.objective] ?? t.costs[r.objective]);
  const line = `sweep ${r.name}: best ${r.objective} = ${value(r.best)} (trial ${r.best.index}: ${p})`;
  if (r.bestRule !== 'posterior-mean') return line;
  // say which rule picked it: with a noisy objective the recommendation need not be the lowest observed value
  const obs = r.bestObserved;
  const also = !obs || obs.index === r.best.index ? ', also the lowest observed' : `; best observed: ${value(obs)} (trial ${obs.index})`;
  return `${line}, best by GP posterior mean at the tried points${also}`;
}

export function sweepResultBundle(r: SweepResultLike): { data: Record<string, unknown> } {
  const { header, rows } = trialTable(r.trials, r.objective);
  const bi = r.best ? r.trials.findIndex((t) => t.index === r.best!.index) : undefined;
  const pareto = r.pareto?.length ? `\nPareto front: trials ${r.pareto.map((t) => t.index).join(', ')}` : '';
  return {
    data: {
      'text/plain': `${bestLine(r)}${pareto}\n${tableText(header, rows)}`,
      'text/html': `<p>${esc(bestLine(r))}${esc(pareto)}</p>${tableHtml(header, rows, bi)}`,
      'application/vnd.vegalite.v5+json': sweepConvergenceChart(r.trials, r.objective, r.direction),
    },
  };
}
