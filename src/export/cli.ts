/**
 * `tinylab export model.json --format onnx[,onnx-int8,tfjs,qjson] -o out/base`
 *
 *   onnx → base.onnx (float32), onnx-int8 → base.int8.onnx (QDQ), qjson → base.int8.json (quantized graph for the C
 *   generator), tfjs → base/ (model.json + weights.bin). int8 formats quantize first: --calibration N, --method M,
 *   --data mnist|samples.npy, --output int8|float (as `tinylab quantize`). `--c DIR` also writes the int8 model as
 *   C99 source (model.h, model.c, kernels.h, kernels.c) into DIR; `--dsp` picks the SMLAD kernels for cores with the
 *   M-profile DSP extension (Cortex-M4/M7/M33); `--rounding single|double` the requantisation (as `tinylab quantize`).
 * Errors meant for people print one line and exit 2.
 */
import * as path from 'path';
import { InputError, TinylabError } from '../common/errors';
import { initBackend } from '../backend';
import { loadModel } from '../train/io';
import { dataFor, modelJsonPath, parseArgs } from '../quantize/cli';
import { DEFAULT_ROUNDING, quantizeModel } from '../quantize/quantize';
import type { CalibrationMethod, RequantRounding } from '../quantize/types';
import { CALIBRATION_METHODS, REQUANT_ROUNDINGS } from '../quantize/types';
import { checkFormat, exportModel } from './files';
import { writeC } from './c';

const HELP = `usage: tinylab export model.json [--format onnx|onnx-int8|tfjs|qjson|all (comma list)] [-o out/base]
       [--calibration 500] [--method mse] [--data mnist|samples.npy] [--output int8|float] [--description TEXT]
       [--rounding single|double] [--c DIR [--dsp]   also write the int8 model as C99 source into DIR]`;

export async function run(argv: string[]): Promise<number> {
  try {
    const a = parseArgs(argv, ['help', 'h', 'dsp'], ['format', 'out', 'calibration', 'method', 'data', 'output', 'description', 'seed', 'c', 'rounding']);
    if (a.bools.has('help') || a.bools.has('h')) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    if (a.positional.length !== 1) throw new InputError(`expected one model (model.json or its folder); ${HELP}`);
    const cDir = a.values.get('c');
    const fmt = a.values.get('format') ?? (cDir ? '' : 'onnx');
    const formats = (fmt === 'all' ? ['onnx', 'onnx-int8', 'tfjs', 'qjson'] : fmt.split(',').filter(Boolean)).map(checkFormat);
    const method = (a.values.get('method') ?? 'mse') as CalibrationMethod;
    if (!CALIBRATION_METHODS.includes(method)) throw new InputError(`unknown --method '${method}'; use one of ${CALIBRATION_METHODS.join(', ')}`);
    const output = a.values.get('output') ?? 'int8';
    if (output !== 'int8' && output !== 'float') throw new InputError(`--output must be int8 or float, got '${output}'`);
    if (cDir && output !== 'int8') throw new InputError('--c generates the int8 path only: drop --output float');
    if (a.bools.has('dsp') && !cDir) throw new InputError('--dsp selects C kernels: add --c DIR');
    const rounding = (a.values.get('rounding') ?? DEFAULT_ROUNDING) as RequantRounding;
    if (!REQUANT_ROUNDINGS.includes(rounding)) throw new InputError(`--rounding must be one of ${REQUANT_ROUNDINGS.join(', ')}, got '${rounding}'`);
    await initBackend();
    const mj = modelJsonPath(a.positional[0]);
    const model = await loadModel(mj);
    const base = a.values.get('out') ?? path.join(path.dirname(mj), path.basename(path.dirname(mj)) || 'model');
    let quantized;
    if (formats.includes('onnx-int8') || formats.includes('qjson') || cDir) {
      const data = dataFor(model.inputs[0].shape.slice(1) as number[], a.values.get('data'));
      quantized = quantizeModel(model, data, { method, calibrationSize: Number(a.values.get('calibration') ?? 500), output, seed: Number(a.values.get('seed') ?? 0), rounding });
    }
    const files = await exportModel(model, base, { formats, quantized, description: a.values.get('description') });
    for (const f of files) process.stdout.write(`${f.format.padEnd(10)} ${f.path} (${f.bytes} bytes)\n`);
    if (cDir && quantized) {
      const c = writeC(quantized, cDir, { name: 'model', dsp: a.bools.has('dsp') });
      for (const f of c.files) process.stdout.write(`${'c'.padEnd(10)} ${f.path} (${f.bytes} bytes)\n`);
    }
    model.dispose();
    return 0;
  } catch (err) {
    if (err instanceof TinylabError) {
      process.stderr.write(`tinylab export: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
