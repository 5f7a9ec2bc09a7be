/** tfjs layers format (model.json + weights.bin), through the training engine's saver so both write one format. */
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import { saveModel } from '../train/io';
import type { SavedModelInfo } from '../train/io';

/** Write model.json + weights.bin into `dir` (relative paths resolve against the current directory). */
export async function exportTfjs(model: tf.LayersModel, dir: string, opts: { description?: string } = {}): Promise<SavedModelInfo> {
  return saveModel(model, path.resolve(dir), { metadata: { producer: 'tinylab', description: opts.description ?? `${model.name} exported by tinylab` } });
}
