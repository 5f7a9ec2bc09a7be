/**
 * The fused Adam update (TinylabAdamUpdate on wasm, src/train/adam.ts) against stock tf.train.adam: same weights and
 * moment slots after several steps (incl. a learning-rate change and a variable without a gradient), rel. error
 * < 1e-5 (it is designed to be bit-exact), no tensor leaks, and the stock path on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { mulberry32 } from '../../src/common/rng';
import { FusedAdamOptimizer } from '../../src/train/adam';
import { relError } from '../helpers/numeric';

function rand(n: number, seed: number, scale = 1): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

/** Train three variables (one unused by the loss) for `steps` steps; return final weights and optimizer slots. */
async function run(makeOpt: () => tf.Optimizer, steps: number): Promise<Float32Array[]> {
  const before = tf.memory().numTensors;
  const x = tf.tensor2d(rand(32 * 20, 1), [32, 20]);
  const [w, b, unused] = tf.tidy(() => [
    tf.variable(tf.tensor2d(rand(20 * 7, 2, 0.3), [20, 7]), true, 'fa_w'),
    tf.variable(tf.tensor1d(rand(7, 3, 0.1)), true, 'fa_b'),
    tf.variable(tf.tensor1d(rand(5, 4)), true, 'fa_unused'),
  ]);
  const opt = makeOpt();
  for (let i = 0; i < steps; i++) {
    if (i === 3) (opt as unknown as { learningRate: number }).learningRate = 0.003;
    const cost = opt.minimize(() => tf.mean(tf.square(tf.tanh(tf.add(tf.matMul(x, w), b)))) as tf.Scalar, true, [w, b]);
    cost?.dispose();
  }
  const slots = (await opt.getWeights()).map((s) => s.tensor);
  const out = await Promise.all([w, b, unused, ...slots].map(async (t) => Float32Array.from((await t.data()) as Float32Array)));
  slots[0].dispose(); // the iteration count: a fresh scalar, the others are the optimizer's own variables
  opt.dispose();
  tf.dispose([x, w, b, unused]);
  expect(tf.memory().numTensors).toBe(before);
  return out;
}


describe('fused Adam', () => {
  afterAll(async () => {
    await initBackend('wasm');
  });

  test('matches tf.train.adam on wasm over 8 steps (weights, m, v, iterations)', async () => {
    await initBackend('wasm');
    const stock = await run(() => tf.train.adam(0.01), 8);
    const fused = await run(() => new FusedAdamOptimizer(0.01), 8);
    expect(fused.length).toBe(stock.length);
    fused.forEach((f, i) => {
      expect(f.length).toBe(stock[i].length);
      expect(relError(f, stock[i])).toBeLessThan(1e-5);
    });
    // Slots per trained variable (m, v) plus the iteration counter; and the update actually moved the weights.
    expect(fused.length).toBe(3 + 1 + 4);
    expect(relError(fused[0], Float32Array.from(rand(20 * 7, 2, 0.3)))).toBeGreaterThan(1e-3);
  });

  test('matches stock Adam on the cpu backend too (delegates there) and vs wasm stock', async () => {
    await initBackend('cpu');
    const cpuStock = await run(() => tf.train.adam(0.01), 5);
    const cpuFused = await run(() => new FusedAdamOptimizer(0.01), 5);
    await initBackend('wasm');
    const wasmFused = await run(() => new FusedAdamOptimizer(0.01), 5);
    cpuFused.forEach((f, i) => expect(relError(f, cpuStock[i])).toBeLessThan(1e-7));
    wasmFused.forEach((f, i) => expect(relError(f, cpuStock[i])).toBeLessThan(1e-5));
  });
});
