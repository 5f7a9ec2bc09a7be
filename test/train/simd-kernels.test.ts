/**
 * The WASM SIMD128 paths (src/backend/simd.ts) and the fused BatchNorm statistics against the cpu backend (tfjs'
 * reference JS implementation), on shapes that take the SIMD paths (channel counts that are multiples of 4, more
 * rows than one float32 accumulation block):
 *  - tf.moments over leading axes (TinylabMoments) and its gradient, incl. keepDims and data far from zero;
 *  - leading-axis Sum/Mean, the BatchNorm gradient sums, the depthwise filter gradient (gather-dot);
 *  - skipping the first layer's input gradient in the training loop: same weights after training as on cpu.
 * Max relative error < 1e-4 (normalised by the reference's largest magnitude); no tensor leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { simdKernels } from '../../src/backend/simd';
import { asWasm } from '../../src/backend/wasm-heap';
import { skippedInputGradients, withUnusedInputGradients } from '../../src/backend/unused-input-grad';
import { mulberry32 } from '../../src/common/rng';
import { randomArrays, relError } from '../helpers/numeric';
import { matchesCpu } from '../helpers/backends';
import { buildCnn, buildMlp } from '../../src/models';
import { train } from '../../src/train';

const TOL = 1e-4;
const arr = randomArrays(777);

describe('WASM SIMD paths vs cpu', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  afterAll(async () => {
    await initBackend('wasm');
  });

  test('the SIMD module loads on this engine', () => {
    expect(simdKernels(asWasm(tf.backend()))).not.toBeNull();
  });

  test.each([
    ['NHWC C = 8', [6, 9, 7, 8], 0],
    ['NHWC C = 64, offset 50', [4, 10, 5, 64], 50],
    ['dense C = 12', [300, 12], 0.5],
  ])('tf.moments over leading axes and its gradient (%s)', async (_n, shape, offset) => {
    const C = shape[shape.length - 1];
    const axes = shape.slice(0, -1).map((_, i) => i);
    const kernels = await matchesCpu(([x, r1, r2]) => {
      const { mean, variance } = tf.moments(x, axes);
      const k = tf.moments(x, axes, true);
      const g = tf.grad((xx: tf.Tensor) => {
        const m = tf.moments(xx, axes);
        return tf.add(tf.sum(tf.mul(m.mean, r1)), tf.sum(tf.mul(m.variance, r2)));
      })(x);
      return [mean, variance, k.mean, k.variance, g];
    }, [arr(shape as number[], offset as number), arr([C]), arr([C])]);
    expect(kernels.has('TinylabMoments')).toBe(true);
  });

  test('moments over other axes, or C not a multiple of 4, delegate to tfjs', async () => {
    const kernels = await matchesCpu(([x, y]) => {
      const a = tf.moments(x, [1, 2]);
      const b = tf.moments(y, [0, 1]);
      return [a.mean, a.variance, b.mean, b.variance];
    }, [arr([3, 5, 4, 8]), arr([6, 5, 3])]);
    expect(kernels.has('TinylabMoments')).toBe(false);
  });

  test('leading-axis Sum/Mean and BatchNorm gradient sums over many rows', async () => {
    await matchesCpu(([x, g, b, r]) => {
      const bn = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
        const { mean, variance } = tf.moments(xx, [0, 1, 2]);
        return tf.sum(tf.mul(tf.batchNorm(xx as tf.Tensor4D, mean, variance, bb as tf.Tensor1D, gg as tf.Tensor1D, 1e-3), r));
      };
      return [tf.sum(x, [0, 1, 2]), tf.mean(x, [0, 1]), ...tf.grads(bn)([x, g, b])];
    }, [arr([8, 20, 9, 16], 0.2), arr([16], 1), arr([16]), arr([8, 20, 9, 16])]);
  });

  test.each([
    [[3, 11, 9, 8], [3, 3], 1, 'same'],
    [[2, 12, 7, 16], [3, 3], 2, 'same'],
    [[2, 10, 10, 4], [5, 3], 1, 'valid'],
  ] as const)('depthwise filter gradient %j, kernel %j, stride %i, %s', async (xShape, k, s, pad) => {
    const C = xShape[3];
    await matchesCpu(([x, f, r]) => {
      const g = tf.grads((xx: tf.Tensor, ff: tf.Tensor) =>
        tf.sum(tf.mul(tf.depthwiseConv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, s, pad), r)));
      return g([x, f]);
    }, [
      arr([...xShape]),
      arr([k[0], k[1], C, 1]),
      (() => {
        const oh = pad === 'same' ? Math.ceil(xShape[1] / s) : Math.ceil((xShape[1] - k[0] + 1) / s);
        const ow = pad === 'same' ? Math.ceil(xShape[2] / s) : Math.ceil((xShape[2] - k[1] + 1) / s);
        return arr([xShape[0], oh, ow, C]);
      })(),
    ]);
  });

  test('transposes (SIMD 4x4 blocks + JS edges) in transposed MatMul and pointwise conv gradients', async () => {
    await matchesCpu(([a, b, c, d, x, dy]) => [
      tf.matMul(a, b, true, false), tf.matMul(b, c, false, true), tf.matMul(c, d, true, true),
      tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, 1, 'same'), dy)))([x, tf.ones([1, 1, 12, 8])])[1],
    ], [arr([64, 36]), arr([64, 21]), arr([37, 21]), arr([12, 37]), arr([3, 7, 5, 12]), arr([3, 7, 5, 8])]);
  });

  test('ReLU gradient (TinylabReluGrad) incl. exact zeros, and sizes that are not a multiple of 4 (stock formula)', async () => {
    const x = arr([5, 6, 7, 8]);
    for (let i = 0; i < x.data.length; i += 7) x.data[i] = 0;
    const kernels = await matchesCpu(([a, r, b, q]) => [
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), r)))(a),
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), q)))(b),
    ], [x, arr([5, 6, 7, 8]), arr([3, 5, 7]), arr([3, 5, 7])]);
    expect(kernels.has('TinylabReluGrad')).toBe(true);
  });

  test('declared-unused input gradients are skipped only inside the declaration', async () => {
    const x = tf.randomNormal([2, 6, 6, 3]);
    const w = tf.variable(tf.randomNormal([3, 3, 3, 4]));
    const f = (xx: tf.Tensor) => tf.sum(tf.conv2d(xx as tf.Tensor4D, w as tf.Tensor as tf.Tensor4D, 1, 'same'));
    const n0 = skippedInputGradients();
    const full = tf.grad(f)(x);
    const inside = withUnusedInputGradients([{ dataId: w.dataId, inputShape: x.shape }], () => tf.grad(f)(x));
    const after = tf.grad(f)(x);
    expect(skippedInputGradients() - n0).toBe(1);
    expect(Math.max(...Array.from(await tf.abs(inside).data()))).toBe(0);
    expect(relError((await after.data()) as Float32Array, (await full.data()) as Float32Array)).toBe(0);
    expect(Math.max(...Array.from(await tf.abs(full).data()))).toBeGreaterThan(0);
    tf.dispose([x, w, full, inside, after]);
  });

  test.each([
    ['conv', () => buildCnn({ inputShape: [10, 10, 1], numClasses: 3, filters: 4, depth: 2, dense: 8, seed: 5 }), [10, 10, 1], 3],
    // (No BatchNorm after a biased Dense here: that bias has an exactly-zero gradient, and Adam turns the rounding
    // noise of "zero" into ±lr steps whose sign differs between any two backends.)
    ['dense', () => buildMlp({ inputShape: [40], numClasses: 4, hidden: [16, 12], seed: 5 }), [40], 4],
  ] as Array<[string, () => tf.LayersModel, number[], number]>)('training (%s) gives the same weights on wasm (input gradient skipped, fused Adam/moments) as on cpu', async (_n, build, shape, k) => {
    const n = 48, f = shape.reduce((a, b) => a * b, 1);
    const r = mulberry32(3);
    const data = {
      x: Float32Array.from({ length: n * f }, () => r() * 2 - 1),
      y: k ? Int32Array.from({ length: n }, (_, i) => i % k) : new Int32Array(0),
      sampleShape: [...shape], numClasses: k, classNames: [], name: 'tiny',
    };
    const weights: Float32Array[][] = [];
    let skipped = 0;
    for (const b of ['wasm', 'cpu'] as const) {
      await initBackend(b);
      const model = build();
      const before = tf.memory().numTensors;
      const s0 = skippedInputGradients();
      await train(model, { train: data }, { epochs: 2, batchSize: 16, optimizer: 'adam', learningRate: 1e-3, restoreBest: false, seed: 1 });
      if (b === 'wasm') skipped = skippedInputGradients() - s0;
      weights.push(await Promise.all(model.getWeights().map(async (t) => Float32Array.from((await t.data()) as Float32Array))));
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    }
    await initBackend('wasm');
    expect(skipped).toBe(6);
    weights[0].forEach((w, i) => expect(relError(w, weights[1][i])).toBeLessThan(TOL));
  });
});
