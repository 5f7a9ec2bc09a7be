/**
 * The models the C backend is verified and timed on (bench:codegen, test/codegen): the repo's benchmark families at
 * sizes that cross-compile and run in seconds under QEMU, each with calibration data of its own shape. Weights are
 * seeded and untrained: bit-exactness and instruction counts do not depend on accuracy.
 *
 * `role` splits them for the instruction-cost fit: 'fit' models determine the coefficients, 'eval' models (other
 * architectures, not other seeds) are held out to measure how well the fitted model predicts. The fit set is the one
 * with variety in every kernel family's geometry (depthwise at strides 1 and 2, max and average pools, global
 * pooling over 6x6 and 4x4 maps, residual adds), so the held-out DS-CNN (10x4 stride-2 stem, 13x5 maps) and MLP
 * test interpolation, not the luck of a degenerate fit.
 */
import { initBackend } from '../../backend';
import { mulberry32, normal } from '../../common/rng';
import { loadMnist } from '../../data/mnist';
import { makeGestureData } from '../../data/gestures';
import type { Dataset, DataSplits } from '../../data/types';
import type * as tf from '@tensorflow/tfjs';
import { buildCnn, buildDsCnn, buildMlp, buildMobileNetV1, buildResNet8 } from '../../models';
import { quantizeModel } from '../../quantize/quantize';
import type { QuantizedModel } from '../../quantize/types';
import type { Samples } from './verify';

export interface VerifyModel {
  name: string;
  role: 'fit' | 'eval';
  about: string;
  /** Build, calibrate (64 samples, min-max) and quantize; returns test samples too. */
  make(samples: number): Promise<{ qm: QuantizedModel; samples: Samples }>;
}

/** Seeded N(0, 1) data of a shape (for models whose real data set is not embedded). */
function gaussian(shape: number[], n: number, seed: number): Dataset {
  const f = shape.reduce((a, b) => a * b, 1);
  const rng = mulberry32(seed);
  const x = new Float32Array(n * f);
  for (let i = 0; i < x.length; i++) x[i] = normal(rng);
  return { x, y: new Int32Array(n), sampleShape: shape, numClasses: 2, classNames: ['a', 'b'], name: `gaussian-${shape.join('x')}` };
}

let mnist: DataSplits | undefined;

async function quantized(model: tf.LayersModel, calib: Dataset, test: Dataset, n: number): Promise<{ qm: QuantizedModel; samples: Samples }> {
  const qm = quantizeModel(model, calib, { method: 'minmax', calibrationSize: 64 });
  model.dispose();
  const f = test.sampleShape.reduce((a, b) => a * b, 1);
  return { qm, samples: { x: test.x.slice(0, n * f), sampleShape: test.sampleShape } };
}

async function mnist14(): Promise<DataSplits> {
  await initBackend();
  mnist ??= loadMnist({ size: 14, seed: 1 });
  return mnist;
}

async function synthetic(model: tf.LayersModel, shape: number[], n: number, seed: number) {
  await initBackend();
  return quantized(model, gaussian(shape, 64, seed), gaussian(shape, n, seed + 1), n);
}

export const VERIFY_MODELS: readonly VerifyModel[] = [
  {
    name: 'cnn',
    role: 'fit',
    about: 'buildCnn 14x14x1, 8/16 filters, BN, max-pool, dense softmax (MNIST)',
    async make(n) {
      const d = await mnist14();
      return quantized(buildCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: 8, depth: 2, batchNorm: true, seed: 1 }), d.train, d.test, n);
    },
  },
  {
    name: 'ds-cnn',
    role: 'eval',
    about: 'buildDsCnn 25x10x1, 16 channels, 2 depthwise-separable blocks',
    async make(n) {
      await initBackend();
      return synthetic(buildDsCnn({ inputShape: [25, 10, 1], numClasses: 12, filters: 16, blocks: 2, seed: 2 }), [25, 10, 1], n, 20);
    },
  },
  {
    name: 'resnet8',
    role: 'fit',
    about: 'buildResNet8 16x16x3, filters 8/16/32 (residual adds, 1x1 shortcuts)',
    async make(n) {
      await initBackend();
      return synthetic(buildResNet8({ inputShape: [16, 16, 3], numClasses: 10, filters: [8, 16, 32], seed: 3 }), [16, 16, 3], n, 30);
    },
  },
  {
    name: 'mlp',
    role: 'eval',
    about: 'buildMlp 196 → 64 → 32 → 10 (MNIST 14x14)',
    async make(n) {
      const d = await mnist14();
      return quantized(buildMlp({ inputShape: [14, 14, 1], numClasses: 10, hidden: [64, 32], seed: 4 }), d.train, d.test, n);
    },
  },
  {
    name: 'mobilenet-v1',
    role: 'fit',
    about: 'buildMobileNetV1 48x48x3, alpha 0.25, 5 blocks',
    async make(n) {
      await initBackend();
      return synthetic(buildMobileNetV1({ inputShape: [48, 48, 3], numClasses: 2, alpha: 0.25, blocks: 5, seed: 5 }), [48, 48, 3], n, 50);
    },
  },
  {
    name: 'gesture-cnn1d',
    role: 'fit',
    about: 'buildCnn conv1d on 64x3 accelerometer windows, 8/16 filters, average pooling, dense 16 (synthetic gestures)',
    async make(n) {
      await initBackend();
      const d = makeGestureData({ seed: 6, samplesPerClass: 20, length: 64 });
      return quantized(buildCnn({ inputShape: [64, 3], numClasses: 6, filters: 8, depth: 2, dense: 16, pooling: 'avg', seed: 6 }), d.train, d.test, n);
    },
  },
];

export function findVerifyModel(name: string): VerifyModel {
  const m = VERIFY_MODELS.find((x) => x.name === name);
  if (!m) throw new Error(`no verify model '${name}' (have ${VERIFY_MODELS.map((x) => x.name).join(', ')})`);
  return m;
}
