/** The training engine's public API: data, models, train/evaluate/predict, save/load, abort, no tensor leaks. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend, backendInfo } from '../../src/backend';
import {
  classCounts, Dataset, datasetSize, GESTURE_CLASSES, loadCsv, loadFolder, loadMnist, loadNpy, loadNpyDataset,
  makeGestureData, parseCsv, splitDataset, batches, normalize, computeNormStats,
} from '../../src/data';
import { buildAutoencoder, buildCnn, buildDsCnn, buildMlp, buildMobileNetV1, buildResNet8, modelSummary } from '../../src/models';
import { evaluate, loadModel, predict, predictClasses, predictLogits, saveModel, train, LossContext } from '../../src/train';
import { InputError } from '../../src/common/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinylab-train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  await initBackend('wasm');
});

describe('backend', () => {
  test('auto picks wasm here (tfjs-node is not installable) and says why', async () => {
    const info = await initBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.reason).toMatch(/tfjs-node/);
    expect(info.extraKernels).toContain('Conv2DBackpropFilter');
    expect(tf.getBackend()).toBe('wasm');
    await expect(initBackend('tfjs-node')).rejects.toThrow(InputError);
    expect(backendInfo()?.name).toBe('wasm');
  });
});

describe('data', () => {
  test('MNIST: 10,000 real digits, stratified deterministic splits, 14x14 downscale', () => {
    const a = loadMnist({ seed: 5 });
    const b = loadMnist({ seed: 5 });
    const c = loadMnist({ seed: 6 });
    expect(datasetSize(a.train) + datasetSize(a.val) + datasetSize(a.test)).toBe(10000);
    // Byte comparison: jest's toEqual walks 6 M floats element by element (minutes).
    const same = (p: ArrayBufferView, q: ArrayBufferView) =>
      Buffer.from(p.buffer, p.byteOffset, p.byteLength).equals(Buffer.from(q.buffer, q.byteOffset, q.byteLength));
    expect(same(a.train.x, b.train.x)).toBe(true);
    expect(same(a.train.y, b.train.y)).toBe(true);
    expect(same(a.train.y, c.train.y)).toBe(false);
    // Stratified: each class's share of train within 0.5 % of its share of the whole set.
    const all = classCounts({ ...a.train, y: Int32Array.from([...a.train.y, ...a.val.y, ...a.test.y]) });
    const tr = classCounts(a.train);
    for (let k = 0; k < 10; k++) expect(Math.abs(tr[k] / datasetSize(a.train) - all[k] / 10000)).toBeLessThan(0.005);
    expect(all[1]).toBe(1127); // the package's count of ones
    const s = loadMnist({ size: 14, seed: 5 });
    expect(s.train.sampleShape).toEqual([14, 14, 1]);
    // 2x2 average of the 28x28 image, checked on one pixel.
    const i = 3, r = 6, col = 7;
    const big = a.train.x.subarray(i * 784, (i + 1) * 784);
    const expected = (big[2 * r * 28 + 2 * col] + big[2 * r * 28 + 2 * col + 1] + big[(2 * r + 1) * 28 + 2 * col] + big[(2 * r + 1) * 28 + 2 * col + 1]) / 4;
    expect(s.train.x[i * 196 + r * 14 + col]).toBeCloseTo(expected, 6);
  });

  test('gestures: deterministic, documented classes, distinct patterns', () => {
    const a = makeGestureData({ seed: 3, samplesPerClass: 30 });
    const b = makeGestureData({ seed: 3, samplesPerClass: 30 });
    expect(Buffer.from(a.train.x.buffer).equals(Buffer.from(b.train.x.buffer))).toBe(true);
    expect(a.train.sampleShape).toEqual([128, 3]);
    expect(a.train.classNames).toEqual([...GESTURE_CLASSES]);
    // 'shake' has far more high-frequency energy than 'idle' (first differences along time).
    const all = a.train;
    const energy = (cls: number) => {
      let e = 0, n = 0;
      for (let s = 0; s < datasetSize(all); s++) {
        if (all.y[s] !== cls) continue;
        for (let t = 1; t < 128; t++) for (let k = 0; k < 3; k++) e += (all.x[s * 384 + t * 3 + k] - all.x[s * 384 + (t - 1) * 3 + k]) ** 2;
        n++;
      }
      return e / n;
    };
    expect(energy(3)).toBeGreaterThan(5 * energy(0));
  });

  test('CSV: header, categorical labels, errors name file/row/column', () => {
    const d = parseCsv('a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n', { file: 'x.csv' });
    expect(Array.from(d.x)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(d.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(d.y)).toEqual([0, 1, 0]);
    expect(() => parseCsv('a,b,label\n1,zz,cat\n', { file: 'x.csv' })).toThrow(/x\.csv: row 2, column 'b': 'zz'/);
    expect(() => parseCsv('a,b\n1,2\n', { file: 'x.csv' })).toThrow(/no column 'label'/);
    const f = path.join(tmp, 'd.csv');
    fs.writeFileSync(f, 'x1,x2,y\n0.5,1.5,1\n2,3,0\n');
    const e = loadCsv(f, { labelColumn: 'y' });
    expect(e.classNames).toEqual(['0', '1']);
    expect(Array.from(e.y)).toEqual([1, 0]);
  });

  test('NPY written by numpy loads with shape and dtype checks', () => {
    const py = spawnSync('/usr/bin/python3', ['-c', `
import numpy as np
np.save('${tmp}/x.npy', (np.arange(24, dtype=np.float32).reshape(4, 3, 2) / 10))
np.save('${tmp}/y.npy', np.array([0, 2, 1, 2], dtype=np.int64))
np.save('${tmp}/u.npy', np.arange(6, dtype=np.uint8).reshape(2, 3))
`]);
    if (py.status !== 0) {
      // numpy missing (.ci/run should install python3-numpy): write the same files by hand, per the NPY v1 spec.
      const npy = (file: string, descr: string, shape: string, body: Buffer) => {
        let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
        header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
        const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 255, header.length >> 8]);
        fs.writeFileSync(path.join(tmp, file), Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
      };
      npy('x.npy', '<f4', '(4, 3, 2)', Buffer.from(Float32Array.from({ length: 24 }, (_, i) => i / 10).buffer));
      npy('y.npy', '<i8', '(4,)', Buffer.from(BigInt64Array.from([0n, 2n, 1n, 2n]).buffer));
      npy('u.npy', '|u1', '(2, 3)', Buffer.from([0, 1, 2, 3, 4, 5]));
    }
    const x = loadNpy(path.join(tmp, 'x.npy'), [-1, 3, 2]);
    expect(x.shape).toEqual([4, 3, 2]);
    expect(x.data[23]).toBeCloseTo(2.3, 6);
    expect(() => loadNpy(path.join(tmp, 'x.npy'), [4, 6])).toThrow(/does not match/);
    const d = loadNpyDataset(path.join(tmp, 'x.npy'), path.join(tmp, 'y.npy'));
    expect(d.sampleShape).toEqual([3, 2]);
    expect(Array.from(d.y)).toEqual([0, 2, 1, 2]);
    expect(d.numClasses).toBe(3);
    const u = loadNpyDataset(path.join(tmp, 'u.npy'));
    expect(u.x[5]).toBeCloseTo(5 / 255, 6);
  });

  test('folder of PNG/PGM images and of WAV clips, one folder per class', () => {
    const img = path.join(tmp, 'img');
    for (const [ci, cls] of ['a', 'b'].entries()) {
      fs.mkdirSync(path.join(img, cls), { recursive: true });
      // A 3x2 grey PNG (filter 0 rows), written with zlib (independent of the decoder).
      const raw = Buffer.from([0, 10 * ci, 20, 30, 0, 40, 50, 255]);
      const chunk = (type: string, data: Buffer) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(data.length);
        return Buffer.concat([len, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
      };
      const ihdr = Buffer.alloc(13);
      ihdr.writeUInt32BE(3, 0);
      ihdr.writeUInt32BE(2, 4);
      ihdr[8] = 8;
      ihdr[9] = 0;
      const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
      fs.writeFileSync(path.join(img, cls, '1.png'), png);
      fs.writeFileSync(path.join(img, cls, '2.pgm'), Buffer.concat([Buffer.from('P5\n3 2\n255\n'), Buffer.from([1, 2, 3, 4, 5, 6])]));
    }
    const d = loadFolder(img);
    expect(d.classNames).toEqual(['a', 'b']);
    expect(d.sampleShape).toEqual([2, 3, 1]);
    expect(Array.from(d.y)).toEqual([0, 0, 1, 1]);
    expect(d.x[2 * 6 + 0]).toBeCloseTo(10 / 255, 6); // class b's PNG, first pixel
    expect(d.x[2 * 6 + 5]).toBeCloseTo(1, 6);
    expect(d.x[1 * 6 + 3]).toBeCloseTo(4 / 255, 6);

    const wav = path.join(tmp, 'wav');
    for (const cls of ['yes', 'no']) {
      fs.mkdirSync(path.join(wav, cls), { recursive: true });
      const n = 8;
      const b = Buffer.alloc(44 + 2 * n);
      b.write('RIFF', 0, 'latin1');
      b.writeUInt32LE(36 + 2 * n, 4);
      b.write('WAVEfmt ', 8, 'latin1');
      b.writeUInt32LE(16, 16);
      b.writeUInt16LE(1, 20);
      b.writeUInt16LE(1, 22);
      b.writeUInt32LE(16000, 24);
      b.writeUInt32LE(32000, 28);
      b.writeUInt16LE(2, 32);
      b.writeUInt16LE(16, 34);
      b.write('data', 36, 'latin1');
      b.writeUInt32LE(2 * n, 40);
      for (let i = 0; i < n; i++) b.writeInt16LE(cls === 'yes' ? 1000 * i : -16384, 44 + 2 * i);
      fs.writeFileSync(path.join(wav, cls, 'c.wav'), b);
    }
    const w = loadFolder(wav);
    expect(w.sampleShape).toEqual([8, 1]);
    expect(w.classNames).toEqual(['no', 'yes']);
    expect(w.x[0]).toBeCloseTo(-0.5, 6);
    expect(w.x[8 + 3]).toBeCloseTo(3000 / 32768, 6);
    expect(() => loadFolder(path.join(tmp, 'nope'))).toThrow(/not a folder/);
  });

  test('splits, normalisation and batches', () => {
    const g = makeGestureData({ seed: 1, samplesPerClass: 10 });
    const st = computeNormStats(g.train);
    const n = normalize(g.train, st);
    const s2 = computeNormStats(n);
    expect(Math.abs(s2.mean)).toBeLessThan(1e-4);
    expect(s2.std).toBeCloseTo(1, 3);
    const seen = new Set<number>();
    for (const b of batches(g.train, 7, { shuffle: true, seed: 2 })) b.indices.forEach((i) => seen.add(i));
    expect(seen.size).toBe(datasetSize(g.train));
    expect(() => splitDataset(g.train, { trainFraction: 0.9, valFraction: 0.3 })).toThrow(InputError);
  });
});

describe('models', () => {
  test('builders produce the documented shapes; summary params match tfjs and MACs match hand counts', () => {
    const before = tf.memory().numTensors;
    const cnn = buildCnn({ inputShape: [28, 28, 1], numClasses: 10, filters: 8, depth: 2, seed: 1 });
    const s = modelSummary(cnn);
    expect(s.totalParams).toBe(cnn.countParams());
    // conv1 valid 3x3: 26x26x8 outputs x 9 MACs; conv2 same 3x3 on 13x13x8 → 13x13x16 x 72 MACs; dense 6*6*16 → 10.
    const conv1 = s.layers.find((l) => l.type === 'Conv2D')!;
    expect(conv1.macs).toBe(26 * 26 * 8 * 9);
    expect(s.layers.filter((l) => l.type === 'Conv2D')[1].macs).toBe(13 * 13 * 16 * 72);
    expect(s.layers.find((l) => l.type === 'Dense')!.macs).toBe(6 * 6 * 16 * 10);
    expect(s.toMimeBundle().data['text/plain']).toMatch(/MACs/);
    const ds = buildDsCnn({ seed: 1 });
    expect(ds.outputs[0].shape).toEqual([null, 12]);
    const dsSum = modelSummary(ds);
    expect(dsSum.layers.find((l) => l.type === 'DepthwiseConv2D')!.macs).toBe(25 * 5 * 64 * 9);
    const mb = buildMobileNetV1({ inputShape: [64, 64, 3], alpha: 0.25, numClasses: 2, seed: 1 });
    expect(mb.outputs[0].shape).toEqual([null, 2]);
    const rn = buildResNet8({ seed: 1 });
    // Hand count: conv0 448 + bn 64; stack1 2·2320 + 2·64; stack2 4640 + 9248 + 2·128 + 1x1 544;
    // stack3 18496 + 36928 + 2·256 + 1x1 2112; dense 650.
    expect(rn.countParams()).toBe(448 + 64 + 4768 + 14688 + 58048 + 650);
    const ae = buildAutoencoder({ seed: 1 });
    expect(ae.outputs[0].shape).toEqual([null, 640]);
    const mlp = buildMlp({ inputShape: [4], numClasses: 3, hidden: [5], seed: 1 });
    expect(mlp.countParams()).toBe(4 * 5 + 5 + 5 * 3 + 3);
    [cnn, ds, mb, rn, ae, mlp].forEach((m) => m.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  test('same seed, same initial weights', () => {
    const a = buildMlp({ inputShape: [4], numClasses: 3, seed: 9 });
    const b = buildMlp({ inputShape: [4], numClasses: 3, seed: 9 });
    expect(a.getWeights()[0].dataSync()).toEqual(b.getWeights()[0].dataSync());
    a.dispose();
    b.dispose();
  });
});

function tinyData(): { train: Dataset; val: Dataset; test: Dataset } {
  return makeGestureData({ seed: 4, samplesPerClass: 40 });
}

describe('train / evaluate / predict / save', () => {
  test('trains gestures, evaluates consistently, no tensor leaks, logits exact', async () => {
    const data = tinyData();
    const model = buildCnn({ inputShape: [128, 3], numClasses: 6, filters: 8, depth: 2, seed: 2 });
    const before = tf.memory().numTensors;
    const events: number[] = [];
    const r = await train(model, data, { epochs: 8, batchSize: 32, learningRate: 3e-3, seed: 1, onProgress: (e) => events.push(e.done) });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.history.length).toBe(8);
    expect(r.stopReason).toBe('completed');
    expect(events.length).toBeGreaterThan(0);
    const e = evaluate(model, data.test);
    expect(tf.memory().numTensors).toBe(before);
    expect(e.accuracy).toBeGreaterThan(0.8);
    // Independent check: accuracy from predictClasses, confusion rows sum to class supports.
    const cls = predictClasses(model, data.test);
    let ok = 0;
    cls.forEach((c, i) => (ok += c === data.test.y[i] ? 1 : 0));
    expect(e.accuracy).toBeCloseTo(ok / cls.length, 10);
    e.confusion.forEach((row, k) => expect(row.reduce((a, b) => a + b, 0)).toBe(e.perClass[k].support));
    // Logits: softmax(logits) == predict().
    const p = predict(model, data.test);
    const z = predictLogits(model, data.test);
    for (let i = 0; i < 5; i++) {
      const row = Array.from(z.subarray(i * 6, i * 6 + 6));
      const m = Math.max(...row);
      const ex = row.map((v) => Math.exp(v - m));
      const sum = ex.reduce((a, b) => a + b, 0);
      ex.forEach((v, j) => expect(v / sum).toBeCloseTo(p[i * 6 + j], 5));
    }
    expect(tf.memory().numTensors).toBe(before);
    // Save / load round trip gives identical predictions.
    const info = await saveModel(model, path.join(tmp, 'gest'));
    expect(fs.existsSync(info.modelJson)).toBe(true);
    const loaded = await loadModel(path.join(tmp, 'gest'));
    const p2 = predict(loaded, data.test);
    expect(Array.from(p2)).toEqual(Array.from(p));
    loaded.dispose();
    model.dispose();
  });

  test('abort stops at the next batch and keeps the best weights; early stopping stops', async () => {
    const data = tinyData();
    const model = buildMlp({ inputShape: [128, 3], numClasses: 6, hidden: [16], seed: 3 });
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    let batchesSeen = 0;
    const r = await train(model, data, {
      epochs: 50, batchSize: 16, seed: 2,
      progressIntervalMs: 0,
      onProgress: (e) => {
        batchesSeen = e.done;
        if (e.metrics?.epoch === 3 && e.metrics?.batch === 2) ac.abort();
      },
      signal: ac.signal,
    });
    expect(r.stopReason).toBe('aborted');
    expect(r.epochsRun).toBe(2);
    expect(r.batchesRun).toBe(batchesSeen);
    expect(r.batchesRun).toBe(2 * Math.ceil(datasetSize(data.train) / 16) + 2);
    expect(tf.memory().numTensors).toBe(before);
    // Best weights restored: validation loss now equals the best epoch's.
    const best = r.history[r.bestEpoch - 1].valLoss!;
    const { evaluateLoss } = await import('../../src/train');
    expect(evaluateLoss(model, data.val).loss).toBeCloseTo(best, 5);

    const r2 = await train(model, data, { epochs: 60, learningRate: 0.5, optimizer: 'sgd', earlyStopping: { patience: 2, monitor: 'val_accuracy', minDelta: 0.5 }, seed: 1 });
    expect(r2.stopReason).toBe('early-stopping');
    expect(r2.epochsRun).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  test('custom loss hook sees logits and labels (distillation-style) and schedules set the rate', async () => {
    const data = tinyData();
    const model = buildMlp({ inputShape: [128, 3], numClasses: 6, hidden: [16], seed: 5 });
    const before = tf.memory().numTensors;
    let calls = 0;
    const r = await train(model, { train: data.train }, {
      epochs: 3, batchSize: 64, schedule: 'cosine', learningRate: 1e-2, seed: 1,
      loss: (ctx: LossContext) => {
        calls++;
        expect(ctx.logits).not.toBeNull();
        expect(ctx.labels?.shape[0]).toBe(ctx.x.shape[0]);
        return tf.losses.softmaxCrossEntropy(ctx.yTrue, ctx.logits!) as tf.Scalar;
      },
    });
    expect(calls).toBe(3 * Math.ceil(datasetSize(data.train) / 64));
    expect(r.history[2].loss).toBeLessThan(r.history[0].loss);
    expect(r.history[0].learningRate).toBeGreaterThan(r.history[2].learningRate);
    expect(r.monitor).toBe('loss');
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  test('autoencoder trains on unlabelled data with MSE; wrong input shapes name the fix', async () => {
    const g = makeGestureData({ seed: 2, samplesPerClass: 20 });
    const flat = (d: Dataset): Dataset => ({ ...d, y: new Int32Array(0), numClasses: 0, sampleShape: [384] });
    const ae = buildAutoencoder({ inputDim: 384, hidden: [32], bottleneck: 8, seed: 1 });
    const before = tf.memory().numTensors;
    const r = await train(ae, { train: flat(g.train), val: flat(g.val) }, { epochs: 5, batchSize: 32, learningRate: 3e-3 });
    expect(r.history[4].loss).toBeLessThan(r.history[0].loss);
    const e = evaluate(ae, flat(g.test));
    expect(Number.isNaN(e.accuracy)).toBe(true);
    expect(e.loss).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
    await expect(train(ae, g, { epochs: 1 })).rejects.toThrow(/rebuild the model with inputShape/);
    ae.dispose();
  });
});
