/**
 * The fused / widened WASM paths against the cpu backend (tfjs' reference JS implementation):
 *  - per-channel binary ops on narrow channels (Multiply/Add/Sub/RealDiv, vector on either side, [C] or [1,1,1,C]),
 *  - leading-axis Sum/Mean on narrow rows (summed side by side, then folded),
 *  - the BatchNorm gradient from one fused two-sum pass (TinylabBatchNormGradSums), as layers' training-mode
 *    BatchNormalization uses it (tf.moments → tf.batchNorm), NHWC and dense, with and without scale/offset,
 *  - Sum/Mean gradients by broadcasting dy.
 * Max relative error < 1e-4 (normalised by the reference's largest magnitude); no tensor leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { randomArrays } from '../helpers/numeric';
import { matchesCpu } from '../helpers/backends';

const arr = randomArrays(4242);

describe('widened per-channel broadcasts on wasm vs cpu', () => {
  afterAll(async () => {
    await initBackend('wasm');
  });

  test.each([16, 3, 5, 64])('Multiply/Add/Sub/RealDiv with a [C] vector on either side, C = %i', async (C) => {
    await matchesCpu(([x, v, v4]) => [
      tf.mul(x, v), tf.mul(v, x), tf.add(x, v4), tf.add(v4, x),
      tf.sub(x, v), tf.sub(v4, x), tf.div(x, tf.add(tf.abs(v), 0.5)), tf.div(v, tf.add(tf.abs(x), 0.5)),
    ], [arr([4, 6, 5, C]), arr([C]), arr([1, 1, 1, C])]);
  });

  test('rows with no small divisor, rank-2 and same-shape operands delegate', async () => {
    await matchesCpu(([x, v, y, d]) => [tf.mul(x, v), tf.sub(x, v), tf.add(x, y), tf.mul(d, tf.reshape(v, [1, 7]))], [
      arr([67, 7]), arr([7]), arr([67, 7]), arr([67, 7]),
    ]);
  });

  test('Sum/Mean over leading axes with narrow rows, keepDims', async () => {
    await matchesCpu(([x, y]) => [
      tf.sum(x, [0, 1, 2]), tf.mean(x, [0, 1, 2], true), tf.sum(y, 0), tf.mean(y, [0, 1]), tf.sum(x, [0, 1]),
    ], [arr([8, 9, 10, 16], 0.3), arr([13, 11, 3])]);
  });
});

describe('BatchNorm and reduction gradients on wasm vs cpu', () => {
  /** Training-mode BatchNorm as tfjs-layers computes it: batch moments, then tf.batchNorm. */
  const trainingBn = (x: tf.Tensor, gamma: tf.Tensor | undefined, beta: tf.Tensor | undefined) => {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const { mean, variance } = tf.moments(x, axes);
    return tf.batchNorm(x, mean, variance, beta as tf.Tensor1D | undefined, gamma as tf.Tensor1D | undefined, 1e-3);
  };

  test.each([
    ['NHWC, C = 16', [4, 7, 6, 16]],
    ['NHWC, C = 5', [3, 5, 4, 5]],
    ['dense, C = 12', [32, 12]],
  ])('training-mode BatchNorm: gradients wrt x, gamma, beta (%s)', async (_name, shape) => {
    const C = shape[shape.length - 1];
    await matchesCpu(([x, g, b, r]) => {
      const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.relu(trainingBn(xx, gg, bb)), r));
      return tf.grads(f)([x, g, b]);
    }, [arr(shape, 0.7), arr([C], 1), arr([C]), arr(shape)]);
  });

  // (tfjs cannot differentiate batchNorm without scale and offset on any backend: its tape walks the missing inputs.)
  test('BatchNorm gradients wrt mean and variance given as independent tensors, [1,1,1,C] statistics', async () => {
    await matchesCpu(([x, m, v, g, r]) => {
      const c4 = (t: tf.Tensor) => tf.reshape(t, [1, 1, 1, 8]);
      const f = (xx: tf.Tensor, mm: tf.Tensor, vv: tf.Tensor) =>
        tf.sum(tf.mul(tf.batchNorm(xx as tf.Tensor4D, mm, tf.add(tf.abs(vv), 0.2), c4(tf.neg(g)), c4(g)), r));
      return tf.grads(f)([x, c4(m), c4(v)]);
    }, [arr([2, 5, 3, 8], -0.4), arr([8]), arr([8]), arr([8], 1), arr([2, 5, 3, 8])]);
  });

  test('Sum and Mean gradients (broadcast dy), several axis sets', async () => {
    await matchesCpu(([x, r]) => {
      const f = (xx: tf.Tensor) =>
        tf.add(
          tf.add(tf.sum(tf.mul(tf.mean(xx, [0, 1, 2]), r)), tf.sum(tf.mul(tf.sum(xx, [1, 3], true), 0.5))),
          tf.mul(tf.mean(xx), 3),
        );
      return tf.grad(f)(x);
    }, [arr([3, 4, 5, 6]), arr([6])]);
  });
});
