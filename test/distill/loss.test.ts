/**
 * The distillation loss against plain-JS hand computations: value, the alpha = 1 (plain cross-entropy) and
 * alpha = 0 limits, and the gradient with respect to the student logits (which is what the T² factor is about).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { distillationLoss } from '../../src/distill';
import { InputError } from '../../src/common/errors';

const S = [
  [2.0, -1.0, 0.5, 0.1],
  [-0.3, 1.7, 0.2, -2.2],
  [0.0, 0.4, 3.1, -0.7],
];
const T_ = [
  [3.5, -2.0, 1.0, 0.0],
  [0.2, 2.5, -1.0, -1.5],
  [-1.0, 0.3, 4.0, 0.6],
];
const Y = [0, 1, 3]; // the third sample's label disagrees with both models on purpose

function softmax(v: number[]): number[] {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

/** alpha·CE(y, softmax(s)) + (1−alpha)·T²·CE(softmax(t/T), softmax(s/T)), batch mean, by hand. */
function handLoss(s: number[][], t: number[][], y: number[], T: number, alpha: number): number {
  let total = 0;
  for (let i = 0; i < s.length; i++) {
    const hard = -Math.log(softmax(s[i])[y[i]]);
    const pt = softmax(t[i].map((v) => v / T));
    const ps = softmax(s[i].map((v) => v / T));
    let soft = 0;
    for (let k = 0; k < pt.length; k++) soft -= pt[k] * Math.log(ps[k]);
    total += alpha * hard + (1 - alpha) * T * T * soft;
  }
  return total / s.length;
}

/** d loss / d s by hand: alpha·(softmax(s) − y)/B + (1−alpha)·T·(softmax(s/T) − softmax(t/T))/B. */
function handGrad(s: number[][], t: number[][], y: number[], T: number, alpha: number): number[][] {
  const B = s.length;
  return s.map((row, i) => {
    const p = softmax(row);
    const ps = softmax(row.map((v) => v / T));
    const pt = softmax(t[i].map((v) => v / T));
    return row.map((_, k) => (alpha * (p[k] - (k === y[i] ? 1 : 0)) + (1 - alpha) * T * (ps[k] - pt[k])) / B);
  });
}

function oneHot(y: number[], c: number): number[][] {
  return y.map((v) => Array.from({ length: c }, (_, k) => (k === v ? 1 : 0)));
}

beforeAll(async () => {
  await initBackend();
});

function lossOf(T: number, alpha: number): number {
  return tf.tidy(() => distillationLoss(tf.tensor2d(oneHot(Y, 4)), tf.tensor2d(S), tf.tensor2d(T_), { temperature: T, alpha }).dataSync()[0]);
}

test.each([
  [4, 0.3],
  [2, 0.5],
  [1, 0.9],
  [8, 0.0],
])('loss value matches the hand computation (T=%d, alpha=%d)', (T, alpha) => {
  const before = tf.memory().numTensors;
  const got = lossOf(T, alpha);
  expect(tf.memory().numTensors).toBe(before);
  const want = handLoss(S, T_, Y, T, alpha);
  expect(Math.abs(got - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
});

test('alpha = 1 is plain cross-entropy (any temperature, teacher ignored)', () => {
  const before = tf.memory().numTensors;
  const ce = tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.tensor2d(oneHot(Y, 4)), tf.tensor2d(S)).dataSync()[0]);
  let hand = 0;
  for (let i = 0; i < S.length; i++) hand -= Math.log(softmax(S[i])[Y[i]]);
  hand /= S.length;
  for (const T of [1, 3, 10]) {
    expect(Math.abs(lossOf(T, 1) - ce)).toBeLessThan(1e-6);
    expect(Math.abs(lossOf(T, 1) - hand)).toBeLessThan(1e-5);
  }
  expect(tf.memory().numTensors).toBe(before);
});

test('gradient in the student logits matches the hand derivation (the T² scaling)', () => {
  const before = tf.memory().numTensors;
  for (const [T, alpha] of [[4, 0.3], [2, 0]] as const) {
    const g = tf.tidy(() => {
      const y = tf.tensor2d(oneHot(Y, 4));
      const t = tf.tensor2d(T_);
      const grad = tf.grad((s: tf.Tensor) => distillationLoss(y, s, t, { temperature: T, alpha }));
      return grad(tf.tensor2d(S)).arraySync() as number[][];
    });
    const want = handGrad(S, T_, Y, T, alpha);
    for (let i = 0; i < S.length; i++) for (let k = 0; k < 4; k++) expect(Math.abs(g[i][k] - want[i][k])).toBeLessThan(1e-5);
  }
  expect(tf.memory().numTensors).toBe(before);
});

test('bad temperature, alpha or class counts are InputErrors that name the fix', () => {
  const before = tf.memory().numTensors;
  expect(() => lossOf(0, 0.5)).toThrow(InputError);
  expect(() => lossOf(4, 1.5)).toThrow(/alpha must be in \[0, 1\]/);
  expect(() =>
    tf.tidy(() => distillationLoss(tf.tensor2d(oneHot(Y, 4)), tf.tensor2d(S), tf.zeros([3, 5]), { temperature: 2, alpha: 0.5 })),
  ).toThrow(/numClasses/);
  expect(tf.memory().numTensors).toBe(before);
});
