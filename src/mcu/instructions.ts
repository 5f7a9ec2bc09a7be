/**
 * Instruction-count model of tinylab's generated C kernels (src/export/c), fitted to instructions counted under
 * QEMU (bench:codegen, src/mcu/instruction-costs.json). Per kernel family, instructions ≈ coefficients · features,
 * where the features are the work the kernel's loops actually execute (padding taps skipped by the kernels are not
 * counted) — MACs, the inner-loop entries (taps), outputs, and one per call. Cycles are instructions times an
 * *estimated* cycles-per-instruction per core: QEMU counts instructions, not cycles.
 *
 * This prices the generated C, not CMSIS-NN/TFLM (that is cost.ts / calibration.json).
 */
import { InputError } from '../common/errors';
import type { GraphNode, LayerGraph } from '../graph/types';
import { numElements } from '../graph/types';
import costData from './instruction-costs.json';

export type KernelFamily = 'conv' | 'depthwise' | 'dense' | 'maxpool' | 'avgpool' | 'gap' | 'add' | 'softmax' | 'lut' | 'copy';

/** Feature names per family, in coefficient order (the last, 'calls', is 1 per layer). */
export const FAMILY_FEATURES: Record<KernelFamily, string[]> = {
  conv: ['macs', 'taps', 'outputs', 'calls'],
  depthwise: ['macs', 'outputs', 'calls'],
  dense: ['macs', 'outputs', 'calls'],
  maxpool: ['window', 'outputs', 'calls'],
  avgpool: ['window', 'outputs', 'calls'],
  gap: ['inputs', 'outputs', 'calls'],
  add: ['outputs', 'calls'],
  softmax: ['outputs', 'calls'],
  lut: ['outputs', 'calls'],
  copy: ['bytes', 'calls'],
};

export interface InstructionCosts {
  description: string;
  method: string;
  fittedOn: string[];
  heldOut: string[];
  /** Per core ('cortex-m4' …), per family: coefficients in FAMILY_FEATURES order. */
  cores: Record<string, Partial<Record<KernelFamily, number[]>>>;
  cyclesPerInstruction: Record<string, { value: number; about: string }>;
  /** Held-out error when the table was written (per-layer, layers above the timing granularity). */
  heldOutError?: Record<string, { maxPct: number; meanPct: number; layers: number }>;
  /**
   * Code bytes of the generated C per core, from linker maps: each kernel function's .text, model_invoke as
   * base + perLayer x (layers with code), and the library code pulled in: newlib's memcpy always, libgcc's 64-bit
   * division only by the int8 softmax (its one int64 division).
   */
  codeBytes?: Record<string, { kernels: Record<string, number>; invokeBase: number; invokePerLayer: number; library: { always: number; softmax: number } }>;
}

export const INSTRUCTION_COSTS: InstructionCosts = costData as InstructionCosts;

/** Same padding rule as the engine and the C generator. */
function padBefore(size: number, out: number, k: number, s: number, d: number, p: GraphNode['attrs']['padding'], axis: 0 | 1): number {
  if (p === undefined || p === 'valid') return 0;
  if (p === 'same') return Math.floor(Math.max((out - 1) * s + (k - 1) * d + 1 - size, 0) / 2);
  return axis === 0 ? p[0] : p[1];
}

/** Σ over outputs of the kernel positions that land inside the input (what the C loops execute on one axis). */
function validTaps(size: number, out: number, k: number, s: number, d: number, pad: number): number {
  let n = 0;
  for (let o = 0; o < out; o++) for (let j = 0; j < k; j++) {
    const i = o * s - pad + j * d;
    if (i >= 0 && i < size) n++;
  }
  return n;
}

/** The kernel family and features of a node as the generated C runs it; undefined for in-place (no code) nodes. */
export function kernelWork(node: GraphNode): { family: KernelFamily; features: number[] } | undefined {
  if (node.inPlace) return undefined;
  const outputs = numElements(node.outputShape.slice(1));
  const window = (kh: number, kw: number, sh: number, sw: number, dh: number, dw: number) => {
    const [, H, W] = node.inputShapes[0];
    const [, OH, OW] = node.outputShape;
    const vy = validTaps(H, OH, kh, sh, dh, padBefore(H, OH, kh, sh, dh, node.attrs.padding, 0));
    const vx = validTaps(W, OW, kw, sw, dw, padBefore(W, OW, kw, sw, dw, node.attrs.padding, 1));
    return vy * vx;
  };
  switch (node.op) {
    case 'conv2d':
    case 'depthwiseConv2d': {
      const [kh, kw] = node.weightShapes[0];
      const [sh, sw] = node.attrs.strides ?? [1, 1];
      const [dh, dw] = node.attrs.dilations ?? [1, 1];
      const C = node.inputShapes[0][3];
      const CO = node.outputShape[3];
      const taps = window(kh, kw, sh, sw, dh, dw) * CO;
      if (node.op === 'depthwiseConv2d') return { family: 'depthwise', features: [taps, outputs, 1] };
      return { family: 'conv', features: [taps * C, taps, outputs, 1] };
    }
    case 'dense': {
      const K = node.weightShapes[0][0];
      return { family: 'dense', features: [outputs * K, outputs, 1] };
    }
    case 'maxPool':
    case 'avgPool': {
      const [kh, kw] = node.attrs.kernel ?? [2, 2];
      const [sh, sw] = node.attrs.strides ?? [kh, kw];
      const w = window(kh, kw, sh, sw, 1, 1) * node.outputShape[3];
      return { family: node.op === 'maxPool' ? 'maxpool' : 'avgpool', features: [w, outputs, 1] };
    }
    case 'globalMaxPool':
      return { family: 'maxpool', features: [numElements(node.inputShapes[0].slice(1)), outputs, 1] };
    case 'globalAvgPool':
      return { family: 'gap', features: [numElements(node.inputShapes[0].slice(1)), outputs, 1] };
    case 'add':
      return { family: 'add', features: [outputs, 1] };
    case 'softmax':
      return { family: 'softmax', features: [outputs, 1] };
    case 'reshape':
    case 'flatten':
      return { family: 'copy', features: [outputs, 1] };
    default:
      return { family: 'lut', features: [outputs, 1] };
  }
}

/** The kernel function (in kernels.c) a node runs, undefined for in-place nodes and plain copies. */
export function kernelFunction(node: GraphNode): string | undefined {
  const w = kernelWork(node);
  if (!w || w.family === 'copy') return undefined;
  return { conv: 'tl_conv2d', depthwise: 'tl_depthwise', dense: 'tl_dense', maxpool: 'tl_maxpool', avgpool: 'tl_avgpool', gap: 'tl_gap', add: 'tl_add', softmax: 'tl_softmax', lut: 'tl_lut' }[w.family];
}

/** Predicted code bytes (flash) of the generated C (scalar kernels) for a deployed int8 graph on a core. */
export function predictGeneratedCodeBytes(graph: LayerGraph, core: string, costs: InstructionCosts = INSTRUCTION_COSTS): number {
  const c = costs.codeBytes?.[core];
  if (!c) throw new InputError(`no generated-code sizes for core '${core}'; known: ${Object.keys(costs.codeBytes ?? {}).join(', ')} (run npm run bench:codegen -- --write)`);
  const fns = new Set<string>(['tl_mbqm']);
  let layers = 0;
  for (const n of graph.nodes) {
    if (n.inPlace) continue;
    layers++;
    const f = kernelFunction(n);
    if (f) fns.add(f);
  }
  const softmax = graph.nodes.some((n) => n.op === 'softmax');
  let bytes = c.invokeBase + c.invokePerLayer * layers + c.library.always + (softmax ? c.library.softmax : 0);
  // A kernel no fit model used (e.g. tl_lut) is priced as the largest measured one: an over- rather than under-estimate.
  // tl_mbqm is the exception: gcc inlines the single-rounding requantiser into every kernel, so the maps of the fit
  // models show no function of its own, and its bytes are already inside the kernels'.
  const largest = Math.max(0, ...Object.values(c.kernels));
  for (const f of fns) bytes += c.kernels[f] ?? (f === 'tl_mbqm' ? 0 : largest);
  return Math.round(bytes);
}

export interface LayerInstructions {
  name: string;
  op: string;
  family: KernelFamily | 'none';
  instructions: number;
  /** instructions × the core's estimated cycles per instruction. */
  estimatedCycles: number;
}

function coreCosts(core: string, costs: InstructionCosts): Partial<Record<KernelFamily, number[]>> {
  const c = costs.cores[core];
  if (!c) throw new InputError(`no instruction costs for core '${core}'; fitted cores: ${Object.keys(costs.cores).join(', ')} (run npm run bench:codegen -- --write to fit)`);
  return c;
}

/** Predicted instructions of one node of a deployed int8 graph on a core. */
export function predictInstructions(node: GraphNode, core: string, costs: InstructionCosts = INSTRUCTION_COSTS): number {
  const w = kernelWork(node);
  if (!w) return 0;
  const k = coreCosts(core, costs)[w.family];
  if (!k) throw new InputError(`no fitted '${w.family}' kernel costs for ${core} (layer '${node.name}'); rerun bench:codegen -- --write with a model that uses ${node.op}`);
  return Math.max(0, w.features.reduce((s, f, i) => s + f * (k[i] ?? 0), 0));
}

/** Per-layer predicted instructions and estimated cycles of the generated C for a deployed int8 graph. */
export function estimateGeneratedC(graph: LayerGraph, core: string, costs: InstructionCosts = INSTRUCTION_COSTS): { layers: LayerInstructions[]; instructions: number; estimatedCycles: number } {
  const cpi = costs.cyclesPerInstruction[core]?.value;
  if (cpi === undefined) throw new InputError(`no cycles-per-instruction estimate for core '${core}'; known: ${Object.keys(costs.cyclesPerInstruction).join(', ')}`);
  const layers = graph.nodes.map((n) => {
    const instructions = predictInstructions(n, core, costs);
    return { name: n.name, op: n.op, family: kernelWork(n)?.family ?? ('none' as const), instructions, estimatedCycles: instructions * cpi };
  });
  const instructions = layers.reduce((s, l) => s + l.instructions, 0);
  return { layers, instructions, estimatedCycles: instructions * cpi };
}
