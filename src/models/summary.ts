/** Per-layer summary: output shape, parameters, multiply-accumulates (MACs) for one inference of one sample. */
import * as tf from '@tensorflow/tfjs';

export interface LayerSummary {
  name: string;
  type: string;
  /** Without the batch dimension. */
  outputShape: number[];
  params: number;
  trainableParams: number;
  macs: number;
}

export interface ModelSummary {
  name: string;
  inputShape: number[];
  outputShape: number[];
  layers: LayerSummary[];
  totalParams: number;
  trainableParams: number;
  totalMacs: number;
  /** float32 weight bytes (4 per parameter). */
  weightBytes: number;
  toMimeBundle(): { data: Record<string, unknown> };
}

function shapeOf(s: tf.Shape | tf.Shape[]): number[] {
  const one = (Array.isArray(s[0]) ? s[0] : s) as Array<number | null>;
  return one.slice(1).map((d) => d ?? -1);
}

function prod(a: number[]): number {
  return a.reduce((x, y) => x * y, 1);
}

function layerMacs(layer: tf.layers.Layer, out: number[]): number {
  const cls = layer.getClassName();
  const cfg = layer.getConfig();
  const input = layer.input;
  if (Array.isArray(input)) return 0; // several inputs (Add, Concatenate): no MACs
  const inShape = shapeOf(input.shape);
  const inCh = inShape[inShape.length - 1];
  const ks = cfg.kernelSize as number | number[] | undefined;
  const kProd = Array.isArray(ks) ? prod(ks) : (ks ?? 1) ** (cls.includes('1D') ? 1 : 2);
  switch (cls) {
    case 'Dense':
      return prod(out) * inCh;
    case 'Conv2D':
    case 'Conv1D':
      return prod(out) * kProd * inCh;
    case 'DepthwiseConv2D':
      return prod(out) * kProd;
    case 'SeparableConv2D':
      return prod(out.slice(0, -1)) * inCh * kProd * ((cfg.depthMultiplier as number) ?? 1) + prod(out) * inCh * ((cfg.depthMultiplier as number) ?? 1);
    default:
      return 0;
  }
}

export function modelSummary(model: tf.LayersModel): ModelSummary {
  const layers: LayerSummary[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const outputShape = shapeOf(layer.outputShape as tf.Shape);
    const params = layer.countParams();
    const trainableParams = layer.trainableWeights.reduce((s, w) => s + prod(w.shape as number[]), 0);
    let macs = 0;
    try {
      macs = layerMacs(layer, outputShape);
    } catch {
      macs = 0; // layers with several inputs (Add, Concatenate) do no MACs anyway
    }
    layers.push({ name: layer.name, type: layer.getClassName(), outputShape, params, trainableParams, macs });
  }
  const totalParams = layers.reduce((s, l) => s + l.params, 0);
  const trainableParams = layers.reduce((s, l) => s + l.trainableParams, 0);
  const totalMacs = layers.reduce((s, l) => s + l.macs, 0);
  const summary: ModelSummary = {
    name: model.name,
    inputShape: shapeOf(model.inputs[0].shape),
    outputShape: shapeOf(model.outputs[0].shape),
    layers,
    totalParams,
    trainableParams,
    totalMacs,
    weightBytes: totalParams * 4,
    toMimeBundle: () => ({ data: { 'text/plain': summaryText(summary), 'text/html': summaryHtml(summary) } }),
  };
  return summary;
}

const fmt = (n: number) => n.toLocaleString('en-US');

export function summaryText(s: ModelSummary): string {
  const rows = s.layers.map((l) => [l.name, l.type, `[${l.outputShape.join(', ')}]`, fmt(l.params), fmt(l.macs)]);
  const head = ['layer', 'type', 'output shape', 'params', 'MACs'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 3 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
  return [
    `${s.name}: input [${s.inputShape.join(', ')}] → output [${s.outputShape.join(', ')}]`,
    line(head),
    w.map((n) => '-'.repeat(n)).join('  '),
    ...rows.map(line),
    `total: ${fmt(s.totalParams)} params (${fmt(s.trainableParams)} trainable, ${(s.weightBytes / 1024).toFixed(1)} KiB float32), ${fmt(s.totalMacs)} MACs`,
  ].join('\n');
}

function esc(t: string): string {
  return t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function summaryHtml(s: ModelSummary): string {
  const rows = s.layers
    .map(
      (l) =>
        `<tr><td>${esc(l.name)}</td><td>${esc(l.type)}</td><td>[${l.outputShape.join(', ')}]</td>` +
        `<td style="text-align:right">${fmt(l.params)}</td><td style="text-align:right">${fmt(l.macs)}</td></tr>`,
    )
    .join('');
  return (
    `<table><caption>${esc(s.name)}: input [${s.inputShape.join(', ')}]</caption>` +
    `<thead><tr><th>layer</th><th>type</th><th>output shape</th><th>params</th><th>MACs</th></tr></thead>` +
    `<tbody>${rows}</tbody><tfoot><tr><td colspan="3">total</td><td style="text-align:right">${fmt(s.totalParams)}</td>` +
    `<td style="text-align:right">${fmt(s.totalMacs)}</td></tr></tfoot></table>`
  );
}
