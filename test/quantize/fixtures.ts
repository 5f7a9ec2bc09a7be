/**
 * Small trained models shared by the quantize and export tests (14x14 MNIST, 1–2 epochs: seconds, not minutes).
 * - cnn: buildCnn with BatchNorm (conv → BN → ReLU → max-pool, flatten, dense softmax): BN folding, fused ReLU,
 *   int8 softmax.
 * - resdw: a functional net with a conv + BN + ReLU6, depthwise conv, 1x1 conv, a residual Add + ReLU,
 *   average pooling, a conv with its own ReLU, global average pooling and a linear logits Dense (no softmax, so outputs are int8 logits).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadMnist } from '../../src/data';
import type { DataSplits } from '../../src/data/types';
import { buildCnn } from '../../src/models';
import { train } from '../../src/train';

let splits: DataSplits | undefined;

export async function mnist14(): Promise<DataSplits> {
  await initBackend();
  splits ??= loadMnist({ size: 14, seed: 1 });
  return splits;
}

export async function trainedCnn(epochs = 2): Promise<{ model: tf.LayersModel; data: DataSplits }> {
  const data = await mnist14();
  const model = buildCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: 8, depth: 2, batchNorm: true, seed: 1 });
  await train(model, data, { epochs, batchSize: 64, seed: 1 });
  return { model, data };
}

export function buildResDw(): tf.LayersModel {
  const init = (s: number) => tf.initializers.heNormal({ seed: s });
  const input = tf.input({ shape: [14, 14, 1] });
  let x = tf.layers.conv2d({ filters: 16, kernelSize: 3, strides: 1, padding: 'same', useBias: false, kernelInitializer: init(1), name: 'stem' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'stem_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ maxValue: 6, name: 'stem_relu6' }).apply(x) as tf.SymbolicTensor;
  let y = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init(2), name: 'dw' }).apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: 'dw_bn' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.activation({ activation: 'relu', name: 'dw_relu' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.conv2d({ filters: 16, kernelSize: 1, kernelInitializer: init(3), name: 'pw' }).apply(y) as tf.SymbolicTensor;
  let z = tf.layers.add({ name: 'residual' }).apply([x, y]) as tf.SymbolicTensor;
  z = tf.layers.activation({ activation: 'relu', name: 'res_relu' }).apply(z) as tf.SymbolicTensor;
  z = tf.layers.averagePooling2d({ poolSize: 2, name: 'avg' }).apply(z) as tf.SymbolicTensor;
  z = tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(5), name: 'conv2' }).apply(z) as tf.SymbolicTensor;
  z = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(z) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }), name: 'head' }).apply(z) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'resdw' });
}

export async function trainedResDw(): Promise<{ model: tf.LayersModel; data: DataSplits }> {
  const data = await mnist14();
  const logits = buildResDw();
  // Trained with a softmax on top; the model under test is the logits part (same layers, same weights).
  const probs = tf.layers.activation({ activation: 'softmax', name: 'probs' }).apply(logits.outputs[0]) as tf.SymbolicTensor;
  const trainable = tf.model({ inputs: logits.inputs, outputs: probs, name: 'resdw_train' });
  await train(trainable, data, { epochs: 2, batchSize: 64, seed: 1, learningRate: 1e-2 });
  return { model: logits, data };
}

/** Largest |a−b|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
