/**
 * `tinylab quantize model.json --calibration N --method M -o model.int8.onnx`
 *
 *   --data mnist | samples.npy   calibration (and, for mnist, test) data; default: embedded MNIST when the model
 *                                takes 28x28x1 or 14x14x1 digits. An .npy holds [n, ...input shape] floats;
 *                                --labels labels.npy (int) adds accuracy.
 *   --calibration N              calibration samples (seeded slice of the training data), default 500
 *   --method minmax|percentile|mse|kl   default mse
 *   --output int8|float          final softmax in int8 (default) or float
 *   --keep-float a,b             layers to run in float
 *   --rounding single|double     requantisation rounding (default: the library's, DEFAULT_ROUNDING)
 *   --board NAME                 price float and int8 on this board (default NUCLEO-F446RE)
 *   -o FILE                      QDQ ONNX to write (default <model>.int8.onnx); --json FILE: the quantized graph JSON
 *   --report-json                print the report as JSON instead of text
 * Errors meant for people print one line and exit 2.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InputError, TinylabError } from '../common/errors';
import type { DataSplits, Dataset } from '../data/types';
import { loadMnist } from '../data/mnist';
import { loadNpy } from '../data/loaders';
import { loadModel } from '../train/io';
import { initBackend } from '../backend';
import { toOnnxQdq } from '../export/onnx';
import { toQuantizedJson } from '../export/qjson';
import { quantize } from './report';
import { DEFAULT_ROUNDING } from './quantize';
import { CALIBRATION_METHODS, REQUANT_ROUNDINGS } from './types';
import type { CalibrationMethod, RequantRounding } from './types';
import { closestMatch } from '../common/suggest';

export interface CliArgs {
  positional: string[];
  values: Map<string, string>;
  bools: Set<string>;
}

/** `--key value`, `--key=value`, `-o value`, boolean flags from `bools`. */
export function parseArgs(argv: string[], bools: string[], known: string[]): CliArgs {
  const a: CliArgs = { positional: [], values: new Map(), bools: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s.startsWith('-') && s.length > 1 && !/^-\d/.test(s)) {
      let key = s.replace(/^--?/, '');
      let val: string | undefined;
      const eq = key.indexOf('=');
      if (eq >= 0) {
        val = key.slice(eq + 1);
        key = key.slice(0, eq);
      }
      if (key === 'o') key = 'out';
      if (!known.includes(key) && !bools.includes(key)) {
        const near = closestMatch(key, [...known, ...bools]);
        throw new InputError(`unknown option --${key}${near ? `; did you mean --${near}?` : ''}`);
      }
      if (bools.includes(key)) a.bools.add(key);
      else {
        val ??= argv[++i];
        if (val === undefined) throw new InputError(`option --${key} needs a value`);
        a.values.set(key, val);
      }
    } else a.positional.push(s);
  }
  return a;
}

/** Calibration/test data for a model input shape: embedded MNIST, or an .npy of samples (+ labels). */
export function dataFor(inputShape: number[], dataArg: string | undefined, labelsArg?: string): DataSplits | Dataset {
  const key = inputShape.join('x');
  if (!dataArg || dataArg === 'mnist') {
    if (key === '28x28x1' || key === '14x14x1') return loadMnist({ size: inputShape[0] as 14 | 28, seed: 1 });
    throw new InputError(`model input [${inputShape.join(', ')}] is not an MNIST digit; pass --data samples.npy holding [n, ${inputShape.join(', ')}] floats`);
  }
  if (!dataArg.endsWith('.npy')) throw new InputError(`--data '${dataArg}': use 'mnist' or an .npy file of samples`);
  const arr = loadNpy(dataArg);
  const sampleShape = arr.shape.slice(1);
  const x = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data);
  let y = new Int32Array(0);
  let numClasses = 0;
  if (labelsArg) {
    const l = loadNpy(labelsArg);
    y = Int32Array.from(l.data);
    numClasses = Math.max(...Array.from(y)) + 1;
  }
  return { x, y, sampleShape, numClasses, classNames: Array.from({ length: numClasses }, (_, i) => String(i)), name: path.basename(dataArg) };
}

export function modelJsonPath(p: string): string {
  const abs = path.resolve(p);
  return fs.existsSync(abs) && fs.statSync(abs).isDirectory() ? path.join(abs, 'model.json') : abs;
}

const HELP = `usage: tinylab quantize model.json [--calibration 500] [--method minmax|percentile|mse|kl] [-o model.int8.onnx]
       [--data mnist|samples.npy [--labels labels.npy]] [--output int8|float] [--keep-float a,b] [--rounding single|double] [--board NAME]
       [--json quantized.json] [--report-json]`;

export async function run(argv: string[]): Promise<number> {
  try {
    const a = parseArgs(argv, ['help', 'h', 'report-json'], ['calibration', 'method', 'out', 'data', 'labels', 'output', 'keep-float', 'board', 'json', 'seed', 'rounding']);
    if (a.bools.has('help') || a.bools.has('h')) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    if (a.positional.length !== 1) throw new InputError(`expected one model (model.json or its folder); ${HELP}`);
    const method = (a.values.get('method') ?? 'mse') as CalibrationMethod;
    if (!CALIBRATION_METHODS.includes(method)) throw new InputError(`unknown --method '${method}'; use one of ${CALIBRATION_METHODS.join(', ')}`);
    const calibration = Number(a.values.get('calibration') ?? 500);
    if (!(calibration >= 1)) throw new InputError(`--calibration must be a positive number of samples, got '${a.values.get('calibration')}'`);
    const output = a.values.get('output') ?? 'int8';
    if (output !== 'int8' && output !== 'float') throw new InputError(`--output must be int8 or float, got '${output}'`);
    const rounding = (a.values.get('rounding') ?? DEFAULT_ROUNDING) as RequantRounding;
    if (!REQUANT_ROUNDINGS.includes(rounding)) throw new InputError(`--rounding must be one of ${REQUANT_ROUNDINGS.join(', ')}, got '${rounding}'`);
    await initBackend();
    const mj = modelJsonPath(a.positional[0]);
    const model = await loadModel(mj);
    const inputShape = model.inputs[0].shape.slice(1) as number[];
    const data = dataFor(inputShape, a.values.get('data'), a.values.get('labels'));
    const r = await quantize(model, data, {
      method,
      calibrationSize: calibration,
      output,
      keepFloat: a.values.get('keep-float')?.split(',').filter(Boolean),
      board: a.values.get('board'),
      seed: Number(a.values.get('seed') ?? 0),
      rounding,
    });
    const out = a.values.get('out') ?? mj.replace(/(\/model)?\.json$/, '') + '.int8.onnx';
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    fs.writeFileSync(out, toOnnxQdq(r.model));
    const jsonOut = a.values.get('json');
    if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(toQuantizedJson(r.model)));
    if (a.bools.has('report-json')) {
      const { model: _m, toText: _t, toMimeBundle: _b, ...rest } = r;
      void _m, void _t, void _b;
      process.stdout.write(JSON.stringify({ ...rest, onnx: out, json: jsonOut ?? null }) + '\n');
    } else {
      process.stdout.write(r.toText() + `\nwrote ${out}${jsonOut ? ` and ${jsonOut}` : ''}\n`);
    }
    model.dispose();
    return 0;
  } catch (err) {
    if (err instanceof TinylabError) {
      process.stderr.write(`tinylab quantize: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
