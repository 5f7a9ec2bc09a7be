/**
 * Graphs from the layer-by-layer architecture descriptions of ../shared/mcu/mcu_architectures.json (used to validate
 * the cost model against published deployments; no tfjs needed), plus generators for the Keras MobileNet v1/v2
 * families those measurements refer to as `ref:keras_mobilenet_v1(alpha=…, input=…, classes=…, …)`.
 *
 * Architecture layer lists give shapes but not connections; `graphFromArchitecture` reconnects them: a layer reads
 * the newest tensor of its input shape, and an ADD's second operand is the newest same-shape tensor off the first
 * operand's chain (a projection shortcut), else the oldest same-shape tensor on it (an identity shortcut).
 */
import { InputError } from '../common/errors';
import { closestMatch } from '../common/suggest';
import type { ActivationKind, Padding } from './types';
import type { LayerGraph } from './types';
import { GraphBuilder } from './builder';

/** One layer as written in mcu_architectures.json. */
export interface ArchLayer {
  op: string;
  input?: number[][];
  output?: number[] | string;
  weights?: number[][];
  padding?: string;
  stride?: number[];
  pool?: number[];
  kernel?: number[];
  filters?: number;
  act?: string;
  depth_mult?: number;
}

export interface ArchDescription {
  description?: string;
  input?: unknown;
  layers?: ArchLayer[] | number;
  [k: string]: unknown;
}

function act(a: string | undefined): ActivationKind {
  if (!a) return 'none';
  const s = a.toLowerCase();
  if (s.startsWith('relu6')) return 'relu6';
  if (s.startsWith('relu')) return 'relu';
  if (s.startsWith('softmax')) return 'softmax';
  if (s.startsWith('sigmoid') || s.startsWith('logistic')) return 'sigmoid';
  if (s.startsWith('tanh')) return 'tanh';
  return 'none';
}

function pad(p: string | undefined): Padding {
  return p === 'same' ? 'same' : 'valid';
}

function pair(v: number[] | undefined, dflt: [number, number]): [number, number] {
  return v && v.length >= 2 ? [v[0], v[1]] : dflt;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Build a graph from one architecture entry (an object with `layers` and `input`).
 * `inputShape` overrides the entry's input (e.g. '[1, wl, 3, 1]' entries need a window length).
 */
export function graphFromArchitecture(name: string, arch: ArchDescription, opts: { inputShape?: number[]; dtype?: 'float32' | 'int8' } = {}): LayerGraph {
  const layers = arch.layers;
  if (!Array.isArray(layers)) {
    throw new InputError(`architecture '${name}' has no layer list; use keras MobileNet generators (mobilenetV1Graph / mobilenetV2Graph) or describe its layers`);
  }
  let inShape = opts.inputShape;
  if (!inShape) {
    const first = layers[0]?.input?.[0];
    const declared = Array.isArray(arch.input) ? (arch.input as unknown[])[0] : undefined;
    const decl = Array.isArray(declared) && Array.isArray(declared[0]) ? (declared[0] as number[]) : (declared as number[] | undefined);
    inShape = first ?? (Array.isArray(decl) && decl.every((d) => typeof d === 'number') ? decl : undefined);
  }
  if (!inShape) throw new InputError(`architecture '${name}' has no numeric input shape; pass inputShape`);
  const b = new GraphBuilder(name, opts.dtype ?? 'float32');
  const produced: string[] = [b.input('input', inShape)];
  const parent = new Map<string, string>();

  const newest = (shape: readonly number[], exclude: Set<string> = new Set()): string | undefined => {
    for (let i = produced.length - 1; i >= 0; i--) {
      if (!exclude.has(produced[i]) && sameShape(b.shapeOf(produced[i]), shape)) return produced[i];
    }
    return undefined;
  };
  const last = () => produced[produced.length - 1];
  const pick = (shape: number[] | undefined): string => {
    if (!shape) return last();
    const t = newest(shape);
    if (!t) throw new InputError(`architecture '${name}': no tensor of shape [${shape.join(', ')}] to feed the next layer`);
    return t;
  };

  layers.forEach((l, idx) => {
    const op = l.op.toUpperCase();
    const lname = `${op.toLowerCase()}_${idx}`;
    const outShape = Array.isArray(l.output) ? l.output : undefined;
    let out: string;
    const x = pick(l.input?.[0]);
    if (op.startsWith('CONV_2D')) {
      const w = l.weights?.[0];
      const kernel: [number, number] = w ? [w[1], w[2]] : pair(l.kernel, [1, 1]);
      const filters = w ? w[0] : l.filters ?? outShape?.[3] ?? 0;
      out = b.conv2d(x, { filters, kernel, strides: pair(l.stride, [1, 1]), padding: pad(l.padding), activation: act(l.act), name: lname, sourceOp: l.op });
    } else if (op.startsWith('DEPTHWISE_CONV_2D')) {
      const w = l.weights?.[0];
      const kernel: [number, number] = w ? [w[1], w[2]] : pair(l.kernel, [3, 3]);
      out = b.depthwiseConv2d(x, { kernel, depthMultiplier: l.depth_mult ?? 1, strides: pair(l.stride, [1, 1]), padding: pad(l.padding), activation: act(l.act), name: lname, sourceOp: l.op });
    } else if (op.startsWith('FULLY_CONNECTED')) {
      const units = l.weights?.[0]?.[0] ?? outShape?.[outShape.length - 1];
      if (!units) throw new InputError(`architecture '${name}': layer ${idx} (FULLY_CONNECTED) has no output size`);
      let xin = x;
      if (b.shapeOf(xin).length > 2) xin = b.flatten(xin, { name: `flatten_${idx}` });
      const a = act(l.act);
      out = b.dense(xin, { units, activation: a === 'softmax' ? 'none' : a, name: lname, sourceOp: l.op });
      if (a === 'softmax') out = b.activation(out, 'softmax', { name: `softmax_${idx}` });
    } else if (op === 'ADD') {
      const shape = l.input?.[0] ?? b.shapeOf(x);
      const first = x;
      // Walk the first operand's single-input producer chain.
      const chain: string[] = [];
      let cur: string | undefined = parent.get(first);
      while (cur) {
        chain.push(cur);
        cur = parent.get(cur);
      }
      const chainSet = new Set(chain);
      let second = newest(shape, new Set([first, ...chain]));
      if (!second) second = [...chain].reverse().find((t) => sameShape(b.shapeOf(t), shape));
      if (!second) throw new InputError(`architecture '${name}': ADD at layer ${idx} has no second operand of shape [${shape.join(', ')}]`);
      void chainSet;
      out = b.elementwise('add', [first, second], { activation: act(l.act), name: lname, sourceOp: l.op });
    } else if (op.startsWith('AVERAGE_POOL_2D') || op.startsWith('MAX_POOL_2D')) {
      const kernel = pair(l.pool, [2, 2]);
      const o = { kernel, strides: pair(l.stride, kernel), padding: pad(l.padding), name: lname, sourceOp: l.op };
      out = op.startsWith('AVERAGE') ? b.avgPool(x, o) : b.maxPool(x, o);
    } else if (op.startsWith('GLOBAL_AVERAGE_POOL') || op.startsWith('GLOBAL_MAX_POOL')) {
      out = b.globalPool(x, op.startsWith('GLOBAL_AVERAGE') ? 'avg' : 'max', { name: lname, sourceOp: l.op });
    } else if (op.startsWith('RESHAPE') || op.startsWith('FLATTEN')) {
      out = outShape ? b.reshape(x, outShape, { name: lname, sourceOp: l.op }) : b.flatten(x, { name: lname, sourceOp: l.op });
    } else if (op === 'SOFTMAX') {
      out = b.activation(x, 'softmax', { name: lname, sourceOp: l.op });
    } else if (op.startsWith('DROPOUT')) {
      return; // inference no-op
    } else if (op.startsWith('BATCH_NORM')) {
      out = b.batchNorm(x, { name: lname, sourceOp: l.op });
    } else {
      throw new InputError(`architecture '${name}': layer ${idx} has op '${l.op}' that the architecture reader does not know`);
    }
    parent.set(out, x);
    produced.push(out);
  });
  return b.build([last()]);
}

/** Keras `_make_divisible` (MobileNet v2 channel rounding). */
export function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

export interface MobileNetOptions {
  alpha: number;
  input: [number, number, number];
  classes: number;
  /** 'keras': the Keras ImageNet top; 'gap-dense': include_top=False + GAP + Dropout + Dense (ST flowers models). */
  top: 'keras' | 'gap-dense';
  /** Emit BN layers (as the Keras model has them); deploymentGraph folds them. */
  batchNorm?: boolean;
}

/** tf.keras.applications.MobileNet (v1), layer for layer (ZeroPadding before strided depthwise, BN, ReLU6). */
export function mobilenetV1Graph(o: MobileNetOptions): LayerGraph {
  const b = new GraphBuilder(`mobilenet_v1_${o.alpha}_${o.input[0]}`);
  const bn = o.batchNorm ?? true;
  let x = b.input('input', [1, ...o.input]);
  const post = (t: string, n: string) => {
    if (bn) t = b.batchNorm(t, { name: `${n}_bn` });
    return b.activation(t, 'relu6', { name: `${n}_relu` });
  };
  x = post(b.conv2d(x, { filters: Math.floor(32 * o.alpha), kernel: [3, 3], strides: [2, 2], padding: 'same', useBias: false, name: 'conv1' }), 'conv1');
  const blocks: Array<[number, number]> = [[64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2], [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1]];
  blocks.forEach(([f, s], i) => {
    const id = i + 1;
    if (s === 2) x = b.pad2d(x, [0, 0, 1, 1], { name: `conv_pad_${id}` });
    x = post(b.depthwiseConv2d(x, { kernel: [3, 3], strides: [s, s], padding: s === 1 ? 'same' : 'valid', useBias: false, name: `conv_dw_${id}` }), `conv_dw_${id}`);
    x = post(b.conv2d(x, { filters: Math.floor(f * o.alpha), kernel: [1, 1], padding: 'same', useBias: false, name: `conv_pw_${id}` }), `conv_pw_${id}`);
  });
  if (o.top === 'keras') {
    x = b.globalPool(x, 'avg', { keepDims: true, name: 'global_average_pooling2d' });
    x = b.conv2d(x, { filters: o.classes, kernel: [1, 1], padding: 'same', name: 'conv_preds' });
    x = b.reshape(x, [1, o.classes], { name: 'reshape_2' });
  } else {
    x = b.globalPool(x, 'avg', { name: 'global_average_pooling2d' });
    x = b.dense(x, { units: o.classes, name: 'dense' });
  }
  x = b.activation(x, 'softmax', { name: 'predictions' });
  return b.build([x]);
}

/** tf.keras.applications.MobileNetV2, layer for layer. */
export function mobilenetV2Graph(o: MobileNetOptions): LayerGraph {
  const b = new GraphBuilder(`mobilenet_v2_${o.alpha}_${o.input[0]}`);
  const bn = o.batchNorm ?? true;
  const norm = (t: string, n: string) => (bn ? b.batchNorm(t, { name: `${n}_BN` }) : t);
  let x = b.input('input', [1, ...o.input]);
  x = b.activation(norm(b.conv2d(x, { filters: makeDivisible(32 * o.alpha), kernel: [3, 3], strides: [2, 2], padding: 'same', useBias: false, name: 'Conv1' }), 'Conv1'), 'relu6', { name: 'Conv1_relu' });
  const cfg: Array<[number, number, number]> = [
    [16, 1, 1], [24, 2, 6], [24, 1, 6], [32, 2, 6], [32, 1, 6], [32, 1, 6], [64, 2, 6], [64, 1, 6], [64, 1, 6], [64, 1, 6],
    [96, 1, 6], [96, 1, 6], [96, 1, 6], [160, 2, 6], [160, 1, 6], [160, 1, 6], [320, 1, 6],
  ];
  cfg.forEach(([filters, stride, expansion], id) => {
    const inC = b.shapeOf(x)[3];
    const pwFilters = makeDivisible(Math.floor(filters * o.alpha));
    const p = id ? `block_${id}_` : 'expanded_conv_';
    let h = x;
    if (id) {
      h = b.conv2d(h, { filters: expansion * inC, kernel: [1, 1], padding: 'same', useBias: false, name: `${p}expand` });
      h = b.activation(norm(h, `${p}expand`), 'relu6', { name: `${p}expand_relu` });
    }
    if (stride === 2) {
      const [hh, ww] = b.shapeOf(h).slice(1, 3);
      // keras correct_pad: ((1 - adjust, 1), …) with adjust 1 for even sizes.
      h = b.pad2d(h, [hh % 2 === 0 ? 0 : 1, ww % 2 === 0 ? 0 : 1, 1, 1], { name: `${p}pad` });
    }
    h = b.depthwiseConv2d(h, { kernel: [3, 3], strides: [stride, stride], padding: stride === 1 ? 'same' : 'valid', useBias: false, name: `${p}depthwise` });
    h = b.activation(norm(h, `${p}depthwise`), 'relu6', { name: `${p}depthwise_relu` });
    h = norm(b.conv2d(h, { filters: pwFilters, kernel: [1, 1], padding: 'same', useBias: false, name: `${p}project` }), `${p}project`);
    if (inC === pwFilters && stride === 1) h = b.elementwise('add', [x, h], { name: `${p}add` });
    x = h;
  });
  const lastC = o.alpha > 1 ? makeDivisible(1280 * o.alpha) : 1280;
  x = b.activation(norm(b.conv2d(x, { filters: lastC, kernel: [1, 1], useBias: false, name: 'Conv_1' }), 'Conv_1'), 'relu6', { name: 'out_relu' });
  x = b.globalPool(x, 'avg', { name: 'global_average_pooling2d' });
  x = b.dense(x, { units: o.classes, name: o.top === 'keras' ? 'predictions' : 'dense' });
  x = b.activation(x, 'softmax', { name: 'softmax' });
  return b.build([x]);
}

/** ST model-zoo MNIST v1 (from the architecture file's layer list; 36 classes by default). */
function stMnistGraph(arch: ArchDescription, classes = 36): LayerGraph {
  const layers = (arch.layers as ArchLayer[]).map((l) => (l.op === 'FULLY_CONNECTED' ? { ...l, output: [1, classes] } : l));
  return graphFromArchitecture('st_mnist_v1', { ...arch, layers });
}

/**
 * Resolve a measurement's `architecture` reference ('ref:mlperf_tiny_ic_resnet8',
 * 'ref:keras_mobilenet_v1(alpha=0.25, input=96x96x3, classes=5, GAP+dropout+dense)') to a graph.
 */
export function graphFromArchitectureRef(ref: string, archs: Record<string, ArchDescription>): LayerGraph {
  const m = /^ref:([a-z0-9_]+)(?:\((.*)\))?$/i.exec(ref.trim());
  if (!m) throw new InputError(`architecture reference '${ref}' is not of the form ref:name or ref:name(args)`);
  const [, key, args] = m;
  if (key === 'keras_mobilenet_v1' || key === 'keras_mobilenet_v2') {
    const kv = new Map<string, string>();
    for (const part of (args ?? '').split(',')) {
      const [k, v] = part.split('=').map((s) => s.trim());
      if (v !== undefined) kv.set(k, v);
    }
    const alpha = Number(kv.get('alpha') ?? 1);
    const input = (kv.get('input') ?? '224x224x3').split('x').map(Number) as [number, number, number];
    const classes = Number(kv.get('classes') ?? 1000);
    const top = /GAP/i.test(args ?? '') ? 'gap-dense' : 'keras';
    return key === 'keras_mobilenet_v1' ? mobilenetV1Graph({ alpha, input, classes, top }) : mobilenetV2Graph({ alpha, input, classes, top });
  }
  const arch = archs[key];
  if (!arch) {
    const near = closestMatch(key, Object.keys(archs));
    throw new InputError(`unknown architecture '${key}'${near ? `; did you mean '${near}'?` : ''}`);
  }
  if (key === 'st_mnist_v1') return stMnistGraph(arch);
  return graphFromArchitecture(key, arch);
}
