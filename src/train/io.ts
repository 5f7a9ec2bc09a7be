/**
 * Save/load models in the tfjs layers format (model.json + weights.bin) without tfjs-node's file:// handler.
 * Relative directories resolve under the experiments folder (default `<cwd>/experiments`, or $TINYLAB_EXPERIMENTS).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';

export function experimentsRoot(): string {
  return path.resolve(process.env.TINYLAB_EXPERIMENTS ?? path.join(process.cwd(), 'experiments'));
}

/** Absolute paths stay; relative ones go under the experiments folder. */
export function resolveModelDir(dir: string): string {
  return path.isAbsolute(dir) ? dir : path.join(experimentsRoot(), dir);
}

export interface SavedModelInfo {
  dir: string;
  modelJson: string;
  weightsBin: string;
  weightBytes: number;
}

export async function saveModel(
  model: tf.LayersModel,
  dir: string,
  opts: { metadata?: Record<string, unknown> } = {},
): Promise<SavedModelInfo> {
  const out = resolveModelDir(dir);
  fs.mkdirSync(out, { recursive: true });
  const modelJson = path.join(out, 'model.json');
  const weightsBin = path.join(out, 'weights.bin');
  let weightBytes = 0;
  await model.save(
    tf.io.withSaveHandler(async (a: tf.io.ModelArtifacts) => {
      const weights = a.weightData ? Buffer.from(tf.io.CompositeArrayBuffer.join(a.weightData)) : Buffer.alloc(0);
      weightBytes = weights.length;
      const json = {
        modelTopology: a.modelTopology,
        format: a.format ?? 'layers-model',
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy ?? null,
        userDefinedMetadata: opts.metadata,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs ?? [] }],
      };
      fs.writeFileSync(weightsBin, weights);
      fs.writeFileSync(modelJson, JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  return { dir: out, modelJson, weightsBin, weightBytes };
}

export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const d = resolveModelDir(dir);
  const modelJson = fs.existsSync(path.join(d, 'model.json')) ? path.join(d, 'model.json') : d;
  if (!fs.existsSync(modelJson) || fs.statSync(modelJson).isDirectory()) {
    throw new InputError(`no model.json in ${d}: save one with saveModel(model, '${dir}')`);
  }
  const json = JSON.parse(fs.readFileSync(modelJson, 'utf8')) as {
    modelTopology: object;
    weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  };
  const base = path.dirname(modelJson);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(base, p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}
