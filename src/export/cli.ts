/**
 * `tinylab export model.json --format onnx[,onnx-int8,tfjs,qjson] -o out/base`
 *
 *   onnx → base.onnx (float32), onnx-int8 → base.int8.onnx (QDQ), qjson → base.int8.json (quantized graph for the C
 *   generator), tfjs → base/ (model.json + weights.bin). int8 formats quantize first: --calibration N, --method M,
 *   --data mnist|samples.npy, --output int8|float (as `tinylab quantize`). `--c DIR` also writes the int8 model as
 *   C99 source (model.h, model.c, kernels.h, kernels.c) into DIR.
 * Errors meant for people print one line and exit 2.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InputError, TinylabError } from '../common/errors';
import { initBackend } from '../backend';
import { loadModel } from '../train/io';
import { dataFor, modelJsonPath, parseArgs } from '../quantize/cli';
import { quantizeModel } from '../quantize/quantize';
import type { CalibrationMethod } from '../quantize/types';
import { CALIBRATION_METHODS } from '../quantize/types';
import { checkFormat, exportModel } from './files';
import { generateC } from './c';

const HELP = `usage: tinylab export model.json [--format onnx|onnx-int8|tfjs|qjson|all (comma list)] [-o out/base]
       [--calibration 500] [--method mse] [--data mnist|samples.npy] [--output int8|float] [--description TEXT]
       [--c DIR   also write the int8 model as C99 source into DIR]`;

export async function run(argv: string[]): Promise<number> {
  try {
    const a = parseArgs(argv, ['help', 'h'], ['format', 'out', 'calibration', 'method', 'data', 'output', 'description', 'seed', 'c']);
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
    await initBackend();
    const mj = modelJsonPath(a.positional[0]);
    const model = await loadModel(mj);
    const base = a.values.get('out') ?? path.join(path.dirname(mj), path.basename(path.dirname(mj)) || 'model');
    let quantized;
    if (formats.includes('onnx-int8') || formats.includes('qjson') || cDir) {
      const data = dataFor(model.inputs[0].shape.slice(1) as number[], a.values.get('data'));
      quantized = quantizeModel(model, data, { method, calibrationSize: Number(a.values.get('calibration') ?? 500), output, seed: Number(a.values.get('seed') ?? 0) });
    }
    const files = await exportModel(model, base, { formats, quantized, description: a.values.get('description') });
    for (const f of files) process.stdout.write(`${f.format.padEnd(10)} ${f.path} (${f.bytes} bytes)\n`);
    if (cDir && quantized) {
      const c = generateC(quantized, { name: 'model' });
      fs.mkdirSync(cDir, { recursive: true });
      for (const [name, text] of Object.entries(c.files)) {
        const file = path.join(cDir, name);
        fs.writeFileSync(file, text);
        process.stdout.write(`${'c'.padEnd(10)} ${file} (${Buffer.byteLength(text)} bytes)\n`);
      }
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
