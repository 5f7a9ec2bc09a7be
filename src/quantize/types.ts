/**
 * The quantized model: the deployed layer graph (src/graph, BN folded, activations fused) that the cost simulator
 * prices, plus what the graph deliberately does not hold — weight values and quantization parameters — keyed by node
 * and tensor name. The C generator, the ONNX exporter and the integer engine all read this one structure.
 */
import type { LayerGraph } from '../graph/types';

/** Float weights of one deployed node, in the graph's layouts (conv [kh,kw,cin,cout], depthwise [kh,kw,cin,mult],
 * dense [in,out], bias [cout]; a stand-alone batchNorm holds scale and offset vectors). */
export interface FloatWeights {
  weights?: Float32Array;
  bias?: Float32Array;
}

/** A model in deployment form with its float weights: what quantization starts from. */
export interface DeployedModel {
  name: string;
  /** Deployed float32 graph (nodes in execution order). */
  graph: LayerGraph;
  weights: Record<string, FloatWeights>;
}

export type CalibrationMethod = 'minmax' | 'percentile' | 'mse' | 'kl';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'mse', 'kl'];

/** Per-tensor asymmetric int8 quantization: real = scale · (q − zeroPoint). */
export interface QParams {
  scale: number;
  zeroPoint: number;
  /** The float range the parameters represent (after the calibration method chose it). */
  min: number;
  max: number;
  /** The observed float range over the calibration set. */
  observedMin?: number;
  observedMax?: number;
}

/** Integer parameters of one node, as an int8 kernel library consumes them. */
export interface QuantizedNode {
  name: string;
  /** Runs in float between a Dequantize and a Quantize (user's keepFloat, or a float softmax output). */
  keptFloat?: boolean;
  /** conv/depthwise/dense/batchNorm: int8 weights (symmetric, per output channel), same layout as the float ones. */
  weights?: Int8Array;
  weightScales?: Float32Array;
  /** int32 bias, scale inputScale · weightScale[c], zero point 0. */
  bias?: Int32Array;
  /** Per-output-channel requantisation: real multiplier inputScale·weightScale[c]/outputScale as Q31 + shift. */
  multipliers?: Int32Array;
  shifts?: Int32Array;
  /** Output clamp in the int8 domain (fused ReLU/ReLU6 included). */
  actMin?: number;
  actMax?: number;
  /** add/concat: per-input requantisation (TFLite ADD: inputs left-shifted by `leftShift` then scaled). */
  leftShift?: number;
  inputMultipliers?: number[];
  inputShifts?: number[];
  outputMultiplier?: number;
  outputShift?: number;
  /** Unary activations (sigmoid, tanh, stand-alone relu…): 256-entry table indexed by q + 128. */
  lut?: Int8Array;
  /** int8 softmax: exp table indexed by (max − q), Q16 fixed point; output scale 1/256, zero point −128. */
  expLut?: Int32Array;
}

export interface QuantizedModel {
  name: string;
  /** Deployed graph with dtype int8 (what `estimate(graph, board)` prices). */
  graph: LayerGraph;
  /** The float deployment form it was quantized from (for fake-quant simulation and reports). */
  float: DeployedModel;
  /** Quantization parameters of every activation tensor (graph inputs and node outputs). */
  tensors: Record<string, QParams>;
  /** Integer parameters per node name. */
  nodes: Record<string, QuantizedNode>;
  /** 'int8': the last softmax runs in int8 (scale 1/256); 'float': it runs in float on dequantized logits. */
  output: 'int8' | 'float';
  method: CalibrationMethod;
  calibrationSamples: number;
  /**
   * How requantisation rounds x·M·2^shift: 'single' rounds the exact 64-bit product once (TFLite's and CMSIS-NN's
   * single-rounding build option); 'double' is TFLite's default reference (high-mul, then shift, each rounded).
   * Absent (files from before the option): 'double'. See fixedpoint.ts for why single is the default.
   */
  rounding?: RequantRounding;
}

export const REQUANT_ROUNDINGS = ['single', 'double'] as const;
export type RequantRounding = (typeof REQUANT_ROUNDINGS)[number];
