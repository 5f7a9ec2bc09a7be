/**
 * Post-training int8 quantization: calibrate activation ranges on a seeded calibration slice, then derive the
 * integer parameters an int8 kernel library needs (per-channel symmetric int8 weights, int32 biases, per-tensor
 * asymmetric int8 activations, Q31 multipliers + shifts, clamps with the fused activation).
 */
import type * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';
import type { LongRunOptions } from '../common/progress';
import { mulberry32, shuffleInPlace } from '../common/rng';
import type { Dataset, DataSplits } from '../data/types';
import { finalizeGraph } from '../graph/builder';
import type { GraphNode, LayerGraph } from '../graph/types';
import { isMacOp } from '../graph/types';
import { chooseQParams, collectStats, qparamsFromRange } from './calibrate';
import { deployModel } from './deploy';
import { quantizeMultiplier, roundHalfAway } from './fixedpoint';
import type { CalibrationMethod, DeployedModel, QParams, QuantizedModel, QuantizedNode, RequantRounding } from './types';
import { CALIBRATION_METHODS, REQUANT_ROUNDINGS } from './types';

export interface QuantizeOptions extends LongRunOptions {
  method?: CalibrationMethod;
  /** Calibration samples drawn (seeded) from the calibration data; default 500 (or all when fewer). */
  calibrationSize?: number;
  seed?: number;
  /** For method 'percentile' (default 99.99). */
  percentile?: number;
  /** 'int8' (default): the final softmax runs in int8; 'float': on dequantized logits, output in float. */
  output?: 'int8' | 'float';
  /** Node names to run in float between Dequantize and Quantize (ops without an int8 kernel here). */
  keepFloat?: string[];
  batchSize?: number;
  /** Requantisation rounding (types.ts QuantizedModel.rounding); default DEFAULT_ROUNDING. */
  rounding?: RequantRounding;
}

/**
 * Single rounding: each requantised value is the correctly rounded real one, so float runtimes (onnxruntime on our QDQ
 * export) agree with the integer engine and the generated C on every output instead of drifting a step per layer.
 * 'double' reproduces TFLite/CMSIS-NN's default build bit for bit.
 */
export const DEFAULT_ROUNDING: RequantRounding = 'single';

/** Int8 kernels the integer engine has. Anything else must be kept float. */
const INT8_OPS = new Set<string>([
  'conv2d', 'depthwiseConv2d', 'dense', 'batchNorm', 'relu', 'relu6', 'sigmoid', 'tanh', 'elu', 'swish', 'hardSwish', 'softmax',
  'maxPool', 'avgPool', 'globalAvgPool', 'globalMaxPool', 'add', 'concat', 'reshape', 'flatten', 'pad',
]);
/** Ops whose output keeps the input's quantization parameters (as TFLite requires for them). */
// globalAvgPool is not among them: its output range is much narrower than its input's, so it requantizes (TFLite MEAN).
const PASS_THROUGH = new Set<string>(['maxPool', 'avgPool', 'globalMaxPool', 'reshape', 'flatten', 'pad']);

const UNARY: Record<string, (x: number) => number> = {
  relu: (x) => Math.max(0, x),
  relu6: (x) => Math.min(6, Math.max(0, x)),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: (x) => Math.tanh(x),
  elu: (x) => (x >= 0 ? x : Math.exp(x) - 1),
  swish: (x) => x / (1 + Math.exp(-x)),
  hardSwish: (x) => (x * Math.min(6, Math.max(0, x + 3))) / 6,
};

/** The calibration samples: a seeded slice of `data` (the training split when given DataSplits). */
export function calibrationSlice(data: Dataset | DataSplits, size: number, seed = 0): Dataset {
  const d = 'train' in data ? data.train : data;
  const f = d.sampleShape.reduce((p, q) => p * q, 1);
  const n = f === 0 ? 0 : d.x.length / f;
  if (n === 0) throw new InputError(`calibration data '${d.name}' is empty; pass training samples to calibrate on`);
  const take = Math.min(n, Math.max(1, Math.floor(size)));
  const idx = Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(idx, mulberry32(seed + 17));
  const x = new Float32Array(take * f);
  const y = new Int32Array(d.y.length === n ? take : 0);
  for (let i = 0; i < take; i++) {
    x.set(d.x.subarray(idx[i] * f, (idx[i] + 1) * f), i * f);
    if (y.length) y[i] = d.y[idx[i]];
  }
  return { ...d, x, y, name: `${d.name}/calibration-${take}` };
}

/** Reject data whose samples do not match the model input, printing both shapes. */
export function checkSampleShape(graph: LayerGraph, sampleShape: number[], what: string): void {
  const want = graph.tensors[graph.inputs[0]].shape.slice(1);
  const ok = want.length === sampleShape.length && want.every((w, i) => w === sampleShape[i]);
  if (!ok) {
    throw new InputError(
      `${what} has samples of shape [${sampleShape.join(', ')}] but model '${graph.name}' takes [${want.join(', ')}]; pass data shaped like the model input (e.g. the model's own training split)`,
    );
  }
}

function cloneGraphAs(g: LayerGraph, dtype: 'int8' | 'float32'): LayerGraph {
  const nodes = JSON.parse(JSON.stringify(g.nodes)) as GraphNode[];
  return finalizeGraph({ name: g.name, dtype, nodes, inputs: [...g.inputs], outputs: [...g.outputs], inputShapes: g.inputs.map((t) => g.tensors[t].shape), deployed: true });
}

function clampInt32(x: number): number {
  return Math.max(-2147483648, Math.min(2147483647, x));
}

/** Integer parameters of a conv/depthwise/dense/batchNorm node. */
function quantizeMacNode(node: GraphNode, w: Float32Array, b: Float32Array | undefined, sIn: number, out: QParams): QuantizedNode {
  const cout = node.op === 'batchNorm' ? w.length : node.outputShape[node.outputShape.length - 1];
  const maxAbs = new Float64Array(cout);
  for (let i = 0; i < w.length; i++) maxAbs[i % cout] = Math.max(maxAbs[i % cout], Math.abs(w[i]));
  const weightScales = new Float32Array(cout);
  for (let c = 0; c < cout; c++) weightScales[c] = maxAbs[c] > 0 ? maxAbs[c] / 127 : 1 / 127;
  const weights = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) weights[i] = Math.max(-127, Math.min(127, roundHalfAway(w[i] / weightScales[i % cout])));
  const bias = new Int32Array(cout);
  const multipliers = new Int32Array(cout);
  const shifts = new Int32Array(cout);
  for (let c = 0; c < cout; c++) {
    // Float32 scales, as a .tflite file stores them: the integer engine, ONNX and C all see these exact values.
    const accScale = Math.fround(sIn) * weightScales[c];
    bias[c] = b ? clampInt32(roundHalfAway(b[c] / accScale)) : 0;
    const m = quantizeMultiplier(accScale / Math.fround(out.scale));
    multipliers[c] = m.multiplier;
    shifts[c] = m.shift;
  }
  return { name: node.name, weights, weightScales, bias, multipliers, shifts, ...clampFor(node.activation, out) };
}

function clampFor(act: string, q: QParams): { actMin: number; actMax: number } {
  let lo = -128, hi = 127;
  if (act === 'relu' || act === 'relu6') lo = Math.max(lo, q.zeroPoint);
  if (act === 'relu6') hi = Math.min(hi, q.zeroPoint + roundHalfAway(6 / q.scale));
  return { actMin: lo, actMax: hi };
}

/** Integer parameters for every node, given the activation parameters. Throws for ops without an int8 kernel. */
export function quantizeNodes(dm: DeployedModel, tensors: Record<string, QParams>, output: 'int8' | 'float', keepFloat: Set<string>): Record<string, QuantizedNode> {
  const g = dm.graph;
  const nodes: Record<string, QuantizedNode> = {};
  const cannot: string[] = [];
  for (const node of g.nodes) {
    const sIn = tensors[node.inputs[0]]?.scale;
    const out = tensors[node.outputs[0]];
    const isLastSoftmax = node.op === 'softmax' && g.outputs.includes(node.outputs[0]);
    if (keepFloat.has(node.name) || (isLastSoftmax && output === 'float')) {
      nodes[node.name] = { name: node.name, keptFloat: true };
      continue;
    }
    if (!INT8_OPS.has(node.op) || (isMacOp(node.op) && !['none', 'relu', 'relu6'].includes(node.activation))) {
      cannot.push(`${node.sourceOp ?? node.op} layer '${node.name}' (op ${node.op}${node.activation !== 'none' ? ` with ${node.activation}` : ''})`);
      continue;
    }
    if (isMacOp(node.op) || node.op === 'batchNorm') {
      const fw = dm.weights[node.name];
      if (!fw?.weights) throw new InputError(`layer '${node.name}' has no weights to quantize`);
      nodes[node.name] = quantizeMacNode(node, fw.weights, fw.bias, sIn, out);
    } else if (node.op === 'add' || node.op === 'concat') {
      const ins = node.inputs.map((t) => tensors[t]);
      if (node.op === 'add') {
        // TFLite ADD: inputs scaled to a common 2·max(scale) grid with 20 bits of headroom, summed, rescaled.
        const leftShift = 20;
        const twiceMax = 2 * Math.max(...ins.map((q) => q.scale));
        const im = ins.map((q) => quantizeMultiplier(q.scale / twiceMax));
        const om = quantizeMultiplier(twiceMax / (2 ** leftShift * out.scale));
        nodes[node.name] = { name: node.name, leftShift, inputMultipliers: im.map((m) => m.multiplier), inputShifts: im.map((m) => m.shift), outputMultiplier: om.multiplier, outputShift: om.shift, ...clampFor(node.activation, out) };
      } else {
        const im = ins.map((q) => quantizeMultiplier(q.scale / out.scale));
        nodes[node.name] = { name: node.name, inputMultipliers: im.map((m) => m.multiplier), inputShifts: im.map((m) => m.shift), actMin: -128, actMax: 127 };
      }
    } else if (UNARY[node.op]) {
      const inQ = tensors[node.inputs[0]];
      const lut = new Int8Array(256);
      for (let q = -128; q < 128; q++) {
        const y = UNARY[node.op](inQ.scale * (q - inQ.zeroPoint));
        lut[q + 128] = Math.max(-128, Math.min(127, roundHalfAway(y / out.scale) + out.zeroPoint));
      }
      nodes[node.name] = { name: node.name, lut, actMin: -128, actMax: 127 };
    } else if (node.op === 'globalAvgPool') {
      // Σ(q − zp_in) · s_in / (count · s_out): one multiplier for the mean and the rescale.
      // The sum is small (≤ 255·H·W), so it is shifted left first: otherwise the high-mul's rounding to an integer and
      // the final shift's rounding compound (a double rounding visible as a ½-step bias).
      const [, h, w] = node.inputShapes[0];
      const leftShift = Math.max(0, 30 - Math.ceil(Math.log2(255 * h * w + 1)));
      const m = quantizeMultiplier(tensors[node.inputs[0]].scale / (h * w * out.scale * 2 ** leftShift));
      nodes[node.name] = { name: node.name, leftShift, outputMultiplier: m.multiplier, outputShift: m.shift, ...clampFor(node.activation, out) };
    } else if (node.op === 'softmax') {
      const expLut = new Int32Array(256);
      for (let d = 0; d < 256; d++) expLut[d] = Math.round(Math.exp(-sIn * d) * 65536);
      nodes[node.name] = { name: node.name, expLut, actMin: -128, actMax: 127 };
    } else {
      nodes[node.name] = { name: node.name, ...clampFor(node.activation, out) };
    }
  }
  if (cannot.length) {
    throw new InputError(
      `cannot quantize ${cannot.join(', ')}: tinylab has no int8 kernel for ${cannot.length > 1 ? 'these ops' : 'this op'}; keep ${cannot.length > 1 ? 'them' : 'it'} float with keepFloat: [${cannot.map((c) => `'${/'([^']+)'/.exec(c)?.[1]}'`).join(', ')}] (--keep-float on the command line)`,
    );
  }
  return nodes;
}

/** Activation parameters from calibration statistics, with pass-through ops inheriting their input's. */
function tensorParams(dm: DeployedModel, stats: Record<string, ReturnType<typeof collectStats>[string]>, method: CalibrationMethod, o: QuantizeOptions): Record<string, QParams> {
  const g = dm.graph;
  const tensors: Record<string, QParams> = {};
  const input = g.inputs[0];
  tensors[input] = chooseQParams(stats[input], method, o);
  for (const node of g.nodes) {
    const t = node.outputs[0];
    const st = stats[t];
    if (PASS_THROUGH.has(node.op) && !(o.keepFloat ?? []).includes(node.name)) {
      tensors[t] = { ...tensors[node.inputs[0]], observedMin: st?.min, observedMax: st?.max };
    } else if (node.op === 'softmax' && !(g.outputs.includes(t) && o.output === 'float')) {
      // Probabilities in [0, 1) on a fixed 1/256 grid, as TFLite's int8 softmax.
      tensors[t] = { scale: 1 / 256, zeroPoint: -128, min: 0, max: 255 / 256, observedMin: st?.min, observedMax: st?.max };
    } else if (st) {
      tensors[t] = chooseQParams(st, method, o);
    } else {
      tensors[t] = qparamsFromRange(0, 1);
    }
  }
  return tensors;
}

/**
 * Quantize a model to int8 from calibration data (the training split of DataSplits, or any Dataset shaped like the
 * model input). Returns the quantized model; see evaluate.ts for its accuracy and report.ts for the per-layer report.
 */
export function quantizeModel(model: tf.LayersModel | DeployedModel, data: Dataset | DataSplits, opts: QuantizeOptions = {}): QuantizedModel {
  const method = opts.method ?? 'minmax';
  if (opts.rounding !== undefined && !REQUANT_ROUNDINGS.includes(opts.rounding)) {
    throw new InputError(`rounding '${String(opts.rounding)}' is not one of ${REQUANT_ROUNDINGS.join(', ')}`);
  }
  if (!CALIBRATION_METHODS.includes(method)) {
    throw new InputError(`unknown calibration method '${String(method)}'; use one of ${CALIBRATION_METHODS.join(', ')}`);
  }
  // A DeployedModel is plain data; a LayersModel has layers (it also has a `weights` getter, so test for layers).
  const dm = !('layers' in model) ? (model as DeployedModel) : deployModel(model as tf.LayersModel);
  const d = 'train' in data ? data.train : data;
  checkSampleShape(dm.graph, d.sampleShape, `calibration data '${d.name}'`);
  const known = new Set(dm.graph.nodes.map((n) => n.name));
  for (const k of opts.keepFloat ?? []) {
    if (!known.has(k)) throw new InputError(`keepFloat names '${k}', which is not a layer of the deployed model; layers: ${[...known].join(', ')}`);
  }
  const calib = calibrationSlice(d, opts.calibrationSize ?? 500, opts.seed ?? 0);
  const output = opts.output ?? 'int8';
  // Check the ops before spending time on calibration.
  const probe: Record<string, QParams> = {};
  for (const t of Object.keys(dm.graph.tensors)) probe[t] = qparamsFromRange(-1, 1);
  const keep = new Set(opts.keepFloat ?? []);
  quantizeNodes(dm, probe, output, keep);
  const stats = collectStats(dm, calib.x, calib.sampleShape, { ...opts, batchSize: opts.batchSize });
  const tensors = tensorParams(dm, stats, method, { ...opts, output });
  const nodes = quantizeNodes(dm, tensors, output, keep);
  return { name: dm.name, graph: cloneGraphAs(dm.graph, 'int8'), float: dm, tensors, nodes, output, method, calibrationSamples: datasetCount(calib), rounding: opts.rounding ?? DEFAULT_ROUNDING };
}

function datasetCount(d: Dataset): number {
  const f = d.sampleShape.reduce((p, q) => p * q, 1);
  return f ? d.x.length / f : 0;
}
