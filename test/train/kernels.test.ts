/**
 * tinylab's WASM gradient kernels against the cpu backend (tfjs' reference JS implementation) on random shapes:
 * every stride, dilation, padding (same/valid/explicit) and channel multiplier; max relative error < 1e-4.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { mulberry32 } from '../../src/common/rng';

type Attrs = Record<string, unknown>;

function randArray(n: number, rng: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng() * 2 - 1;
  return a;
}

/** Run one kernel on a backend from plain arrays and read the result back. */
async function runOn(
  backend: 'cpu' | 'wasm',
  kernel: string,
  inputs: Record<string, { data: Float32Array; shape: number[] }>,
  attrs: Attrs,
): Promise<{ data: Float32Array; shape: number[] }> {
  await initBackend(backend);
  const before = tf.memory().numTensors;
  const ts: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.data, v.shape);
  const out = tf.engine().runKernel(kernel, ts as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
  const data = (await out.data()) as Float32Array;
  const shape = out.shape;
  out.dispose();
  Object.values(ts).forEach((t) => t.dispose());
  expect(tf.memory().numTensors).toBe(before);
  return { data: Float32Array.from(data), shape };
}

/** Max |a-b| / max(1, |b|)-style relative error: normalised by the reference's max magnitude. */
function maxRelError(a: Float32Array, b: Float32Array): number {
  let maxRef = 0;
  for (let i = 0; i < b.length; i++) maxRef = Math.max(maxRef, Math.abs(b[i]));
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3 * maxRef, 1e-12);
    if (err > worst) worst = err;
  }
  return worst;
}

function outSize(inSize: number, k: number, s: number, d: number, pad: string | number[][], axis: number): number {
  const ek = (k - 1) * d + 1;
  if (pad === 'same') return Math.ceil(inSize / s);
  if (pad === 'valid') return Math.ceil((inSize - ek + 1) / s);
  const p = (pad as number[][])[axis];
  return Math.floor((inSize + p[0] + p[1] - ek) / s) + 1;
}

interface Case {
  n: number; h: number; w: number; ci: number; co: number; kh: number; kw: number;
  s: [number, number]; d: [number, number]; pad: 'same' | 'valid' | number[][];
}

function randomCases(seed: number, count: number, depthwise: boolean): Case[] {
  const rng = mulberry32(seed);
  const ri = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
  const cases: Case[] = [];
  while (cases.length < count) {
    const kh = ri(1, 4), kw = ri(1, 4);
    const s: [number, number] = [ri(1, 3), ri(1, 3)];
    // tfjs requires stride 1 when dilation > 1.
    const d: [number, number] = s[0] === 1 && s[1] === 1 && rng() < 0.4 ? [ri(1, 3), ri(1, 3)] : [1, 1];
    const r = rng();
    const pad: Case['pad'] =
      r < 0.35 ? 'same' : r < 0.7 ? 'valid' : [[0, 0], [ri(0, 2), ri(0, 2)], [ri(0, 2), ri(0, 2)], [0, 0]];
    const c: Case = {
      n: ri(1, 3), h: ri(5, 12), w: ri(5, 12), ci: ri(1, 6), co: depthwise ? ri(1, 3) : ri(1, 7), kh, kw, s, d, pad,
    };
    const oh = outSize(c.h, kh, s[0], d[0], pad, 1), ow = outSize(c.w, kw, s[1], d[1], pad, 2);
    if (oh < 1 || ow < 1) continue;
    cases.push(c);
  }
  return cases;
}

const TOL = 1e-4;

describe('WASM gradient kernels vs cpu', () => {
  afterAll(async () => {
    await initBackend('wasm');
  });

  // Random cases rarely hit stride 1 with an output plane equal to the input plane (the shifted-copy fast path),
  // so add those explicitly: odd and even kernels, 'same' and explicit padding, 1x1.
  const fixed: Case[] = [
    { n: 2, h: 7, w: 6, ci: 3, co: 4, kh: 3, kw: 3, s: [1, 1], d: [1, 1], pad: 'same' },
    { n: 3, h: 5, w: 9, ci: 2, co: 5, kh: 2, kw: 4, s: [1, 1], d: [1, 1], pad: 'same' },
    { n: 1, h: 8, w: 8, ci: 4, co: 3, kh: 5, kw: 3, s: [1, 1], d: [1, 1], pad: [[0, 0], [2, 2], [1, 1], [0, 0]] },
    { n: 2, h: 6, w: 5, ci: 5, co: 6, kh: 1, kw: 1, s: [1, 1], d: [1, 1], pad: 'same' },
    { n: 2, h: 4, w: 4, ci: 2, co: 2, kh: 4, kw: 4, s: [1, 1], d: [1, 1], pad: 'same' },
  ];
  const convCases = [...fixed, ...randomCases(11, 14, false)];
  test.each(convCases.map((c, i) => [i, c] as const))('Conv2D backprop filter+input, case %i', async (_i, c) => {
    const rng = mulberry32(100 + _i);
    const oh = outSize(c.h, c.kh, c.s[0], 1, c.pad, 1), ow = outSize(c.w, c.kw, c.s[1], 1, c.pad, 2);
    const x = { data: randArray(c.n * c.h * c.w * c.ci, rng), shape: [c.n, c.h, c.w, c.ci] };
    const dy = { data: randArray(c.n * oh * ow * c.co, rng), shape: [c.n, oh, ow, c.co] };
    const filter = { data: randArray(c.kh * c.kw * c.ci * c.co, rng), shape: [c.kh, c.kw, c.ci, c.co] };
    // tfjs' conv2d gradients do not take dilations (they are asserted to be 1), so neither do these attrs.
    const fAttrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: filter.shape };
    const a = await runOn('wasm', 'Conv2DBackpropFilter', { x, dy }, fAttrs);
    const b = await runOn('cpu', 'Conv2DBackpropFilter', { x, dy }, fAttrs);
    expect(a.shape).toEqual(b.shape);
    expect(maxRelError(a.data, b.data)).toBeLessThan(TOL);
    const iAttrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: x.shape };
    const ai = await runOn('wasm', 'Conv2DBackpropInput', { dy, filter }, iAttrs);
    const bi = await runOn('cpu', 'Conv2DBackpropInput', { dy, filter }, iAttrs);
    expect(ai.shape).toEqual(bi.shape);
    expect(maxRelError(ai.data, bi.data)).toBeLessThan(TOL);
  });

  const dwCases = randomCases(23, 14, true);
  test.each(dwCases.map((c, i) => [i, c] as const))('Depthwise backprop filter+input, case %i', async (_i, c) => {
    const rng = mulberry32(200 + _i);
    const m = c.co; // channel multiplier
    const oh = outSize(c.h, c.kh, c.s[0], c.d[0], c.pad, 1), ow = outSize(c.w, c.kw, c.s[1], c.d[1], c.pad, 2);
    const x = { data: randArray(c.n * c.h * c.w * c.ci, rng), shape: [c.n, c.h, c.w, c.ci] };
    const dy = { data: randArray(c.n * oh * ow * c.ci * m, rng), shape: [c.n, oh, ow, c.ci * m] };
    const filter = { data: randArray(c.kh * c.kw * c.ci * m, rng), shape: [c.kh, c.kw, c.ci, m] };
    const fAttrs = { strides: c.s, dilations: c.d, pad: c.pad, dimRoundingMode: undefined, filterShape: filter.shape };
    const a = await runOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, fAttrs);
    const b = await runOn('cpu', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, fAttrs);
    expect(a.shape).toEqual(b.shape);
    expect(maxRelError(a.data, b.data)).toBeLessThan(TOL);
    const iAttrs = { strides: c.s, dilations: c.d, pad: c.pad, dimRoundingMode: undefined, inputShape: x.shape };
    const ai = await runOn('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, iAttrs);
    const bi = await runOn('cpu', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, iAttrs);
    expect(ai.shape).toEqual(bi.shape);
    expect(maxRelError(ai.data, bi.data)).toBeLessThan(TOL);
  });

  test('end-to-end gradients of a conv + depthwise + batchnorm net match cpu', async () => {
    const rng = mulberry32(7);
    const xData = randArray(4 * 9 * 8 * 3, rng);
    const wData = randArray(3 * 3 * 3 * 5, rng);
    const dwData = randArray(3 * 3 * 5 * 2, rng);
    const gamma = randArray(10, rng), beta = randArray(10, rng);
    const rData = randArray(4 * 3 * 6 * 10, rng);
    const grads = async (backend: 'cpu' | 'wasm') => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const x = tf.tensor4d(xData, [4, 9, 8, 3]);
      const w = tf.tensor4d(wData, [3, 3, 3, 5]);
      const dw = tf.tensor4d(dwData, [3, 3, 5, 2]);
      const g = tf.tensor1d(gamma), bt = tf.tensor1d(beta);
      const r = tf.tensor4d(rData, [4, 3, 6, 10]);
      const f = (xx: tf.Tensor, ww: tf.Tensor, dd: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
        const y = tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, [2, 1], 'same');
        const z = tf.depthwiseConv2d(tf.relu(y), dd as tf.Tensor4D, 1, 'valid');
        const { mean, variance } = tf.moments(z, [0, 1, 2]);
        const bn = tf.batchNorm(z, mean, variance, bb as tf.Tensor1D, gg as tf.Tensor1D, 1e-3);
        return tf.sum(tf.mul(bn, r));
      };
      const gs = tf.grads(f)([x, w, dw, g, bt]);
      const out = await Promise.all(gs.map(async (t) => Float32Array.from((await t.data()) as Float32Array)));
      tf.dispose([...gs, x, w, dw, g, bt, r]);
      expect(tf.memory().numTensors).toBe(before);
      return out;
    };
    const a = await grads('wasm');
    const b = await grads('cpu');
    // Whole-network gradients: error relative to the gradient's largest magnitude (individual entries near zero
    // come from cancelling sums, where elementwise relative error says nothing).
    for (let i = 0; i < a.length; i++) {
      let maxRef = 0, maxErr = 0;
      for (let j = 0; j < b[i].length; j++) {
        maxRef = Math.max(maxRef, Math.abs(b[i][j]));
        maxErr = Math.max(maxErr, Math.abs(a[i][j] - b[i][j]));
      }
      expect(maxErr / maxRef).toBeLessThan(1e-4);
    }
  });
});

/** The stock-kernel overrides (Tile, Fill, Sum/Mean, MaxPoolGrad, FusedBatchNorm, transposed MatMul) vs cpu. */
describe('WASM kernel overrides vs cpu', () => {
  const rng = mulberry32(99);
  const arr = (shape: number[]) => ({ data: randArray(shape.reduce((a, b) => a * b, 1), rng), shape });
  async function both(f: (ts: tf.Tensor[]) => tf.Tensor | tf.Tensor[], inputs: Array<{ data: Float32Array; shape: number[] }>) {
    const out: Float32Array[][] = [];
    for (const b of ['wasm', 'cpu'] as const) {
      await initBackend(b);
      const before = tf.memory().numTensors;
      const ts = inputs.map((i) => tf.tensor(i.data, i.shape));
      const r = tf.tidy(() => f(ts));
      const rs = Array.isArray(r) ? r : [r];
      out.push(await Promise.all(rs.map(async (t) => Float32Array.from((await t.data()) as Float32Array))));
      tf.dispose([...rs, ...ts]);
      expect(tf.memory().numTensors).toBe(before);
    }
    await initBackend('wasm');
    return out;
  }
  const close = (a: Float32Array[], b: Float32Array[]) => {
    expect(a.length).toBe(b.length);
    a.forEach((x, i) => {
      expect(x.length).toBe(b[i].length);
      expect(maxRelError(x, b[i])).toBeLessThan(TOL);
    });
  };

  test('Tile, broadcastTo, Fill, onesLike', async () => {
    const [a, b] = await both(([x, y]) => [
      tf.tile(x, [2, 1, 3, 2]),
      tf.broadcastTo(y, [4, 5, 3, 6]),
      tf.fill([3, 4], 2.5),
      tf.tile(y.reshape([6]), [5]),
    ], [arr([2, 3, 1, 4]), arr([1, 1, 1, 6])]);
    close(a, b);
  });

  test('Sum/Mean over leading axes (and others, delegated), keepDims', async () => {
    const [a, b] = await both(([x]) => [
      tf.sum(x, [0, 1, 2]), tf.mean(x, [0, 1, 2], true), tf.sum(x, 0), tf.mean(x, [0, 1]),
      tf.sum(x, [1, 3]), tf.mean(x, -1), tf.sum(x),
    ], [arr([5, 7, 3, 9])]);
    close(a, b);
  });

  test('MatMul with transposed operands', async () => {
    const [a, b] = await both(([p, q, r, s]) => [
      tf.matMul(p, q, true, false), tf.matMul(q, p, true, false), tf.matMul(p, r, false, true), tf.matMul(r, s, true, true),
      tf.matMul(tf.stack([p, p]), tf.stack([q, q]), true, false),
    ], [arr([13, 7]), arr([13, 5]), arr([11, 7]), arr([5, 11])]);
    close(a, b);
  });

  test('batchNorm forward and MaxPool/BatchNorm gradients', async () => {
    const [a, b] = await both(([x, m, v, g, o]) => {
      const vv = tf.add(tf.abs(v), 0.5);
      const f = (xx: tf.Tensor, gg: tf.Tensor, oo: tf.Tensor) =>
        tf.sum(tf.mul(tf.maxPool(tf.batchNorm(xx as tf.Tensor4D, m, vv, oo, gg, 1e-3) as tf.Tensor4D, [2, 2], [2, 2], 'same'), 1.7));
      const gs = tf.grads(f)([x, g, o]);
      const y = tf.batchNorm(x as tf.Tensor4D, m, vv, o, g, 1e-3);
      vv.dispose();
      return [y, ...gs];
    }, [arr([3, 5, 7, 4]), arr([4]), arr([4]), arr([4]), arr([4])]);
    close(a, b);
  });

  test('MaxPoolGrad picks the first maximum on ties, like cpu', async () => {
    const x = { data: new Float32Array(2 * 4 * 4 * 3), shape: [2, 4, 4, 3] }; // all zeros: every window ties
    const [a, b] = await both(([t]) => tf.grad((u: tf.Tensor) => tf.sum(tf.maxPool(u as tf.Tensor4D, 2, 2, 'valid')))(t), [x]);
    close(a, b);
  });
});
