/**
 * Proof: the MNIST CNN trains on the embedded digits on the WASM backend (our gradient kernels) to >= 97 % test
 * accuracy within a bounded number of epochs. Asserts accuracy, not time.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadMnist } from '../../src/data';
import { buildCnn } from '../../src/models';
import { evaluate, train } from '../../src/train';

test('MNIST CNN on WASM reaches >= 97% test accuracy in <= 6 epochs', async () => {
  const info = await initBackend('wasm');
  expect(info.name).toBe('wasm');
  const data = loadMnist({ size: 28, seed: 1 });
  expect(Math.abs(data.train.y.length - 8000)).toBeLessThanOrEqual(10);
  expect(data.train.y.length + data.val.y.length + data.test.y.length).toBe(10000);
  expect(Math.abs(data.test.y.length - 1000)).toBeLessThanOrEqual(10);
  const before = tf.memory().numTensors;
  const model = buildCnn({ inputShape: [28, 28, 1], numClasses: 10, filters: 16, depth: 2, kernelSize: 3, dense: 64, seed: 3 });
  const afterBuild = tf.memory().numTensors;
  const r = await train(model, data, {
    epochs: 6,
    batchSize: 32,
    optimizer: 'adam',
    learningRate: 2e-3,
    schedule: 'cosine',
    earlyStopping: { patience: 3, monitor: 'val_accuracy' },
    seed: 1,
  });
  expect(tf.memory().numTensors).toBe(afterBuild);
  const e = evaluate(model, data.test);
  expect(tf.memory().numTensors).toBe(afterBuild);
  // eslint-disable-next-line no-console
  console.log(`MNIST CNN wasm: test accuracy ${(100 * e.accuracy).toFixed(2)} % after ${r.epochsRun} epochs, ` +
    `${r.samplesPerSecond.toFixed(0)} samples/s, best epoch ${r.bestEpoch}`);
  expect(e.accuracy).toBeGreaterThanOrEqual(0.97);
  expect(r.epochsRun).toBeLessThanOrEqual(6);
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
}, 240000);
