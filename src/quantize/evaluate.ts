/**
 * Accuracy of a quantized model against its float original, size of its weights, and the per-layer error report
 * (chosen ranges and the SQNR of each layer's int8 output against float), so a user sees which layer hurts.
 */
import * as tf from '@tensorflow/tfjs';
import type { LongRunOptions } from '../common/progress';
import type { Dataset } from '../data/types';
import { numElements } from '../graph/types';
import { runInt8 } from './engine';
import { fakeQuant, runGraphBatches, runGraphTf } from './exec';
import { calibrationSlice, checkSampleShape } from './quantize';
import type { QuantizedModel } from './types';

function argmax(v: Float32Array, off: number, k: number): number {
  let b = 0;
  for (let j = 1; j < k; j++) if (v[off + j] > v[off + b]) b = j;
  return b;
}

/** Fraction of samples whose arg-max output equals the label. */
export function accuracyOf(outputs: Float32Array, labels: Int32Array, k: number): number {
  const n = Math.min(labels.length, outputs.length / k);
  let ok = 0;
  for (let i = 0; i < n; i++) if (argmax(outputs, i * k, k) === labels[i]) ok++;
  return n ? ok / n : NaN;
}

/** Fraction of samples on which two output sets agree on the arg-max. */
export function top1Agreement(a: Float32Array, b: Float32Array, k: number): number {
  const n = Math.min(a.length, b.length) / k;
  let ok = 0;
  for (let i = 0; i < n; i++) if (argmax(a, i * k, k) === argmax(b, i * k, k)) ok++;
  return n ? ok / n : NaN;
}

export interface QuantizedEval {
  /** Classifiers: accuracy (0–1). Unlabelled data (autoencoders): NaN. */
  floatAccuracy: number;
  int8Accuracy: number;
  fakeQuantAccuracy?: number;
  /** Mean squared error of the outputs against the input (autoencoders) or NaN. */
  floatMse: number;
  int8Mse: number;
  /** Share of samples where float and int8 pick the same class. */
  top1Agreement: number;
  samples: number;
  floatOutputs: Float32Array;
  int8Outputs: Float32Array;
}

export interface EvalQuantOptions extends LongRunOptions {
  /** Evaluate on at most this many samples (seeded slice); default all. */
  limit?: number;
  /** Also run the fake-quant simulation. */
  fakeQuant?: boolean;
  batchSize?: number;
}

function mse(out: Float32Array, x: Float32Array): number {
  const m = Math.min(out.length, x.length);
  let s = 0;
  for (let i = 0; i < m; i++) s += (out[i] - x[i]) ** 2;
  return m ? s / m : NaN;
}

/** Float vs int8 (integer engine) accuracy on a dataset (the test split). */
export function evaluateQuantized(qm: QuantizedModel, data: Dataset, opts: EvalQuantOptions = {}): QuantizedEval {
  checkSampleShape(qm.float.graph, data.sampleShape, `evaluation data '${data.name}'`);
  const d = opts.limit ? calibrationSlice(data, opts.limit, 1) : data;
  const k = numElements(qm.graph.tensors[qm.graph.outputs[0]].shape);
  const floatOut = runGraphBatches(qm.float, d.x, d.sampleShape, { batchSize: opts.batchSize });
  const r = runInt8(qm, d.x, d.sampleShape, opts);
  const labelled = d.y.length > 0 && d.numClasses > 0;
  const y = d.y.subarray(0, r.samples);
  let fq: number | undefined;
  if (opts.fakeQuant && labelled) fq = accuracyOf(runGraphBatches(qm.float, d.x, d.sampleShape, { fakeQuant: qm, batchSize: opts.batchSize }), d.y, k);
  return {
    floatAccuracy: labelled ? accuracyOf(floatOut, d.y, k) : NaN,
    int8Accuracy: labelled ? accuracyOf(r.output, y, k) : NaN,
    fakeQuantAccuracy: fq,
    floatMse: labelled ? NaN : mse(floatOut, d.x),
    int8Mse: labelled ? NaN : mse(r.output, d.x.subarray(0, r.output.length)),
    top1Agreement: top1Agreement(floatOut, r.output, k),
    samples: r.samples,
    floatOutputs: floatOut,
    int8Outputs: r.output,
  };
}

export interface WeightSizes {
  /** float32 weights of the deployed graph (BN folded). */
  floatBytes: number;
  /** int8 weights + int32 biases. */
  int8Bytes: number;
  /** Per-channel scales, multipliers and shifts (what a runtime keeps beside the weights). */
  quantParamBytes: number;
}

export function weightSizes(qm: QuantizedModel): WeightSizes {
  let floatBytes = 0, int8Bytes = 0, quantParamBytes = 0;
  for (const node of qm.float.graph.nodes) {
    floatBytes += 4 * node.params;
    const qn = qm.nodes[node.name];
    if (qn?.keptFloat || !qn?.weights) {
      int8Bytes += 4 * node.params;
      continue;
    }
    int8Bytes += qn.weights.length + 4 * (qn.bias?.length ?? 0);
    quantParamBytes += 4 * (qn.weightScales?.length ?? 0) + 4 * (qn.multipliers?.length ?? 0) + 4 * (qn.shifts?.length ?? 0);
  }
  return { floatBytes, int8Bytes, quantParamBytes };
}

export interface LayerError {
  name: string;
  op: string;
  /** Chosen float range and int8 parameters of the layer's output. */
  min: number;
  max: number;
  observedMin: number;
  observedMax: number;
  scale: number;
  zeroPoint: number;
  /** SQNR (dB) of the int8 engine's output of this layer against float, errors of earlier layers included. */
  sqnrDb: number;
  /** SQNR (dB) of rounding/clipping this layer's float output alone to its int8 grid (the range choice's cost). */
  rangeSqnrDb: number;
}

function sqnr(signal: number, noise: number): number {
  if (noise === 0) return Infinity;
  return 10 * Math.log10(signal / noise);
}

/** Per-layer SQNR against float on `samples` samples of the data (default 100). */
export function layerErrors(qm: QuantizedModel, data: Dataset, opts: { samples?: number } = {}): LayerError[] {
  const d = calibrationSlice(data, opts.samples ?? 100, 2);
  const g = qm.float.graph;
  const n = d.x.length / numElements(d.sampleShape);
  const floatVals = new Map<string, Float32Array>();
  const sig = new Map<string, number>();
  const rangeNoise = new Map<string, number>();
  tf.tidy(() => {
    const x = tf.tensor(d.x, [n, ...d.sampleShape]);
    runGraphTf(qm.float, x, {
      collect: (name, t) => {
        const v = t.dataSync() as Float32Array;
        floatVals.set(name, Float32Array.from(v));
        const q = qm.tensors[name];
        const fqv = fakeQuant(t, q).dataSync();
        let s = 0, e = 0;
        for (let i = 0; i < v.length; i++) {
          s += v[i] * v[i];
          e += (v[i] - fqv[i]) ** 2;
        }
        sig.set(name, s);
        rangeNoise.set(name, e);
      },
    });
  });
  const noise = new Map<string, number>();
  runInt8(qm, d.x, d.sampleShape, {
    collect: (name, v, s) => {
      const ref = floatVals.get(name);
      if (!ref) return;
      const off = s * v.length;
      let e = noise.get(name) ?? 0;
      for (let i = 0; i < v.length; i++) e += (v[i] - ref[off + i]) ** 2;
      noise.set(name, e);
    },
  });
  return g.nodes.map((node) => {
    const t = node.outputs[0];
    const q = qm.tensors[t];
    return {
      name: node.name,
      op: node.op + (node.activation !== 'none' ? `+${node.activation}` : '') + (qm.nodes[node.name]?.keptFloat ? ' (float)' : ''),
      min: q.min,
      max: q.max,
      observedMin: q.observedMin ?? NaN,
      observedMax: q.observedMax ?? NaN,
      scale: q.scale,
      zeroPoint: q.zeroPoint,
      sqnrDb: sqnr(sig.get(t) ?? 0, noise.get(t) ?? 0),
      rangeSqnrDb: sqnr(sig.get(t) ?? 0, rangeNoise.get(t) ?? 0),
    };
  });
}
