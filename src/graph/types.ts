/**
 * The layer graph: ONE description of a network that the MCU cost model, quantization, compression, export and
 * code generation all read. It is plain data (JSON-serialisable), built from a tfjs LayersModel, an ONNX file or a
 * layer-by-layer architecture description, always through `GraphBuilder` so shapes/params/MACs are computed one way.
 *
 * Conventions (stable; other modules depend on them):
 * - Shapes are NHWC with batch 1 (`[1, H, W, C]`), `[1, N]` for vectors; ONNX NCHW shapes are converted.
 * - Nodes are in execution order (a valid topological order). Node i reads tensors produced by nodes < i or inputs.
 * - Weight shapes: conv2d `[kh, kw, cin/groups, cout]`, depthwiseConv2d `[kh, kw, cin, multiplier]`, dense `[in, out]`,
 *   biases `[cout]`, batchNorm four `[c]` vectors (gamma, beta, mean, variance), mul/add by a constant `[…]`.
 * - MACs count multiply-accumulates of conv/depthwise/dense only (the convention MLPerf Tiny and ST use); other ops
 *   cost per output element (see `outputElements`).
 */

/** Normalised operator kinds. */
export type OpKind =
  | 'conv2d'
  | 'depthwiseConv2d'
  | 'dense'
  | 'batchNorm'
  | 'relu'
  | 'relu6'
  | 'sigmoid'
  | 'tanh'
  | 'softmax'
  | 'elu'
  | 'swish'
  | 'leakyRelu'
  | 'hardSwish'
  | 'maxPool'
  | 'avgPool'
  | 'globalAvgPool'
  | 'globalMaxPool'
  | 'add'
  | 'mul'
  | 'concat'
  | 'reshape'
  | 'flatten'
  | 'transpose'
  | 'pad';

/** Activations a conv/dense/add can carry fused (deployment tools fuse these into the preceding kernel). */
export type ActivationKind = 'none' | 'relu' | 'relu6' | 'sigmoid' | 'tanh' | 'softmax';

/** Unary activation ops a graph can hold as their own nodes (the fusable ones plus those runtimes keep separate). */
export type UnaryActivation = Exclude<ActivationKind, 'none'> | 'elu' | 'swish' | 'leakyRelu' | 'hardSwish';

/** Element types of tensors in a deployed graph. */
export type TensorDType = 'float32' | 'int8' | 'int32';

/** The deployment data type of a whole graph. */
export type GraphDType = 'float32' | 'int8';

export type Padding = 'same' | 'valid' | [number, number, number, number];

export interface NodeAttrs {
  /** Kernel [kh, kw] for conv/depthwise, window for pools. */
  kernel?: [number, number];
  strides?: [number, number];
  dilations?: [number, number];
  /** 'same'/'valid' or explicit [top, left, bottom, right]. */
  padding?: Padding;
  groups?: number;
  depthMultiplier?: number;
  /** Concat axis in NHWC terms (negative counts from the end). */
  axis?: number;
  epsilon?: number;
  /** Pad op: [top, left, bottom, right] for 4-D NHWC, or per-dimension [before..., after...] otherwise. */
  pads?: number[];
  /** Transpose permutation (in the source's layout). */
  perm?: number[];
}

export interface GraphNode {
  /** Unique, human name (layer name / ONNX node name / 'conv2d_3'). */
  name: string;
  op: OpKind;
  /** Names of the activation tensors read (constants are not tensors: they are the node's weights). */
  inputs: string[];
  /** Names of the activation tensors written (one for every op we support). */
  outputs: string[];
  inputShapes: number[][];
  outputShape: number[];
  /** Shapes of the constant tensors the node owns, weights first, bias last when `useBias`. */
  weightShapes: number[][];
  useBias: boolean;
  /** Number of constant values (weights + biases; BN counts its four vectors). */
  params: number;
  macs: number;
  activation: ActivationKind;
  attrs: NodeAttrs;
  /** The op name in the source (e.g. 'Conv2D', 'Conv', 'CONV_2D'), for messages. */
  sourceOp?: string;
  /** True for ops a runtime executes without a new buffer (reshape/flatten and squeeze): output aliases input. */
  inPlace?: boolean;
}

export interface GraphTensor {
  name: string;
  shape: number[];
  dtype: TensorDType;
  /** Index of the producing node; -1 for a graph input. */
  producer: number;
  /** Indices of the nodes that read it, ascending. */
  consumers: number[];
  /** Lifetime over execution order, inclusive: [first, last] node index during which the buffer must exist. */
  firstUse: number;
  lastUse: number;
  isInput: boolean;
  isOutput: boolean;
}

export interface LayerGraph {
  name: string;
  /** float32 for float models; int8 once deployed as int8 (or when the source was QDQ / QLinear int8). */
  dtype: GraphDType;
  nodes: GraphNode[];
  tensors: Record<string, GraphTensor>;
  inputs: string[];
  outputs: string[];
  /** True once BN is folded and activations fused (see `deploymentGraph`). */
  deployed?: boolean;
}

/** Element count of a shape. */
export function numElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes per element of a tensor dtype. */
export function bytesPerElement(dtype: TensorDType): number {
  return dtype === 'int8' ? 1 : 4;
}

/** Bytes of an activation tensor. */
export function tensorBytes(t: GraphTensor): number {
  return numElements(t.shape) * bytesPerElement(t.dtype);
}

/** Output elements of a node (per-output overheads in the cost model scale with this). */
export function outputElements(node: GraphNode): number {
  return numElements(node.outputShape);
}

/** Ops with weights and MACs: the ones quantization, pruning and the cost model treat as "layers". */
export function isMacOp(op: OpKind): op is 'conv2d' | 'depthwiseConv2d' | 'dense' {
  return op === 'conv2d' || op === 'depthwiseConv2d' || op === 'dense';
}

/** Activation ops that a deployment tool fuses into the preceding conv/dense/add. */
export function isActivationOp(op: OpKind): op is 'relu' | 'relu6' | 'sigmoid' | 'tanh' {
  return op === 'relu' || op === 'relu6' || op === 'sigmoid' || op === 'tanh';
}

/** Totals over a graph. */
export function graphTotals(g: LayerGraph): { params: number; macs: number; nodes: number } {
  let params = 0;
  let macs = 0;
  for (const n of g.nodes) {
    params += n.params;
    macs += n.macs;
  }
  return { params, macs, nodes: g.nodes.length };
}
