/**
 * deploymentGraph: the graph as a deployment tool (TFLite converter + TFLM, STM32Cube.AI) would run it:
 * - BatchNorm after a conv/depthwise/dense is folded into its weights and bias (the layer gains a bias);
 *   a BatchNorm before a 'valid' conv (an input normalisation) is folded forward into it; any other BN stays
 *   as a per-channel scale and offset (2·C params).
 * - ReLU/ReLU6 after a conv/depthwise/dense/add/BN is fused into it (sigmoid/tanh/softmax stay separate ops, as in
 *   TFLite where LOGISTIC/TANH/SOFTMAX are their own kernels).
 * - Explicit zero padding before a 'valid' conv/depthwise/pool is merged into that op's padding.
 * - Every activation tensor gets the deployment dtype (int8: int8 activations, int8 weights, int32 biases).
 */
import type { GraphDType, GraphNode, LayerGraph, Padding } from './types';
import { isActivationOp, isMacOp, numElements } from './types';
import { finalizeGraph } from './builder';

function cloneNode(n: GraphNode): GraphNode {
  return {
    ...n,
    inputs: [...n.inputs],
    outputs: [...n.outputs],
    inputShapes: n.inputShapes.map((s) => [...s]),
    outputShape: [...n.outputShape],
    weightShapes: n.weightShapes.map((s) => [...s]),
    attrs: { ...n.attrs },
  };
}

function recountParams(n: GraphNode): void {
  n.params = n.weightShapes.reduce((a, s) => a + numElements(s), 0);
}

function addBias(n: GraphNode): void {
  if (n.useBias) return;
  n.useBias = true;
  n.weightShapes.push([n.outputShape[n.outputShape.length - 1]]);
  recountParams(n);
}

export function deploymentGraph(graph: LayerGraph, dtype: GraphDType): LayerGraph {
  let nodes = graph.nodes.map(cloneNode);
  const outputs = new Set(graph.outputs);

  // 1) Fold BN / fuse activations backward into their producer: one pass in execution order with producer and
  //    consumer-count maps (a fused node's output becomes its producer's output, so chains conv→BN→ReLU collapse).
  const producer = new Map<string, GraphNode>();
  const readers = new Map<string, number>();
  for (const n of nodes) {
    for (const t of n.outputs) producer.set(t, n);
    for (const t of n.inputs) readers.set(t, (readers.get(t) ?? 0) + 1);
  }
  const removed = new Set<GraphNode>();
  for (const n of nodes) {
    const isBn = n.op === 'batchNorm';
    const isAct = n.op === 'relu' || n.op === 'relu6';
    if (!isBn && !isAct) continue;
    const p = producer.get(n.inputs[0]);
    if (!p || outputs.has(p.outputs[0]) || readers.get(p.outputs[0]) !== 1) continue;
    if (isBn && !(isMacOp(p.op) && p.activation === 'none')) continue;
    if (isAct && !((isMacOp(p.op) || p.op === 'add' || p.op === 'batchNorm') && p.activation === 'none')) continue;
    if (isBn) addBias(p);
    else p.activation = n.op as 'relu' | 'relu6';
    p.outputs = [...n.outputs];
    for (const t of n.outputs) producer.set(t, p);
    removed.add(n);
  }
  nodes = nodes.filter((q) => !removed.has(q));
  const consumersOf = (t: string) => nodes.filter((q) => q.inputs.includes(t));

  // 2) BN before a 'valid' conv: fold forward; other BNs deploy as scale+offset.
  for (const n of [...nodes]) {
    if (n.op !== 'batchNorm') continue;
    const cs = consumersOf(n.outputs[0]);
    const c = cs[0];
    if (cs.length === 1 && !outputs.has(n.outputs[0]) && (c.op === 'conv2d' || c.op === 'dense') && c.attrs.padding !== 'same') {
      c.inputs = c.inputs.map((t) => (t === n.outputs[0] ? n.inputs[0] : t));
      c.inputShapes = [n.inputShapes[0]];
      addBias(c);
      nodes = nodes.filter((q) => q !== n);
    } else {
      const ch = n.outputShape[n.outputShape.length - 1];
      n.weightShapes = [[ch], [ch]];
      recountParams(n);
    }
  }

  // 3) Merge explicit zero padding into a following 'valid' windowed op.
  for (const n of [...nodes]) {
    if (n.op !== 'pad' || !n.attrs.pads || n.attrs.pads.length !== 4) continue;
    const cs = consumersOf(n.outputs[0]);
    const c = cs[0];
    if (cs.length !== 1 || outputs.has(n.outputs[0])) continue;
    if (!(c.op === 'conv2d' || c.op === 'depthwiseConv2d' || c.op === 'maxPool' || c.op === 'avgPool')) continue;
    if (c.attrs.padding !== 'valid' && !Array.isArray(c.attrs.padding)) continue;
    const prev = Array.isArray(c.attrs.padding) ? c.attrs.padding : [0, 0, 0, 0];
    const p = n.attrs.pads;
    c.attrs.padding = [prev[0] + p[0], prev[1] + p[1], prev[2] + p[2], prev[3] + p[3]] as Padding;
    c.inputs = c.inputs.map((t) => (t === n.outputs[0] ? n.inputs[0] : t));
    c.inputShapes = [n.inputShapes[0]];
    nodes = nodes.filter((q) => q !== n);
  }

  // Activation ops left on their own (sigmoid/tanh/softmax, or relu after a multi-consumer tensor) stay as nodes.
  void isActivationOp;
  return finalizeGraph({
    name: graph.name,
    dtype,
    nodes,
    inputs: graph.inputs,
    outputs: graph.outputs,
    inputShapes: graph.inputs.map((t) => graph.tensors[t].shape),
    deployed: true,
  });
}
