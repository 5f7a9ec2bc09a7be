/**
 * From a trained tfjs LayersModel to its deployment form with weights: the layer graph of src/graph (so the cost
 * simulator, the exporter and the C generator read the same nodes), BN folded into the preceding conv/dense and
 * activations fused by `deploymentGraph`, and the folded float weights carried alongside, keyed by node name.
 */
import type * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';
import { deploymentGraph } from '../graph/deploy';
import { graphFromLayersModel } from '../graph/tfjs';
import type { GraphNode, LayerGraph } from '../graph/types';
import { isMacOp, numElements } from '../graph/types';
import type { DeployedModel, FloatWeights } from './types';

/** The weights of one tfjs layer by role ('kernel', 'bias', 'gamma', 'moving_mean', 'depthwise_kernel', …). */
type LayerWeights = Map<string, Float32Array>;

function layerWeights(layer: tf.layers.Layer): LayerWeights {
  const m: LayerWeights = new Map();
  for (const v of layer.weights) {
    // originalName is the un-uniquified 'layer/kernel' (name may read 'layer/kernel_1' when names repeat).
    const full = (v as unknown as { originalName?: string }).originalName ?? v.name;
    const role = full.slice(full.lastIndexOf('/') + 1).replace(/_\d+$/, '');
    m.set(role, Float32Array.from(v.read().dataSync() as Float32Array));
  }
  return m;
}

/**
 * graphFromLayersModel, tolerating a known slip in src/graph/tfjs.ts: it matches the tfjs class 'Activation' under the
 * name 'ActivationKind', so models with Activation layers (every builder in src/models) fail there. When that happens
 * we retry with a read-only view of the model whose Activation layers report that name. Remove once fixed upstream.
 */
export function layerGraphOf(model: tf.LayersModel): LayerGraph {
  try {
    return graphFromLayersModel(model);
  } catch (err) {
    const hasActivation = model.layers.some((l) => l.getClassName() === 'Activation');
    if (!hasActivation) throw err;
    const layers = model.layers.map((l) =>
      l.getClassName() === 'Activation'
        ? new Proxy(l, { get: (t, p) => (p === 'getClassName' ? () => 'ActivationKind' : Reflect.get(t, p, t)) })
        : l,
    );
    const view = new Proxy(model, { get: (t, p) => (p === 'layers' ? layers : Reflect.get(t, p, t)) });
    return graphFromLayersModel(view);
  }
}

function bnScaleOffset(w: LayerWeights, c: number, eps: number, where: string): { scale: Float32Array; offset: Float32Array } {
  const mean = w.get('moving_mean');
  const variance = w.get('moving_variance');
  if (!mean || !variance) throw new InputError(`BatchNormalization '${where}' has no moving statistics; train the model before quantizing`);
  const gamma = w.get('gamma');
  const beta = w.get('beta');
  const scale = new Float32Array(c);
  const offset = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const s = (gamma ? gamma[i] : 1) / Math.sqrt(variance[i] + eps);
    scale[i] = s;
    offset[i] = (beta ? beta[i] : 0) - mean[i] * s;
  }
  return { scale, offset };
}

/** Deployment form of a tfjs model: deployed float32 graph plus folded weights per node. */
export function deployModel(model: tf.LayersModel): DeployedModel {
  const graph = layerGraphOf(model);
  const dep = deploymentGraph(graph, 'float32');
  const layerByName = new Map<string, tf.layers.Layer>();
  for (const l of model.layers) layerByName.set(l.name, l);
  const origByName = new Map<string, GraphNode>();
  const producer = new Map<string, GraphNode>();
  const consumers = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) {
    origByName.set(n.name, n);
    for (const t of n.outputs) producer.set(t, n);
    for (const t of n.inputs) consumers.set(t, [...(consumers.get(t) ?? []), n]);
  }
  const weightsOfLayer = (name: string): LayerWeights => {
    const l = layerByName.get(name) ?? layerByName.get(name.replace(/\/(depthwise|pointwise)$/, ''));
    if (!l) throw new InputError(`graph node '${name}' has no tfjs layer of that name; quantize the model it was built from`);
    return layerWeights(l);
  };
  const bnOf = (n: GraphNode) => {
    const c = n.outputShape[n.outputShape.length - 1];
    return bnScaleOffset(weightsOfLayer(n.name), c, n.attrs.epsilon ?? 1e-3, n.name);
  };

  const weights: Record<string, FloatWeights> = {};
  for (const d of dep.nodes) {
    if (d.op === 'batchNorm') {
      const { scale, offset } = bnOf(origByName.get(d.name)!);
      weights[d.name] = { weights: scale, bias: offset };
      continue;
    }
    if (!isMacOp(d.op)) continue;
    const o = origByName.get(d.name);
    if (!o) throw new InputError(`deployed node '${d.name}' is not in the model's graph`);
    const lw = weightsOfLayer(d.name);
    const isSep = d.name.endsWith('/depthwise') || d.name.endsWith('/pointwise');
    let kernel = d.name.endsWith('/depthwise') ? lw.get('depthwise_kernel') : d.name.endsWith('/pointwise') ? lw.get('pointwise_kernel') : lw.get(d.op === 'depthwiseConv2d' ? 'depthwise_kernel' : 'kernel');
    if (!kernel) throw new InputError(`layer '${d.name}' has no kernel weights`);
    kernel = Float32Array.from(kernel);
    const cout = d.outputShape[d.outputShape.length - 1];
    const srcBias = o.useBias ? (isSep && d.name.endsWith('/depthwise') ? undefined : lw.get('bias')) : undefined;
    let bias: Float32Array = srcBias ? Float32Array.from(srcBias) : new Float32Array(cout);

    // BatchNorms folded backward: walk the original chain from this node's output to the deployed output.
    let t = o.outputs[0];
    for (let guard = 0; t !== d.outputs[0] && guard < 8; guard++) {
      const next = (consumers.get(t) ?? [])[0];
      if (!next) break;
      if (next.op === 'batchNorm') {
        const { scale, offset } = bnOf(next);
        for (let i = 0; i < kernel.length; i++) kernel[i] *= scale[i % cout];
        for (let c = 0; c < cout; c++) bias[c] = bias[c] * scale[c] + offset[c];
      }
      t = next.outputs[0];
    }
    // A BatchNorm folded forward (input normalisation before a 'valid' conv/dense): W' = W·s[cin], b' = b + Σ W·t[cin].
    if (d.inputs[0] !== o.inputs[0]) {
      const bn = producer.get(o.inputs[0]);
      if (bn && bn.op === 'batchNorm') {
        const { scale, offset } = bnOf(bn);
        const cin = scale.length;
        const extra = new Float64Array(cout);
        for (let i = 0; i < kernel.length; i++) {
          const ci = Math.floor(i / cout) % cin;
          extra[i % cout] += kernel[i] * offset[ci];
          kernel[i] *= scale[ci];
        }
        bias = bias.map((b, c) => b + extra[c]);
      }
    }
    if (numElements(d.weightShapes[0]) !== kernel.length) {
      throw new InputError(`layer '${d.name}': kernel has ${kernel.length} values, graph expects [${d.weightShapes[0]}]`);
    }
    weights[d.name] = { weights: kernel, bias: d.useBias ? bias : undefined };
  }
  return { name: model.name, graph: dep, weights };
}
