/**
 * graphFromOnnx: the layer graph of an ONNX model (float32, int8 QDQ, or QLinearConv/QLinearMatMul), parsed with the
 * onnx-proto definitions, with shape inference through GraphBuilder.
 *
 * Layout: ONNX activations are NCHW; the layer graph is NHWC. Each 4-D tensor carries a layout tag; NCHW tensors are
 * stored transposed, and the NHWC<->NCHW Transpose pairs exporters put around convolutions (tf2onnx, our exporter)
 * become aliases, as a deployment tool removes them.
 * QDQ: DequantizeLinear of a constant is that constant (int8 weights); Quantize/DequantizeLinear on activations are
 * aliases; any of them (or a QLinear op) marks the graph int8.
 * MatMul followed by Add of a constant vector becomes one dense layer with bias.
 * Unsupported ops are collected and reported together, by op type and node name; nothing is skipped silently.
 */
import { onnx } from 'onnx-proto';
import { InputError } from '../common/errors';
import type { LayerGraph, Padding } from './types';
import { numElements } from './types';
import { GraphBuilder } from './builder';

type Layout = 'nchw' | 'nhwc' | 'flat';

interface Const {
  dims: number[];
  values?: number[];
}

export interface OnnxOptions {
  name?: string;
  /** Shapes for inputs whose dimensions are symbolic (ONNX layout, e.g. { input: [1, 3, 32, 32] }). */
  inputShapes?: Record<string, number[]>;
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (v && typeof v === 'object' && 'low' in v) {
    const l = v as { low: number; high: number };
    return l.high * 4294967296 + (l.low >>> 0);
  }
  return Number(v);
}

function tensorValues(t: onnx.ITensorProto): number[] | undefined {
  const dt = t.dataType ?? 0;
  if (t.floatData && t.floatData.length) return Array.from(t.floatData);
  if (t.int64Data && t.int64Data.length) return t.int64Data.map(num);
  if (t.int32Data && t.int32Data.length) return Array.from(t.int32Data);
  if (t.doubleData && t.doubleData.length) return Array.from(t.doubleData);
  const raw = t.rawData;
  if (raw && raw.length) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out: number[] = [];
    const T = onnx.TensorProto.DataType;
    if (dt === T.FLOAT) for (let i = 0; i + 4 <= raw.length; i += 4) out.push(dv.getFloat32(i, true));
    else if (dt === T.INT64) for (let i = 0; i + 8 <= raw.length; i += 8) out.push(Number(dv.getBigInt64(i, true)));
    else if (dt === T.INT32) for (let i = 0; i + 4 <= raw.length; i += 4) out.push(dv.getInt32(i, true));
    else if (dt === T.INT8) for (let i = 0; i < raw.length; i++) out.push(dv.getInt8(i));
    else if (dt === T.UINT8) for (let i = 0; i < raw.length; i++) out.push(dv.getUint8(i));
    else if (dt === T.DOUBLE) for (let i = 0; i + 8 <= raw.length; i += 8) out.push(dv.getFloat64(i, true));
    else return undefined;
    return out;
  }
  return undefined;
}

function attrMap(n: onnx.INodeProto): Map<string, onnx.IAttributeProto> {
  const m = new Map<string, onnx.IAttributeProto>();
  for (const a of n.attribute ?? []) if (a.name) m.set(a.name, a);
  return m;
}

function ints(a: onnx.IAttributeProto | undefined): number[] | undefined {
  return a?.ints && a.ints.length ? a.ints.map(num) : undefined;
}

function int(a: onnx.IAttributeProto | undefined, d: number): number {
  return a && a.i != null ? num(a.i) : d;
}

function float(a: onnx.IAttributeProto | undefined, d: number): number {
  return a && a.f != null ? a.f : d;
}

function str(a: onnx.IAttributeProto | undefined, d: string): string {
  return a?.s && a.s.length ? Buffer.from(a.s).toString('utf8') : d;
}

/** NCHW ONNX shape → NHWC. */
function toNhwc(s: number[]): number[] {
  return s.length === 4 ? [s[0], s[2], s[3], s[1]] : s;
}

const FOLDABLE = new Set(['Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Cast', 'Identity', 'Mul', 'Add', 'Div', 'Sub', 'Slice']);

/** Fold a small op on 0-D/1-D constants (shape arithmetic); undefined when it cannot. */
function foldConst(op: string, ins: Const[], a: Map<string, onnx.IAttributeProto>): Const | undefined {
  const v = ins.map((c) => c.values);
  if (v.some((x) => !x)) return undefined;
  const x = v[0]!;
  switch (op) {
    case 'Cast':
    case 'Identity':
      return ins[0];
    case 'Gather': {
      if (ins[0].dims.length > 1) return undefined;
      const idx = v[1]!.map((i) => (i < 0 ? i + x.length : i));
      return { dims: ins[1].dims, values: idx.map((i) => x[i]) };
    }
    case 'Unsqueeze':
    case 'Squeeze':
      return { dims: [x.length], values: x };
    case 'Concat':
      return { dims: [v.reduce((s, q) => s + q!.length, 0)], values: v.flatMap((q) => q!) };
    case 'Slice': {
      const start = v[1]?.[0] ?? 0;
      const end = v[2]?.[0] ?? x.length;
      const s0 = start < 0 ? start + x.length : start;
      const e0 = end < 0 ? end + x.length : Math.min(end, x.length);
      return { dims: [Math.max(0, e0 - s0)], values: x.slice(s0, e0) };
    }
    case 'Mul':
    case 'Add':
    case 'Sub':
    case 'Div': {
      const y = v[1]!;
      const f = (p: number, q: number) => (op === 'Mul' ? p * q : op === 'Add' ? p + q : op === 'Sub' ? p - q : Math.trunc(p / q));
      const len = Math.max(x.length, y.length);
      if (len > 64) return undefined; // only shape arithmetic, not weight tensors
      return { dims: x.length >= y.length ? ins[0].dims : ins[1].dims, values: Array.from({ length: len }, (_, i) => f(x[x.length === 1 ? 0 : i], y[y.length === 1 ? 0 : i])) };
    }
    default:
      void a;
      return undefined;
  }
}

/** Decode an ONNX file, with errors that say what is wrong with it. */
export function decodeOnnx(bytes: Uint8Array): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new InputError(`not a valid ONNX model (truncated or corrupt file?): ${(err as Error).message}; re-export the model`);
  }
  if (!model.graph || !(model.graph.node ?? []).length) {
    throw new InputError('the ONNX file has no graph nodes (empty, truncated or not an ONNX model); re-export the model');
  }
  return model;
}

export function graphFromOnnx(bytes: Uint8Array, opts: OnnxOptions = {}): LayerGraph {
  const model = decodeOnnx(bytes);
  const g = model.graph!;
  const name = opts.name ?? (g.name || 'onnx-model');
  const consts = new Map<string, Const>();
  for (const t of g.initializer ?? []) if (t.name) consts.set(t.name, { dims: (t.dims ?? []).map(num), values: tensorValues(t) });
  const alias = new Map<string, string>();
  const layout = new Map<string, Layout>();
  const R = (t: string) => {
    let x = t;
    while (alias.has(x)) x = alias.get(x)!;
    return x;
  };
  const nodes = g.node ?? [];
  const consumers = new Map<string, number[]>();
  nodes.forEach((n, i) => (n.input ?? []).forEach((t) => consumers.set(t, [...(consumers.get(t) ?? []), i])));

  // Pass 1: quantized? (decides the builder dtype)
  const quantOps = new Set(['QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'QLinearMatMul']);
  const dtype = nodes.some((n) => quantOps.has(n.opType ?? '')) ? 'int8' : 'float32';
  const b = new GraphBuilder(name, dtype);

  for (const vi of g.input ?? []) {
    const iname = vi.name ?? '';
    if (consts.has(iname)) continue;
    const tt = vi.type?.tensorType;
    const dims = tt?.shape?.dim;
    let shape: number[] | undefined = opts.inputShapes?.[iname];
    if (!shape) {
      if (!dims || dims.length === 0) {
        throw new InputError(`ONNX input '${iname}' has no shape; re-export with a fixed input shape or pass inputShapes: { '${iname}': [...] }`);
      }
      shape = dims.map((d, k) => {
        const v = d.dimValue != null ? num(d.dimValue) : NaN;
        if (Number.isFinite(v) && v > 0) return v;
        if (k === 0) return 1; // symbolic batch
        throw new InputError(`ONNX input '${iname}' has an unknown dimension ${k} ('${d.dimParam ?? '?'}'); pass inputShapes: { '${iname}': [...] }`);
      });
    }
    // A 4-D input read only through an NHWC→NCHW Transpose is NHWC.
    const cs = consumers.get(iname) ?? [];
    const viaTranspose = cs.length > 0 && cs.every((i) => nodes[i].opType === 'Transpose' && (ints(attrMap(nodes[i]).get('perm')) ?? []).join() === '0,3,1,2');
    const lay: Layout = shape.length === 4 ? (viaTranspose ? 'nhwc' : 'nchw') : 'flat';
    layout.set(iname, lay);
    b.input(iname, lay === 'nchw' ? toNhwc(shape) : shape);
  }

  const unsupported: string[] = [];
  const skip = new Set<number>();
  const constOf = (t: string | undefined): Const | undefined => (t ? consts.get(R(t)) ?? consts.get(t) : undefined);
  const needConst = (t: string | undefined, what: string, node: string, op: string): Const => {
    const c = constOf(t);
    if (!c) throw new InputError(`ONNX ${op} node '${node}': ${what} '${t ?? ''}' is not a constant initializer; tinylab prices models with constant weights`);
    return c;
  };
  const onnxShape = (t: string): number[] => {
    const s = b.shapeOf(t);
    return layout.get(t) === 'nchw' && s.length === 4 ? [s[0], s[3], s[1], s[2]] : s;
  };
  const setOut = (onnxName: string, produced: string, lay: Layout) => {
    if (produced !== onnxName) alias.set(onnxName, produced);
    layout.set(produced, lay);
  };
  const layOf = (t: string): Layout => layout.get(t) ?? 'flat';

  // A Reshape to 4-D read by a Transpose(0,3,1,2) was written in NHWC order (our exporter lowers Conv1D as
  // expand_dims to [1, 1, T, C] then NHWC→NCHW), not NCHW as a 4-D ONNX tensor normally is: take its shape as NHWC.
  const nhwcReshapes = new Set<string>();
  for (const n of nodes) {
    if (n.opType !== 'Transpose' || !n.input?.[0]) continue;
    const perm = n.attribute?.find((x) => x.name === 'perm')?.ints?.map(Number) ?? [];
    if (perm.join() === '0,3,1,2') nhwcReshapes.add(n.input[0]);
  }

  nodes.forEach((n, i) => {
    if (skip.has(i)) return;
    const op = n.opType ?? '';
    const nn = n.name || `${op}_${i}`;
    const a = attrMap(n);
    const ins = (n.input ?? []).map((t) => (t ? R(t) : ''));
    const out0 = (n.output ?? [])[0] ?? `${nn}:0`;
    const act = (x: string) => (b.has(x) ? x : undefined);
    const x0 = ins[0];
    const isAct = (t: string) => !!t && act(t) !== undefined;
    try {
      // Shape arithmetic on constants (PyTorch's x.view(x.size(0), -1) exports Shape → Gather → Unsqueeze → Concat
      // → Reshape): input shapes are fixed, so fold it to constants.
      if (op === 'Shape' && b.has(x0)) {
        const sh = onnxShape(x0);
        consts.set(out0, { dims: [sh.length], values: sh });
        return;
      }
      const inputsAll = (n.input ?? []).filter(Boolean);
      if (inputsAll.length && inputsAll.every((t) => constOf(t)) && FOLDABLE.has(op)) {
        const folded = foldConst(op, inputsAll.map((t) => constOf(t)!), a);
        if (folded) {
          consts.set(out0, folded);
          return;
        }
      }
      switch (op) {
        case 'Cast':
          setOut(out0, x0, layOf(x0));
          return;
        case 'Constant': {
          const v = a.get('value')?.t;
          if (v) consts.set(out0, { dims: (v.dims ?? []).map(num), values: tensorValues(v) });
          else unsupported.push(`Constant without a tensor value (node '${nn}')`);
          return;
        }
        case 'Identity':
        case 'Dropout':
          if (constOf(ins[0])) consts.set(out0, constOf(ins[0])!);
          else setOut(out0, x0, layOf(x0));
          return;
        case 'QuantizeLinear':
        case 'DequantizeLinear':
          if (constOf(ins[0])) consts.set(out0, constOf(ins[0])!);
          else setOut(out0, x0, layOf(x0));
          return;
        case 'Conv':
        case 'QLinearConv': {
          const q = op === 'QLinearConv';
          const w = needConst(q ? n.input![3] : n.input![1], 'weight', nn, op);
          const biasName = q ? n.input![8] : n.input![2];
          const useBias = !!biasName;
          const [M, cPerG, kh, kw] = w.dims;
          const group = int(a.get('group'), 1);
          const strides = (ints(a.get('strides')) ?? [1, 1]) as [number, number];
          const dil = (ints(a.get('dilations')) ?? [1, 1]) as [number, number];
          const autoPad = str(a.get('auto_pad'), 'NOTSET');
          const pads = ints(a.get('pads')) ?? [0, 0, 0, 0];
          const padding: Padding = autoPad.startsWith('SAME') ? 'same' : autoPad === 'VALID' ? 'valid' : pads.every((p) => p === 0) ? 'valid' : [pads[0], pads[1], pads[2], pads[3]];
          if (layOf(x0) !== 'nchw') throw new InputError(`ONNX ${op} node '${nn}' reads '${x0}' which is not an NCHW 4-D tensor`);
          const cin = b.shapeOf(x0)[3];
          let y: string;
          if (group > 1 && group === cin && cPerG === 1) {
            y = b.depthwiseConv2d(x0, { kernel: [kh, kw], depthMultiplier: M / group, strides, dilations: dil, padding, useBias, name: nn, sourceOp: op });
          } else {
            y = b.conv2d(x0, { filters: M, kernel: [kh, kw], strides, dilations: dil, padding, groups: group, useBias, name: nn, sourceOp: op });
          }
          setOut(out0, y, 'nchw');
          return;
        }
        case 'Gemm':
        case 'MatMul':
        case 'QLinearMatMul': {
          const q = op === 'QLinearMatMul';
          const wName = q ? n.input![3] : n.input![1];
          const w = needConst(wName, 'weight', nn, op);
          const transB = op === 'Gemm' && int(a.get('transB'), 0) === 1;
          if (op === 'Gemm' && int(a.get('transA'), 0) === 1) throw new InputError(`ONNX Gemm node '${nn}' uses transA=1, which tinylab does not support`);
          const units = transB ? w.dims[0] : w.dims[w.dims.length - 1];
          let x = x0;
          if (b.shapeOf(x).length > 2 && op === 'Gemm') x = b.flatten(x, { name: `${nn}/flatten`, sourceOp: op });
          let useBias = op === 'Gemm' && !!n.input![2];
          // MatMul + Add(constant of `units` values) → dense with bias.
          let absorbed: number | undefined;
          if (!useBias && op !== 'Gemm') {
            const cs = consumers.get(out0) ?? [];
            const next = cs.length === 1 ? nodes[cs[0]] : undefined;
            if (next && next.opType === 'Add') {
              const other = (next.input ?? []).find((t) => t !== out0);
              const c = constOf(other);
              if (c && numElements(c.dims) === units) {
                useBias = true;
                absorbed = cs[0];
              }
            }
          }
          const y = b.dense(x, { units, useBias, name: nn, sourceOp: op });
          if (absorbed !== undefined) {
            skip.add(absorbed);
            setOut((nodes[absorbed].output ?? [])[0], y, 'flat');
          }
          setOut(out0, y, 'flat');
          return;
        }
        case 'BatchNormalization': {
          const y = b.batchNorm(x0, { name: nn, epsilon: float(a.get('epsilon'), 1e-5), sourceOp: op });
          setOut(out0, y, layOf(x0));
          return;
        }
        case 'Relu':
        case 'Sigmoid':
        case 'Tanh':
        case 'Softmax': {
          const kind = ({ Relu: 'relu', Sigmoid: 'sigmoid', Tanh: 'tanh', Softmax: 'softmax' } as const)[op];
          setOut(out0, b.activation(x0, kind, { name: nn, sourceOp: op }), layOf(x0));
          return;
        }
        case 'Clip': {
          const lo = constOf(n.input?.[1])?.values?.[0] ?? (a.has('min') ? float(a.get('min'), -Infinity) : -Infinity);
          const hi = constOf(n.input?.[2])?.values?.[0] ?? (a.has('max') ? float(a.get('max'), Infinity) : Infinity);
          let kind: 'relu' | 'relu6' | undefined;
          if (lo === 0 && hi === 6) kind = 'relu6';
          else if (lo === 0 && hi === Infinity) kind = 'relu';
          if (!kind) {
            unsupported.push(`Clip(${lo}, ${hi}) (node '${nn}')`);
            return;
          }
          setOut(out0, b.activation(x0, kind, { name: nn, sourceOp: op }), layOf(x0));
          return;
        }
        case 'MaxPool':
        case 'AveragePool': {
          const k = (ints(a.get('kernel_shape')) ?? [2, 2]) as [number, number];
          const strides = (ints(a.get('strides')) ?? [1, 1]) as [number, number];
          const autoPad = str(a.get('auto_pad'), 'NOTSET');
          const pads = ints(a.get('pads')) ?? [0, 0, 0, 0];
          const padding: Padding = autoPad.startsWith('SAME') ? 'same' : autoPad === 'VALID' || pads.every((p) => p === 0) ? 'valid' : [pads[0], pads[1], pads[2], pads[3]];
          const o = { kernel: k, strides, padding, name: nn, sourceOp: op };
          setOut(out0, op === 'MaxPool' ? b.maxPool(x0, o) : b.avgPool(x0, o), 'nchw');
          return;
        }
        case 'GlobalAveragePool':
        case 'GlobalMaxPool':
          setOut(out0, b.globalPool(x0, op === 'GlobalAveragePool' ? 'avg' : 'max', { keepDims: true, name: nn, sourceOp: op }), 'nchw');
          return;
        case 'Add':
        case 'Mul': {
          const kind = op === 'Add' ? 'add' : 'mul';
          const xs = ins.filter(isAct);
          const cs = (n.input ?? []).filter((t) => constOf(t));
          if (xs.length === 0) {
            unsupported.push(`${op} of constants only (node '${nn}')`);
            return;
          }
          let constShape: number[] | undefined;
          if (cs.length) {
            const d = constOf(cs[0])!.dims;
            const s = b.shapeOf(xs[0]);
            constShape = layOf(xs[0]) === 'nchw' && d.length >= 3 ? toNhwc([...new Array(4 - d.length).fill(1), ...d]) : d.length ? d : [1];
            if (constShape.length > s.length) constShape = constShape.slice(constShape.length - s.length);
          }
          setOut(out0, b.elementwise(kind, xs, { constShape, name: nn, sourceOp: op }), layOf(xs[0]));
          return;
        }
        case 'Concat': {
          const ax = int(a.get('axis'), 1);
          const lay = layOf(ins[0]);
          const rank = b.shapeOf(ins[0]).length;
          const axp = ax < 0 ? rank + ax : ax;
          const axis = lay === 'nchw' ? [0, 3, 1, 2][axp] : axp;
          setOut(out0, b.concat(ins.filter(isAct), axis, { name: nn, sourceOp: op }), lay);
          return;
        }
        case 'Reshape': {
          const sh = needConst(n.input![1], 'shape', nn, op).values;
          if (!sh) throw new InputError(`ONNX Reshape node '${nn}': its shape constant has no readable values`);
          const src = onnxShape(x0);
          const target = sh.map((d, k) => (d === 0 ? src[k] : d));
          const onnxOut = target.map((d) => (d === -1 ? -1 : d));
          const lay: Layout = onnxOut.length === 4 ? (nhwcReshapes.has(out0) ? 'nhwc' : 'nchw') : 'flat';
          const known = onnxOut.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
          const full = onnxOut.map((d) => (d === -1 ? numElements(src) / known : d));
          setOut(out0, b.reshape(x0, lay === 'nchw' ? toNhwc(full) : full, { name: nn, sourceOp: op }), lay);
          return;
        }
        case 'Flatten': {
          const ax = int(a.get('axis'), 1);
          const s = onnxShape(x0);
          const outer = s.slice(0, ax).reduce((p, q) => p * q, 1);
          setOut(out0, b.reshape(x0, [outer, numElements(s) / outer], { name: nn, sourceOp: op, op: 'flatten' }), 'flat');
          return;
        }
        case 'Squeeze':
        case 'Unsqueeze': {
          const s = onnxShape(x0);
          const axesRaw = ints(a.get('axes')) ?? constOf(n.input?.[1])?.values ?? [];
          let outS: number[];
          if (op === 'Squeeze') {
            const axes = (axesRaw.length ? axesRaw : s.map((d, k) => (d === 1 && k > 0 ? k : -99))).map((x) => (x < 0 ? s.length + x : x));
            outS = s.filter((_, k) => !axes.includes(k) || k === 0);
          } else {
            outS = [...s];
            const r = s.length + axesRaw.length;
            for (const ax of axesRaw.map((x) => (x < 0 ? r + x : x)).sort((p, q) => p - q)) outS.splice(ax, 0, 1);
          }
          const lay: Layout = outS.length === 4 ? 'nchw' : 'flat';
          setOut(out0, b.reshape(x0, lay === 'nchw' ? toNhwc(outS) : outS, { name: nn, sourceOp: op }), lay);
          return;
        }
        case 'Transpose': {
          const perm = ints(a.get('perm')) ?? [];
          const lay = layOf(x0);
          if ((lay === 'nhwc' && perm.join() === '0,3,1,2') || (lay === 'nchw' && perm.join() === '0,2,3,1')) {
            setOut(out0, x0, lay === 'nhwc' ? 'nchw' : 'nhwc'); // a layout change only: the NHWC data is the same
            return;
          }
          const s = onnxShape(x0);
          const outS = perm.map((p) => s[p]);
          setOut(out0, b.transpose(x0, perm, { name: nn, sourceOp: op, outputShape: outS }), 'flat');
          return;
        }
        case 'Pad': {
          const mode = str(a.get('mode'), 'constant');
          const p = ints(a.get('pads')) ?? constOf(n.input?.[1])?.values;
          if (mode !== 'constant' || !p || p.length !== 8 || layOf(x0) !== 'nchw' || p[0] || p[1] || p[4] || p[5]) {
            unsupported.push(`Pad (mode ${mode}, pads [${(p ?? []).join(', ')}]) (node '${nn}'): only constant spatial padding of NCHW tensors is supported`);
            return;
          }
          setOut(out0, b.pad2d(x0, [p[2], p[3], p[6], p[7]], { name: nn, sourceOp: op }), 'nchw');
          return;
        }
        default:
          unsupported.push(`${op || '(no op type)'} (node '${nn}')`);
      }
    } catch (err) {
      if (err instanceof InputError && /used before it is defined/.test(err.message) && unsupported.length) {
        // Downstream of an unsupported op: the unsupported list below says why.
        return;
      }
      throw err;
    }
  });
  if (unsupported.length) {
    throw new InputError(`ONNX model '${name}' uses ops tinylab cannot price: ${unsupported.join(', ')}; supported: Conv, Gemm, MatMul, BatchNormalization, Relu, Clip, Sigmoid, Tanh, Softmax, MaxPool, AveragePool, GlobalAveragePool, Add, Mul, Concat, Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Pad, Identity, Dropout, Cast, Constant, QuantizeLinear, DequantizeLinear, QLinearConv, QLinearMatMul, and Shape/Gather/Concat/Slice arithmetic on constant shapes`);
  }
  const outputs = (g.output ?? []).map((o) => R(o.name ?? ''));
  for (const o of outputs) {
    if (!b.has(o)) throw new InputError(`ONNX output '${o}' is not produced by any supported node`);
  }
  return b.build(outputs);
}
