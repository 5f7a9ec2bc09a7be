/**
 * quantize(): the whole post-training quantization workflow in one call, as a displayable report — float vs int8
 * accuracy (integer engine on the test split), the per-layer ranges and SQNR table, weights size before/after, and
 * the MCU cost (src/mcu) of the float and the int8 deployment. `%quantize` and `tinylab quantize` print this.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Dataset, DataSplits } from '../data/types';
import { estimate } from '../mcu/estimate';
import { deployModel } from './deploy';
import type { LayerError, QuantizedEval, WeightSizes } from './evaluate';
import { evaluateQuantized, layerErrors, weightSizes } from './evaluate';
import type { QuantizeOptions } from './quantize';
import { quantizeModel } from './quantize';
import type { QuantizedModel } from './types';

export interface QuantizeReportOptions extends QuantizeOptions {
  /** Test data for accuracy (default: the test split of DataSplits). */
  test?: Dataset;
  /** Evaluate on at most this many test samples (default all). */
  evalLimit?: number;
  /** Samples for the per-layer SQNR table (default 100). */
  layerSamples?: number;
  /** Board for the MCU cost of both models (default NUCLEO-F446RE); null to skip. */
  board?: string | null;
}

export interface McuCost {
  board: string;
  flashBytes: number;
  ramBytes: number;
  weightsFlashBytes: number;
  latencyMs: number;
  fits: boolean;
}

export interface QuantizeReport {
  model: QuantizedModel;
  accuracy?: Omit<QuantizedEval, 'floatOutputs' | 'int8Outputs'>;
  layers: LayerError[];
  sizes: WeightSizes;
  mcu?: { float: McuCost; int8: McuCost };
  toText(): string;
  toMimeBundle(): { data: Record<string, unknown> };
}

function cost(graph: Parameters<typeof estimate>[0], board: string, dtype: 'int8' | 'float32'): McuCost {
  const r = estimate(graph, board, { dtype });
  return { board: r.board, flashBytes: r.totals.flashBytes, ramBytes: r.totals.ramBytes, weightsFlashBytes: r.totals.weightsFlashBytes, latencyMs: r.totals.latencyMs, fits: r.fits.flash && r.fits.ram };
}

const pct = (v: number) => (Number.isNaN(v) ? '-' : `${(100 * v).toFixed(2)} %`);
const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
const db = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} dB` : 'exact');

/** Quantize, evaluate and price in one call. */
export async function quantize(model: tf.LayersModel, data: DataSplits | Dataset, opts: QuantizeReportOptions = {}): Promise<QuantizeReport> {
  const dm = deployModel(model);
  const qm = quantizeModel(dm, data, opts);
  const test = opts.test ?? ('test' in data ? data.test : undefined);
  const ev = test ? evaluateQuantized(qm, test, { limit: opts.evalLimit, signal: opts.signal, onProgress: opts.onProgress }) : undefined;
  const layers = layerErrors(qm, test ?? ('train' in data ? data.train : data), { samples: opts.layerSamples ?? 100 });
  const sizes = weightSizes(qm);
  const board = opts.board === null ? undefined : opts.board ?? 'NUCLEO-F446RE';
  const mcu = board ? { float: cost(dm.graph, board, 'float32'), int8: cost(qm.graph, board, 'int8') } : undefined;
  let accuracy: QuantizeReport['accuracy'];
  if (ev) {
    const { floatOutputs: _f, int8Outputs: _i, ...rest } = ev;
    void _f;
    void _i;
    accuracy = rest;
  }
  const r: QuantizeReport = {
    model: qm,
    accuracy,
    layers,
    sizes,
    mcu,
    toText: () => quantizeReportText(r),
    toMimeBundle: () => ({ data: { 'text/plain': quantizeReportText(r), 'text/html': quantizeReportHtml(r) } }),
  };
  return r;
}

export function quantizeReportText(r: QuantizeReport): string {
  const q = r.model;
  const lines = [`int8 quantization of '${q.name}': ${q.method} calibration on ${q.calibrationSamples} samples, ${q.output} output`];
  if (r.accuracy) {
    const a = r.accuracy;
    if (Number.isNaN(a.floatAccuracy)) lines.push(`reconstruction MSE: float ${a.floatMse.toExponential(3)}, int8 ${a.int8Mse.toExponential(3)} (${a.samples} samples)`);
    else lines.push(`accuracy: float ${pct(a.floatAccuracy)}, int8 ${pct(a.int8Accuracy)} (drop ${(100 * (a.floatAccuracy - a.int8Accuracy)).toFixed(2)} points; top-1 agreement ${pct(a.top1Agreement)}; ${a.samples} test samples)`);
  }
  lines.push(`weights: float ${kb(r.sizes.floatBytes)} → int8 ${kb(r.sizes.int8Bytes)} (+ ${kb(r.sizes.quantParamBytes)} scales/multipliers), ${(r.sizes.floatBytes / r.sizes.int8Bytes).toFixed(2)}x smaller`);
  if (r.mcu) {
    const f = r.mcu.float, i = r.mcu.int8;
    lines.push(`MCU (${f.board}): float flash ${kb(f.flashBytes)}, RAM ${kb(f.ramBytes)}, ${f.latencyMs.toFixed(2)} ms${f.fits ? '' : ' (does not fit)'}; int8 flash ${kb(i.flashBytes)}, RAM ${kb(i.ramBytes)}, ${i.latencyMs.toFixed(2)} ms${i.fits ? '' : ' (does not fit)'}`);
  }
  lines.push('layer                          op                    range [min, max]          scale      zp    SQNR      range SQNR');
  for (const l of r.layers) {
    lines.push(
      `${l.name.slice(0, 30).padEnd(30)} ${l.op.slice(0, 21).padEnd(21)} ${`[${l.min.toPrecision(4)}, ${l.max.toPrecision(4)}]`.padEnd(25)} ${l.scale.toPrecision(4).padEnd(10)} ${String(l.zeroPoint).padStart(4)}  ${db(l.sqnrDb).padStart(8)}  ${db(l.rangeSqnrDb).padStart(8)}`,
    );
  }
  const worst = [...r.layers].filter((l) => Number.isFinite(l.sqnrDb)).sort((a, b) => a.sqnrDb - b.sqnrDb)[0];
  if (worst) lines.push(`lowest SQNR: '${worst.name}' (${db(worst.sqnrDb)}): the layer whose int8 output departs most from float`);
  return lines.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function quantizeReportHtml(r: QuantizeReport): string {
  const q = r.model;
  const a = r.accuracy;
  const head = `<p><b>int8 quantization</b> of <code>${esc(q.name)}</code>: ${q.method} calibration on ${q.calibrationSamples} samples, ${q.output} output</p>`;
  const summary: string[] = [];
  if (a && !Number.isNaN(a.floatAccuracy)) summary.push(`<tr><th>accuracy</th><td>${pct(a.floatAccuracy)}</td><td>${pct(a.int8Accuracy)}</td><td>${(100 * (a.floatAccuracy - a.int8Accuracy)).toFixed(2)} points drop</td></tr>`);
  if (a && Number.isNaN(a.floatAccuracy)) summary.push(`<tr><th>reconstruction MSE</th><td>${a.floatMse.toExponential(3)}</td><td>${a.int8Mse.toExponential(3)}</td><td></td></tr>`);
  summary.push(`<tr><th>weights</th><td>${kb(r.sizes.floatBytes)}</td><td>${kb(r.sizes.int8Bytes)}</td><td>${(r.sizes.floatBytes / r.sizes.int8Bytes).toFixed(2)}x smaller</td></tr>`);
  if (r.mcu) {
    const f = r.mcu.float, i = r.mcu.int8;
    summary.push(`<tr><th>flash (${esc(f.board)})</th><td>${kb(f.flashBytes)}</td><td>${kb(i.flashBytes)}</td><td></td></tr>`);
    summary.push(`<tr><th>RAM</th><td>${kb(f.ramBytes)}</td><td>${kb(i.ramBytes)}</td><td></td></tr>`);
    summary.push(`<tr><th>latency</th><td>${f.latencyMs.toFixed(2)} ms</td><td>${i.latencyMs.toFixed(2)} ms</td><td>${(f.latencyMs / Math.max(i.latencyMs, 1e-9)).toFixed(2)}x faster</td></tr>`);
  }
  const rows = r.layers
    .map((l) => `<tr><td>${esc(l.name)}</td><td>${esc(l.op)}</td><td>[${l.min.toPrecision(4)}, ${l.max.toPrecision(4)}]</td><td>[${l.observedMin.toPrecision(4)}, ${l.observedMax.toPrecision(4)}]</td><td>${l.scale.toPrecision(4)}</td><td>${l.zeroPoint}</td><td>${db(l.sqnrDb)}</td><td>${db(l.rangeSqnrDb)}</td></tr>`)
    .join('');
  return (
    head +
    `<table><thead><tr><th></th><th>float</th><th>int8</th><th></th></tr></thead><tbody>${summary.join('')}</tbody></table>` +
    `<table><caption>per layer: chosen range, observed range, int8 parameters, SQNR of the int8 output vs float (all earlier errors included) and of the range choice alone</caption>` +
    `<thead><tr><th>layer</th><th>op</th><th>range</th><th>observed</th><th>scale</th><th>zero point</th><th>SQNR</th><th>range SQNR</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}
