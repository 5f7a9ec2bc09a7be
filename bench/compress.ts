/**
 * bench:compress — projection pruning and classic pruning of the MNIST CNN, priced on an MCU.
 *
 * Trains the CNN (conv 16 → conv 32 → dense 128 → 10), then compares: original; projected (PCA of layer inputs,
 * global learnables-reduction goal); projected + ≤ 2 epochs of fine-tuning; magnitude-pruned (50 %, polynomial
 * schedule during 2 epochs); structured-pruned (30 % of the filters by L1 norm, + 2 epochs).
 * Goal checked: projection removes ≥ 50 % of the learnables with ≤ 1 point accuracy drop after ≤ 2 epochs.
 * Prints the table, then one JSON line with every figure.
 *
 * Env: COMPRESS_EPOCHS (training epochs, default 4), COMPRESS_REDUCTION (default 0.6), COMPRESS_BOARD.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { loadMnist } from '../src/data';
import { buildCnn } from '../src/models';
import { train } from '../src/train';
import {
  COMPRESS_BOARD,
  PRUNING_NOTE,
  comparisonTable,
  filterPruneTable,
  magnitudePrune,
  compressionRow,
  projectModel,
  projectionTable,
  pruneFilters,
  sparsityTable,
  withSparsity,
} from '../src/compress';
import type { CompressionRow } from '../src/compress';
import { collectInputStats, layerSpectrum } from '../src/compress';
import { evaluateQuantized, quantizeModel } from '../src/quantize';
import { toOnnxQdq } from '../src/export/onnx';
import { graphFromOnnx } from '../src/graph';
import { estimate } from '../src/mcu';

async function main(): Promise<void> {
  const t0 = performance.now();
  const backend = await initBackend();
  const epochs = Number(process.env.COMPRESS_EPOCHS ?? 4);
  const reduction = Number(process.env.COMPRESS_REDUCTION ?? 0.6);
  const board = process.env.COMPRESS_BOARD ?? COMPRESS_BOARD;
  const ftEpochs = 2;
  const ftLr = 5e-4;
  const data = loadMnist({ size: 28, seed: 1 });
  const model = buildCnn({ inputShape: [28, 28, 1], numClasses: 10, filters: [16, 32], depth: 2, dense: 128, seed: 1, name: 'mnist_cnn' });
  const log = (s: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}\n`);
  log(`backend ${backend.name}; training ${epochs} epochs on ${data.train.y.length} digits`);
  await train(model, data, { epochs, batchSize: 64, learningRate: 2e-3, schedule: 'cosine', seed: 1 });
  const rows: CompressionRow[] = [];
  const original = compressionRow('original', model, data.test, board);
  rows.push(original);
  log(`original ${(100 * original.accuracy).toFixed(2)} %`);

  // Projection.
  const tp = performance.now();
  const stats = await collectInputStats(model, data.train, { maxSamples: 2000 });
  const calibSeconds = (performance.now() - tp) / 1000;
  const te = performance.now();
  const spectra = stats.map(layerSpectrum);
  const eigenSeconds = (performance.now() - te) / 1000;
  const proj = await projectModel(model, null, { reduction, spectra });
  const projSeconds = (performance.now() - tp) / 1000;
  log(`calibration ${calibSeconds.toFixed(1)} s (2000 samples), eigen-decompositions ${eigenSeconds.toFixed(1)} s (dims ${spectra.map((x) => x.dim).join(', ')})`);
  const projected = compressionRow('projected', proj.model, data.test, board);
  rows.push(projected);
  log(`projected ${(100 * projected.accuracy).toFixed(2)} % in ${projSeconds.toFixed(1)} s`);
  const ft = await train(proj.model, data, { epochs: ftEpochs, batchSize: 64, learningRate: ftLr, seed: 2 });
  const tuned = compressionRow(`projected + ${ft.epochsRun} ep fine-tune`, proj.model, data.test, board);
  rows.push(tuned);
  log(`projected + fine-tune ${(100 * tuned.accuracy).toFixed(2)} %`);

  // Magnitude pruning (schedule inside a 2-epoch fine-tune).
  const mag = await magnitudePrune(model, data, { sparsity: 0.5, epochs: ftEpochs, batchSize: 64, learningRate: ftLr, seed: 3 });
  const magRow = withSparsity(compressionRow(`magnitude-pruned ${(100 * mag.sparsity).toFixed(0)} % + ${ftEpochs} ep`, mag.model, data.test, board), mag);
  rows.push(magRow);
  log(`magnitude ${(100 * magRow.accuracy).toFixed(2)} %`);

  // Structured filter pruning, then fine-tune.
  const fp = pruneFilters(model, { fraction: 0.3 });
  const fpRow = compressionRow('filters −30 %', fp.model, data.test, board);
  rows.push(fpRow);
  await train(fp.model, data, { epochs: ftEpochs, batchSize: 64, learningRate: ftLr, seed: 4 });
  const fpTuned = compressionRow(`filters −30 % + ${ftEpochs} ep`, fp.model, data.test, board);
  rows.push(fpTuned);
  log(`filters ${(100 * fpRow.accuracy).toFixed(2)} % → ${(100 * fpTuned.accuracy).toFixed(2)} %`);

  // The projected model is a normal model: int8-quantize it (src/quantize), export QDQ ONNX (src/export) and price
  // the ONNX graph (src/graph + src/mcu). Other teams' APIs: a failure here is reported, not fatal.
  const int8: Record<string, unknown> = {};
  try {
    for (const [label, m] of [['original', model], ['projected+ft', proj.model]] as const) {
      const qm = quantizeModel(m, data, { calibrationSize: 500, seed: 1 });
      const ev = evaluateQuantized(qm, data.test);
      const onnx = toOnnxQdq(qm);
      const rep = estimate(graphFromOnnx(onnx, { name: label }), board, { dtype: 'int8' });
      int8[label] = { int8Accuracy: ev.int8Accuracy, floatAccuracy: ev.floatAccuracy, onnxBytes: onnx.length, onnxWeightsFlashBytes: rep.totals.weightsFlashBytes };
    }
  } catch (e) {
    int8.error = e instanceof Error ? e.message : String(e);
  }
  log(`int8: ${JSON.stringify(int8)}`);
  const removed = 1 - tuned.learnables / original.learnables;
  const drop = original.accuracy - tuned.accuracy;
  const goalMet = removed >= 0.5 && drop <= 0.01 && ft.epochsRun <= 2;
  console.log(projectionTable(proj).text);
  console.log('');
  console.log(sparsityTable(mag).text);
  console.log('');
  console.log(filterPruneTable(fp).text);
  console.log('');
  console.log(comparisonTable(rows, board, [PRUNING_NOTE]).text);
  console.log('');
  for (const [label, v] of Object.entries(int8)) {
    if (label === 'error') console.log(`int8 quantize/export check failed: ${String(v)}`);
    else {
      const r = v as { int8Accuracy: number; onnxBytes: number; onnxWeightsFlashBytes: number };
      console.log(`${label}: int8 accuracy ${(100 * r.int8Accuracy).toFixed(2)} %, QDQ ONNX ${(r.onnxBytes / 1024).toFixed(1)} KiB, priced from ONNX: ${(r.onnxWeightsFlashBytes / 1024).toFixed(1)} KiB int8 weights`);
    }
  }
  console.log(
    `goal (projection removes >= 50 % of learnables, <= 1 point drop after <= 2 epochs): removed ${(100 * removed).toFixed(1)} %, ` +
      `drop ${(100 * drop).toFixed(2)} points → ${goalMet ? 'MET' : 'NOT MET'}`,
  );
  const json = {
    bench: 'compress',
    backend: backend.name,
    board,
    trainEpochs: epochs,
    finetuneEpochs: ftEpochs,
    reductionGoal: reduction,
    threshold: proj.threshold,
    projectionSeconds: projSeconds,
    calibrationSeconds: calibSeconds,
    eigenSeconds,
    int8,
    layers: proj.layers.map((l) => ({ layer: l.layer, k: l.k, channels: l.channels, inputDim: l.inputDim, explained: l.explainedVariance, paramsBefore: l.paramsBefore, paramsAfter: l.paramsAfter, projected: l.projected })),
    rows: rows.map((r) => ({ ...r })),
    learnablesRemoved: removed,
    accuracyDropPoints: 100 * drop,
    goalMet,
    magnitudeFlashRatio: magRow.int8WeightsFlashBytes / original.int8WeightsFlashBytes,
    structuredFlashRatio: fpTuned.int8WeightsFlashBytes / original.int8WeightsFlashBytes,
    projectedFlashRatio: tuned.int8WeightsFlashBytes / original.int8WeightsFlashBytes,
    projectedMacsRatio: tuned.macs / original.macs,
    seconds: (performance.now() - t0) / 1000,
  };
  for (const m of [model, proj.model, mag.model, fp.model]) m.dispose();
  log(`tensors left: ${tf.memory().numTensors}`);
  console.log(JSON.stringify(json));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
