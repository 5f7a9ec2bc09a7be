/**
 * Vega-Lite specs for sweeps, as plain objects: convergence (objective per trial and best-so-far), parameter vs
 * objective (one small scatter per parameter, or parallel coordinates), and the Pareto front of an objective against
 * a cost with the board's limit drawn. Inputs are typed structurally so this file does not depend on src/sweep.
 */
import type { VegaLiteSpec } from './mcu';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

export interface SweepTrialLike {
  index: number;
  status: string;
  params: Record<string, string | number | boolean>;
  metrics: Record<string, number>;
  costs: Record<string, number>;
}

function metricOf(t: SweepTrialLike, m: string): number | undefined {
  const v = t.metrics[m] ?? t.costs[m];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Objective of each completed trial (points) and the best so far (step line), by trial index. */
export function sweepConvergenceChart(trials: SweepTrialLike[], objective: string, direction: 'minimize' | 'maximize', title = `${objective}: best so far`): VegaLiteSpec {
  let best: number | undefined;
  const values: Array<Record<string, unknown>> = [];
  for (const t of [...trials].sort((a, b) => a.index - b.index)) {
    const v = t.status === 'completed' ? metricOf(t, objective) : undefined;
    if (v === undefined) continue;
    if (best === undefined || (direction === 'maximize' ? v > best : v < best)) best = v;
    values.push({ trial: t.index, value: v, best });
  }
  return {
    $schema: SCHEMA,
    title,
    width: 420,
    height: 220,
    data: { values },
    layer: [
      {
        mark: { type: 'point', filled: true, opacity: 0.6 },
        encoding: {
          x: { field: 'trial', type: 'quantitative', title: 'trial' },
          y: { field: 'value', type: 'quantitative', title: objective, scale: { zero: false } },
          tooltip: [{ field: 'trial' }, { field: 'value', title: objective }],
        },
      },
      {
        mark: { type: 'line', interpolate: 'step-after', color: '#d62728' },
        encoding: { x: { field: 'trial', type: 'quantitative' }, y: { field: 'best', type: 'quantitative' } },
      },
    ],
  };
}

/** One scatter per parameter: parameter value against the objective (log axis for log-scaled parameters). */
export function sweepParamChart(trials: SweepTrialLike[], objective: string, logParams: string[] = []): VegaLiteSpec {
  const done = trials.filter((t) => t.status === 'completed' && metricOf(t, objective) !== undefined);
  const names = done.length ? Object.keys(done[0].params) : [];
  return {
    $schema: SCHEMA,
    title: `parameters vs ${objective}`,
    hconcat: names.map((n) => {
      const numeric = done.every((t) => typeof t.params[n] === 'number');
      return {
        width: 160,
        height: 160,
        data: { values: done.map((t) => ({ trial: t.index, x: t.params[n], y: metricOf(t, objective) })) },
        mark: { type: 'point', filled: true },
        encoding: {
          x: { field: 'x', type: numeric ? 'quantitative' : 'nominal', title: n, ...(numeric ? { scale: { zero: false, ...(logParams.includes(n) ? { type: 'log' } : {}) } } : {}) },
          y: { field: 'y', type: 'quantitative', title: objective, scale: { zero: false } },
          tooltip: [{ field: 'trial' }, { field: 'x', title: n }, { field: 'y', title: objective }],
        },
      };
    }),
  };
}

/** Parallel coordinates: every parameter normalised to [0, 1], one line per trial coloured by the objective. */
export function sweepParallelCoordinates(trials: SweepTrialLike[], objective: string): VegaLiteSpec {
  const done = trials.filter((t) => t.status === 'completed' && metricOf(t, objective) !== undefined);
  const names = done.length ? Object.keys(done[0].params) : [];
  const axes = [...names, objective];
  const raw = (t: SweepTrialLike, a: string): number | string => (a === objective ? metricOf(t, objective)! : (t.params[a] as number | string));
  const norm = new Map<string, (v: number | string) => number>();
  for (const a of axes) {
    const vals = done.map((t) => raw(t, a));
    if (vals.every((v) => typeof v === 'number')) {
      const nums = vals as number[];
      const lo = Math.min(...nums);
      const hi = Math.max(...nums);
      norm.set(a, (v) => (hi > lo ? ((v as number) - lo) / (hi - lo) : 0.5));
    } else {
      const cats = [...new Set(vals.map(String))];
      norm.set(a, (v) => (cats.length > 1 ? cats.indexOf(String(v)) / (cats.length - 1) : 0.5));
    }
  }
  const values = done.flatMap((t) => axes.map((a) => ({ trial: t.index, axis: a, value: raw(t, a), pos: norm.get(a)!(raw(t, a)), objective: metricOf(t, objective) })));
  return {
    $schema: SCHEMA,
    title: `parallel coordinates (colour: ${objective})`,
    width: Math.max(300, 90 * axes.length),
    height: 240,
    data: { values },
    mark: { type: 'line', opacity: 0.6 },
    encoding: {
      x: { field: 'axis', type: 'nominal', sort: axes, title: null },
      y: { field: 'pos', type: 'quantitative', axis: null },
      detail: { field: 'trial', type: 'nominal' },
      color: { field: 'objective', type: 'quantitative', title: objective },
      tooltip: [{ field: 'trial' }, { field: 'axis' }, { field: 'value' }],
    },
  };
}

/**
 * Objective against a cost (flash, RAM, latency) for every completed trial, the Pareto front as a line, and the
 * board's limit as a rule (`limit`, in the cost's units).
 */
export function sweepParetoChart(
  trials: SweepTrialLike[],
  objective: string,
  cost: string,
  opts: { paretoIndices?: number[]; limit?: number; limitLabel?: string; costTitle?: string } = {},
): VegaLiteSpec {
  const front = new Set(opts.paretoIndices ?? []);
  const values = trials
    .filter((t) => t.status === 'completed' && metricOf(t, objective) !== undefined && metricOf(t, cost) !== undefined)
    .map((t) => ({ trial: t.index, objective: metricOf(t, objective), cost: metricOf(t, cost), pareto: front.has(t.index) ? 'Pareto front' : 'other', ...t.params }));
  const x = { field: 'cost', type: 'quantitative', title: opts.costTitle ?? cost };
  const y = { field: 'objective', type: 'quantitative', title: objective, scale: { zero: false } };
  const layers: unknown[] = [
    {
      mark: { type: 'point', filled: true, size: 60 },
      encoding: { x, y, color: { field: 'pareto', type: 'nominal', title: null, scale: { domain: ['Pareto front', 'other'], range: ['#d62728', '#9e9e9e'] } }, tooltip: [{ field: 'trial' }, { field: 'objective', title: objective }, { field: 'cost', title: cost }] },
    },
    { transform: [{ filter: "datum.pareto === 'Pareto front'" }], mark: { type: 'line', interpolate: 'step-after', color: '#d62728' }, encoding: { x, y } },
  ];
  if (opts.limit !== undefined)
    layers.push(
      { data: { values: [{ limit: opts.limit, label: opts.limitLabel ?? 'board limit' }] }, mark: { type: 'rule', strokeDash: [6, 4], color: '#1f77b4' }, encoding: { x: { field: 'limit', type: 'quantitative' } } },
      { data: { values: [{ limit: opts.limit, label: opts.limitLabel ?? 'board limit' }] }, mark: { type: 'text', align: 'left', dx: 4, dy: -90, color: '#1f77b4' }, encoding: { x: { field: 'limit', type: 'quantitative' }, text: { field: 'label' } } },
    );
  return { $schema: SCHEMA, title: `${objective} vs ${cost}`, width: 420, height: 240, data: { values }, layer: layers };
}
