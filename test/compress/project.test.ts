/**
 * Projection pruning on synthetic layers whose inputs lie in a known k-dimensional subspace, and the streaming
 * covariance against an independent two-pass float64 computation.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import type { Dataset } from '../../src/data/types';
import { CovarianceAccumulator, collectInputStats, learnableCount, projectModel, layerSpectrum } from '../../src/compress';

beforeAll(async () => {
  await initBackend();
});

function randn(rng: () => number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rng(), 1e-12), v = rng();
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function dataset(x: Float32Array, sampleShape: number[]): Dataset {
  const f = sampleShape.reduce((a, b) => a * b, 1);
  return { x, y: new Int32Array(x.length / f), sampleShape, numClasses: 10, classNames: [], name: 'synthetic' };
}

/** Two-pass float64 covariance (population), independent of the streaming code. */
function batchCovariance(x: Float32Array, rows: number, d: number): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(d);
  for (let r = 0; r < rows; r++) for (let i = 0; i < d; i++) mean[i] += x[r * d + i];
  for (let i = 0; i < d; i++) mean[i] /= rows;
  const cov = new Float64Array(d * d);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j] += (x[r * d + i] - mean[i]) * (x[r * d + j] - mean[j]);
  for (let i = 0; i < d * d; i++) cov[i] /= rows;
  return { mean, cov };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function setRandomWeights(model: tf.LayersModel, seed: number): void {
  const rng = lcg(seed);
  model.setWeights(model.getWeights().map((w) => tf.tensor(randn(rng, w.size).map((v) => v * 0.5), w.shape)));
}

test('streaming covariance (uneven batches, offset mean) equals the two-pass batch covariance', () => {
  const d = 7, rows = 1000;
  const rng = lcg(11);
  const x = randn(rng, rows * d);
  for (let r = 0; r < rows; r++) for (let i = 0; i < d; i++) x[r * d + i] = x[r * d + i] * (i + 1) + 50 + 3 * x[r * d + ((i + 1) % d)];
  const ref = batchCovariance(x, rows, d);
  const before = tf.memory().numTensors;
  const acc = new CovarianceAccumulator(d);
  const acc64 = new CovarianceAccumulator(d);
  let s = 0;
  for (const b of [1, 13, 200, 7, 379, 400]) {
    const t = tf.tensor2d(x.subarray(s * d, (s + b) * d), [b, d]);
    acc.addTensor(t);
    t.dispose();
    acc64.addRows(x.subarray(s * d, (s + b) * d), b);
    s += b;
  }
  expect(s).toBe(rows);
  expect(tf.memory().numTensors).toBe(before);
  expect(acc.count).toBe(rows);
  const scale = Math.max(...ref.cov.map(Math.abs));
  expect(maxAbsDiff(acc.mean, ref.mean)).toBeLessThan(1e-10);
  expect(maxAbsDiff(acc.covariance(), ref.cov) / scale).toBeLessThan(1e-12); // float64 accumulation of float32 inputs
  expect(maxAbsDiff(acc64.covariance(), ref.cov) / scale).toBeLessThan(1e-12); // float64 path: exact up to round-off
  expect(maxAbsDiff(acc64.mean, ref.mean)).toBeLessThan(1e-12);
  // Second moment = Cov + μμᵀ.
  const m2 = acc64.secondMoment();
  let e = 0;
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += x[r * d + i] * x[r * d + j];
    e = Math.max(e, Math.abs(m2[i * d + j] - sum / rows));
  }
  expect(e / scale).toBeLessThan(1e-9);
});

test('dense: inputs in a 3-dim affine subspace → k = 3 and outputs reproduced to 1e-4', async () => {
  const inp = tf.input({ shape: [3] });
  let h = tf.layers.dense({ units: 20, name: 'embed' }).apply(inp) as tf.SymbolicTensor; // affine: 3-dim subspace + offset
  h = tf.layers.dense({ units: 30, activation: 'relu', name: 'target' }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 10, activation: 'softmax', name: 'logits' }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: inp, outputs: out });
  setRandomWeights(model, 3);
  const x = randn(lcg(5), 600 * 3);
  const data = dataset(x, [3]);
  const before = tf.memory().numTensors;
  const r = await projectModel(model, data, { variance: 0.9999, layers: ['target'], batchSize: 64 });
  const t = r.layers.find((l) => l.layer === 'target')!;
  expect(t.k).toBe(3);
  expect(t.projected).toBe(true);
  expect(t.meanHandling).toBe('bias');
  expect(t.channels).toBe(3);
  expect(t.paramsBefore).toBe(20 * 30 + 30);
  expect(t.paramsAfter).toBe(20 * 3 + 3 * 30 + 30);
  expect(r.learnablesBefore - r.learnablesAfter).toBe(t.paramsBefore - t.paramsAfter);
  expect(r.learnablesAfter).toBe(learnableCount(r.model));
  expect(r.model.layers.map((l) => l.name)).toEqual(expect.arrayContaining(['target_proj', 'target']));
  // Outputs on fresh inputs (not the calibration set) match.
  const xt = tf.tensor2d(randn(lcg(99), 200 * 3), [200, 3]);
  const a = model.predict(xt) as tf.Tensor;
  const b = r.model.predict(xt) as tf.Tensor;
  expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-4);
  // Pre-activation (relu input) comparison is stricter than softmax outputs: compare the 'target' layer outputs too.
  const fa = tf.model({ inputs: model.inputs, outputs: model.getLayer('target').output as tf.SymbolicTensor });
  const fb = tf.model({ inputs: r.model.inputs, outputs: r.model.getLayer('target').output as tf.SymbolicTensor });
  const ya = fa.predict(xt) as tf.Tensor, yb = fb.predict(xt) as tf.Tensor;
  expect(maxAbsDiff(ya.dataSync(), yb.dataSync())).toBeLessThan(1e-4);
  expect(Math.max(...(ya.dataSync() as Float32Array))).toBeGreaterThan(0.1); // a real signal, not all zeros
  tf.dispose([xt, a, b, ya, yb]);
  r.model.dispose();
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
});

test('conv: valid (mean→bias) and same (mean→basis) convs with inputs in a 2-channel affine subspace → k = 2, exact outputs', async () => {
  const cases = [
    { padding: 'valid', affine: true, channels: 2 },
    // 'same': the zero padding is off the affine subspace, so the mean's direction becomes a third channel.
    { padding: 'same', affine: true, channels: 3 },
    // 'same' with a linear subspace (mean inside it): the extra channel is the next component; still exact.
    { padding: 'same', affine: false, channels: 3 },
  ] as const;
  for (const c of cases) {
    const inp = tf.input({ shape: [8, 8, 2] });
    let h = tf.layers.conv2d({ filters: 12, kernelSize: 1, useBias: c.affine, name: 'lift' }).apply(inp) as tf.SymbolicTensor;
    h = tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: c.padding, activation: 'relu', name: 'target' }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 4, name: 'head' }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: out });
    setRandomWeights(model, 17);
    const data = dataset(randn(lcg(23), 100 * 8 * 8 * 2), [8, 8, 2]);
    const before = tf.memory().numTensors;
    const r = await projectModel(model, data, { variance: 0.9999, layers: ['target'] });
    const t = r.layers[0];
    expect(t).toMatchObject({ layer: 'target', kind: 'conv2d', k: 2, channels: c.channels, projected: true, meanHandling: c.padding === 'valid' ? 'bias' : 'basis' });
    expect(t.paramsBefore).toBe(9 * 12 * 16 + 16);
    expect(t.paramsAfter).toBe(12 * c.channels + 9 * c.channels * 16 + 16);
    expect(r.model.getLayer('target_proj').getWeights()[0].shape).toEqual([1, 1, 12, c.channels]);
    expect(r.model.getLayer('target').getWeights()[0].shape).toEqual([3, 3, c.channels, 16]);
    const xt = tf.tensor4d(randn(lcg(7), 20 * 8 * 8 * 2), [20, 8, 8, 2]);
    const a = model.predict(xt) as tf.Tensor;
    const b = r.model.predict(xt) as tf.Tensor;
    const scale = Math.max(...(a.dataSync() as Float32Array).map(Math.abs));
    expect(scale).toBeGreaterThan(0.1);
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-4 * Math.max(1, scale));
    tf.dispose([xt, a, b]);
    r.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  }
});

test('explained variance of the kept components matches the eigenvalues; goals are validated', async () => {
  const inp = tf.input({ shape: [6] });
  const out = tf.layers.dense({ units: 40, name: 'wide' }).apply(inp) as tf.SymbolicTensor;
  const model = tf.model({ inputs: inp, outputs: out });
  setRandomWeights(model, 1);
  // Independent variances 16, 8, 4, 2, 1, 0.5 along the axes: total 31.5.
  const rng = lcg(2);
  const n = 4000;
  const x = randn(rng, n * 6);
  const sd = [4, Math.sqrt(8), 2, Math.sqrt(2), 1, Math.sqrt(0.5)];
  for (let r = 0; r < n; r++) for (let i = 0; i < 6; i++) x[r * 6 + i] *= sd[i];
  const stats = await collectInputStats(model, dataset(x, [6]), { maxSamples: n });
  const sp = layerSpectrum(stats[0]);
  const ref = batchCovariance(x, n, 6);
  const trace = [0, 1, 2, 3, 4, 5].reduce((a, i) => a + ref.cov[i * 6 + i], 0);
  expect(sp.eigenvalues.reduce((a, b) => a + b, 0)).toBeCloseTo(trace, 3);
  expect(sp.eigenvalues[0]).toBeGreaterThan(sp.eigenvalues[1]);
  // Variance goal 0.75: 16+8 = 24/31.5 = 0.76 → k = 2 (sample noise is far below the gaps).
  const r = await projectModel(model, null, { spectra: [sp], variance: 0.75 });
  expect(r.layers[0].k).toBe(2);
  expect(r.layers[0].explainedVariance).toBeCloseTo(sp.cumulative[1], 12);
  expect(r.layers[0].explainedVariance).toBeGreaterThan(0.7);
  expect(r.layers[0].explainedVariance).toBeLessThan(0.8);
  r.model.dispose();
  await expect(projectModel(model, null, { spectra: [sp], variance: 1.5 })).rejects.toThrow(/variance must be in/);
  await expect(projectModel(model, null, { spectra: [sp], reduction: 0.99 })).rejects.toThrow(/at most/);
  model.dispose();
});

test('abort during calibration keeps the statistics of the batches seen so far', async () => {
  const inp = tf.input({ shape: [4] });
  const out = tf.layers.dense({ units: 8, name: 'd' }).apply(inp) as tf.SymbolicTensor;
  const model = tf.model({ inputs: inp, outputs: out });
  const data = dataset(randn(lcg(4), 1000 * 4), [4]);
  const ctrl = new AbortController();
  const stats = await collectInputStats(model, data, {
    batchSize: 100, signal: ctrl.signal,
    onProgress: (e) => { if (e.done === 3) ctrl.abort(); },
  });
  expect(stats[0].acc.count).toBe(300);
  // Equal to the covariance of exactly those 300 rows.
  const ref = batchCovariance(data.x.subarray(0, 300 * 4), 300, 4);
  expect(maxAbsDiff(stats[0].acc.covariance(), ref.cov)).toBeLessThan(1e-12);
  model.dispose();
});
