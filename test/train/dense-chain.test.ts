/**
 * The fused dense-chain training step (TinylabDenseChainStep on wasm, src/train/dense-chain.ts) against the generic
 * path (tape over layers.apply, src/train/loop.ts) on tfjs' reference cpu backend, on random small
 * Dense/BatchNorm/ReLU models and random data:
 *  - one step: the loss, every gradient and the new BatchNorm moving statistics (max relative error < 1e-4),
 *  - several train() steps (SGD, and Adam): loss history, every weight incl. moving statistics, and inference
 *    outputs after training,
 *  - tf.memory().numTensors constant across steps and unchanged by train(),
 *  - models or runs it does not handle train through the generic path (the fast-step counter does not move).
 * A Dense bias that feeds a BatchNorm has a gradient that is mathematically zero (BatchNorm subtracts the batch mean);
 * both paths produce rounding noise there, so those are checked against the layer's kernel-gradient scale instead.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { Dataset } from '../../src/data/types';
import { buildAutoencoder } from '../../src/models';
import { forward, train, TrainOptions } from '../../src/train';
import { denseChainGradients, denseChainStepsRun, recogniseDenseChain } from '../../src/train/dense-chain';
import { randomArrays, relError } from '../helpers/numeric';
import { simdKernels } from '../../src/backend/simd';
import { asWasm, f32 } from '../../src/backend/wasm-heap';

const TOL = 1e-4;

interface ModelOpts {
  inputDim?: number;
  /** Bias on the Dense layers that feed a BatchNorm (their gradient is rounding noise, which Adam amplifies). */
  biasBeforeBn?: boolean;
  sequential?: boolean;
}

/**
 * input → Dense+BN+Activation(relu) → Dense(relu fused) → Dense+BN+ReLU layer → Dense+BN+Activation(relu) → Dense
 * (linear reconstruction), with seeded non-trivial values for every weight (γ, β, moving statistics included) so the
 * same model can be rebuilt on each backend.
 */
function buildModel(o: ModelOpts = {}): tf.LayersModel {
  const inputDim = o.inputDim ?? 12;
  const useBias = o.biasBeforeBn ?? true;
  const layers: tf.layers.Layer[] = [
    tf.layers.dense({ units: 16, useBias, inputShape: [inputDim] }),
    tf.layers.batchNormalization({ momentum: 0.9 }),
    tf.layers.activation({ activation: 'relu' }),
    tf.layers.dense({ units: 8, activation: 'relu' }),
    tf.layers.dense({ units: 8, useBias }),
    tf.layers.batchNormalization({ epsilon: 0.01 }),
    tf.layers.reLU(),
    tf.layers.dense({ units: 4, useBias }),
    tf.layers.batchNormalization(),
    tf.layers.activation({ activation: 'relu' }),
    tf.layers.dense({ units: inputDim }),
  ];
  let model: tf.LayersModel;
  if (o.sequential) {
    model = tf.sequential({ layers });
  } else {
    const input = tf.input({ shape: [inputDim] });
    let h: tf.SymbolicTensor = input;
    for (const l of layers) h = l.apply(h) as tf.SymbolicTensor;
    model = tf.model({ inputs: input, outputs: h });
  }
  setSeededWeights(model, 99);
  return model;
}

function setSeededWeights(model: tf.LayersModel, seed: number): void {
  const arr = randomArrays(seed);
  for (const w of model.weights) {
    const n = w.name;
    const a = /gamma/.test(n) ? arr(w.shape as number[], 1, 0.5)
      : /moving_variance/.test(n) ? arr(w.shape as number[], 1, 0.4)
      : /moving_mean|beta|bias/.test(n) ? arr(w.shape as number[], 0, 0.3)
      : arr(w.shape as number[], 0, 0.5);
    const t = tf.tensor(a.data, a.shape);
    w.write(t); // the variable now shares t's data; t itself is not needed
    t.dispose();
  }
}

function dataset(n: number, dim: number, seed: number, offset = 0.2): Dataset {
  const a = randomArrays(seed)([n, dim], offset, 1.5);
  return { x: a.data, y: new Int32Array(0), sampleShape: [dim], numClasses: 0, classNames: [], name: 'random' };
}

const read = (t: tf.Tensor) => Float32Array.from(t.dataSync() as Float32Array);

/** Which Dense biases feed a BatchNorm (index in model.trainableWeights → index of that layer's kernel). */
function biasesBeforeBn(model: tf.LayersModel): Map<number, number> {
  const out = new Map<number, number>();
  const names = model.trainableWeights.map((w) => w.name);
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  layers.forEach((l, i) => {
    if (l.getClassName() !== 'Dense' || layers[i + 1]?.getClassName() !== 'BatchNormalization') return;
    const b = l.weights.find((w) => /bias/.test(w.name));
    const k = l.weights.find((w) => /kernel/.test(w.name));
    if (b && k) out.set(names.indexOf(b.name), names.indexOf(k.name));
  });
  return out;
}

function expectGradientsMatch(model: tf.LayersModel, fast: Float32Array[], ref: Float32Array[]): void {
  const special = biasesBeforeBn(model);
  expect(fast.length).toBe(ref.length);
  fast.forEach((g, i) => {
    expect(g.length).toBe(ref[i].length);
    const k = special.get(i);
    if (k === undefined) {
      expect({ weight: model.trainableWeights[i].name, err: relError(g, ref[i]) < TOL }).toEqual({ weight: model.trainableWeights[i].name, err: true });
    } else {
      const scale = Math.max(...Array.from(ref[k], Math.abs));
      const maxDiff = Math.max(...Array.from(g, (v, j) => Math.abs(v - ref[i][j])));
      expect(maxDiff).toBeLessThan(TOL * scale);
    }
  });
}

/** The generic loop's MSE step (forward in training mode, tf.losses.meanSquaredError) as variableGrads. */
function genericGradients(model: tf.LayersModel, x: tf.Tensor): { loss: number; grads: Float32Array[] } {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => {
    const r = forward(model, x, true);
    return tf.losses.meanSquaredError(x.reshape(r.output.shape), r.output) as tf.Scalar;
  }, vars);
  const out = { loss: value.dataSync()[0], grads: vars.map((v) => read(grads[v.name])) };
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

const movingStatsOf = (model: tf.LayersModel) => model.nonTrainableWeights.map((w) => read(w.read()));

afterAll(async () => {
  await initBackend('wasm');
});

test('SIMD affine2: out = x·a + y·b + c per column, in place over x', async () => {
  await initBackend('wasm');
  const backend = asWasm(tf.backend());
  const k = simdKernels(backend)!;
  expect(k).not.toBeNull();
  const [R, C] = [37, 12];
  const arr = randomArrays(8);
  const x = tf.tensor(arr([R, C]).data, [R, C]), y = tf.tensor(arr([R, C]).data, [R, C]);
  const a = arr([C]).data, b = arr([C]).data, c = arr([C]).data;
  const want = new Float32Array(R * C);
  const X = read(x), Y = read(y);
  for (let i = 0; i < R * C; i++) want[i] = X[i] * a[i % C] + Y[i] * b[i % C] + c[i % C];
  const p = k.malloc(3 * C * 4);
  new Float32Array(k.buffer(), p, 3 * C).set([...a, ...b, ...c]);
  const x0 = f32(backend, x).byteOffset;
  k.affine2(x0, f32(backend, y).byteOffset, x0 + R * C * 4, C * 4, p, p + C * 4, p + 2 * C * 4, x0);
  k.free(p);
  expect(relError(read(x), want)).toBeLessThan(1e-6);
  tf.dispose([x, y]);
});

describe('dense-chain recognition', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  test('recognises functional and Sequential Dense/BatchNorm/ReLU chains and the benchmark autoencoder', () => {
    for (const sequential of [false, true]) {
      const m = buildModel({ sequential });
      const chain = recogniseDenseChain(m, m.trainableWeights.map((w) => w.read() as tf.Variable));
      expect(chain?.plan.ops.map((o) => (o.kind === 'dense' ? `dense${o.relu ? '+relu' : ''}` : o.kind))).toEqual([
        'dense', 'batchnorm', 'relu', 'dense+relu', 'dense', 'batchnorm', 'relu', 'dense', 'batchnorm', 'relu', 'dense',
      ]);
      expect(chain?.movingStats.length).toBe(6);
      m.dispose();
    }
    // Twice: the second model's variable names get a uniquifying suffix ('reconstruction/kernel_1').
    for (let i = 0; i < 2; i++) {
      const ae = buildAutoencoder({ inputDim: 16, hidden: [12, 8], bottleneck: 4, seed: 1 });
      expect(recogniseDenseChain(ae, ae.trainableWeights.map((w) => w.read() as tf.Variable))).not.toBeNull();
      ae.dispose();
    }
  });

  test('does not recognise other models, or any model on the cpu backend', async () => {
    const make = (layers: tf.layers.Layer[]) => tf.sequential({ layers });
    const models: tf.LayersModel[] = [
      make([tf.layers.dense({ units: 8, inputShape: [12] }), tf.layers.dropout({ rate: 0.5 }), tf.layers.dense({ units: 12 })]),
      make([tf.layers.dense({ units: 6, inputShape: [12] }), tf.layers.dense({ units: 12 })]), // width not a multiple of 4
      make([tf.layers.dense({ units: 8, inputShape: [12], kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }) }), tf.layers.dense({ units: 12 })]),
      make([tf.layers.dense({ units: 8, inputShape: [12], activation: 'tanh' }), tf.layers.dense({ units: 12 })]),
      make([tf.layers.dense({ units: 8, inputShape: [12] }), tf.layers.batchNormalization({ center: false }), tf.layers.dense({ units: 12 })]),
    ];
    const input = tf.input({ shape: [12] });
    const a = tf.layers.dense({ units: 12 }).apply(input) as tf.SymbolicTensor;
    models.push(tf.model({ inputs: input, outputs: tf.layers.add().apply([a, input]) as tf.SymbolicTensor })); // a branch
    const frozen = buildModel();
    frozen.layers[1].trainable = false;
    models.push(frozen);
    for (const m of models) {
      expect(recogniseDenseChain(m, m.trainableWeights.map((w) => w.read() as tf.Variable))).toBeNull();
      m.dispose();
    }
    await initBackend('cpu');
    const m = buildModel();
    expect(recogniseDenseChain(m, m.trainableWeights.map((w) => w.read() as tf.Variable))).toBeNull();
    m.dispose();
    await initBackend('wasm');
  });
});

describe('dense-chain step vs the generic path on cpu', () => {
  test.each([
    ['batch 32', 32, 0.2],
    ['batch 7', 7, 0.2],
    ['batch 200 (several accumulation blocks), data far from zero', 200, 20],
  ])('one step: loss, every gradient and the moving statistics (%s)', async (_name, batch, offset) => {
    const data = dataset(batch, 12, 5, offset);
    await initBackend('cpu');
    const ref = buildModel();
    const xr = tf.tensor(data.x, [batch, 12]);
    const r = genericGradients(ref, xr); // also updates the moving statistics, as the training forward pass does
    const refStats = movingStatsOf(ref);
    tf.dispose(xr);
    ref.dispose();

    await initBackend('wasm');
    const m = buildModel();
    const x = tf.tensor(data.x, [batch, 12]);
    const chain = recogniseDenseChain(m, m.trainableWeights.map((w) => w.read() as tf.Variable));
    expect(chain).not.toBeNull();
    const before = tf.memory().numTensors;
    const f = denseChainGradients(chain!, x, x);
    expect(f.grads.length).toBe(m.trainableWeights.length);
    expect(f.movingStats.length).toBe(refStats.length);
    expect(relError(new Float32Array([f.loss]), new Float32Array([r.loss]))).toBeLessThan(TOL);
    expectGradientsMatch(m, f.grads.map(read), r.grads);
    f.movingStats.forEach((s, i) => expect(relError(read(s), refStats[i])).toBeLessThan(TOL));
    tf.dispose([...f.grads, ...f.movingStats]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    m.dispose();
  });

  /** train() on cpu (generic) and on wasm (fast path) from the same model and data; compare everything. */
  async function compareTraining(o: ModelOpts, opts: TrainOptions, makeOpt?: () => tf.Optimizer): Promise<void> {
    const data = dataset(40, 12, 11); // batches of 16, 16 and 8
    const probe = dataset(9, 12, 12);
    const runOn = async (b: 'cpu' | 'wasm') => {
      await initBackend(b);
      const m = buildModel(o);
      const steps0 = denseChainStepsRun();
      const opt = makeOpt?.();
      const r = await train(m, { train: data }, { epochs: 3, batchSize: 16, seed: 4, restoreBest: false, ...opts, ...(opt ? { optimizer: opt } : {}) });
      const steps = denseChainStepsRun() - steps0;
      const weights = m.weights.map((w) => ({ name: w.name, v: read(w.read()) }));
      const p = tf.tensor(probe.x, [9, 12]);
      const out = m.predict(p) as tf.Tensor; // inference mode: uses the moving statistics
      const pred = read(out);
      tf.dispose([p, out]);
      opt?.dispose();
      m.dispose();
      return { losses: r.history.map((h) => h.loss), weights, pred, steps };
    };
    const ref = await runOn('cpu');
    const fast = await runOn('wasm');
    expect(ref.steps).toBe(0);
    expect(fast.steps).toBe(9);
    expect(relError(Float32Array.from(fast.losses), Float32Array.from(ref.losses))).toBeLessThan(TOL);
    fast.weights.forEach((w, i) => {
      // Same layer kind and weight (layer names carry a per-process counter).
      expect(w.name.replace(/\d+/g, '')).toBe(ref.weights[i].name.replace(/\d+/g, ''));
      expect({ name: w.name, ok: relError(w.v, ref.weights[i].v) < TOL }).toEqual({ name: w.name, ok: true });
    });
    expect(relError(fast.pred, ref.pred)).toBeLessThan(TOL);
  }

  test('three epochs of SGD: loss history, every weight, moving statistics and inference outputs', async () => {
    await compareTraining({}, {}, () => tf.train.sgd(0.05));
  });

  test('three epochs of Adam (the loop\'s fused Adam), Sequential model without biases before BatchNorm', async () => {
    await compareTraining({ biasBeforeBn: false, sequential: true }, { optimizer: 'adam', learningRate: 0.01 });
  });

  test('tf.memory().numTensors stays constant across fast steps and train() leaves none behind', async () => {
    await initBackend('wasm');
    const m = buildModel();
    const data = dataset(96, 12, 21);
    const before = tf.memory().numTensors;
    const dataIds0 = tf.backend().numDataIds();
    const counts: number[] = [];
    const dataIds: number[] = []; // heap buffers: catches intermediates the kernel forgets to free
    const steps0 = denseChainStepsRun();
    await train(m, { train: data }, {
      epochs: 3, batchSize: 16, restoreBest: false, progressIntervalMs: 0,
      onProgress: (e) => {
        if (e.metrics?.epochEnd) return;
        counts.push(tf.memory().numTensors);
        dataIds.push(tf.backend().numDataIds());
      },
    });
    expect(denseChainStepsRun() - steps0).toBe(18);
    expect(counts.length).toBe(18);
    // The optimizer's slots appear at the first step; nothing grows after it.
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(new Set(dataIds.slice(1)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.backend().numDataIds()).toBe(dataIds0);
    m.dispose();
  });
});

describe('models and runs the fast path does not handle', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  const trainsGenerically = async (m: tf.LayersModel, d: Dataset, opts: TrainOptions = {}) => {
    const w0 = m.getWeights().map(read);
    const steps0 = denseChainStepsRun();
    const before = tf.memory().numTensors;
    const r = await train(m, { train: d }, { epochs: 2, batchSize: 16, restoreBest: false, learningRate: 0.01, ...opts });
    expect(denseChainStepsRun()).toBe(steps0);
    expect(r.history.every((h) => Number.isFinite(h.loss))).toBe(true);
    const changed = m.getWeights().map(read).some((w, i) => relError(w, w0[i]) > 1e-6);
    expect(changed).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  };

  test('a model with Dropout trains through the generic path', async () => {
    const m = tf.sequential({ layers: [
      tf.layers.dense({ units: 8, inputShape: [12] }), tf.layers.batchNormalization(), tf.layers.dropout({ rate: 0.2 }),
      tf.layers.reLU(), tf.layers.dense({ units: 12 }),
    ] });
    await trainsGenerically(m, dataset(48, 12, 31));
  });

  test('a width that is not a multiple of 4 trains through the generic path', async () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ units: 5, inputShape: [12], activation: 'relu' }), tf.layers.dense({ units: 12 })] });
    await trainsGenerically(m, dataset(48, 12, 32));
  });

  test('a recognised model with fastPath: false, and with labelled data, trains through the generic path', async () => {
    await trainsGenerically(buildModel(), dataset(48, 12, 33), { fastPath: false });
    const labelled = { ...dataset(48, 12, 34), numClasses: 12, y: Int32Array.from({ length: 48 }, (_, i) => i % 12) };
    await trainsGenerically(buildModel(), labelled, { loss: 'mse' });
  });
});
