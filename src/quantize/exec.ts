/**
 * Runs a deployed graph with tfjs ops on a batch: in float (the reference the int8 model is compared against, and
 * what calibration observes), or as a fake-quant simulation (int8-valued weights and activations held in float32),
 * which is the fast way to estimate int8 accuracy; the integer engine (engine.ts) is the exact one.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';
import type { GraphNode, Padding } from '../graph/types';
import type { DeployedModel, FloatWeights, QParams, QuantizedModel } from './types';

export interface ExecOptions {
  /** Simulate this quantized model: dequantized int8 weights and every activation rounded to its int8 grid. */
  fakeQuant?: QuantizedModel;
  /** Called with every activation tensor (graph input and node outputs) inside the pass; read it synchronously. */
  collect?: (tensor: string, value: tf.Tensor) => void;
}

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

function tfPad(p: Padding | undefined): Pad {
  if (p === undefined || p === 'valid') return 'valid';
  if (p === 'same') return 'same';
  return [[0, 0], [p[0], p[2]], [p[1], p[3]], [0, 0]];
}

/** Quantize-dequantize onto the int8 grid of `q`. */
export function fakeQuant(t: tf.Tensor, q: QParams): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.sub(tf.clipByValue(tf.add(tf.round(tf.div(t, q.scale)), q.zeroPoint), -128, 127), q.zeroPoint), q.scale));
}

/** Dequantized weights of a quantized node (what the int8 kernel effectively multiplies by). */
export function dequantizedWeights(qm: QuantizedModel, node: GraphNode): FloatWeights {
  const qn = qm.nodes[node.name];
  const fw = qm.float.weights[node.name] ?? {};
  if (!qn || qn.keptFloat || !qn.weights || !qn.weightScales) return fw;
  const cout = qn.weightScales.length;
  const w = new Float32Array(qn.weights.length);
  for (let i = 0; i < w.length; i++) w[i] = qn.weights[i] * qn.weightScales[i % cout];
  let b: Float32Array | undefined;
  if (qn.bias) {
    const sIn = qm.tensors[node.inputs[0]].scale;
    b = new Float32Array(cout);
    for (let c = 0; c < cout; c++) b[c] = qn.bias[c] * sIn * qn.weightScales[c];
  }
  return { weights: w, bias: b };
}

function applyAct(y: tf.Tensor, act: string): tf.Tensor {
  switch (act) {
    case 'none':
      return y;
    case 'relu':
      return tf.relu(y);
    case 'relu6':
      return tf.clipByValue(y, 0, 6);
    case 'sigmoid':
      return tf.sigmoid(y);
    case 'tanh':
      return tf.tanh(y);
    case 'softmax':
      return tf.softmax(y);
    default:
      throw new InputError(`activation '${act}' cannot be fused; keep it as its own layer`);
  }
}

/** One node in float with the given weights. Exported for the integer engine's kept-float nodes. */
export function runNodeTf(node: GraphNode, ins: tf.Tensor[], w: FloatWeights): tf.Tensor {
  const x = ins[0];
  const a = node.attrs;
  const n = x.shape[0];
  let y: tf.Tensor;
  switch (node.op) {
    case 'conv2d': {
      if ((a.groups ?? 1) !== 1) throw new InputError(`conv '${node.name}' is grouped (groups=${a.groups}); tinylab runs groups=1 or depthwise only`);
      const k = tf.tensor4d(w.weights!, node.weightShapes[0] as [number, number, number, number]);
      y = tf.conv2d(x as tf.Tensor4D, k, a.strides ?? [1, 1], tfPad(a.padding), 'NHWC', a.dilations ?? [1, 1]);
      if (w.bias) y = tf.add(y, w.bias);
      break;
    }
    case 'depthwiseConv2d': {
      const k = tf.tensor4d(w.weights!, node.weightShapes[0] as [number, number, number, number]);
      y = tf.depthwiseConv2d(x as tf.Tensor4D, k, a.strides ?? [1, 1], tfPad(a.padding), 'NHWC', a.dilations ?? [1, 1]);
      if (w.bias) y = tf.add(y, w.bias);
      break;
    }
    case 'dense': {
      const [inF, outF] = node.weightShapes[0];
      y = tf.matMul(tf.reshape(x, [-1, inF]), tf.tensor2d(w.weights!, [inF, outF]));
      if (w.bias) y = tf.add(y, w.bias);
      y = tf.reshape(y, [n, ...node.outputShape.slice(1)]);
      break;
    }
    case 'batchNorm':
      y = tf.add(tf.mul(x, w.weights!), w.bias!);
      break;
    case 'relu':
    case 'relu6':
    case 'sigmoid':
    case 'tanh':
    case 'softmax':
      return applyAct(x, node.op);
    case 'elu':
      return tf.elu(x);
    case 'swish':
      return tf.mul(x, tf.sigmoid(x));
    case 'hardSwish':
      return tf.div(tf.mul(x, tf.clipByValue(tf.add(x, 3), 0, 6)), 6);
    case 'maxPool':
    case 'avgPool': {
      const p = tfPad(a.padding);
      if (Array.isArray(p)) throw new InputError(`pool '${node.name}' has explicit padding; tinylab pools support 'same'/'valid' only`);
      const k = a.kernel ?? [2, 2];
      y = node.op === 'maxPool' ? tf.maxPool(x as tf.Tensor4D, k, a.strides ?? k, p) : tf.avgPool(x as tf.Tensor4D, k, a.strides ?? k, p);
      break;
    }
    case 'globalAvgPool':
    case 'globalMaxPool':
      y = node.op === 'globalAvgPool' ? tf.mean(x, [1, 2]) : tf.max(x, [1, 2]);
      y = tf.reshape(y, [n, ...node.outputShape.slice(1)]);
      break;
    case 'add':
    case 'mul':
      y = ins.slice(1).reduce((acc, t) => (node.op === 'add' ? tf.add(acc, t) : tf.mul(acc, t)), x);
      break;
    case 'concat':
      y = tf.concat(ins, a.axis ?? -1);
      break;
    case 'reshape':
    case 'flatten':
      return tf.reshape(x, [n, ...node.outputShape.slice(1)]);
    case 'pad': {
      const p = a.pads ?? [0, 0, 0, 0];
      return tf.pad(x, [[0, 0], [p[0], p[2]], [p[1], p[3]], [0, 0]]);
    }
    default:
      throw new InputError(`${node.sourceOp ?? node.op} layer '${node.name}' (op ${node.op}) cannot be run by tinylab's quantizer; remove it or keep the model float`);
  }
  return applyAct(y, node.activation);
}

/**
 * Forward pass of the deployed graph over a batch x (NHWC, batch first). Returns the graph's first output; every
 * intermediate tensor is disposed. With fakeQuant, the input and every node output are snapped to their int8 grid
 * (the float softmax of a 'float'-output model is not).
 */
export function runGraphTf(dm: DeployedModel, x: tf.Tensor, opts: ExecOptions = {}): tf.Tensor {
  const qm = opts.fakeQuant;
  return tf.tidy(() => {
    const env = new Map<string, tf.Tensor>();
    const g = dm.graph;
    let xin = x;
    if (qm) xin = fakeQuant(xin, qm.tensors[g.inputs[0]]);
    env.set(g.inputs[0], xin);
    opts.collect?.(g.inputs[0], xin);
    for (const node of g.nodes) {
      const ins = node.inputs.map((t) => {
        const v = env.get(t);
        if (!v) throw new InputError(`graph '${g.name}': '${t}' read before it is computed`);
        return v;
      });
      const w = qm ? dequantizedWeights(qm, node) : dm.weights[node.name] ?? {};
      let y = runNodeTf(node, ins, w);
      const qp = qm?.tensors[node.outputs[0]];
      const floatOut = qm && qm.nodes[node.name]?.keptFloat && g.outputs.includes(node.outputs[0]) && qm.output === 'float';
      if (qm && qp && !floatOut) y = fakeQuant(y, qp);
      env.set(node.outputs[0], y);
      opts.collect?.(node.outputs[0], y);
    }
    return env.get(g.outputs[0])!;
  });
}

/** Run over flat samples in batches; returns the flat outputs [n, outputSize]. */
export function runGraphBatches(
  dm: DeployedModel,
  x: Float32Array,
  sampleShape: number[],
  opts: ExecOptions & { batchSize?: number; signal?: AbortSignal } = {},
): Float32Array {
  const f = sampleShape.reduce((p, q) => p * q, 1);
  const n = x.length / f;
  const outShape = dm.graph.tensors[dm.graph.outputs[0]].shape;
  const outSize = outShape.slice(1).reduce((p, q) => p * q, 1);
  const out = new Float32Array(n * outSize);
  const bs = opts.batchSize ?? 128;
  for (let s = 0; s < n; s += bs) {
    const e = Math.min(n, s + bs);
    const xb = tf.tensor(x.subarray(s * f, e * f), [e - s, ...sampleShape]);
    const y = runGraphTf(dm, xb, opts);
    out.set(y.dataSync() as Float32Array, s * outSize);
    y.dispose();
    xb.dispose();
  }
  return out;
}
