/**
 * Rebuilding a tfjs LayersModel layer by layer with the functional API, so compression can replace one layer by two
 * (projection) or change a layer's width (structured pruning) and still hand back a normal tf.LayersModel that
 * trains, quantizes, exports and prices like any other.
 *
 * Unchanged layers are re-created from their own config (class constructor + getConfig()) and get copies of their
 * weights; the caller decides, per layer, to substitute something else.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';

/** What a substitution hook returns for one old layer: the new output symbolic tensor. */
export type LayerSubstitute = (inputs: tf.SymbolicTensor[], old: tf.layers.Layer) => tf.SymbolicTensor;

/** Per old layer name: undefined to copy it unchanged, or a function that builds its replacement. */
export type SubstitutionPlan = (layer: tf.layers.Layer) => LayerSubstitute | undefined;

interface InboundNode {
  inputTensors: tf.SymbolicTensor[];
  outputTensors: tf.SymbolicTensor[];
}

/** tfjs-layers keeps the graph links on `inboundNodes`, which its public typings do not expose. */
export function layerInboundNode(layer: tf.layers.Layer): InboundNode | undefined {
  return (layer as unknown as { inboundNodes: InboundNode[] }).inboundNodes[0];
}

/** Layers that consume the output of `layer` in `model` (by their first inbound node). */
export function layerConsumers(model: tf.LayersModel, layer: tf.layers.Layer): tf.layers.Layer[] {
  const out = layer.output as tf.SymbolicTensor;
  return model.layers.filter((l) => {
    const n = layerInboundNode(l);
    return n !== undefined && l !== layer && n.inputTensors.some((t) => t === out);
  });
}

/** A fresh layer with the same class and config as `layer` (weights not copied). */
export function cloneLayer(layer: tf.layers.Layer, overrides: Record<string, unknown> = {}): tf.layers.Layer {
  // Every tfjs layer class takes its own (serialised) config in the constructor; initializers and regularizers
  // given as {className, config} dicts are deserialised there.
  const Ctor = layer.constructor as unknown as new (cfg: Record<string, unknown>) => tf.layers.Layer;
  return new Ctor({ ...layer.getConfig(), ...overrides });
}

/**
 * Rebuild `model` through the functional API. For every layer in topological order, `plan(layer)` may return a
 * substitute; otherwise the layer is cloned and its weights are copied. Models whose layers are used more than once
 * (shared layers) are not supported.
 */
export function rebuildModel(model: tf.LayersModel, plan: SubstitutionPlan, name = model.name): tf.LayersModel {
  const map = new Map<tf.SymbolicTensor, tf.SymbolicTensor>();
  const inputs: tf.SymbolicTensor[] = [];
  for (const inp of model.inputs) {
    const ni = tf.input({ shape: inp.shape.slice(1) as number[], name: inp.name.replace(/[:/].*$/, '') });
    map.set(inp, ni);
    inputs.push(ni);
  }
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const nodes = (layer as unknown as { inboundNodes: InboundNode[] }).inboundNodes;
    if (nodes.length !== 1) {
      throw new InputError(`layer '${layer.name}' is used ${nodes.length} times (shared layer); compression needs each layer applied once`);
    }
    const ins = nodes[0].inputTensors.map((t) => {
      const m = map.get(t);
      if (!m) throw new InputError(`layer '${layer.name}' reads a tensor outside the model; compression supports plain functional/Sequential models`);
      return m;
    });
    const sub = plan(layer);
    let out: tf.SymbolicTensor;
    if (sub) out = sub(ins, layer);
    else {
      const nl = cloneLayer(layer);
      out = nl.apply(ins.length === 1 ? ins[0] : ins) as tf.SymbolicTensor;
      const w = layer.getWeights();
      if (w.length) nl.setWeights(w);
    }
    map.set(nodes[0].outputTensors[0], out);
  }
  const outputs = model.outputs.map((o) => {
    const m = map.get(o);
    if (!m) throw new InputError(`model '${model.name}': output '${o.name}' could not be rebuilt`);
    return m;
  });
  return tf.model({ inputs, outputs, name });
}

/** Number of trainable values (what "learnables" means in reports). */
export function learnableCount(model: tf.LayersModel): number {
  let n = 0;
  for (const w of model.trainableWeights) n += w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
  return n;
}
