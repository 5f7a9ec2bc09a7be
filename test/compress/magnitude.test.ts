/**
 * Magnitude pruning during fine-tuning on real MNIST digits (14×14, a few hundred samples, 1 epoch): the schedule
 * follows TF-MOT's polynomial decay, masks hold through Adam steps, the original model is untouched, no leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadMnist } from '../../src/data';
import type { DataSplits } from '../../src/data/types';
import { compressionRow, kernelSparsity, magnitudePrune, polynomialSparsity, sparseFormatBytes } from '../../src/compress';
import { buildMlp } from '../../src/models';
import { evaluate, train } from '../../src/train';

let data: DataSplits;
let model: tf.LayersModel;

beforeAll(async () => {
  await initBackend();
  data = loadMnist({ size: 14, seed: 2, limit: 600 });
  model = buildMlp({ inputShape: [14, 14, 1], numClasses: 10, hidden: [64, 32], seed: 4 });
  await train(model, data, { epochs: 3, batchSize: 32, learningRate: 3e-3, seed: 1 });
}, 120000);

afterAll(() => model?.dispose());

test('polynomial decay matches s_f + (s_i − s_f)(1 − t/T)^3', () => {
  const s = { initialSparsity: 0.1, finalSparsity: 0.8, beginStep: 10, endStep: 110 };
  expect(polynomialSparsity(0, s)).toBe(0.1);
  expect(polynomialSparsity(10, s)).toBeCloseTo(0.1, 12);
  expect(polynomialSparsity(60, s)).toBeCloseTo(0.8 - 0.7 * 0.125, 12);
  expect(polynomialSparsity(110, s)).toBe(0.8);
  expect(polynomialSparsity(500, s)).toBe(0.8);
  let prev = 0;
  for (let t = 0; t <= 120; t++) {
    const v = polynomialSparsity(t, s);
    expect(v).toBeGreaterThanOrEqual(prev);
    prev = v;
  }
});

test('masks reach the target mid-training and survive every later Adam step; original untouched; no leaks', async () => {
  const w0 = model.getWeights().map((w) => Float32Array.from(w.dataSync()));
  const acc0 = evaluate(model, data.test).accuracy;
  const before = tf.memory().numTensors;
  // ~480 samples / 32 = ~15 steps; the target is reached at step 6, then the later Adam steps must keep the zeros.
  const r = await magnitudePrune(model, data, { sparsity: 0.6, epochs: 1, batchSize: 32, endStep: 6, frequency: 2, learningRate: 1e-3 });
  expect(r.totalSteps).toBe(Math.ceil(data.train.y.length / 32));
  expect(r.totalSteps).toBeGreaterThan(10);
  expect(r.schedule[0]).toEqual({ step: 0, sparsity: 0 });
  expect(r.schedule[r.schedule.length - 1].sparsity).toBe(0.6);
  expect(r.schedule[r.schedule.length - 1].step).toBeLessThanOrEqual(6);
  for (let i = 1; i < r.schedule.length; i++) expect(r.schedule[i].sparsity).toBeGreaterThan(r.schedule[i - 1].sparsity);
  // Exactly floor(0.6·n) zeros per kernel, counted independently of the result's own figures.
  for (const l of r.model.layers.filter((x) => x.getClassName() === 'Dense')) {
    const v = l.getWeights()[0].dataSync();
    let zeros = 0;
    for (let i = 0; i < v.length; i++) if (v[i] === 0) zeros++;
    expect(zeros).toBe(Math.floor(0.6 * v.length));
    // Biases are not pruned.
    const b = l.getWeights()[1].dataSync();
    expect(Array.from(b).filter((x) => x === 0).length).toBeLessThan(b.length);
  }
  expect(r.layers).toHaveLength(3);
  expect(r.sparsity).toBeGreaterThan(0.599);
  expect(r.sparsity).toBeLessThanOrEqual(0.6);
  expect(kernelSparsity(r.model)).toEqual(r.layers);
  // The original model is unchanged.
  model.getWeights().forEach((w, i) => expect(Array.from(w.dataSync())).toEqual(Array.from(w0[i])));
  // Still a working classifier (pruned 60 % and fine-tuned from a trained model).
  const acc = evaluate(r.model, data.test).accuracy;
  expect(acc).toBeGreaterThan(Math.min(0.5, acc0 - 0.2));
  const bytes = sparseFormatBytes(r.layers);
  const n = r.layers.reduce((a, l) => a + l.weights, 0);
  expect(bytes.dense).toBe(n);
  expect(bytes.sparse).toBe(r.layers.reduce((a, l) => a + Math.ceil(l.weights / 8) + l.weights - l.zeros, 0));
  // Honest pricing: zeros are stored and multiplied by dense int8 kernels, so flash and latency do not change.
  const a = compressionRow('original', model, undefined), p = compressionRow('pruned', r.model, undefined);
  expect(p.int8WeightsFlashBytes).toBe(a.int8WeightsFlashBytes);
  expect(p.latencyMs).toBe(a.latencyMs);
  expect(p.macs).toBe(a.macs);
  r.model.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

test('abort keeps the masks reached so far', async () => {
  const ctrl = new AbortController();
  let batches = 0;
  const r = await magnitudePrune(model, data, {
    sparsity: 0.9, epochs: 2, batchSize: 32, frequency: 1, signal: ctrl.signal,
    onProgress: (e) => { if (e.done >= 3 && ++batches) ctrl.abort(); },
  });
  expect(r.aborted).toBe(true);
  const last = r.schedule[r.schedule.length - 1].sparsity;
  expect(last).toBeGreaterThan(0);
  expect(last).toBeLessThan(0.9);
  expect(r.sparsity).toBeGreaterThan(0);
  expect(r.sparsity).toBeLessThan(0.9);
  r.model.dispose();
  await expect(magnitudePrune(model, data, { sparsity: 1 })).rejects.toThrow(/sparsity must be in/);
});
