/**
 * %quantize and %export: thin adapters over src/quantize and src/export.
 *   %quantize model --calibration 500 --method mse      float vs int8 accuracy, per-layer SQNR table, weights size
 *                                                       before/after, MCU cost of both; keeps the int8 model in
 *                                                       `<model>_int8` (or --out) for %export
 *   %export model --format onnx,onnx-int8 -o out/model  writes the files and lists them
 *   %export model --c out/c                             the int8 model as C99 source (src/export/c)
 */
import * as path from 'path';
import type * as tfTypes from '@tensorflow/tfjs';
import { InputError } from '../../src/common/errors';
import type { Dataset, DataSplits } from '../../src/data/types';
import { splitDataset } from '../../src/data/split';
import { dataFor } from '../../src/quantize/cli';
import { quantize } from '../../src/quantize/report';
import { DEFAULT_ROUNDING, quantizeModel } from '../../src/quantize/quantize';
import type { CalibrationMethod, QuantizedModel, RequantRounding } from '../../src/quantize/types';
import { CALIBRATION_METHODS, REQUANT_ROUNDINGS } from '../../src/quantize/types';
import { EXPORT_FORMATS, checkFormat, exportModel } from '../../src/export/files';
import { writeC } from '../../src/export/c';
import { bundle } from '../display/bundle';
import type { MagicContext, MagicSpec, ParsedArgs } from './types';

function isLayersModel(v: unknown): v is tfTypes.LayersModel {
  return typeof v === 'object' && v !== null && Array.isArray((v as { layers?: unknown }).layers) && Array.isArray((v as { inputs?: unknown }).inputs);
}

function isQuantized(v: unknown): v is QuantizedModel {
  return typeof v === 'object' && v !== null && typeof (v as QuantizedModel).tensors === 'object' && typeof (v as QuantizedModel).nodes === 'object' && 'float' in (v as object);
}

function resolveModel(spec: string, ctx: MagicContext, magic: string): tfTypes.LayersModel {
  const v = ctx.getVariable(spec);
  if (!isLayersModel(v)) throw new InputError(`%${magic}: no model in variable '${spec}': build one with %model cnn --input 28,28,1 --classes 10 --out ${spec} and %train it`);
  return v;
}

/** The data variable if there is one (DataSplits or a Dataset), else embedded MNIST for digit-shaped models. */
function resolveData(spec: string | undefined, model: tfTypes.LayersModel, ctx: MagicContext): DataSplits | Dataset {
  const name = spec ?? 'data';
  const v = ctx.getVariable(name) as Partial<DataSplits & Dataset> | undefined;
  if (v && typeof v === 'object' && 'train' in v && v.train) return v as DataSplits;
  if (v && typeof v === 'object' && v.x instanceof Float32Array && Array.isArray(v.sampleShape)) return splitDataset(v as Dataset, { seed: 0 });
  if (spec) throw new InputError(`no data in variable '${spec}': load some with %data mnist --out ${spec}`);
  return dataFor(model.inputs[0].shape.slice(1) as number[], undefined);
}

const QUANT_ARGS = [
  { name: 'calibration', type: 'int' as const, default: 500, min: 1, help: 'calibration samples (seeded slice of the training split)' },
  { name: 'method', type: 'enum' as const, choices: CALIBRATION_METHODS, default: 'mse', help: 'range selection: minmax, percentile, mse, kl' },
  { name: 'data', type: 'string' as const, help: "data variable (DataSplits; default 'data', else embedded MNIST for digit models)" },
  { name: 'output', type: 'enum' as const, choices: ['int8', 'float'], default: 'int8', help: 'final softmax in int8 or in float' },
  { name: 'keep-float', type: 'list' as const, help: 'layers to keep in float (ops without an int8 kernel)' },
  { name: 'seed', type: 'int' as const, default: 0, help: 'seed of the calibration slice' },
  { name: 'rounding', type: 'enum' as const, choices: REQUANT_ROUNDINGS, default: DEFAULT_ROUNDING, help: 'requantisation rounding: single (one rounding of the 64-bit product) or double (TFLite reference)' },
];

export const magics: MagicSpec[] = [
  {
    name: 'quantize',
    kind: 'line',
    summary: 'int8-quantize a model with calibration: float vs int8 accuracy, per-layer SQNR, size, MCU cost',
    help:
      'Post-training int8 quantization as an int8 kernel library runs it: BN folded, activations fused, per-channel ' +
      'int8 weights, int32 biases, per-tensor int8 activations, fixed-point requantisation. Accuracy is measured by the ' +
      'integer reference engine on the test split. The quantized model is stored in <model>_int8 (or --out) for %export.',
    args: [
      { name: 'model', type: 'string', positional: true, required: true, help: 'model variable (a trained tf.LayersModel)' },
      ...QUANT_ARGS,
      { name: 'board', type: 'string', default: 'NUCLEO-F446RE', help: 'board for the MCU cost of float and int8' },
      { name: 'eval-limit', type: 'int', min: 1, help: 'evaluate on at most this many test samples' },
      { name: 'out', type: 'string', alias: 'o', help: 'variable for the quantized model (default <model>_int8)' },
    ],
    examples: ['%quantize model --calibration 500 --method mse', '%quantize model --method kl --board nucleo-h743zi2 --out q'],
    async run(args: ParsedArgs, ctx: MagicContext) {
      const name = String(args.model);
      const model = resolveModel(name, ctx, 'quantize');
      const data = resolveData(args.data as string | undefined, model, ctx);
      const id = ctx.display(bundle({ 'text/plain': `quantizing '${name}' (${String(args.method ?? 'mse')}, ${Number(args.calibration ?? 500)} calibration samples)…` }));
      const r = await quantize(model, data, {
        method: (args.method as CalibrationMethod) ?? 'mse',
        calibrationSize: Number(args.calibration ?? 500),
        output: (args.output as 'int8' | 'float') ?? 'int8',
        keepFloat: args['keep-float'] as string[] | undefined,
        seed: Number(args.seed ?? 0),
        rounding: (args.rounding as RequantRounding | undefined) ?? DEFAULT_ROUNDING,
        board: String(args.board ?? 'NUCLEO-F446RE'),
        evalLimit: args['eval-limit'] as number | undefined,
        signal: ctx.signal,
        onProgress: (e) => ctx.updateDisplay(id, bundle({ 'text/plain': `${e.task}: ${e.message ?? `${e.done}/${e.total ?? '?'}`}` })),
      });
      ctx.updateDisplay(id, bundle({ 'text/plain': `quantized '${name}'; int8 model in variable '${String(args.out ?? `${name}_int8`)}'` }));
      ctx.setVariable(String(args.out ?? `${name}_int8`), r.model);
      return r;
    },
  },
  {
    name: 'export',
    kind: 'line',
    summary: 'export a model: ONNX float32, ONNX int8 (QDQ), tfjs format, quantized-graph JSON, C99 source',
    help:
      'onnx → <out>.onnx, onnx-int8 → <out>.int8.onnx, qjson → <out>.int8.json, tfjs → <out>/ (model.json + weights.bin). ' +
      'int8 formats use the quantized model from %quantize (<model>_int8, or --quantized), else quantize with the options given. ' +
      '--c DIR writes the int8 model as a C99 library (model.h with model_invoke(), model.c with const weights and one static ' +
      'arena, kernels.c), bit-exact with the integer engine; the formats default to none when only --c is given.',
    args: [
      { name: 'model', type: 'string', positional: true, required: true, help: 'model variable (a tf.LayersModel)' },
      { name: 'format', type: 'list', choices: EXPORT_FORMATS, help: 'formats to write (default onnx, or none with --c)' },
      { name: 'c', type: 'string', help: 'also write the int8 model as C99 source (model.h, model.c, kernels.h, kernels.c) into this directory' },
      { name: 'dsp', type: 'boolean', help: 'with --c: conv/dense kernels for cores with the DSP extension (SMLAD; Cortex-M4/M7/M33), still bit-exact' },
      { name: 'out', type: 'string', alias: 'o', help: 'output path without extension (default ./<model>)' },
      { name: 'quantized', type: 'string', help: 'variable holding the quantized model (default <model>_int8)' },
      { name: 'description', type: 'string', help: 'description stored in the files' },
      ...QUANT_ARGS,
    ],
    examples: ['%export model --format onnx,onnx-int8 -o out/mnist', '%export model --format tfjs,qjson -o out/mnist', '%export model --c out/mnist_c', '%export model --c out/mnist_c --dsp'],
    async run(args: ParsedArgs, ctx: MagicContext) {
      const name = String(args.model);
      const model = resolveModel(name, ctx, 'export');
      const cDir = args.c as string | undefined;
      const formats = ((args.format as string[] | undefined) ?? (cDir ? [] : ['onnx'])).map(checkFormat);
      if (cDir && args.output === 'float') throw new InputError('%export --c generates the int8 path only: drop --output float');
      let quantized: QuantizedModel | undefined;
      if (formats.includes('onnx-int8') || formats.includes('qjson') || cDir) {
        const q = ctx.getVariable(String(args.quantized ?? `${name}_int8`));
        if (isQuantized(q)) quantized = q;
        else if (args.quantized) throw new InputError(`%export: '${String(args.quantized)}' is not a quantized model; make one with %quantize ${name} --out ${String(args.quantized)}`);
        else {
          quantized = quantizeModel(model, resolveData(args.data as string | undefined, model, ctx), {
            method: (args.method as CalibrationMethod) ?? 'mse',
            calibrationSize: Number(args.calibration ?? 500),
            output: (args.output as 'int8' | 'float') ?? 'int8',
            keepFloat: args['keep-float'] as string[] | undefined,
            seed: Number(args.seed ?? 0),
            rounding: (args.rounding as RequantRounding | undefined) ?? DEFAULT_ROUNDING,
            signal: ctx.signal,
          });
        }
      }
      const base = path.resolve(ctx.cwd, String(args.out ?? name));
      const files: Array<{ format: string; path: string; bytes: number }> = await exportModel(model, base, { formats, quantized, description: args.description as string | undefined });
      if (cDir && quantized) {
        if (quantized.output !== 'int8') throw new InputError(`%export --c needs an int8 output; '${String(args.quantized ?? `${name}_int8`)}' has a float softmax: re-run %quantize ${name} --output int8`);
        for (const f of writeC(quantized, path.resolve(ctx.cwd, cDir), { dsp: args.dsp === true }).files) files.push({ format: 'c', ...f });
      }
      const text = files.map((f) => `${f.format.padEnd(10)} ${f.path} (${f.bytes} bytes)`).join('\n');
      const rows = files.map((f) => `<tr><td>${f.format}</td><td><code>${f.path}</code></td><td>${f.bytes}</td></tr>`).join('');
      return bundle({ 'text/plain': text, 'text/html': `<table><thead><tr><th>format</th><th>file</th><th>bytes</th></tr></thead><tbody>${rows}</tbody></table>` });
    },
  },
];
