/**
 * ONNX export, written with the onnx-proto definitions: float32 models, and int8 models in QDQ form
 * (QuantizeLinear/DequantizeLinear around every activation, DequantizeLinear on int8 weights and int32 biases —
 * the form vendor tools and onnxruntime ingest). Opset 13 (per-axis DequantizeLinear), IR 7.
 *
 * Layout: the model input stays NHWC like the tfjs model (so the same arrays feed both); 4-D activations are NCHW
 * inside, with Transposes inserted where a layout change is needed (before Flatten, so the flattening order is tfjs's).
 * Valid by construction: every name comes from one registry (unique), every initializer is written with the dims of
 * the values it holds, and every node reads only names defined before it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { InputError } from '../common/errors';
import type { GraphNode, Padding } from '../graph/types';
import { numElements } from '../graph/types';
import type { DeployedModel, QParams, QuantizedModel } from '../quantize/types';
import { dequantizedWeights } from '../quantize/exec';

export interface OnnxExportOptions {
  /** Free text stored as the model's doc string and 'description' metadata. */
  description?: string;
  /** Default 13 (the lowest with per-axis DequantizeLinear). */
  opset?: number;
  /** Name of the graph input (default 'input') and output (default 'output'). */
  inputName?: string;
  outputName?: string;
}

type Layout = 'nhwc' | 'nchw' | 'flat';

const T = onnx.TensorProto.DataType;

function tinylabVersion(): string {
  try {
    // Two levels up from src/export (ts) or dist/src/export (js): the package.json next to either.
    for (const p of [path.join(__dirname, '..', '..', 'package.json'), path.join(__dirname, '..', '..', '..', 'package.json')]) {
      if (fs.existsSync(p)) return String((JSON.parse(fs.readFileSync(p, 'utf8')) as { version?: string }).version ?? '0.0.0');
    }
  } catch {
    // fall through
  }
  return '0.0.0';
}

function attr(name: string, v: number | number[] | string | { f: number }): onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: A.INT, i: v };
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
  return { name, type: A.FLOAT, f: v.f };
}

function bytesOf(a: Float32Array | Int32Array | Int8Array): Uint8Array {
  // Typed arrays are little-endian on every platform Node runs on, as ONNX raw_data requires.
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** TF 'same' padding split as TF does it (extra at the end), or explicit/valid pads, as ONNX [top, left, bottom, right]. */
function pads2d(node: GraphNode, k: [number, number], s: [number, number], d: [number, number]): number[] {
  const p: Padding | undefined = node.attrs.padding;
  if (p === undefined || p === 'valid') return [0, 0, 0, 0];
  if (Array.isArray(p)) return [p[0], p[1], p[2], p[3]];
  const [, H, W] = node.inputShapes[0];
  const [, OH, OW] = node.outputShape;
  const th = Math.max((OH - 1) * s[0] + (k[0] - 1) * d[0] + 1 - H, 0);
  const tw = Math.max((OW - 1) * s[1] + (k[1] - 1) * d[1] + 1 - W, 0);
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

class OnnxWriter {
  nodes: onnx.INodeProto[] = [];
  inits: onnx.ITensorProto[] = [];
  private used = new Set<string>();

  name(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 't';
    let n = clean;
    for (let i = 1; this.used.has(n); i++) n = `${clean}_${i}`;
    this.used.add(n);
    return n;
  }

  node(op: string, inputs: string[], base: string, attrs: onnx.IAttributeProto[] = [], outName?: string): string {
    const out = outName ?? this.name(`${base}:out`);
    this.nodes.push({ opType: op, input: inputs, output: [out], name: this.name(base), attribute: attrs });
    return out;
  }

  init(base: string, dims: number[], data: Float32Array | Int32Array | Int8Array | number[], type?: number): string {
    const name = this.name(base);
    if (Array.isArray(data)) {
      this.inits.push({ name, dims, dataType: T.INT64, int64Data: data });
    } else {
      const dataType = type ?? (data instanceof Float32Array ? T.FLOAT : data instanceof Int32Array ? T.INT32 : T.INT8);
      if (numElements(dims) !== data.length) throw new InputError(`internal: initializer '${name}' has ${data.length} values for dims [${dims}]`);
      this.inits.push({ name, dims, dataType, rawData: bytesOf(data) });
    }
    return name;
  }
}

/** Graph weights → ONNX layouts. */
function convWeightOnnx(w: Float32Array | Int8Array, shape: number[], depthwise: boolean): { data: Float32Array | Int8Array; dims: number[] } {
  const [kh, kw, cin, c3] = shape;
  const cout = depthwise ? cin * c3 : c3;
  const out = w instanceof Int8Array ? new Int8Array(w.length) : new Float32Array(w.length);
  const cpg = depthwise ? 1 : cin;
  for (let ky = 0; ky < kh; ky++)
    for (let kx = 0; kx < kw; kx++)
      for (let ci = 0; ci < cin; ci++)
        for (let c = 0; c < c3; c++) {
          const src = ((ky * kw + kx) * cin + ci) * c3 + c;
          const o = depthwise ? ci * c3 + c : c;
          const i = depthwise ? 0 : ci;
          out[((o * cpg + i) * kh + ky) * kw + kx] = w[src];
        }
  return { data: out, dims: [cout, cpg, kh, kw] };
}

interface Val {
  name: string;
  layout: Layout;
}

function buildOnnx(dm: DeployedModel, qm: QuantizedModel | undefined, opts: OnnxExportOptions): Uint8Array {
  const g = dm.graph;
  if (g.inputs.length !== 1 || g.outputs.length !== 1) throw new InputError(`model '${g.name}' has ${g.inputs.length} inputs and ${g.outputs.length} outputs; tinylab exports single-input, single-output models`);
  const w = new OnnxWriter();
  const inputName = w.name(opts.inputName ?? 'input');
  const outputName = opts.outputName ?? 'output';
  w.name(outputName);
  const inShape = g.tensors[g.inputs[0]].shape;
  const floatVals = new Map<string, Val>();
  const cache = new Map<string, string>();
  const floatOnly = new Set<string>();
  floatVals.set(g.inputs[0], { name: inputName, layout: inShape.length === 4 ? 'nhwc' : 'flat' });

  const qdq = (x: string, q: QParams, base: string): string => {
    const s = w.init(`${base}/scale`, [], Float32Array.of(q.scale));
    const z = w.init(`${base}/zero_point`, [], Int8Array.of(q.zeroPoint));
    const qx = w.node('QuantizeLinear', [x, s, z], `${base}/quantize`);
    return w.node('DequantizeLinear', [qx, s, z], `${base}/dequantize`);
  };
  /** A graph tensor in the wanted layout, quantize-dequantized in QDQ mode. */
  const get = (t: string, want: Layout | 'any'): Val => {
    const v = floatVals.get(t);
    if (!v) throw new InputError(`internal: tensor '${t}' used before it is produced`);
    const layout = want === 'any' || v.layout === 'flat' ? v.layout : want;
    const key = `${t}|${layout}`;
    let name = cache.get(key);
    if (!name) {
      name = v.name;
      if (layout !== v.layout) name = w.node('Transpose', [name], `${t}/to_${layout}`, [attr('perm', layout === 'nchw' ? [0, 3, 1, 2] : [0, 2, 3, 1])]);
      if (qm && !floatOnly.has(t)) name = qdq(name, qm.tensors[t], `${t}/${layout}`);
      cache.set(key, name);
    }
    return { name, layout };
  };
  const activation = (x: string, act: string, base: string): string => {
    if (act === 'none') return x;
    if (act === 'relu') return w.node('Relu', [x], `${base}/relu`);
    if (act === 'relu6') return w.node('Clip', [x, w.init(`${base}/clip_min`, [], Float32Array.of(0)), w.init(`${base}/clip_max`, [], Float32Array.of(6))], `${base}/relu6`);
    if (act === 'sigmoid') return w.node('Sigmoid', [x], `${base}/sigmoid`);
    if (act === 'tanh') return w.node('Tanh', [x], `${base}/tanh`);
    if (act === 'softmax') return w.node('Softmax', [x], `${base}/softmax`, [attr('axis', -1)]);
    throw new InputError(`activation '${act}' has no ONNX export in tinylab`);
  };

  for (const node of g.nodes) {
    const qn = qm?.nodes[node.name];
    const quantW = !!(qm && qn && !qn.keptFloat && qn.weights);
    const fw = qm ? dequantizedWeights(qm, node) : dm.weights[node.name] ?? {};
    const base = node.name;
    let out: Val;
    /** Weight (and bias) inputs: float initializers, or int8/int32 initializers behind per-channel DequantizeLinear. */
    const weightInput = (data: Float32Array, q: Int8Array | undefined, dims: number[], axis: number): string => {
      if (!quantW || !q) return w.init(`${base}/weight`, dims, data);
      const cout = qn!.weightScales!.length;
      const wq = w.init(`${base}/weight_q`, dims, q);
      const s = w.init(`${base}/weight_scale`, [cout], Float32Array.from(qn!.weightScales!));
      const z = w.init(`${base}/weight_zero_point`, [cout], new Int8Array(cout));
      return w.node('DequantizeLinear', [wq, s, z], `${base}/weight_dequantize`, [attr('axis', axis)]);
    };
    const biasInput = (cout: number): string | undefined => {
      if (!fw.bias && !(quantW && qn!.bias)) return undefined;
      if (!quantW) return w.init(`${base}/bias`, [cout], fw.bias!);
      const sIn = qm!.tensors[node.inputs[0]].scale;
      const scales = Float32Array.from(qn!.weightScales!, (ws) => sIn * ws);
      const bq = w.init(`${base}/bias_q`, [cout], Int32Array.from(qn!.bias!));
      const s = w.init(`${base}/bias_scale`, [cout], scales);
      const z = w.init(`${base}/bias_zero_point`, [cout], new Int32Array(cout));
      return w.node('DequantizeLinear', [bq, s, z], `${base}/bias_dequantize`, [attr('axis', 0)]);
    };
    const a = node.attrs;
    switch (node.op) {
      case 'conv2d':
      case 'depthwiseConv2d': {
        const dw = node.op === 'depthwiseConv2d';
        if ((a.groups ?? 1) !== 1) throw new InputError(`grouped conv '${node.name}' has no ONNX export in tinylab`);
        const x = get(node.inputs[0], 'nchw');
        const k = (a.kernel ?? [node.weightShapes[0][0], node.weightShapes[0][1]]) as [number, number];
        const s = a.strides ?? [1, 1];
        const d = a.dilations ?? [1, 1];
        const fo = convWeightOnnx(fw.weights!, node.weightShapes[0], dw);
        const qo = quantW ? convWeightOnnx(qn!.weights!, node.weightShapes[0], dw) : undefined;
        const cout = fo.dims[0];
        const ins = [x.name, weightInput(fo.data as Float32Array, qo?.data as Int8Array | undefined, fo.dims, 0)];
        const b = biasInput(cout);
        if (b) ins.push(b);
        const y = w.node('Conv', ins, base, [attr('kernel_shape', k), attr('strides', s), attr('dilations', d), attr('pads', pads2d(node, k, s, d)), attr('group', dw ? node.inputShapes[0][3] : 1)]);
        out = { name: activation(y, node.activation, base), layout: 'nchw' };
        break;
      }
      case 'dense': {
        const x = get(node.inputs[0], 'any');
        if (node.inputShapes[0].length !== 2) throw new InputError(`dense '${node.name}' on a ${node.inputShapes[0].length}-D input has no ONNX export in tinylab; flatten first`);
        const [K, N] = node.weightShapes[0];
        const ins = [x.name, weightInput(fw.weights!, quantW ? qn!.weights : undefined, [K, N], 1)];
        const b = biasInput(N);
        if (b) ins.push(b);
        const y = w.node('Gemm', ins, base);
        out = { name: activation(y, node.activation, base), layout: 'flat' };
        break;
      }
      case 'batchNorm': {
        const x = get(node.inputs[0], 'nchw');
        const c = fw.weights!.length;
        const y = w.node('BatchNormalization', [x.name, w.init(`${base}/scale`, [c], fw.weights!), w.init(`${base}/offset`, [c], fw.bias!), w.init(`${base}/mean`, [c], new Float32Array(c)), w.init(`${base}/var`, [c], new Float32Array(c).fill(1))], base, [attr('epsilon', { f: 0 })]);
        out = { name: activation(y, node.activation, base), layout: x.layout };
        break;
      }
      case 'relu':
      case 'relu6':
      case 'sigmoid':
      case 'tanh':
      case 'softmax': {
        const x = get(node.inputs[0], node.op === 'softmax' ? 'nhwc' : 'any');
        out = { name: activation(x.name, node.op, base), layout: x.layout };
        break;
      }
      case 'elu': {
        const x = get(node.inputs[0], 'any');
        out = { name: w.node('Elu', [x.name], base, [attr('alpha', { f: 1 })]), layout: x.layout };
        break;
      }
      case 'maxPool':
      case 'avgPool': {
        const x = get(node.inputs[0], 'nchw');
        const k = a.kernel ?? [2, 2];
        const s = a.strides ?? k;
        const attrs = [attr('kernel_shape', k), attr('strides', s), attr('pads', pads2d(node, k, s, [1, 1]))];
        if (node.op === 'avgPool') attrs.push(attr('count_include_pad', 0));
        out = { name: w.node(node.op === 'maxPool' ? 'MaxPool' : 'AveragePool', [x.name], base, attrs), layout: 'nchw' };
        break;
      }
      case 'globalAvgPool':
      case 'globalMaxPool': {
        const x = get(node.inputs[0], 'nchw');
        let y = w.node(node.op === 'globalAvgPool' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name], base);
        if (node.outputShape.length === 2) {
          y = w.node('Flatten', [y], `${base}/flatten`, [attr('axis', 1)]);
          out = { name: y, layout: 'flat' };
        } else out = { name: y, layout: 'nchw' };
        break;
      }
      case 'add':
      case 'mul': {
        const first = get(node.inputs[0], 'any');
        const rest = node.inputs.slice(1).map((t) => get(t, first.layout));
        let y = first.name;
        for (const r of rest) y = w.node(node.op === 'add' ? 'Add' : 'Mul', [y, r.name], base);
        out = { name: activation(y, node.activation, base), layout: first.layout };
        break;
      }
      case 'concat': {
        const xs = node.inputs.map((t) => get(t, node.outputShape.length === 4 ? 'nchw' : 'any'));
        const ax = a.axis ?? -1;
        const axp = ax < 0 ? node.outputShape.length + ax : ax;
        const axis = xs[0].layout === 'nchw' ? [0, 2, 3, 1][axp] : axp;
        out = { name: w.node('Concat', xs.map((v) => v.name), base, [attr('axis', axis)]), layout: xs[0].layout };
        break;
      }
      case 'flatten':
      case 'reshape': {
        const x = get(node.inputs[0], 'nhwc');
        if (node.op === 'flatten' || node.outputShape.length === 2) {
          out = { name: w.node('Flatten', [x.name], base, [attr('axis', 1)]), layout: 'flat' };
        } else {
          const shape = w.init(`${base}/shape`, [node.outputShape.length], [-1, ...node.outputShape.slice(1)]);
          const y = w.node('Reshape', [x.name, shape], base);
          out = node.outputShape.length === 4 ? { name: y, layout: 'nhwc' } : { name: y, layout: 'flat' };
        }
        break;
      }
      case 'pad': {
        const x = get(node.inputs[0], 'nchw');
        const [t, l, b, r] = a.pads ?? [0, 0, 0, 0];
        out = { name: w.node('Pad', [x.name, w.init(`${base}/pads`, [8], [0, 0, t, l, 0, 0, b, r])], base, [attr('mode', 'constant')]), layout: 'nchw' };
        break;
      }
      default:
        throw new InputError(`${node.sourceOp ?? node.op} layer '${node.name}' (op ${node.op}) has no ONNX export in tinylab; replace it or export the tfjs format instead`);
    }
    floatVals.set(node.outputs[0], out);
    const isOut = g.outputs.includes(node.outputs[0]);
    if (qm && isOut && qn?.keptFloat && qm.output === 'float') floatOnly.add(node.outputs[0]);
  }

  // The output in NHWC (as tfjs), named outputName.
  const fin = get(g.outputs[0], 'nhwc');
  w.nodes.push({ opType: 'Identity', input: [fin.name], output: [outputName], name: w.name(`${outputName}/identity`) });
  const outShape = g.tensors[g.outputs[0]].shape;
  const vi = (name: string, shape: number[]): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: T.FLOAT, shape: { dim: shape.map((d, i) => (i === 0 ? { dimParam: 'batch' } : { dimValue: d })) } } },
  });
  const version = tinylabVersion();
  const description = opts.description ?? `${g.name} exported by tinylab ${qm ? `(int8 QDQ, ${qm.method} calibration on ${qm.calibrationSamples} samples)` : '(float32)'}`;
  const meta: onnx.IStringStringEntryProto[] = [
    { key: 'description', value: description },
    { key: 'tinylab.format', value: qm ? 'int8-qdq' : 'float32' },
    { key: 'tinylab.input_layout', value: 'NHWC' },
  ];
  if (qm) meta.push({ key: 'tinylab.calibration', value: `${qm.method}:${qm.calibrationSamples}` }, { key: 'tinylab.output', value: qm.output }, { key: 'tinylab.rounding', value: qm.rounding ?? 'double' });
  const model: onnx.IModelProto = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: opts.opset ?? 13 }],
    producerName: 'tinylab',
    producerVersion: version,
    domain: 'ai.tinylab',
    modelVersion: 1,
    docString: description,
    metadataProps: meta,
    graph: {
      name: g.name,
      node: w.nodes,
      initializer: w.inits,
      input: [vi(inputName, inShape)],
      output: [vi(outputName, outShape)],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Float32 ONNX of a deployed model (BN folded, activations as their own ONNX ops). */
export function toOnnxFloat(dm: DeployedModel, opts: OnnxExportOptions = {}): Uint8Array {
  return buildOnnx(dm, undefined, opts);
}

/** int8 QDQ ONNX of a quantized model. */
export function toOnnxQdq(qm: QuantizedModel, opts: OnnxExportOptions = {}): Uint8Array {
  return buildOnnx(qm.float, qm, opts);
}
