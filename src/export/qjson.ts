/**
 * The quantized graph as plain JSON, for the C generator (and any other tool): the deployed layer graph, every
 * activation tensor's scale and zero point, and per node the int8 weights, int32 biases, per-channel weight scales,
 * Q31 multipliers and shifts, clamps and lookup tables, as number arrays. `quantizedModelFromJson` reads it back so
 * the integer engine can run a file without the tfjs model.
 */
import { InputError } from '../common/errors';
import type { GraphNode, LayerGraph } from '../graph/types';
import { finalizeGraph } from '../graph/builder';
import type { FloatWeights, QParams, QuantizedModel, QuantizedNode, RequantRounding } from '../quantize/types';
import { REQUANT_ROUNDINGS } from '../quantize/types';

export const QJSON_FORMAT = 'tinylab-int8-graph';
export const QJSON_VERSION = 1;

export interface QuantizedJsonNode extends Omit<QuantizedNode, 'weights' | 'weightScales' | 'bias' | 'multipliers' | 'shifts' | 'lut' | 'expLut'> {
  op: string;
  inputs: string[];
  outputs: string[];
  weights?: number[];
  weightShape?: number[];
  weightScales?: number[];
  bias?: number[];
  multipliers?: number[];
  shifts?: number[];
  lut?: number[];
  expLut?: number[];
  /** Float weights of nodes kept float. */
  floatWeights?: number[];
  floatBias?: number[];
}

export interface QuantizedJson {
  format: typeof QJSON_FORMAT;
  version: number;
  producer: string;
  name: string;
  method: string;
  calibrationSamples: number;
  output: 'int8' | 'float';
  /** Requantisation rounding (QuantizedModel.rounding); absent in files written before it existed: 'double'. */
  rounding?: RequantRounding;
  inputs: string[];
  outputs: string[];
  /** Activation tensors: shape (NHWC, batch 1), scale, zero point (real = scale · (q − zeroPoint)). */
  tensors: Record<string, { shape: number[]; scale: number; zeroPoint: number; min: number; max: number }>;
  /** The deployed graph nodes (execution order), as src/graph describes them. */
  graph: GraphNode[];
  /** Integer parameters per node, same order as `graph`. */
  nodes: QuantizedJsonNode[];
}

const arr = (a: ArrayLike<number> | undefined): number[] | undefined => (a ? Array.from(a) : undefined);

export function toQuantizedJson(qm: QuantizedModel): QuantizedJson {
  const g = qm.graph;
  const tensors: QuantizedJson['tensors'] = {};
  for (const [name, t] of Object.entries(g.tensors)) {
    const q = qm.tensors[name];
    tensors[name] = { shape: t.shape, scale: q.scale, zeroPoint: q.zeroPoint, min: q.min, max: q.max };
  }
  const nodes = g.nodes.map((n): QuantizedJsonNode => {
    const qn = qm.nodes[n.name];
    const fw: FloatWeights = qn.keptFloat ? qm.float.weights[n.name] ?? {} : {};
    return {
      ...qn,
      op: n.op,
      inputs: n.inputs,
      outputs: n.outputs,
      weights: arr(qn.weights),
      weightShape: qn.weights ? n.weightShapes[0] : undefined,
      weightScales: arr(qn.weightScales),
      bias: arr(qn.bias),
      multipliers: arr(qn.multipliers),
      shifts: arr(qn.shifts),
      lut: arr(qn.lut),
      expLut: arr(qn.expLut),
      floatWeights: arr(fw.weights),
      floatBias: arr(fw.bias),
    };
  });
  return {
    format: QJSON_FORMAT,
    version: QJSON_VERSION,
    producer: 'tinylab',
    name: qm.name,
    method: qm.method,
    calibrationSamples: qm.calibrationSamples,
    output: qm.output,
    rounding: qm.rounding ?? 'double',
    inputs: g.inputs,
    outputs: g.outputs,
    tensors,
    graph: g.nodes,
    nodes,
  };
}

/** Read a quantized-graph JSON back into a QuantizedModel (float weights are the dequantized int8 ones). */
export function quantizedModelFromJson(json: QuantizedJson): QuantizedModel {
  if (!json || json.format !== QJSON_FORMAT) throw new InputError(`not a tinylab quantized graph (format '${String(json?.format)}'); export one with toQuantizedJson(qm)`);
  if (json.version > QJSON_VERSION) throw new InputError(`quantized graph version ${json.version} is newer than this tinylab reads (${QJSON_VERSION}); upgrade tinylab`);
  const rounding = json.rounding ?? 'double';
  if (!REQUANT_ROUNDINGS.includes(rounding)) throw new InputError(`quantized graph rounding '${String(rounding)}' is not one of ${REQUANT_ROUNDINGS.join(', ')}`);
  const mk = (dtype: 'int8' | 'float32'): LayerGraph =>
    finalizeGraph({ name: json.name, dtype, nodes: JSON.parse(JSON.stringify(json.graph)) as GraphNode[], inputs: json.inputs, outputs: json.outputs, inputShapes: json.inputs.map((t) => json.tensors[t].shape), deployed: true });
  const tensors: Record<string, QParams> = {};
  for (const [k, t] of Object.entries(json.tensors)) tensors[k] = { scale: t.scale, zeroPoint: t.zeroPoint, min: t.min, max: t.max };
  const nodes: Record<string, QuantizedNode> = {};
  const weights: Record<string, FloatWeights> = {};
  json.nodes.forEach((n, i) => {
    const name = json.graph[i].name;
    nodes[name] = {
      name,
      keptFloat: n.keptFloat,
      weights: n.weights ? Int8Array.from(n.weights) : undefined,
      weightScales: n.weightScales ? Float32Array.from(n.weightScales) : undefined,
      bias: n.bias ? Int32Array.from(n.bias) : undefined,
      multipliers: n.multipliers ? Int32Array.from(n.multipliers) : undefined,
      shifts: n.shifts ? Int32Array.from(n.shifts) : undefined,
      actMin: n.actMin,
      actMax: n.actMax,
      leftShift: n.leftShift,
      inputMultipliers: n.inputMultipliers,
      inputShifts: n.inputShifts,
      outputMultiplier: n.outputMultiplier,
      outputShift: n.outputShift,
      lut: n.lut ? Int8Array.from(n.lut) : undefined,
      expLut: n.expLut ? Int32Array.from(n.expLut) : undefined,
    };
    if (n.floatWeights) weights[name] = { weights: Float32Array.from(n.floatWeights), bias: n.floatBias ? Float32Array.from(n.floatBias) : undefined };
    else if (n.weights && n.weightScales) {
      const cout = n.weightScales.length;
      const sIn = json.tensors[n.inputs[0]].scale;
      weights[name] = {
        weights: Float32Array.from(n.weights, (q, k) => q * n.weightScales![k % cout]),
        bias: n.bias ? Float32Array.from(n.bias, (q, c) => q * sIn * n.weightScales![c]) : undefined,
      };
    }
  });
  return { name: json.name, graph: mk('int8'), float: { name: json.name, graph: mk('float32'), weights }, tensors, nodes, output: json.output, method: json.method as QuantizedModel['method'], calibrationSamples: json.calibrationSamples, rounding };
}
