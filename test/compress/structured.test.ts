/**
 * Structured filter pruning: shapes of the shrunken model, and identical outputs when the removed filters have
 * all-zero kernels (their constant act(bias) contribution is folded into the next layer's bias).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { compressionRow, learnableCount, pruneFilters } from '../../src/compress';

beforeAll(async () => {
  await initBackend();
});

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

function build(): tf.LayersModel {
  const inp = tf.input({ shape: [14, 14, 2] });
  let h = tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', name: 'c1' }).apply(inp) as tf.SymbolicTensor; // 12x12x8
  h = tf.layers.batchNormalization({ name: 'bn1' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(h) as tf.SymbolicTensor; // 6x6x8
  h = tf.layers.depthwiseConv2d({ kernelSize: 3, name: 'dw' }).apply(h) as tf.SymbolicTensor; // 4x4x8
  h = tf.layers.activation({ activation: 'tanh', name: 'act' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', name: 'c2' }).apply(h) as tf.SymbolicTensor; // 2x2x6
  h = tf.layers.flatten({ name: 'flat' }).apply(h) as tf.SymbolicTensor; // 24
  h = tf.layers.dense({ units: 12, activation: 'relu', name: 'd1' }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, activation: 'softmax', name: 'out' }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: inp, outputs: out });
  const rng = lcg(5);
  model.setWeights(
    model.getWeights().map((w) => {
      const v = new Float32Array(w.size).map(() => rng() - 0.5);
      return tf.tensor(v, w.shape);
    }),
  );
  const bn = model.getLayer('bn1');
  const [g, b, m, v] = bn.getWeights();
  bn.setWeights([g, b, m, tf.tensor1d(new Float32Array(v.size).map(() => 0.5 + rng()))]);
  return model;
}

/** Zero the kernels of the given output filters of a layer (last kernel axis). */
function zeroFilters(model: tf.LayersModel, name: string, filters: number[]): void {
  const l = model.getLayer(name);
  const [k, ...rest] = l.getWeights();
  const v = Float32Array.from(k.dataSync());
  const out = k.shape[k.shape.length - 1];
  for (let i = 0; i < v.length; i++) if (filters.includes(i % out)) v[i] = 0;
  l.setWeights([tf.tensor(v, k.shape), ...rest]);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('zero-norm filters removed: expected shapes everywhere, identical outputs, no tensor leaks', () => {
  const model = build();
  zeroFilters(model, 'c1', [1, 4]); // 8 → 6 at 25 %
  zeroFilters(model, 'c2', [2]); // 6 → 5
  zeroFilters(model, 'd1', [0, 5, 7]); // 12 → 9
  const before = tf.memory().numTensors;
  const r = pruneFilters(model, { fraction: 0.25 });
  const shapes = (n: string) => r.model.getLayer(n).getWeights().map((w) => w.shape);
  expect(shapes('c1')).toEqual([[3, 3, 2, 6], [6]]);
  expect(shapes('bn1')).toEqual([[6], [6], [6], [6]]);
  expect(shapes('dw')).toEqual([[3, 3, 6, 1], [6]]);
  expect(shapes('c2')).toEqual([[3, 3, 6, 5], [5]]);
  expect(shapes('d1')).toEqual([[2 * 2 * 5, 9], [9]]);
  expect(shapes('out')).toEqual([[9, 5], [5]]);
  expect(r.layers.map((l) => [l.layer, l.next, l.removed])).toEqual([
    ['c1', 'c2', [1, 4]],
    ['c2', 'd1', [2]],
    ['d1', 'out', [0, 5, 7]],
  ]);
  expect(r.layers[0].through).toEqual(['bn1', 'pool1', 'dw', 'act']);
  expect(r.layers.every((l) => l.removedNorms.every((n) => n === 0))).toBe(true);
  expect(r.skipped.map((s) => s.layer)).toEqual(['out']);
  expect(r.learnablesAfter).toBe(learnableCount(r.model));
  expect(r.learnablesAfter).toBeLessThan(r.learnablesBefore);
  // Removed filters lower the priced int8 flash and MACs (unlike zeros).
  const priced0 = compressionRow('original', model, undefined), priced1 = compressionRow('pruned', r.model, undefined);
  expect(priced1.int8WeightsFlashBytes).toBeLessThan(priced0.int8WeightsFlashBytes);
  expect(priced1.macs).toBeLessThan(priced0.macs);
  const x = tf.tensor4d(new Float32Array(16 * 14 * 14 * 2).map(lcg(9)), [16, 14, 14, 2]);
  // Compare pre-softmax features too: the d1 activations (post-pruning they are the 9 kept units).
  const a = model.predict(x) as tf.Tensor;
  const b = r.model.predict(x) as tf.Tensor;
  expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-5);
  const fa = tf.model({ inputs: model.inputs, outputs: model.getLayer('d1').output as tf.SymbolicTensor });
  const fb = tf.model({ inputs: r.model.inputs, outputs: r.model.getLayer('d1').output as tf.SymbolicTensor });
  const ya = fa.predict(x) as tf.Tensor, yb = fb.predict(x) as tf.Tensor;
  const idx = tf.tensor1d([1, 2, 3, 4, 6, 8, 9, 10, 11], 'int32');
  const kept = tf.gather(ya, idx, 1);
  expect(maxAbsDiff(kept.dataSync(), yb.dataSync())).toBeLessThan(1e-5);
  expect(Math.max(...(yb.dataSync() as Float32Array))).toBeGreaterThan(0.01);
  tf.dispose([x, a, b, ya, yb, kept, idx]);
  r.model.dispose();
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
});

test('L1 ranking removes the smallest filters; fraction and layer names are validated', () => {
  const model = build();
  const k = model.getLayer('c2').getWeights()[0];
  const v = k.dataSync();
  const norms = new Array(6).fill(0);
  for (let i = 0; i < v.length; i++) norms[i % 6] += Math.abs(v[i]);
  const want = norms.map((n, i) => [n, i]).sort((a, b) => a[0] - b[0]).slice(0, 3).map((p) => p[1]).sort((a, b) => a - b);
  const r = pruneFilters(model, { fraction: 0.5, layers: ['c2'] });
  expect(r.layers).toHaveLength(1);
  expect(r.layers[0].removed).toEqual(want);
  expect(r.model.getLayer('c2').getWeights()[0].shape).toEqual([3, 3, 8, 3]);
  expect(r.model.getLayer('d1').getWeights()[0].shape).toEqual([12, 12]);
  const y = tf.tidy(() => r.model.predict(tf.zeros([1, 14, 14, 2])) as tf.Tensor);
  expect(y.shape).toEqual([1, 5]);
  y.dispose();
  r.model.dispose();
  expect(() => pruneFilters(model, { fraction: 1 })).toThrow(/fraction must be in/);
  expect(() => pruneFilters(model, { fraction: 0.3, layers: ['nope'] })).toThrow(/no layer named 'nope'/);
  model.dispose();
});
