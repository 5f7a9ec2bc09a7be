/**
 * Per-node costs: cycles (from the calibration table), weights flash bytes, scratch RAM. Pure arithmetic, no I/O.
 */
import type { GraphDType, GraphNode, OpKind } from '../graph/types';
import { numElements } from '../graph/types';
import type { CoreKind } from './boards';
import calibrationData from './calibration.json';

export type MacClass = 'conv' | 'depthwise' | 'dense';
export type ElementClass = 'eltwise' | 'pool' | 'transcendental' | 'copy';
export type RuntimeKind = 'cmsis-nn' | 'cubeai' | 'cubeai-legacy' | 'plumerai' | 'hale' | 'microtvm-native' | 'tflm-reference';

export interface CoreCosts {
  fitted: boolean;
  cyclesPerMac: Record<MacClass, number>;
  float32Factor: number;
}

export interface Calibration {
  description: string;
  fittedOn: string;
  cores: Record<CoreKind, CoreCosts>;
  cyclesPerElement: Record<ElementClass, number>;
  cyclesPerLayer: number;
  runtimes: Record<RuntimeKind, { factor: number; about: string }>;
  flash: { runtimeBytes: number; kernelCodeBytes: Partial<Record<OpKind, number>>; perLayerBytes: number; weightAlignment: number; about?: string };
  ram: { runtimeBytes: number; perLayerBytes: number; perTensorBytes: number; alignment: number; about?: string };
}

/** The calibration table shipped with tinylab (src/mcu/calibration.json). */
export const CALIBRATION: Calibration = calibrationData as Calibration;

export const RUNTIMES = Object.keys(CALIBRATION.runtimes) as RuntimeKind[];

/** Which MAC class a node's MACs are priced at (undefined: not a MAC op). */
export function macClass(n: GraphNode): MacClass | undefined {
  if (n.op === 'conv2d') return 'conv';
  if (n.op === 'depthwiseConv2d') return 'depthwise';
  if (n.op === 'dense') return 'dense';
  return undefined;
}

/** Element class and element count of a non-MAC node (pools read every input element; copies move the output). */
export function elementWork(n: GraphNode): { cls: ElementClass; elements: number } | undefined {
  const out = numElements(n.outputShape);
  const inp = n.inputShapes.length ? numElements(n.inputShapes[0]) : out;
  switch (n.op) {
    case 'add':
    case 'mul':
    case 'relu':
    case 'relu6':
    case 'leakyRelu':
    case 'hardSwish':
      return { cls: 'eltwise', elements: out };
    case 'batchNorm':
      return { cls: 'eltwise', elements: 2 * out };
    case 'maxPool':
    case 'avgPool':
      return { cls: 'pool', elements: out * (n.attrs.kernel ? n.attrs.kernel[0] * n.attrs.kernel[1] : 1) };
    case 'globalAvgPool':
    case 'globalMaxPool':
      return { cls: 'pool', elements: inp };
    case 'softmax':
    case 'sigmoid':
    case 'tanh':
    case 'elu':
    case 'swish':
      return { cls: 'transcendental', elements: out };
    case 'concat':
    case 'transpose':
    case 'pad':
      return { cls: 'copy', elements: out };
    default:
      return undefined;
  }
}

/** Cycles of one node on a core, for a dtype and runtime. In-place reshapes cost nothing. */
export function nodeCycles(n: GraphNode, core: CoreKind, dtype: GraphDType, runtime: RuntimeKind = 'cmsis-nn', cal: Calibration = CALIBRATION): number {
  if (n.inPlace) return 0;
  const c = cal.cores[core];
  let cycles = cal.cyclesPerLayer;
  const mc = macClass(n);
  if (mc) {
    cycles += n.macs * c.cyclesPerMac[mc];
    // The fused activation / requantisation pass over the outputs.
    cycles += numElements(n.outputShape) * cal.cyclesPerElement.eltwise * 0.25;
  } else {
    const w = elementWork(n);
    if (w) cycles += w.elements * cal.cyclesPerElement[w.cls];
  }
  if (dtype === 'float32') cycles *= c.float32Factor;
  return cycles * cal.runtimes[runtime].factor;
}

/**
 * Flash bytes of a node's constants: int8 weights (1 B) and int32 biases (4 B) when int8, 4 B each when float32,
 * each constant buffer padded to the alignment. Per-channel quantisation parameters (float32 scale + int32 zero point
 * per output channel) are returned separately: STM32Cube.AI and TFLM keep them in the model metadata, not the weights.
 */
export function nodeWeightBytes(n: GraphNode, dtype: GraphDType, cal: Calibration = CALIBRATION): { weights: number; quantParams: number } {
  const a = cal.flash.weightAlignment;
  let weights = 0;
  n.weightShapes.forEach((s, i) => {
    const isBias = n.useBias && i === n.weightShapes.length - 1;
    const bytes = numElements(s) * (dtype === 'int8' && !isBias ? 1 : 4);
    weights += Math.ceil(bytes / a) * a;
  });
  const channels = macClass(n) ? n.outputShape[n.outputShape.length - 1] : 0;
  return { weights, quantParams: dtype === 'int8' ? channels * 8 : 0 };
}

/**
 * Scratch RAM of a node. CMSIS-NN int8 buffer sizes: im2col of a k×k conv (2 columns of int16), the depthwise window
 * of non-3×3 kernels; none for 1×1 / dense. STM32Cube.AI's int8 dense additionally widens its input vector to int16
 * (2 B per input feature: the 1,536 B / 2,048 B arenas of the MLPerf autoencoder).
 */
export function nodeScratchBytes(n: GraphNode, dtype: GraphDType, runtime: RuntimeKind = 'cmsis-nn'): number {
  if (dtype !== 'int8') return 0;
  if (n.op === 'dense' && (runtime === 'cubeai' || runtime === 'cubeai-legacy')) return 2 * (n.inputShapes[0]?.[n.inputShapes[0].length - 1] ?? 0);
  const k = n.attrs.kernel ?? [1, 1];
  const cin = n.inputShapes[0]?.[n.inputShapes[0].length - 1] ?? 0;
  if (n.op === 'conv2d' && k[0] * k[1] > 1) return 4 * (cin / (n.attrs.groups ?? 1)) * k[0] * k[1];
  if (n.op === 'depthwiseConv2d' && !(k[0] === 3 && k[1] === 3)) return 2 * cin * k[0] * k[1];
  return 0;
}
