/**
 * %project and %prune through the real argument parser on a small trained CNN (14×14 MNIST digits): tables shown,
 * the new model left in a session variable, goals validated.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadMnist } from '../../src/data';
import type { DataSplits } from '../../src/data/types';
import { learnableCount } from '../../src/compress';
import { buildCnn } from '../../src/models';
import { train } from '../../src/train';
import { magics } from '../../kernel/magics/compress';
import { parseArgs } from '../../kernel/magics/parser';
import type { MagicContext } from '../../kernel/magics/types';
import { recordingContext, type RecordingContext } from '../helpers/magic-context';

let data: DataSplits;
let model: tf.LayersModel;

beforeAll(async () => {
  await initBackend();
  data = loadMnist({ size: 14, seed: 3, limit: 500 });
  model = buildCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: [8, 16], depth: 2, dense: 32, seed: 5 });
  await train(model, data, { epochs: 2, batchSize: 32, learningRate: 3e-3, seed: 1 });
}, 120000);

afterAll(() => model?.dispose());

function session(): RecordingContext {
  return recordingContext({ vars: new Map<string, unknown>([['model', model], ['data', data]]) });
}

async function run(name: string, line: string, ctx: MagicContext): Promise<{ toMimeBundle(): { data: Record<string, unknown> } }> {
  const spec = magics.find((m) => m.name === name)!;
  return (await spec.run(parseArgs(spec, line), ctx)) as { toMimeBundle(): { data: Record<string, unknown> } };
}

test('%project --reduction leaves the projected model in --out and shows both tables', async () => {
  const s = session();
  const before = tf.memory().numTensors;
  const r = await run('project', 'model --reduction 0.5 --finetune-epochs 1 --calibration 300 --out small', s.ctx);
  const small = s.vars.get('small') as tf.LayersModel;
  expect(small).toBeDefined();
  expect(small).not.toBe(model);
  expect(learnableCount(small)).toBeLessThanOrEqual(0.5 * learnableCount(model));
  const text = String(r.toMimeBundle().data['text/plain']);
  expect(text).toMatch(/explained/);
  expect(text).toMatch(/projected \+ 1 epoch fine-tuning/);
  expect(text).toMatch(/int8 weights/);
  expect(String(r.toMimeBundle().data['text/html'])).toMatch(/<table>/);
  expect(s.printed.join('')).toMatch(/'small'/);
  // A normal model: it predicts, and its shape is unchanged.
  expect(small.outputs[0].shape).toEqual([null, 10]);
  small.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

test('%prune --filters and --sparsity; argument errors name the fix', async () => {
  const s = session();
  const before = tf.memory().numTensors;
  const f = await run('prune', 'model --filters 0.5 --finetune-epochs 0', s.ctx);
  const slim = s.vars.get('model_pruned') as tf.LayersModel;
  expect(learnableCount(slim)).toBeLessThan(learnableCount(model));
  expect(String(f.toMimeBundle().data['text/plain'])).toMatch(/Only structured pruning/);
  slim.dispose();
  const m = await run('prune', 'model --sparsity 0.5 --finetune-epochs 1 --out sparse', s.ctx);
  const sparse = s.vars.get('sparse') as tf.LayersModel;
  expect(learnableCount(sparse)).toBe(learnableCount(model));
  expect(String(m.toMimeBundle().data['text/plain'])).toMatch(/50\.00 %/);
  sparse.dispose();
  expect(tf.memory().numTensors).toBe(before);
  await expect(run('prune', 'model --sparsity 0.5 --filters 0.3', s.ctx)).rejects.toThrow(/exactly one of/);
  await expect(run('project', 'nomodel', s.ctx)).rejects.toThrow(/no variable 'nomodel'/);
  await expect(run('project', 'model --variance 0.9 --reduction 0.5', s.ctx)).rejects.toThrow(/not both/);
});
