/**
 * `npm run bench:quantize`: float vs int8 accuracy, the drop, and the weights size, for every benchmark model and
 * every calibration method.
 *
 * Models (embedded MNIST, seeded 80/10/10 split; 1,000-digit test split):
 *  - mnist-cnn: buildCnn 28x28, filters 16/32, BatchNorm, 3 epochs (the issue's goal: int8 within 0.5 points);
 *  - mlp: buildMlp 14x14 → 64 → 32 → 10, 4 epochs;
 *  - ds-cnn: buildDsCnn on 14x14 digits, 16 filters, 2 blocks (depthwise + BN + GAP), 3 epochs at lr 5e-3;
 *  - resnet8: buildResNet8 on 14x14 digits, filters 8/16/16 (residual Add, BN), 2 epochs at lr 3e-3;
 *  - autoencoder: buildAutoencoder 64 → 32 → 16 → 8 → … on synthetic sensor-like vectors (sums of 3 random
 *    sinusoids + noise), 8 epochs; metric: reconstruction MSE (lower is better) instead of accuracy.
 * Per method (minmax, percentile 99.99, mse, kl): 500 seeded calibration samples from the training split; int8
 * accuracy by the integer reference engine on the whole test split; fake-quant accuracy alongside.
 * Env: BENCH_QUANT_MODELS (comma list), BENCH_QUANT_CALIB (default 500), BENCH_QUANT_EPOCHS_SCALE (default 1).
 * Last line: one JSON object with the figures.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { mulberry32, normal } from '../src/common/rng';
import { loadMnist, splitDataset } from '../src/data';
import type { DataSplits, Dataset } from '../src/data/types';
import { buildAutoencoder, buildCnn, buildDsCnn, buildMlp, buildResNet8 } from '../src/models';
import { train } from '../src/train';
import { CALIBRATION_METHODS, evaluateQuantized, quantizeModel, weightSizes } from '../src/quantize';

const env = (k: string, d: string) => process.env[k] ?? d;

function syntheticSignals(n: number, dim: number, seed: number): Dataset {
  const rng = mulberry32(seed);
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) {
      const f = 1 + rng() * 6, ph = rng() * 2 * Math.PI, a = 0.3 + rng() * 0.7;
      for (let j = 0; j < dim; j++) x[i * dim + j] += a * Math.sin((2 * Math.PI * f * j) / dim + ph);
    }
    for (let j = 0; j < dim; j++) x[i * dim + j] += 0.05 * normal(rng);
  }
  return { x, y: new Int32Array(0), sampleShape: [dim], numClasses: 0, classNames: [], name: 'synthetic-signals' };
}

interface Spec {
  name: string;
  data: () => DataSplits;
  build: () => tf.LayersModel;
  epochs: number;
  learningRate?: number;
}

interface Row {
  model: string;
  method: string;
  metric: 'accuracy' | 'mse';
  float: number;
  int8: number;
  fakeQuant: number | null;
  drop: number;
  floatBytes: number;
  int8Bytes: number;
  quantizeMs: number;
  evalMs: number;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const backend = await initBackend();
  const scale = Number(env('BENCH_QUANT_EPOCHS_SCALE', '1'));
  const calib = Number(env('BENCH_QUANT_CALIB', '500'));
  let m28: DataSplits | undefined, m14: DataSplits | undefined, sig: DataSplits | undefined;
  const mnist28 = () => (m28 ??= loadMnist({ size: 28, seed: 1 }));
  const mnist14 = () => (m14 ??= loadMnist({ size: 14, seed: 1 }));
  const signals = () => (sig ??= splitDataset(syntheticSignals(5000, 64, 3), { seed: 1 }));
  const specs: Spec[] = [
    { name: 'mnist-cnn', data: mnist28, build: () => buildCnn({ inputShape: [28, 28, 1], numClasses: 10, filters: 16, depth: 2, batchNorm: true, seed: 1 }), epochs: 3 },
    { name: 'mlp', data: mnist14, build: () => buildMlp({ inputShape: [14, 14, 1], numClasses: 10, hidden: [64, 32], seed: 1 }), epochs: 4 },
    { name: 'ds-cnn', data: mnist14, build: () => buildDsCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: 16, blocks: 2, seed: 1 }), epochs: 3, learningRate: 5e-3 },
    { name: 'resnet8', data: mnist14, build: () => buildResNet8({ inputShape: [14, 14, 1], numClasses: 10, filters: [8, 16, 16], seed: 1 }), epochs: 2, learningRate: 3e-3 },
    { name: 'autoencoder', data: signals, build: () => buildAutoencoder({ inputDim: 64, hidden: [32, 16], bottleneck: 8, seed: 1 }), epochs: 8 },
  ];
  const wanted = env('BENCH_QUANT_MODELS', specs.map((s) => s.name).join(',')).split(',');
  const rows: Row[] = [];
  const errors: Record<string, string> = {};
  for (const spec of specs.filter((s) => wanted.includes(s.name))) {
    const data = spec.data();
    const model = spec.build();
    const tt = Date.now();
    await train(model, data, { epochs: Math.max(1, Math.round(spec.epochs * scale)), batchSize: 64, seed: 1, learningRate: spec.learningRate });
    process.stderr.write(`${spec.name}: trained in ${((Date.now() - tt) / 1000).toFixed(1)} s\n`);
    for (const method of CALIBRATION_METHODS) {
      try {
        const tq = Date.now();
        const qm = quantizeModel(model, data, { method, calibrationSize: calib, seed: 1 });
        const quantizeMs = Date.now() - tq;
        const te = Date.now();
        const e = evaluateQuantized(qm, data.test, { fakeQuant: true });
        const evalMs = Date.now() - te;
        const w = weightSizes(qm);
        const isAcc = !Number.isNaN(e.floatAccuracy);
        rows.push({
          model: spec.name,
          method,
          metric: isAcc ? 'accuracy' : 'mse',
          float: isAcc ? e.floatAccuracy : e.floatMse,
          int8: isAcc ? e.int8Accuracy : e.int8Mse,
          fakeQuant: e.fakeQuantAccuracy ?? null,
          drop: isAcc ? 100 * (e.floatAccuracy - e.int8Accuracy) : e.int8Mse - e.floatMse,
          floatBytes: w.floatBytes,
          int8Bytes: w.int8Bytes,
          quantizeMs,
          evalMs,
        });
      } catch (err) {
        errors[`${spec.name}/${method}`] = (err as Error).message;
      }
    }
    model.dispose();
  }

  const fmt = (r: Row, v: number) => (r.metric === 'accuracy' ? `${(100 * v).toFixed(2)} %` : v.toExponential(3));
  const lines = [
    'model        method      metric    float        int8         drop        fake-quant  weights float → int8 (ratio)   quant ms  eval ms',
  ];
  for (const r of rows) {
    lines.push(
      `${r.model.padEnd(12)} ${r.method.padEnd(11)} ${r.metric.padEnd(9)} ${fmt(r, r.float).padEnd(12)} ${fmt(r, r.int8).padEnd(12)} ` +
        `${(r.metric === 'accuracy' ? `${r.drop.toFixed(2)} pt` : `${r.drop >= 0 ? '+' : ''}${r.drop.toExponential(2)}`).padEnd(11)} ` +
        `${(r.fakeQuant === null ? '-' : `${(100 * r.fakeQuant).toFixed(2)} %`).padEnd(11)} ` +
        `${`${r.floatBytes} B → ${r.int8Bytes} B (${(r.floatBytes / r.int8Bytes).toFixed(2)}x)`.padEnd(30)} ${String(r.quantizeMs).padStart(8)} ${String(r.evalMs).padStart(8)}`,
    );
  }
  for (const [k, v] of Object.entries(errors)) lines.push(`error ${k}: ${v}`);
  const cnnRows = rows.filter((r) => r.model === 'mnist-cnn');
  const bestCnnDrop = cnnRows.length ? Math.min(...cnnRows.map((r) => r.drop)) : null;
  lines.push(`goal: MNIST CNN int8 within 0.5 points of float — best method drop ${bestCnnDrop === null ? 'n/a' : `${bestCnnDrop.toFixed(2)} pt`}; per method: ${cnnRows.map((r) => `${r.method} ${r.drop.toFixed(2)}`).join(', ')}`);
  process.stdout.write(lines.join('\n') + '\n');
  const models: Record<string, unknown> = {};
  for (const r of rows) {
    const m = (models[r.model] ??= { metric: r.metric, float: r.float, weightsFloatBytes: r.floatBytes, weightsInt8Bytes: r.int8Bytes, methods: {} }) as { methods: Record<string, unknown> };
    m.methods[r.method] = { int8: r.int8, drop: r.drop, fakeQuant: r.fakeQuant, quantizeMs: r.quantizeMs, evalMs: r.evalMs };
  }
  process.stdout.write(
    JSON.stringify({
      bench: 'quantize',
      backend: backend.name,
      calibrationSamples: calib,
      models,
      goal: { mnistCnnBestDropPoints: bestCnnDrop, met: bestCnnDrop !== null && bestCnnDrop <= 0.5, perMethod: Object.fromEntries(cnnRows.map((r) => [r.method, r.drop])) },
      errors,
      seconds: (Date.now() - t0) / 1000,
    }) + '\n',
  );
}

main().catch((err) => {
  process.stderr.write(`bench:quantize failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
