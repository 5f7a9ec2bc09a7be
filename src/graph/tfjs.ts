/**
 * graphFromLayersModel: the layer graph of an in-memory tf.LayersModel (Sequential or functional).
 * Reads only the model's topology and layer configs (no weights, no tensors are created).
 * Unsupported layer classes are all reported together, by class and layer name.
 */
import type * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';
import type { LayerGraph, Padding, UnaryActivation } from './types';
import { GraphBuilder } from './builder';

/** Minimal structural view of tfjs-layers objects (their public typings do not expose inboundNodes fully). */
interface SymTensor {
  name: string;
  shape: Array<number | null>;
}
interface TfNode {
  inputTensors: SymTensor[];
  outputTensors: SymTensor[];
}
interface TfLayer {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  inboundNodes: TfNode[];
}

const ACTS: Record<string, UnaryActivation | 'none'> = { linear: 'none', relu: 'relu', relu6: 'relu6', sigmoid: 'sigmoid', tanh: 'tanh', softmax: 'softmax', elu: 'elu', swish: 'swish', selu: 'elu', hardSwish: 'hardSwish' };

function pair(v: unknown, d: [number, number]): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length >= 2) return [Number(v[0]), Number(v[1])];
  if (Array.isArray(v) && v.length === 1) return [Number(v[0]), Number(v[0])];
  return d;
}

function staticShape(t: SymTensor, where: string): number[] {
  const s = t.shape.slice(1);
  if (s.some((d) => d == null)) {
    throw new InputError(`${where}: tensor '${t.name}' has an unknown dimension [${t.shape.map((d) => d ?? '?').join(', ')}]; build the model with a fixed inputShape`);
  }
  return [1, ...(s as number[])];
}

/** Build the layer graph of a tfjs LayersModel. */
export function graphFromLayersModel(model: tf.LayersModel, opts: { name?: string } = {}): LayerGraph {
  const b = new GraphBuilder(opts.name ?? model.name);
  const alias = new Map<string, string>();
  const ref = (t: SymTensor) => alias.get(t.name) ?? t.name;
  for (const t of model.inputs as unknown as SymTensor[]) b.input(t.name, staticShape(t, `model '${model.name}'`));
  const unsupported: string[] = [];
  for (const layer of model.layers as unknown as TfLayer[]) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    const node = layer.inboundNodes[0];
    if (!node) continue;
    // Downstream of an unsupported layer its input does not exist: skip it, the unsupported list says why.
    if (unsupported.length && node.inputTensors.some((t) => !b.has(ref(t)))) continue;
    const ins = node.inputTensors.map(ref);
    const outT = node.outputTensors[0];
    const cfg = layer.getConfig();
    const act = ACTS[String(cfg.activation ?? 'linear')];
    const name = layer.name;
    const fuse = (t: string): string => {
      if (act === undefined) {
        unsupported.push(`activation '${String(cfg.activation)}' (layer '${name}')`);
        return t;
      }
      return act === 'none' ? t : b.activation(t, act, { name: `${name}/${act}`, sourceOp: cls });
    };
    const padding = (cfg.padding === 'same' ? 'same' : 'valid') as Padding;
    /** Kernel, strides, dilations and padding of a 2-D windowed layer, as Keras configs spell them. */
    const window2d = (kernelDefault: [number, number]) => ({
      kernel: pair(cfg.kernelSize, kernelDefault),
      strides: pair(cfg.strides, [1, 1]),
      dilations: pair(cfg.dilationRate, [1, 1]),
      padding,
      sourceOp: cls,
    });
    // 1-D layers run as 2-D ones on [1, 1, T, C] (TFLite's Conv1D lowering): a rank-3 input is expanded once, in
    // place, and stays 4-D downstream so BN folding and activation fusion still see conv → BN → act.
    const as4d = (t: string): string => {
      const sh = b.shapeOf(t);
      return sh.length === 3 ? b.reshape(t, [1, 1, sh[1], sh[2]], { name: `${name}/expand_dims`, sourceOp: cls }) : t;
    };
    const one = (v: unknown, d: number): number => (Array.isArray(v) ? Number(v[0]) : v == null ? d : Number(v));
    let out: string | undefined;
    switch (cls) {
      case 'Conv1D': {
        const c = b.conv2d(as4d(ins[0]), {
          filters: Number(cfg.filters),
          kernel: [1, one(cfg.kernelSize, 1)],
          strides: [1, one(cfg.strides, 1)],
          dilations: [1, one(cfg.dilationRate, 1)],
          padding,
          useBias: cfg.useBias !== false,
          name,
          sourceOp: cls,
        });
        out = fuse(c);
        break;
      }
      case 'MaxPooling1D':
      case 'AveragePooling1D': {
        const p = one(cfg.poolSize, 2);
        const o = { kernel: [1, p] as [number, number], strides: [1, one(cfg.strides, p)] as [number, number], padding, name, sourceOp: cls };
        out = cls === 'MaxPooling1D' ? b.maxPool(as4d(ins[0]), o) : b.avgPool(as4d(ins[0]), o);
        break;
      }
      case 'GlobalAveragePooling1D':
      case 'GlobalMaxPooling1D':
        out = b.globalPool(as4d(ins[0]), cls === 'GlobalAveragePooling1D' ? 'avg' : 'max', { name, sourceOp: cls });
        break;
      case 'Conv2D': {
        const x = ins[0];
        const c = b.conv2d(x, { ...window2d([1, 1]), filters: Number(cfg.filters), useBias: cfg.useBias !== false, name });
        out = fuse(c);
        break;
      }
      case 'DepthwiseConv2D': {
        const c = b.depthwiseConv2d(ins[0], { ...window2d([3, 3]), depthMultiplier: Number(cfg.depthMultiplier ?? 1), useBias: cfg.useBias !== false, name });
        out = fuse(c);
        break;
      }
      case 'SeparableConv2D': {
        const d = b.depthwiseConv2d(ins[0], {
          ...window2d([3, 3]),
          depthMultiplier: Number(cfg.depthMultiplier ?? 1),
          useBias: false,
          name: `${name}/depthwise`,
        });
        out = fuse(b.conv2d(d, { filters: Number(cfg.filters), kernel: [1, 1], useBias: cfg.useBias !== false, name: `${name}/pointwise`, sourceOp: cls }));
        break;
      }
      case 'Dense':
        out = fuse(b.dense(ins[0], { units: Number(cfg.units), useBias: cfg.useBias !== false, name, sourceOp: cls }));
        break;
      case 'BatchNormalization':
        out = b.batchNorm(ins[0], { name, epsilon: Number(cfg.epsilon ?? 1e-3), sourceOp: cls });
        break;
      case 'Activation':
        out = fuse(ins[0]);
        if (out === ins[0]) alias.set(outT.name, ins[0]);
        break;
      case 'ReLU': {
        const maxValue = cfg.maxValue == null ? undefined : Number(cfg.maxValue);
        out = b.activation(ins[0], maxValue === 6 ? 'relu6' : 'relu', { name, sourceOp: cls });
        if (maxValue !== undefined && maxValue !== 6) unsupported.push(`ReLU with maxValue ${maxValue} (layer '${name}')`);
        break;
      }
      case 'Softmax':
        out = b.activation(ins[0], 'softmax', { name, sourceOp: cls });
        break;
      case 'ELU':
        out = b.activation(ins[0], 'elu', { name, sourceOp: cls });
        break;
      case 'LeakyReLU':
        out = b.activation(ins[0], 'leakyRelu', { name, sourceOp: cls });
        break;
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const k = pair(cfg.poolSize, [2, 2]);
        const o = { kernel: k, strides: pair(cfg.strides ?? cfg.poolSize, k), padding, name, sourceOp: cls };
        out = cls === 'MaxPooling2D' ? b.maxPool(ins[0], o) : b.avgPool(ins[0], o);
        break;
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D':
        out = b.globalPool(ins[0], cls === 'GlobalAveragePooling2D' ? 'avg' : 'max', { name, sourceOp: cls });
        break;
      case 'Add':
        out = b.elementwise('add', ins, { name, sourceOp: cls });
        break;
      case 'Multiply':
        out = b.elementwise('mul', ins, { name, sourceOp: cls });
        break;
      case 'Concatenate':
        out = b.concat(ins, Number(cfg.axis ?? -1), { name, sourceOp: cls });
        break;
      case 'Flatten':
        out = b.flatten(ins[0], { name, sourceOp: cls });
        break;
      case 'Reshape':
        out = b.reshape(ins[0], [1, ...(cfg.targetShape as number[])], { name, sourceOp: cls });
        break;
      case 'ZeroPadding2D': {
        const p = cfg.padding as number | number[] | number[][];
        let pads: [number, number, number, number];
        if (typeof p === 'number') pads = [p, p, p, p];
        else if (Array.isArray(p) && Array.isArray(p[0])) {
          const pp = p as number[][];
          pads = [pp[0][0], pp[1][0], pp[0][1], pp[1][1]];
        } else {
          const pp = p as number[];
          pads = [pp[0], pp[1], pp[0], pp[1]];
        }
        out = b.pad2d(ins[0], pads, { name, sourceOp: cls });
        break;
      }
      case 'Dropout':
      case 'SpatialDropout1D':
      case 'GaussianNoise':
      case 'GaussianDropout':
      case 'AlphaDropout':
        alias.set(outT.name, ins[0]); // inference no-ops
        continue;
      default:
        unsupported.push(`${cls} (layer '${name}')`);
        continue;
    }
    if (out !== undefined && out !== outT.name) alias.set(outT.name, out);
  }
  if (unsupported.length) {
    throw new InputError(`model '${model.name}' has layers the cost model does not support: ${unsupported.join(', ')}; replace them or price the model from an ONNX export`);
  }
  const outputs = (model.outputs as unknown as SymTensor[]).map(ref);
  return b.build(outputs);
}
