/**
 * GraphBuilder: the one place where shapes, params and MACs are computed. Every front end (tfjs, ONNX, architecture
 * JSON) and every hand-written test graph goes through it, so two sources of the same network give the same graph.
 *
 *   const b = new GraphBuilder('tiny');
 *   let x = b.input('x', [1, 28, 28, 1]);
 *   x = b.conv2d(x, { filters: 8, kernel: [3, 3], activation: 'relu' });
 *   x = b.flatten(x);
 *   x = b.dense(x, { units: 10, activation: 'softmax' });
 *   const g = b.build([x]);
 */
import { InputError } from '../common/errors';
import type { ActivationKind, UnaryActivation, GraphDType, GraphNode, GraphTensor, LayerGraph, NodeAttrs, OpKind, Padding } from './types';
import { numElements } from './types';

export interface ConvOptions {
  filters: number;
  kernel: [number, number];
  strides?: [number, number];
  dilations?: [number, number];
  padding?: Padding;
  /** Grouped conv (ONNX group); group == cin == filters/multiplier is emitted as depthwise by the ONNX front end. */
  groups?: number;
  useBias?: boolean;
  activation?: ActivationKind;
  name?: string;
  sourceOp?: string;
}

export interface DepthwiseOptions {
  kernel: [number, number];
  depthMultiplier?: number;
  strides?: [number, number];
  dilations?: [number, number];
  padding?: Padding;
  useBias?: boolean;
  activation?: ActivationKind;
  name?: string;
  sourceOp?: string;
}

export interface DenseOptions {
  units: number;
  useBias?: boolean;
  activation?: ActivationKind;
  name?: string;
  sourceOp?: string;
}

export interface PoolOptions {
  kernel: [number, number];
  strides?: [number, number];
  padding?: Padding;
  name?: string;
  sourceOp?: string;
}

interface Named {
  name?: string;
  sourceOp?: string;
}

/** Output size of a windowed op along one axis. */
export function windowOutput(size: number, k: number, s: number, d: number, pad: 'same' | 'valid' | [number, number]): number {
  const eff = d * (k - 1) + 1;
  if (pad === 'same') return Math.ceil(size / s);
  if (pad === 'valid') return Math.floor((size - eff) / s) + 1;
  return Math.floor((size + pad[0] + pad[1] - eff) / s) + 1;
}

function axisPad(p: Padding, axis: 0 | 1): 'same' | 'valid' | [number, number] {
  if (p === 'same' || p === 'valid') return p;
  return axis === 0 ? [p[0], p[2]] : [p[1], p[3]];
}

export class GraphBuilder {
  private nodes: GraphNode[] = [];
  private shapes = new Map<string, number[]>();
  private inputNames: string[] = [];
  private counters = new Map<string, number>();
  private usedNames = new Set<string>();

  constructor(
    readonly name: string,
    readonly dtype: GraphDType = 'float32',
  ) {}

  /** Shape of a tensor already in the graph. */
  shapeOf(tensor: string): number[] {
    const s = this.shapes.get(tensor);
    if (!s) throw new InputError(`graph '${this.name}': tensor '${tensor}' is used before it is defined; build nodes in execution order`);
    return s;
  }

  has(tensor: string): boolean {
    return this.shapes.has(tensor);
  }

  private uniqueName(base: string): string {
    let name = base;
    if (this.usedNames.has(name)) {
      let i = this.counters.get(base) ?? 1;
      while (this.usedNames.has(`${base}_${i}`)) i++;
      this.counters.set(base, i + 1);
      name = `${base}_${i}`;
    }
    this.usedNames.add(name);
    return name;
  }

  private autoName(op: string): string {
    const i = this.counters.get(`#${op}`) ?? 0;
    this.counters.set(`#${op}`, i + 1);
    return this.uniqueName(i === 0 ? op : `${op}_${i}`);
  }

  /** Declare a graph input (NHWC, batch 1). A leading non-1 batch is replaced by 1. */
  input(name: string, shape: readonly number[]): string {
    if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new InputError(`graph '${this.name}': input '${name}' has shape [${shape.join(', ')}]; every dimension must be a known positive integer`);
    }
    const s = [1, ...shape.slice(1)];
    this.shapes.set(name, s);
    this.inputNames.push(name);
    this.usedNames.add(name);
    return name;
  }

  /** Append a node; computes params from weightShapes. Returns the output tensor name. */
  add(
    op: OpKind,
    inputs: string[],
    outputShape: number[],
    extra: { name?: string; weightShapes?: number[][]; useBias?: boolean; macs?: number; activation?: ActivationKind; attrs?: NodeAttrs; sourceOp?: string; output?: string; inPlace?: boolean },
  ): string {
    const inputShapes = inputs.map((t) => this.shapeOf(t));
    if (outputShape.some((d) => !Number.isFinite(d) || d <= 0 || !Number.isInteger(d))) {
      throw new InputError(
        `graph '${this.name}': ${extra.sourceOp ?? op} node '${extra.name ?? op}' gets output shape [${outputShape.join(', ')}] from inputs ${inputShapes.map((s) => `[${s.join(', ')}]`).join(', ')}; check kernel, stride and padding`,
      );
    }
    const name = extra.name ? this.uniqueName(extra.name) : this.autoName(op);
    let out = extra.output ?? name;
    if (this.shapes.has(out)) out = this.uniqueName(`${out}:out`);
    else this.usedNames.add(out);
    const weightShapes = extra.weightShapes ?? [];
    const params = weightShapes.reduce((a, s) => a + numElements(s), 0);
    this.nodes.push({
      name,
      op,
      inputs,
      outputs: [out],
      inputShapes,
      outputShape,
      weightShapes,
      useBias: extra.useBias ?? false,
      params,
      macs: extra.macs ?? 0,
      activation: extra.activation ?? 'none',
      attrs: extra.attrs ?? {},
      sourceOp: extra.sourceOp,
      inPlace: extra.inPlace,
    });
    this.shapes.set(out, outputShape);
    return out;
  }

  private spatial(x: string, what: string, nodeName?: string): [number, number, number] {
    const s = this.shapeOf(x);
    if (s.length !== 4) throw new InputError(`graph '${this.name}': ${what} '${nodeName ?? what}' needs a 4-D NHWC input, got [${s.join(', ')}]`);
    return [s[1], s[2], s[3]];
  }

  conv2d(x: string, o: ConvOptions): string {
    const [h, w, cin] = this.spatial(x, 'conv2d', o.name);
    const st = o.strides ?? [1, 1];
    const dl = o.dilations ?? [1, 1];
    const pad = o.padding ?? 'valid';
    const groups = o.groups ?? 1;
    if (cin % groups !== 0 || o.filters % groups !== 0) {
      throw new InputError(`graph '${this.name}': conv '${o.name ?? 'conv2d'}' has ${cin} input channels and ${o.filters} filters, not divisible by group=${groups}`);
    }
    const oh = windowOutput(h, o.kernel[0], st[0], dl[0], axisPad(pad, 0));
    const ow = windowOutput(w, o.kernel[1], st[1], dl[1], axisPad(pad, 1));
    const useBias = o.useBias ?? true;
    const ws: number[][] = [[o.kernel[0], o.kernel[1], cin / groups, o.filters]];
    if (useBias) ws.push([o.filters]);
    return this.add('conv2d', [x], [1, oh, ow, o.filters], {
      name: o.name,
      weightShapes: ws,
      useBias,
      macs: oh * ow * o.filters * o.kernel[0] * o.kernel[1] * (cin / groups),
      activation: o.activation,
      attrs: { kernel: o.kernel, strides: st, dilations: dl, padding: pad, groups },
      sourceOp: o.sourceOp,
    });
  }

  depthwiseConv2d(x: string, o: DepthwiseOptions): string {
    const [h, w, cin] = this.spatial(x, 'depthwiseConv2d', o.name);
    const st = o.strides ?? [1, 1];
    const dl = o.dilations ?? [1, 1];
    const pad = o.padding ?? 'valid';
    const m = o.depthMultiplier ?? 1;
    const oh = windowOutput(h, o.kernel[0], st[0], dl[0], axisPad(pad, 0));
    const ow = windowOutput(w, o.kernel[1], st[1], dl[1], axisPad(pad, 1));
    const useBias = o.useBias ?? true;
    const ws: number[][] = [[o.kernel[0], o.kernel[1], cin, m]];
    if (useBias) ws.push([cin * m]);
    return this.add('depthwiseConv2d', [x], [1, oh, ow, cin * m], {
      name: o.name,
      weightShapes: ws,
      useBias,
      macs: oh * ow * cin * m * o.kernel[0] * o.kernel[1],
      activation: o.activation,
      attrs: { kernel: o.kernel, strides: st, dilations: dl, padding: pad, depthMultiplier: m },
      sourceOp: o.sourceOp,
    });
  }

  /** Dense on the last axis (inputs of rank > 2 apply it to every row, as tf.layers.dense does). */
  dense(x: string, o: DenseOptions): string {
    const s = this.shapeOf(x);
    const inF = s[s.length - 1];
    const rows = numElements(s) / inF;
    const useBias = o.useBias ?? true;
    const ws: number[][] = [[inF, o.units]];
    if (useBias) ws.push([o.units]);
    return this.add('dense', [x], [...s.slice(0, -1), o.units], {
      name: o.name,
      weightShapes: ws,
      useBias,
      macs: rows * inF * o.units,
      activation: o.activation,
      sourceOp: o.sourceOp,
    });
  }

  batchNorm(x: string, o: Named & { epsilon?: number } = {}): string {
    const s = this.shapeOf(x);
    const c = s[s.length - 1];
    return this.add('batchNorm', [x], [...s], {
      name: o.name,
      weightShapes: [[c], [c], [c], [c]],
      attrs: { epsilon: o.epsilon ?? 1e-3 },
      sourceOp: o.sourceOp,
    });
  }

  activation(x: string, kind: UnaryActivation, o: Named = {}): string {
    return this.add(kind, [x], [...this.shapeOf(x)], { name: o.name, sourceOp: o.sourceOp });
  }

  maxPool(x: string, o: PoolOptions): string {
    return this.pool('maxPool', x, o);
  }

  avgPool(x: string, o: PoolOptions): string {
    return this.pool('avgPool', x, o);
  }

  private pool(op: 'maxPool' | 'avgPool', x: string, o: PoolOptions): string {
    const [h, w, c] = this.spatial(x, op, o.name);
    const st = o.strides ?? o.kernel;
    const pad = o.padding ?? 'valid';
    const oh = windowOutput(h, o.kernel[0], st[0], 1, axisPad(pad, 0));
    const ow = windowOutput(w, o.kernel[1], st[1], 1, axisPad(pad, 1));
    return this.add(op, [x], [1, oh, ow, c], { name: o.name, attrs: { kernel: o.kernel, strides: st, padding: pad }, sourceOp: o.sourceOp });
  }

  /** Global pooling to [1, C] (keepDims: [1, 1, 1, C]). */
  globalPool(x: string, kind: 'avg' | 'max', o: Named & { keepDims?: boolean } = {}): string {
    const [h, w, c] = this.spatial(x, kind === 'avg' ? 'globalAvgPool' : 'globalMaxPool', o.name);
    return this.add(kind === 'avg' ? 'globalAvgPool' : 'globalMaxPool', [x], o.keepDims ? [1, 1, 1, c] : [1, c], {
      name: o.name,
      attrs: { kernel: [h, w] },
      sourceOp: o.sourceOp,
    });
  }

  /** Elementwise add/mul of activation tensors (numpy broadcasting), or of one tensor and a constant of `constShape`. */
  elementwise(op: 'add' | 'mul', xs: string[], o: Named & { activation?: ActivationKind; constShape?: number[] } = {}): string {
    const shapes = xs.map((t) => this.shapeOf(t));
    if (o.constShape) shapes.push(o.constShape);
    const out = broadcastShapes(shapes, () => `graph '${this.name}': ${op} '${o.name ?? op}' cannot broadcast ${shapes.map((s) => `[${s.join(', ')}]`).join(' and ')}`);
    return this.add(op, xs, out, {
      name: o.name,
      activation: o.activation,
      weightShapes: o.constShape ? [o.constShape] : [],
      sourceOp: o.sourceOp,
    });
  }

  concat(xs: string[], axis: number, o: Named = {}): string {
    const shapes = xs.map((t) => this.shapeOf(t));
    const rank = shapes[0].length;
    const ax = axis < 0 ? rank + axis : axis;
    const out = [...shapes[0]];
    out[ax] = 0;
    for (const s of shapes) {
      if (s.length !== rank || s.some((d, i) => i !== ax && d !== shapes[0][i])) {
        throw new InputError(`graph '${this.name}': concat '${o.name ?? 'concat'}' inputs ${shapes.map((q) => `[${q.join(', ')}]`).join(', ')} differ outside axis ${ax}`);
      }
      out[ax] += s[ax];
    }
    return this.add('concat', xs, out, { name: o.name, attrs: { axis: ax }, sourceOp: o.sourceOp });
  }

  /** Reshape (a -1 is inferred). Runtimes execute it in place. */
  reshape(x: string, shape: number[], o: Named & { op?: 'reshape' | 'flatten' } = {}): string {
    const n = numElements(this.shapeOf(x));
    const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const out = shape.map((d) => (d === -1 ? n / known : d));
    if (numElements(out) !== n) {
      throw new InputError(`graph '${this.name}': reshape '${o.name ?? 'reshape'}' from [${this.shapeOf(x).join(', ')}] to [${shape.join(', ')}] changes the element count`);
    }
    return this.add(o.op ?? 'reshape', [x], out, { name: o.name, sourceOp: o.sourceOp, inPlace: true });
  }

  flatten(x: string, o: Named = {}): string {
    const n = numElements(this.shapeOf(x));
    return this.reshape(x, [1, n], { ...o, op: 'flatten' });
  }

  transpose(x: string, perm: number[], o: Named & { outputShape?: number[] } = {}): string {
    const s = this.shapeOf(x);
    const out = o.outputShape ?? perm.map((p) => s[p]);
    return this.add('transpose', [x], out, { name: o.name, attrs: { perm }, sourceOp: o.sourceOp });
  }

  /** Spatial zero padding [top, left, bottom, right] of an NHWC tensor. */
  pad2d(x: string, pads: [number, number, number, number], o: Named = {}): string {
    const [h, w, c] = this.spatial(x, 'pad', o.name);
    return this.add('pad', [x], [1, h + pads[0] + pads[2], w + pads[1] + pads[3], c], { name: o.name, attrs: { pads }, sourceOp: o.sourceOp });
  }

  /** Finish: compute tensors with lifetimes. */
  build(outputs: string[]): LayerGraph {
    for (const o of outputs) this.shapeOf(o);
    return finalizeGraph({ name: this.name, dtype: this.dtype, nodes: this.nodes, inputs: this.inputNames, outputs, inputShapes: this.inputNames.map((n) => this.shapeOf(n)) });
  }
}

/** Numpy-style broadcasting of shapes. */
export function broadcastShapes(shapes: number[][], err: () => string): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      if (s[i] === out[j] || s[i] === 1) continue;
      if (out[j] === 1) out[j] = s[i];
      else throw new InputError(err());
    }
  }
  return out;
}

/**
 * Compute the tensor table (producers, consumers, lifetimes, dtypes) for nodes in execution order.
 * Inputs live from the start (-1 → 0), outputs until the last node. ActivationKind tensors get the graph dtype.
 */
export function finalizeGraph(g: {
  name: string;
  dtype: GraphDType;
  nodes: GraphNode[];
  inputs: string[];
  outputs: string[];
  deployed?: boolean;
  /** Shapes of the inputs (else taken from their first consumer). */
  inputShapes?: number[][];
}): LayerGraph {
  const tensors: Record<string, GraphTensor> = {};
  const last = Math.max(0, g.nodes.length - 1);
  const outSet = new Set(g.outputs);
  g.inputs.forEach((name, k) => {
    tensors[name] = {
      name,
      shape: g.inputShapes ? [...g.inputShapes[k]] : [],
      dtype: g.dtype,
      producer: -1,
      consumers: [],
      firstUse: 0,
      lastUse: 0,
      isInput: true,
      isOutput: outSet.has(name),
    };
  });
  g.nodes.forEach((n, i) => {
    n.inputs.forEach((t, k) => {
      const rec = tensors[t];
      if (!rec) throw new InputError(`graph '${g.name}': node '${n.name}' reads '${t}' before any node produces it`);
      if (rec.isInput && rec.shape.length === 0) rec.shape = [...n.inputShapes[k]];
      if (rec.consumers[rec.consumers.length - 1] !== i) rec.consumers.push(i);
      rec.lastUse = Math.max(rec.lastUse, i);
    });
    for (const t of n.outputs) {
      tensors[t] = {
        name: t,
        shape: [...n.outputShape],
        dtype: g.dtype,
        producer: i,
        consumers: [],
        firstUse: i,
        lastUse: i,
        isInput: false,
        isOutput: outSet.has(t),
      };
    }
  });
  for (const o of g.outputs) {
    const rec = tensors[o];
    if (!rec) throw new InputError(`graph '${g.name}': output '${o}' is not produced by any node`);
    rec.lastUse = last;
    rec.isOutput = true;
  }
  return { name: g.name, dtype: g.dtype, nodes: g.nodes, tensors, inputs: g.inputs, outputs: g.outputs, deployed: g.deployed };
}
