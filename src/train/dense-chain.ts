/**
 * The training loop's fast path for dense chains (src/backend/dense-chain.ts does the maths): a model that is a
 * single chain input → Dense / BatchNormalization / ReLU … → output, trained with the MSE loss on the wasm backend,
 * takes one TinylabDenseChainStep kernel call per batch for its forward pass, loss, every gradient and the BatchNorm
 * moving statistics, then the optimizer's ordinary applyGradients. The generic path (tape over layers.apply) spends
 * most of such a step in tfjs engine bookkeeping (~640 kernel calls, ~200 saved clones per autoencoder step).
 *
 * The model stays an ordinary LayersModel: its variables are read and assigned in place, so export, quantisation and
 * inference see the same layers and weights. Anything this does not recognise returns null from
 * recogniseDenseChain and trains through the generic path: other layer kinds, shared layers or branches,
 * regularisers, frozen layers, widths that are not multiples of 4, other backends.
 */
import * as tf from '@tensorflow/tfjs';
import { DENSE_CHAIN_STEP, DenseChainOp, DenseChainPlan, denseChainSupported } from '../backend/dense-chain';

export interface DenseChain {
  plan: DenseChainPlan;
  /** The loop's trainable variables (model.trainableWeights order); gradients come back in this order. */
  variables: tf.Variable[];
  /** BatchNorm moving mean and variance variables, per batchnorm op in order (mean, variance, mean, …). */
  movingStats: tf.Variable[];
  /** Output width (the loss needs targets of batch × outWidth values). */
  outWidth: number;
}

const isNone = (v: unknown) => v === null || v === undefined;

/** A layer's weight by its role ('kernel', 'gamma', …). originalName: `name` gets a `_1` suffix when reused. */
function weightBySuffix(layer: tf.layers.Layer, suffix: string): tf.LayerVariable | undefined {
  return layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`));
}

/** Layers of a single-input, single-output model if they form one unbranched chain, else null. */
function chainLayers(model: tf.LayersModel): tf.layers.Layer[] | null {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return null;
  let prev: tf.SymbolicTensor = model.inputs[0];
  const out: tf.layers.Layer[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const nodes = layer.inboundNodes;
    if (nodes.length !== 1 || nodes[0].inputTensors.length !== 1 || nodes[0].inputTensors[0] !== prev) return null;
    const o = layer.output;
    if (Array.isArray(o)) return null;
    prev = o;
    out.push(layer);
  }
  return prev === model.outputs[0] && out.length > 0 ? out : null;
}

/**
 * The fast-path plan for `model` trained on `variables` (the loop's list, model.trainableWeights order), or null when
 * the model is not a chain this handles or the active backend is not wasm with SIMD.
 */
export function recogniseDenseChain(model: tf.LayersModel, variables: tf.Variable[]): DenseChain | null {
  if (tf.getBackend() !== 'wasm' || !tf.getKernel(DENSE_CHAIN_STEP, 'wasm') || !denseChainSupported(tf.backend())) return null;
  const layers = chainLayers(model);
  if (!layers) return null;
  const inShape = model.inputs[0].shape;
  if (inShape.length !== 2 || typeof inShape[1] !== 'number' || inShape[1] % 4 !== 0) return null;
  // Regularisation losses (model.fit adds them; the generic loop does too): not computed here.
  const regs = tf.tidy(() => (model as unknown as { calculateLosses?: () => tf.Scalar[] }).calculateLosses?.().length ?? 0);
  if (regs > 0) return null;

  const movingStats: tf.Variable[] = [];
  const ops: DenseChainOp[] = [];
  const used = new Set<number>();
  const index = (w: tf.LayerVariable | undefined): number => {
    // Trainable weights must be in the loop's list (a frozen layer's are not: then fall back).
    const v = w?.read();
    const i = v ? variables.indexOf(v as tf.Variable) : -1;
    if (i >= 0) used.add(i);
    return i;
  };
  const stat = (w: tf.LayerVariable | undefined): number => {
    if (!w || w.trainable) return -1;
    movingStats.push(w.read() as tf.Variable);
    return variables.length + movingStats.length - 1;
  };
  let width = inShape[1];
  for (const layer of layers) {
    if (!layer.trainable || layer.weights.some((w) => w.dtype !== 'float32')) return null;
    const cfg = layer.getConfig();
    const cls = layer.getClassName();
    if (cls === 'Dense') {
      if (!['linear', 'relu'].includes(cfg.activation as string)) return null;
      if (!isNone(cfg.kernelRegularizer) || !isNone(cfg.biasRegularizer) || !isNone(cfg.activityRegularizer)) return null;
      const kernel = index(weightBySuffix(layer, 'kernel'));
      const biasVar = weightBySuffix(layer, 'bias');
      const bias = biasVar ? index(biasVar) : -1;
      const units = cfg.units as number;
      if (kernel < 0 || (biasVar && bias < 0) || units % 4 !== 0) return null;
      ops.push({ kind: 'dense', kernel, bias, relu: cfg.activation === 'relu' });
      width = units;
    } else if (cls === 'BatchNormalization') {
      if (!(cfg.axis === -1 || cfg.axis === 1) || cfg.center !== true || cfg.scale !== true) return null;
      if (!isNone(cfg.gammaRegularizer) || !isNone(cfg.betaRegularizer)) return null;
      const gamma = index(weightBySuffix(layer, 'gamma'));
      const beta = index(weightBySuffix(layer, 'beta'));
      const movingMean = stat(weightBySuffix(layer, 'moving_mean'));
      const movingVariance = stat(weightBySuffix(layer, 'moving_variance'));
      if (gamma < 0 || beta < 0 || movingMean < 0 || movingVariance < 0) return null;
      ops.push({ kind: 'batchnorm', gamma, beta, movingMean, movingVariance, epsilon: cfg.epsilon as number, momentum: cfg.momentum as number });
    } else if (cls === 'Activation') {
      if (cfg.activation === 'relu') ops.push({ kind: 'relu' });
      else if (cfg.activation !== 'linear') return null;
    } else if (cls === 'ReLU') {
      if (!isNone(cfg.maxValue)) return null;
      ops.push({ kind: 'relu' });
    } else {
      return null;
    }
  }
  // Every trainable variable must get its gradient from the chain.
  if (used.size !== variables.length) return null;
  return { plan: { ops, trainable: variables.length }, variables, movingStats, outWidth: width };
}

/** Can this batch take the fast path (right backend, target of the output's size)? */
export function denseChainApplies(chain: DenseChain, x: tf.Tensor, target: tf.Tensor): boolean {
  return (
    tf.getBackend() === 'wasm' && x.rank === 2 && x.dtype === 'float32' && target.dtype === 'float32' &&
    target.size === x.shape[0] * chain.outWidth && x.shape[0] > 0
  );
}

export interface DenseChainResult {
  loss: number;
  /** Gradients, one per chain.variables entry. */
  grads: tf.Tensor[];
  /** New moving statistics, one per chain.movingStats entry (not yet assigned). */
  movingStats: tf.Tensor[];
}

/** Loss, gradients and new moving statistics for one batch (the caller disposes the tensors). */
export function denseChainGradients(chain: DenseChain, x: tf.Tensor, target: tf.Tensor): DenseChainResult {
  const inputs: Record<string, tf.Tensor> = { x, target };
  chain.variables.forEach((v, i) => (inputs[`p${i}`] = v));
  chain.movingStats.forEach((v, i) => (inputs[`p${chain.variables.length + i}`] = v));
  // The plan travels as a kernel attribute (attrs are passed through to the kernel untouched).
  const outs = tf.engine().runKernel(DENSE_CHAIN_STEP, inputs, { plan: chain.plan as unknown as tf.NamedAttrMap[string] }) as tf.Tensor[];
  const n = chain.variables.length;
  const loss = outs[0].dataSync()[0];
  outs[0].dispose();
  return { loss, grads: outs.slice(1, 1 + n), movingStats: outs.slice(1 + n) };
}

let stepsRun = 0;

/**
 * One training step: gradients from the fused kernel, the optimizer's applyGradients (as Optimizer.minimize does,
 * in the variables' order), the moving statistics assigned as tfjs-layers' BatchNormalization does. Returns the loss.
 */
export function denseChainStep(chain: DenseChain, x: tf.Tensor, target: tf.Tensor, optimizer: tf.Optimizer): number {
  const r = denseChainGradients(chain, x, target);
  try {
    optimizer.applyGradients(chain.variables.map((v, i) => ({ name: v.name, tensor: r.grads[i] })));
    chain.movingStats.forEach((v, i) => v.assign(r.movingStats[i]));
  } finally {
    tf.dispose([...r.grads, ...r.movingStats]);
  }
  stepsRun++;
  return r.loss;
}

/** How many fast-path steps ran in this process (tests, benchmarks). */
export function denseChainStepsRun(): number {
  return stepsRun;
}
