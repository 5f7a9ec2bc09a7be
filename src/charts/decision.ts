/**
 * The decision chart: accuracy against weights flash and against activation RAM for every model a notebook produced,
 * the Pareto front highlighted, each board's flash/RAM limit drawn as a rule, points coloured by stage, tooltips with
 * the parameters. Plain Vega-Lite objects (the kernel renders them to SVG beside the interactive spec).
 */
import { paretoFront } from '../sweep/pareto';
import type { VegaLiteSpec } from './mcu';

export interface DecisionPoint {
  /** Pipeline stage: 'teacher', 'sweep', 'student', 'distilled', 'projected', 'int8', … */
  stage: string;
  name: string;
  /** Test accuracy in [0, 1]. */
  accuracy: number;
  /** Bytes, as deployed (int8 unless the stage says otherwise). */
  flashBytes: number;
  ramBytes: number;
  params?: number;
  /** Free-form details for the tooltip (hyperparameters, …). */
  details?: string;
}

export interface BoardLimit {
  board: string;
  flashBytes: number;
  ramBytes: number;
}

/** Indices of the points on the accuracy-vs-cost Pareto front (max accuracy, min cost). */
export function decisionPareto(points: readonly DecisionPoint[], cost: 'flashBytes' | 'ramBytes'): Set<number> {
  return new Set(paretoFront(points.map((p) => [p.accuracy, p[cost]]), ['maximize', 'minimize']));
}

function panel(points: readonly DecisionPoint[], limits: readonly BoardLimit[], cost: 'flashBytes' | 'ramBytes', title: string): VegaLiteSpec {
  const front = decisionPareto(points, cost);
  const values = points.map((p, i) => ({
    stage: p.stage,
    name: p.name,
    accuracy: p.accuracy,
    kib: p[cost] / 1024,
    params: p.params ?? null,
    details: p.details ?? '',
    pareto: front.has(i),
  }));
  const frontValues = values.filter((v) => v.pareto).sort((a, b) => a.kib - b.kib);
  // The cost axis is logarithmic, so a board limit 100× beyond the models still leaves the points readable.
  const rules = limits.map((l) => ({ board: l.board, kib: l[cost] / 1024 }));
  return {
    title,
    width: 360,
    height: 260,
    layer: [
      {
        data: { values: rules },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#888' },
        encoding: { x: { field: 'kib', type: 'quantitative' }, tooltip: [{ field: 'board' }, { field: 'kib', title: 'limit KiB', format: '.0f' }] },
      },
      {
        data: { values: rules },
        mark: { type: 'text', angle: 270, align: 'left', dx: 4, dy: -4, fontSize: 9, color: '#666' },
        encoding: { x: { field: 'kib', type: 'quantitative' }, y: { value: 4 }, text: { field: 'board' } },
      },
      {
        data: { values: frontValues },
        mark: { type: 'line', color: '#222', strokeWidth: 1.5, interpolate: 'step-after' },
        encoding: { x: { field: 'kib', type: 'quantitative' }, y: { field: 'accuracy', type: 'quantitative' } },
      },
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 70, opacity: 0.85 },
        encoding: {
          x: { field: 'kib', type: 'quantitative', title: cost === 'flashBytes' ? 'weights flash (KiB)' : 'activation RAM (KiB)', scale: { type: 'log' } },
          y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { zero: false }, axis: { format: '.0%' } },
          color: { field: 'stage', type: 'nominal', title: 'stage' },
          shape: { field: 'pareto', type: 'nominal', title: 'Pareto front', scale: { domain: [true, false], range: ['diamond', 'circle'] } },
          tooltip: [
            { field: 'name' }, { field: 'stage' }, { field: 'accuracy', format: '.4f' }, { field: 'kib', title: 'KiB', format: '.1f' },
            { field: 'params' }, { field: 'details' },
          ],
        },
      },
    ],
  };
}

/** Accuracy vs flash and accuracy vs RAM side by side. */
export function decisionChart(points: readonly DecisionPoint[], limits: readonly BoardLimit[] = []): VegaLiteSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    description: 'tinylab decision chart: accuracy against deployment cost',
    hconcat: [
      panel(points, limits, 'flashBytes', 'accuracy vs weights flash'),
      panel(points, limits, 'ramBytes', 'accuracy vs activation RAM'),
    ],
    resolve: { scale: { color: 'shared', shape: 'shared' } },
  };
}
