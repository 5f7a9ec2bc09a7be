/**
 * %backend, %data, %model, %train: thin adapters over src/backend, src/data, src/models and src/train.
 * %train shows one live display per run (epoch/batch progress, loss and accuracy curves) updated in place; an
 * interrupt stops at the next batch and keeps the best weights so far.
 */
import * as path from 'path';
import type * as tfTypes from '@tensorflow/tfjs';
import { InputError } from '../../src/common/errors';
import { closestMatch } from '../../src/common/suggest';
import { backendInfo, initBackend, BackendPreference } from '../../src/backend';
import {
  classCounts, Dataset, datasetSize, DataSplits, loadCsv, loadFolder, loadMnist, loadNpyDataset, makeGestureData, splitDataset,
} from '../../src/data';
import { buildAutoencoder, buildCnn, buildDsCnn, buildMlp, buildMobileNetV1, buildResNet8, modelSummary } from '../../src/models';
import { evaluate, saveModel, train, trainText, EpochRecord, OptimizerName, TrainResult } from '../../src/train';
import { confusionMatrixChart, trainingCurvesChart } from '../../src/charts/training';
import { bundle } from '../display/bundle';
import { vegaLite, vegaLiteToSvg } from '../display/vegalite';
import type { MagicContext, MagicSpec, ParsedArgs } from './types';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const shapeArg = (v: unknown) => (v === undefined ? undefined : String(v).split(/[x,\s]+/).filter(Boolean).map(Number));

function isLayersModel(v: unknown): v is tfTypes.LayersModel {
  return typeof v === 'object' && v !== null && Array.isArray((v as { layers?: unknown }).layers) && typeof (v as { predict?: unknown }).predict === 'function';
}
function isDataset(v: unknown): v is Dataset {
  return typeof v === 'object' && v !== null && (v as Dataset).x instanceof Float32Array && Array.isArray((v as Dataset).sampleShape);
}
function isSplits(v: unknown): v is { train: Dataset; val?: Dataset; test?: Dataset } {
  return typeof v === 'object' && v !== null && isDataset((v as DataSplits).train);
}

function dataSummary(name: string, d: DataSplits | { train: Dataset; val?: Dataset; test?: Dataset }) {
  const parts = (['train', 'val', 'test'] as const).filter((k) => d[k]).map((k) => `${k} ${datasetSize(d[k] as Dataset)}`);
  const t = d.train;
  const counts = t.numClasses ? classCounts(t) : [];
  const text =
    `${name}: ${t.name.replace(/\/train$/, '')}, samples [${t.sampleShape.join(', ')}], ${parts.join(', ')}` +
    (t.numClasses ? `\nclasses (${t.numClasses}): ${t.classNames.map((c, i) => `${c}=${counts[i]}`).join(' ')}` : '\nunlabelled');
  return bundle({ 'text/plain': text, 'text/html': `<pre>${esc(text)}</pre>` });
}

function resolveModel(spec: string, ctx: MagicContext): tfTypes.LayersModel {
  const v = ctx.getVariable(spec);
  if (!isLayersModel(v)) throw new InputError(`no model in variable '${spec}': build one with %model cnn --input 28,28,1 --classes 10 --out ${spec}`);
  return v;
}

function resolveData(spec: string, ctx: MagicContext): { train: Dataset; val?: Dataset; test?: Dataset } {
  const v = ctx.getVariable(spec);
  if (isSplits(v)) return v;
  if (isDataset(v)) return splitDataset(v, { seed: 0 });
  throw new InputError(`no data in variable '${spec}': load some with %data mnist --out ${spec}`);
}

const FAMILIES = ['cnn', 'ds-cnn', 'mobilenet-v1', 'resnet8', 'mlp', 'autoencoder'] as const;

function progressHtml(title: string, line: string, svg?: string): string {
  return `<div><b>${esc(title)}</b> <code>${esc(line)}</code>${svg ? `<div>${svg}</div>` : ''}</div>`;
}

export const magics: MagicSpec[] = [
  {
    name: 'backend',
    kind: 'line',
    summary: 'show or switch the TensorFlow.js backend (tfjs-node, wasm with tinylab gradient kernels, cpu)',
    help: 'Without an argument shows the active backend and why it was chosen. auto picks tfjs-node if it loads, else wasm, else cpu.',
    args: [{ name: 'name', type: 'enum', positional: true, choices: ['auto', 'tfjs-node', 'wasm', 'cpu'], help: 'backend to switch to' }],
    examples: ['%backend', '%backend wasm', '%backend cpu'],
    async run(args: ParsedArgs) {
      const info = args.name ? await initBackend(args.name as BackendPreference) : (backendInfo() ?? (await initBackend('auto')));
      const text =
        `backend: ${info.name} (${info.reason})` +
        (info.simd !== undefined ? `\nSIMD: ${info.simd}, threads: ${info.threads}` : '') +
        (info.extraKernels.length ? `\ntinylab kernels: ${info.extraKernels.join(', ')}` : '') +
        `\navailable: ${info.available.join(', ')}`;
      return bundle({ 'text/plain': text, 'application/json': JSON.parse(JSON.stringify(info)) });
    },
  },
  {
    name: 'data',
    kind: 'line',
    summary: 'load a data set into a variable: embedded MNIST, synthetic gestures, CSV, .npy or a folder of images/WAVs',
    help:
      'Sources: mnist (10,000 real digits, --size 14|28), gestures (synthetic 3-axis accelerometer), csv PATH (--label column), ' +
      'npy X.npy (--y Y.npy), folder DIR (one sub-folder per class). Splits are stratified and seeded (--train, --val fractions).',
    args: [
      { name: 'source', type: 'enum', positional: true, required: true, choices: ['mnist', 'gestures', 'csv', 'npy', 'folder'], help: 'where the data comes from' },
      { name: 'path', type: 'string', positional: true, help: 'file or folder for csv / npy / folder' },
      { name: 'out', type: 'string', alias: 'o', default: 'data', help: 'variable to store the splits in' },
      { name: 'size', type: 'enum', choices: ['14', '28'], default: '28', help: 'MNIST image side (14 = 2x2 average-pooled)' },
      { name: 'seed', type: 'int', default: 0, help: 'split / generator seed' },
      { name: 'train', type: 'number', min: 0.01, max: 1, default: 0.8, help: 'training fraction' },
      { name: 'val', type: 'number', min: 0, max: 0.99, default: 0.1, help: 'validation fraction (test gets the rest)' },
      { name: 'label', type: 'string', help: 'CSV label column (default: label)' },
      { name: 'y', type: 'string', help: 'labels .npy for npy' },
      { name: 'per-class', type: 'int', min: 1, help: 'gestures: samples per class (default 200)' },
    ],
    examples: ['%data mnist --size 14 --out digits', '%data gestures --seed 1 --out g', '%data csv sensors.csv --label activity --out s'],
    run(args: ParsedArgs, ctx: MagicContext) {
      const split = { seed: args.seed as number, trainFraction: args.train as number, valFraction: args.val as number };
      const p = args.path ? path.resolve(ctx.cwd, String(args.path)) : undefined;
      const need = () => {
        if (!p) throw new InputError(`%data ${String(args.source)} needs a path, e.g. %data ${String(args.source)} ./my-data`);
        return p;
      };
      let d: DataSplits;
      switch (args.source) {
        case 'mnist':
          d = loadMnist({ ...split, size: String(args.size) === '14' ? 14 : 28 });
          break;
        case 'gestures':
          d = makeGestureData({ ...split, samplesPerClass: args['per-class'] as number | undefined });
          break;
        case 'csv':
          d = splitDataset(loadCsv(need(), { labelColumn: (args.label as string | undefined) ?? 'label' }), split);
          break;
        case 'npy':
          d = splitDataset(loadNpyDataset(need(), args.y ? path.resolve(ctx.cwd, String(args.y)) : undefined), split);
          break;
        default:
          d = splitDataset(loadFolder(need()), split);
      }
      const out = String(args.out ?? 'data');
      ctx.setVariable(out, d);
      return dataSummary(out, d);
    },
  },
  {
    name: 'model',
    kind: 'line',
    summary: 'build a model family (cnn, ds-cnn, mobilenet-v1, resnet8, mlp, autoencoder) or summarise a model variable',
    help: 'Prints one row per layer: output shape, parameters and MACs. With a family name it builds the model into --out.',
    args: [
      { name: 'what', type: 'string', positional: true, required: true, help: `a family (${FAMILIES.join(', ')}) or a model variable` },
      { name: 'input', type: 'string', help: 'input shape without batch, e.g. 28,28,1 (defaults: family standard)' },
      { name: 'classes', type: 'int', min: 2, help: 'number of classes' },
      { name: 'filters', type: 'int', min: 1, help: 'filters (cnn: first block; ds-cnn: all layers)' },
      { name: 'depth', type: 'int', min: 1, help: 'cnn: conv blocks; ds-cnn: separable blocks' },
      { name: 'kernel', type: 'int', min: 1, help: 'cnn kernel size' },
      { name: 'pooling', type: 'enum', choices: ['max', 'avg', 'none'], help: 'cnn pooling' },
      { name: 'dropout', type: 'number', min: 0, max: 0.95, help: 'dropout before the classifier' },
      { name: 'dense', type: 'int', min: 0, help: 'cnn: hidden dense units' },
      { name: 'alpha', type: 'number', min: 0.05, max: 2, help: 'mobilenet-v1 width multiplier' },
      { name: 'hidden', type: 'string', help: 'mlp/autoencoder hidden widths, e.g. 64,32' },
      { name: 'bottleneck', type: 'int', min: 1, help: 'autoencoder bottleneck' },
      { name: 'seed', type: 'int', default: 0, help: 'initialisation seed' },
      { name: 'out', type: 'string', alias: 'o', default: 'model', help: 'variable to store the built model in' },
    ],
    examples: ['%model cnn --input 28,28,1 --classes 10 --filters 16 --depth 2', '%model ds-cnn --classes 12', '%model model'],
    run(args: ParsedArgs, ctx: MagicContext) {
      const what = String(args.what);
      const input = shapeArg(args.input);
      const classes = args.classes as number | undefined;
      const seed = args.seed as number;
      const hidden = args.hidden ? String(args.hidden).split(',').map(Number) : undefined;
      let model: tfTypes.LayersModel;
      switch (what) {
        case 'cnn':
          model = buildCnn({
            inputShape: input ?? [28, 28, 1], numClasses: classes ?? 10, filters: args.filters as number | undefined,
            depth: args.depth as number | undefined, kernelSize: args.kernel as number | undefined,
            pooling: args.pooling as 'max' | undefined, dropout: args.dropout as number | undefined, dense: args.dense as number | undefined, seed,
          });
          break;
        case 'ds-cnn':
          model = buildDsCnn({ inputShape: input, numClasses: classes, filters: args.filters as number | undefined, blocks: args.depth as number | undefined, dropout: args.dropout as number | undefined, seed });
          break;
        case 'mobilenet-v1':
          model = buildMobileNetV1({ inputShape: input, numClasses: classes, alpha: args.alpha as number | undefined, dropout: args.dropout as number | undefined, seed });
          break;
        case 'resnet8':
          model = buildResNet8({ inputShape: input, numClasses: classes, seed });
          break;
        case 'mlp':
          if (!input || !classes) throw new InputError('%model mlp needs --input and --classes, e.g. %model mlp --input 384 --classes 6');
          model = buildMlp({ inputShape: input, numClasses: classes, hidden, dropout: args.dropout as number | undefined, seed });
          break;
        case 'autoencoder':
          model = buildAutoencoder({ inputDim: input?.[0], hidden, bottleneck: args.bottleneck as number | undefined, seed });
          break;
        default: {
          const v = ctx.getVariable(what);
          if (isLayersModel(v)) return modelSummary(v);
          const near = closestMatch(what, [...FAMILIES]);
          throw new InputError(`'${what}' is neither a model family nor a model variable${near ? ` (did you mean ${near}?)` : ''}; families: ${FAMILIES.join(', ')}`);
        }
      }
      ctx.setVariable(String(args.out ?? 'model'), model);
      return modelSummary(model);
    },
  },
  {
    name: 'train',
    kind: 'line',
    summary: 'train a model variable on a data variable, with a live progress display; evaluates on the test split',
    help:
      'Interrupting the cell stops at the next batch and keeps the best weights so far. The result (history, test accuracy, ' +
      'confusion matrix) is stored in --out (default: <model>_result); --save DIR writes the model under experiments/.',
    args: [
      { name: 'model', type: 'string', positional: true, required: true, help: 'model variable (see %model)' },
      { name: 'data', type: 'string', positional: true, required: true, help: 'data variable (see %data)' },
      { name: 'epochs', type: 'int', min: 1, default: 5, help: 'epochs' },
      { name: 'batch-size', type: 'int', min: 1, default: 32, help: 'batch size' },
      { name: 'lr', type: 'number', min: 0, default: 0.001, help: 'learning rate' },
      { name: 'optimizer', type: 'enum', choices: ['adam', 'sgd', 'momentum', 'rmsprop', 'adamax', 'adagrad'], default: 'adam', help: 'optimizer' },
      { name: 'schedule', type: 'enum', choices: ['constant', 'cosine', 'step', 'exponential'], default: 'constant', help: 'learning-rate schedule' },
      { name: 'patience', type: 'int', min: 1, help: 'early stopping patience (epochs without val improvement)' },
      { name: 'seed', type: 'int', default: 0, help: 'shuffle seed' },
      { name: 'save', type: 'string', help: 'save the trained model to this folder (relative: under experiments/)' },
      { name: 'out', type: 'string', alias: 'o', help: 'variable for the result (default <model>_result)' },
    ],
    examples: ['%train model data --epochs 5 --batch-size 64 --lr 0.002 --schedule cosine', '%train model data --patience 3 --save mnist-cnn'],
    async run(args: ParsedArgs, ctx: MagicContext) {
      const modelName = String(args.model);
      const model = resolveModel(modelName, ctx);
      const data = resolveData(String(args.data), ctx);
      if (!backendInfo()) await initBackend('auto');
      const title = `%train ${modelName} on ${data.train.name.replace(/\/train$/, '')} (${backendInfo()?.name})`;
      const id = ctx.display(bundle({ 'text/plain': `${title}: starting`, 'text/html': progressHtml(title, 'starting') }));
      const history: EpochRecord[] = [];
      let svg: string | undefined;
      let lastLine = 'starting';
      let chartJob: Promise<void> = Promise.resolve();
      const show = () => ctx.updateDisplay(id, bundle({ 'text/plain': `${title}: ${lastLine}`, 'text/html': progressHtml(title, lastLine, svg) }));
      const result: TrainResult = await train(model, data, {
        epochs: args.epochs as number,
        batchSize: args['batch-size'] as number,
        learningRate: args.lr as number,
        optimizer: args.optimizer as OptimizerName,
        schedule: args.schedule as 'constant',
        earlyStopping: args.patience ? { patience: args.patience as number } : undefined,
        seed: args.seed as number,
        signal: ctx.signal,
        progressIntervalMs: 500,
        onProgress: (e) => {
          lastLine = e.message ?? lastLine;
          if (e.metrics?.epochEnd) {
            const m = e.metrics;
            history.push({ epoch: m.epoch, loss: m.loss, accuracy: m.accuracy, valLoss: m.val_loss, valAccuracy: m.val_accuracy, learningRate: m.learningRate, seconds: 0, samplesPerSecond: m.samplesPerSecond });
            const spec = trainingCurvesChart(history, 'training curves');
            // Render the curves off the training loop's critical path; the next update shows them.
            chartJob = chartJob.then(() => vegaLiteToSvg(spec).then((s) => { svg = s; show(); }, () => undefined));
          }
          show();
        },
      });
      await chartJob;
      lastLine = `${result.stopReason} after ${result.epochsRun} epochs`;
      show();
      const test = data.test && datasetSize(data.test) > 0 ? evaluate(model, data.test) : undefined;
      let saved: string | undefined;
      if (args.save) saved = (await saveModel(model, String(args.save), { metadata: { history: result.history } })).dir;
      const out = String(args.out ?? `${modelName}_result`);
      ctx.setVariable(out, { ...result, test });
      if (result.history.length) ctx.display(vegaLite(trainingCurvesChart(result.history, `${modelName}: training curves`)));
      if (test && test.perClass.length) ctx.display(vegaLite(confusionMatrixChart(test.confusion, test.classNames, `${modelName}: test confusion`)));
      const text =
        trainText(result) +
        (test ? `\n\ntest: ${Number.isNaN(test.accuracy) ? `MSE ${test.loss.toFixed(5)}` : `accuracy ${(100 * test.accuracy).toFixed(2)} %, loss ${test.loss.toFixed(4)}`} (${test.numSamples} samples)` : '') +
        (saved ? `\nsaved to ${saved}` : '') +
        `\nresult in variable '${out}'`;
      return bundle({ 'text/plain': text, 'text/html': `<pre>${esc(text)}</pre>` });
    },
  },
];
