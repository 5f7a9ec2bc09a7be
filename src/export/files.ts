/** Write a model in one or several formats to disk (used by `tinylab export`, `%export` and notebooks). */
import * as fs from 'fs';
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';
import { closestMatch } from '../common/suggest';
import { deployModel } from '../quantize/deploy';
import type { QuantizedModel } from '../quantize/types';
import { toOnnxFloat, toOnnxQdq } from './onnx';
import { toQuantizedJson } from './qjson';
import { exportTfjs } from './tfjs';

export type ExportFormat = 'onnx' | 'onnx-int8' | 'tfjs' | 'qjson';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['onnx', 'onnx-int8', 'tfjs', 'qjson'];

export interface ExportedFile {
  format: ExportFormat;
  path: string;
  bytes: number;
}

export function checkFormat(f: string): ExportFormat {
  if ((EXPORT_FORMATS as readonly string[]).includes(f)) return f as ExportFormat;
  const near = closestMatch(f, EXPORT_FORMATS);
  throw new InputError(`unknown export format '${f}'${near ? `; did you mean '${near}'?` : ''} (formats: ${EXPORT_FORMATS.join(', ')})`);
}

/**
 * Export to `base` (a path without extension, or a directory for tfjs): onnx → base.onnx, onnx-int8 → base.int8.onnx,
 * qjson → base.int8.json, tfjs → base/ (model.json + weights.bin). int8 formats need a quantized model.
 */
export async function exportModel(
  model: tf.LayersModel | undefined,
  base: string,
  opts: { formats: ExportFormat[]; quantized?: QuantizedModel; description?: string },
): Promise<ExportedFile[]> {
  const out: ExportedFile[] = [];
  fs.mkdirSync(path.dirname(path.resolve(base)), { recursive: true });
  const write = (format: ExportFormat, file: string, data: Uint8Array | string) => {
    fs.writeFileSync(file, data);
    out.push({ format, path: file, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength });
  };
  for (const f of opts.formats) {
    if ((f === 'onnx' || f === 'tfjs') && !model) throw new InputError(`format '${f}' needs the float model; pass the tfjs model`);
    if ((f === 'onnx-int8' || f === 'qjson') && !opts.quantized) throw new InputError(`format '${f}' needs a quantized model; quantize first (quantizeModel or %quantize)`);
    if (f === 'onnx') write(f, `${base}.onnx`, toOnnxFloat(deployModel(model!), { description: opts.description }));
    if (f === 'onnx-int8') write(f, `${base}.int8.onnx`, toOnnxQdq(opts.quantized!, { description: opts.description }));
    if (f === 'qjson') write(f, `${base}.int8.json`, JSON.stringify(toQuantizedJson(opts.quantized!)));
    if (f === 'tfjs') {
      const info = await exportTfjs(model!, base, { description: opts.description });
      out.push({ format: f, path: info.modelJson, bytes: fs.statSync(info.modelJson).size + info.weightBytes });
    }
  }
  return out;
}
