/**
 * Parametrised model families, each returning a compiled-free tf.LayersModel whose last layer is
 * Dense(numClasses, softmax) (or, for the autoencoder, a linear reconstruction). `train()` and `predictLogits()` know
 * how to get the pre-softmax logits from that last layer, so distillation gets exact logits.
 * Every builder takes `seed` so initial weights are repeatable.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';

export type Activation = 'relu' | 'relu6' | 'elu' | 'tanh' | 'sigmoid' | 'swish' | 'linear';

let seedCounter = 0;
/** Seeded initialisers: each call derives a fresh seed so layers differ but the model is repeatable. */
class Init {
  private i = 0;
  constructor(private readonly seed: number | undefined) {}
  next(kind: 'glorot' | 'he' = 'glorot'): ReturnType<typeof tf.initializers.heNormal> {
    const seed = this.seed === undefined ? (Date.now() + seedCounter++ * 7919) % 2147483647 : this.seed * 1000 + this.i++;
    return kind === 'he' ? tf.initializers.heNormal({ seed }) : tf.initializers.glorotUniform({ seed });
  }
}

function act(a: Activation): tf.layers.Layer {
  if (a === 'relu6') return tf.layers.reLU({ maxValue: 6 });
  // tfjs-layers typing lists activation identifiers as a string union; ours is a subset.
  return tf.layers.activation({ activation: a as 'relu' });
}

function head(x: tf.SymbolicTensor, numClasses: number, init: Init, dropout = 0): tf.SymbolicTensor {
  let h = x;
  if (dropout > 0) h = tf.layers.dropout({ rate: dropout, seed: 1 }).apply(h) as tf.SymbolicTensor;
  return tf.layers
    .dense({ units: numClasses, activation: 'softmax', kernelInitializer: init.next(), name: 'logits' })
    .apply(h) as tf.SymbolicTensor;
}

function checkCommon(inputShape: number[], numClasses: number, what: string): void {
  if (!Array.isArray(inputShape) || inputShape.length < 1 || inputShape.some((d) => !(d > 0))) {
    throw new InputError(`${what}: inputShape must be positive sizes without the batch, e.g. [28, 28, 1]`);
  }
  if (!(numClasses >= 2)) throw new InputError(`${what}: numClasses must be at least 2`);
}

// ------------------------------------------------------------------ CNN

export interface CnnOptions {
  /** [h, w, c] images (Conv2D) or [steps, channels] sequences (Conv1D). */
  inputShape: number[];
  numClasses: number;
  /** Filters of the first block; doubled each block when a number, or one entry per block. Default 16. */
  filters?: number | number[];
  /** Number of conv blocks (conv → [BN] → act → pool). Default 2. */
  depth?: number;
  kernelSize?: number;
  pooling?: 'max' | 'avg' | 'none';
  dropout?: number;
  activation?: Activation;
  batchNorm?: boolean;
  /** Hidden dense units before the classifier (0 = none). Default 0. */
  dense?: number;
  seed?: number;
  name?: string;
}

export function buildCnn(o: CnnOptions): tf.LayersModel {
  checkCommon(o.inputShape, o.numClasses, 'buildCnn');
  const depth = o.depth ?? 2;
  const k = o.kernelSize ?? 3;
  const pooling = o.pooling ?? 'max';
  const a = o.activation ?? 'relu';
  const is1d = o.inputShape.length === 2;
  if (!is1d && o.inputShape.length !== 3) {
    throw new InputError('buildCnn: inputShape must be [h, w, c] (images) or [steps, channels] (sequences)');
  }
  const filters = Array.isArray(o.filters)
    ? o.filters
    : Array.from({ length: depth }, (_, i) => ((o.filters as number | undefined) ?? 16) * 2 ** i);
  if (filters.length !== depth) throw new InputError(`buildCnn: filters has ${filters.length} entries for depth ${depth}`);
  const init = new Init(o.seed);
  const input = tf.input({ shape: o.inputShape });
  let x: tf.SymbolicTensor = input;
  for (let i = 0; i < depth; i++) {
    const conv = is1d
      ? tf.layers.conv1d({ filters: filters[i], kernelSize: k, padding: 'same', kernelInitializer: init.next('he'), useBias: !o.batchNorm })
      : tf.layers.conv2d({ filters: filters[i], kernelSize: k, padding: i === 0 ? 'valid' : 'same', kernelInitializer: init.next('he'), useBias: !o.batchNorm });
    x = conv.apply(x) as tf.SymbolicTensor;
    if (o.batchNorm) x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
    x = act(a).apply(x) as tf.SymbolicTensor;
    if (pooling !== 'none') {
      const pool = is1d
        ? pooling === 'max'
          ? tf.layers.maxPooling1d({ poolSize: 2 })
          : tf.layers.averagePooling1d({ poolSize: 2 })
        : pooling === 'max'
          ? tf.layers.maxPooling2d({ poolSize: 2 })
          : tf.layers.averagePooling2d({ poolSize: 2 });
      x = pool.apply(x) as tf.SymbolicTensor;
    }
  }
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  if (o.dense && o.dense > 0) {
    x = tf.layers.dense({ units: o.dense, kernelInitializer: init.next('he') }).apply(x) as tf.SymbolicTensor;
    x = act(a).apply(x) as tf.SymbolicTensor;
  }
  return tf.model({ inputs: input, outputs: head(x, o.numClasses, init, o.dropout ?? 0), name: o.name ?? 'cnn' });
}

// ------------------------------------------------------------------ DS-CNN (keyword spotting, MLPerf Tiny)

export interface DsCnnOptions {
  /** Default [49, 10, 1]: 49 MFCC frames x 10 coefficients. */
  inputShape?: number[];
  numClasses?: number;
  /** Channels of every layer (MLPerf Tiny: 64). */
  filters?: number;
  /** Depthwise-separable blocks (MLPerf Tiny: 4). */
  blocks?: number;
  dropout?: number;
  seed?: number;
}

export function buildDsCnn(o: DsCnnOptions = {}): tf.LayersModel {
  const inputShape = o.inputShape ?? [49, 10, 1];
  const numClasses = o.numClasses ?? 12;
  checkCommon(inputShape, numClasses, 'buildDsCnn');
  const f = o.filters ?? 64;
  const init = new Init(o.seed);
  const input = tf.input({ shape: inputShape });
  let x = tf.layers
    .conv2d({ filters: f, kernelSize: [10, 4], strides: [2, 2], padding: 'same', useBias: false, kernelInitializer: init.next('he') })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = act('relu').apply(x) as tf.SymbolicTensor;
  for (let b = 0; b < (o.blocks ?? 4); b++) {
    x = tf.layers
      .depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init.next('he') })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
    x = act('relu').apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({ filters: f, kernelSize: 1, useBias: false, kernelInitializer: init.next('he') })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
    x = act('relu').apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: head(x, numClasses, init, o.dropout ?? 0), name: 'ds_cnn' });
}

// ------------------------------------------------------------------ MobileNetV1

export interface MobileNetV1Options {
  /** Default [96, 96, 3] (visual wake words); any square resolution works. */
  inputShape?: number[];
  numClasses?: number;
  /** Width multiplier (MLPerf Tiny VWW: 0.25). */
  alpha?: number;
  /** How many of the 13 depthwise-separable blocks (default 13). */
  blocks?: number;
  dropout?: number;
  seed?: number;
}

const MBV1_BLOCKS: Array<[number, number]> = [
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
];

export function buildMobileNetV1(o: MobileNetV1Options = {}): tf.LayersModel {
  const inputShape = o.inputShape ?? [96, 96, 3];
  const numClasses = o.numClasses ?? 2;
  checkCommon(inputShape, numClasses, 'buildMobileNetV1');
  const alpha = o.alpha ?? 0.25;
  const ch = (c: number) => Math.max(8, Math.round(c * alpha));
  const init = new Init(o.seed);
  const input = tf.input({ shape: inputShape });
  let x = tf.layers
    .conv2d({ filters: ch(32), kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init.next('he') })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = act('relu6').apply(x) as tf.SymbolicTensor;
  for (const [filters, stride] of MBV1_BLOCKS.slice(0, o.blocks ?? 13)) {
    x = tf.layers
      .depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', useBias: false, depthwiseInitializer: init.next('he') })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
    x = act('relu6').apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({ filters: ch(filters), kernelSize: 1, useBias: false, kernelInitializer: init.next('he') })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
    x = act('relu6').apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: head(x, numClasses, init, o.dropout ?? 0), name: 'mobilenet_v1' });
}

// ------------------------------------------------------------------ ResNet-8 (MLPerf Tiny image classification)

export interface ResNet8Options {
  inputShape?: number[];
  numClasses?: number;
  /** Filters of the three stacks (MLPerf Tiny: 16, 32, 64). */
  filters?: [number, number, number];
  seed?: number;
}

export function buildResNet8(o: ResNet8Options = {}): tf.LayersModel {
  const inputShape = o.inputShape ?? [32, 32, 3];
  const numClasses = o.numClasses ?? 10;
  checkCommon(inputShape, numClasses, 'buildResNet8');
  const [f1, f2, f3] = o.filters ?? [16, 32, 64];
  const init = new Init(o.seed);
  const l2 = tf.regularizers.l2({ l2: 1e-4 });
  const conv = (x: tf.SymbolicTensor, filters: number, k: number, s: number) =>
    tf.layers
      .conv2d({ filters, kernelSize: k, strides: s, padding: 'same', kernelInitializer: init.next('he'), kernelRegularizer: l2 })
      .apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor) => tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor) => act('relu').apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: inputShape });
  let x = relu(bn(conv(input, f1, 3, 1)));
  const stack = (x0: tf.SymbolicTensor, filters: number, stride: number) => {
    let y = relu(bn(conv(x0, filters, 3, stride)));
    y = bn(conv(y, filters, 3, 1));
    const shortcut = stride === 1 && x0.shape[3] === filters ? x0 : conv(x0, filters, 1, stride);
    return relu(tf.layers.add().apply([y, shortcut]) as tf.SymbolicTensor);
  };
  x = stack(x, f1, 1);
  x = stack(x, f2, 2);
  x = stack(x, f3, 2);
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: head(x, numClasses, init), name: 'resnet8' });
}

// ------------------------------------------------------------------ MLP

export interface MlpOptions {
  inputShape: number[];
  numClasses: number;
  hidden?: number[];
  dropout?: number;
  activation?: Activation;
  batchNorm?: boolean;
  seed?: number;
}

export function buildMlp(o: MlpOptions): tf.LayersModel {
  checkCommon(o.inputShape, o.numClasses, 'buildMlp');
  const init = new Init(o.seed);
  const input = tf.input({ shape: o.inputShape });
  let x: tf.SymbolicTensor = o.inputShape.length > 1 ? (tf.layers.flatten().apply(input) as tf.SymbolicTensor) : input;
  for (const units of o.hidden ?? [64, 32]) {
    x = tf.layers.dense({ units, kernelInitializer: init.next('he') }).apply(x) as tf.SymbolicTensor;
    if (o.batchNorm) x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
    x = act(o.activation ?? 'relu').apply(x) as tf.SymbolicTensor;
    if (o.dropout) x = tf.layers.dropout({ rate: o.dropout, seed: 2 }).apply(x) as tf.SymbolicTensor;
  }
  return tf.model({ inputs: input, outputs: head(x, o.numClasses, init), name: 'mlp' });
}

// ------------------------------------------------------------------ Autoencoder (MLPerf Tiny anomaly detection)

export interface AutoencoderOptions {
  /** Input features (MLPerf Tiny: 640 = 5 frames x 128 mel bins). */
  inputDim?: number;
  /** Encoder widths (decoder mirrors them). MLPerf Tiny: [128, 128, 128, 128]. */
  hidden?: number[];
  bottleneck?: number;
  seed?: number;
}

export function buildAutoencoder(o: AutoencoderOptions = {}): tf.LayersModel {
  const inputDim = o.inputDim ?? 640;
  if (!(inputDim > 0)) throw new InputError('buildAutoencoder: inputDim must be positive');
  const hidden = o.hidden ?? [128, 128, 128, 128];
  const init = new Init(o.seed);
  const input = tf.input({ shape: [inputDim] });
  let x: tf.SymbolicTensor = input;
  const block = (units: number) => {
    x = tf.layers.dense({ units, kernelInitializer: init.next() }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
    x = act('relu').apply(x) as tf.SymbolicTensor;
  };
  hidden.forEach(block);
  block(o.bottleneck ?? 8);
  [...hidden].reverse().forEach(block);
  const out = tf.layers.dense({ units: inputDim, kernelInitializer: init.next(), name: 'reconstruction' }).apply(x);
  return tf.model({ inputs: input, outputs: out as tf.SymbolicTensor, name: 'autoencoder' });
}
