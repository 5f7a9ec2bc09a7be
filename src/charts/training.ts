/**
 * Vega-Lite specs for training (plain objects; the kernel's display layer renders them): loss/accuracy curves per
 * epoch (train and validation) and the confusion matrix. Inputs are typed structurally so this file does not depend
 * on src/train.
 */
import type { VegaLiteSpec } from './mcu';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

export interface EpochLike {
  epoch: number;
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
}

/** Two panels side by side: loss (train, val) and accuracy % (train, val) against epoch. */
export function trainingCurvesChart(history: EpochLike[], title = 'training'): VegaLiteSpec {
  const rows: Array<{ epoch: number; metric: string; split: string; value: number }> = [];
  for (const h of history) {
    const push = (metric: string, split: string, v: number | undefined, scale = 1) => {
      if (v !== undefined && Number.isFinite(v)) rows.push({ epoch: h.epoch, metric, split, value: Number((v * scale).toFixed(5)) });
    };
    push('loss', 'train', h.loss);
    push('loss', 'validation', h.valLoss);
    push('accuracy (%)', 'train', h.accuracy, 100);
    push('accuracy (%)', 'validation', h.valAccuracy, 100);
  }
  const metrics = [...new Set(rows.map((r) => r.metric))];
  const panel = (metric: string) => ({
    title: metric,
    width: 260,
    height: 180,
    transform: [{ filter: { field: 'metric', equal: metric } }],
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } },
      color: { field: 'split', type: 'nominal', title: null, sort: ['train', 'validation'] },
      tooltip: [
        { field: 'epoch', type: 'quantitative' },
        { field: 'split', type: 'nominal' },
        { field: 'value', type: 'quantitative', title: metric },
      ],
    },
  });
  return { $schema: SCHEMA, title, data: { values: rows }, hconcat: metrics.map(panel) };
}

/** Confusion matrix heat map with counts; rows are true classes, columns predicted. */
export function confusionMatrixChart(confusion: number[][], classNames: string[], title = 'confusion matrix'): VegaLiteSpec {
  const values: Array<{ actual: string; predicted: string; count: number; rowShare: number }> = [];
  confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((count, j) =>
      values.push({ actual: classNames[i] ?? String(i), predicted: classNames[j] ?? String(j), count, rowShare: count / total }),
    );
  });
  const order = confusion.map((_, i) => classNames[i] ?? String(i));
  const size = Math.min(420, Math.max(160, 28 * order.length));
  const enc = {
    x: { field: 'predicted', type: 'ordinal', sort: order, title: 'predicted' },
    y: { field: 'actual', type: 'ordinal', sort: order, title: 'true' },
  };
  return {
    $schema: SCHEMA,
    title,
    width: size,
    height: size,
    data: { values },
    layer: [
      {
        mark: 'rect',
        encoding: {
          ...enc,
          color: { field: 'rowShare', type: 'quantitative', title: 'share of row', scale: { scheme: 'blues', domain: [0, 1] } },
          tooltip: [
            { field: 'actual', type: 'ordinal', title: 'true' },
            { field: 'predicted', type: 'ordinal' },
            { field: 'count', type: 'quantitative' },
          ],
        },
      },
      {
        mark: { type: 'text', fontSize: 10 },
        encoding: {
          ...enc,
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.rowShare > 0.5', value: 'white' }, value: 'black' },
        },
      },
    ],
  };
}
