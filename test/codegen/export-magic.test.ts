/**
 * `%export model --c DIR`: the notebook side of the C generator, parsed from the magic line as the kernel does and
 * run with a minimal session context. The written files must be exactly what generateC gives for the stored int8
 * model, and compile and run bit-exact on the host.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { magics } from '../../kernel/magics/quantize';
import { parseArgs } from '../../kernel/magics/parser';
import type { MagicContext, MagicSpec } from '../../kernel/magics/types';
import { recordingContext } from '../helpers/magic-context';
import { generateC } from '../../src/export/c';
import { verifyOnHost } from '../../src/export/c/verify';
import { buildCnn } from '../../src/models';
import { quantizeModel } from '../../src/quantize/quantize';
import { mnist14 } from '../quantize/fixtures';

jest.setTimeout(120000);

let dir: string;
let model: tf.LayersModel;
const vars = new Map<string, unknown>();
let ctx: MagicContext;
let spec: MagicSpec;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinylab-cmagic-'));
  await mnist14();
  model = buildCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: 4, depth: 2, seed: 3 });
  vars.set('model', model);
  ctx = recordingContext({ vars, cwd: dir }).ctx;
  spec = magics.find((m) => m.name === 'export')!;
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  model.dispose();
});

test('%export model --c DIR writes the stored int8 model as C, byte for byte what generateC gives, and it runs bit-exact', async () => {
  const data = await mnist14();
  const qm = quantizeModel(model, data, { method: 'minmax', calibrationSize: 64 });
  vars.set('model_int8', qm);
  const res = (await spec.run(parseArgs(spec, 'model --c out/c'), ctx)) as { data: Record<string, unknown> };
  const want = generateC(qm).files;
  for (const [name, text] of Object.entries(want)) expect(fs.readFileSync(path.join(dir, 'out', 'c', name), 'utf8')).toBe(text);
  // Only --c given: no ONNX file on the side.
  expect(fs.existsSync(path.join(dir, 'model.onnx'))).toBe(false);
  expect(String(res.data['text/plain'])).toMatch(/^c +.*out\/c\/model\.c \(\d+ bytes\)$/m);
  const f = data.test.sampleShape.reduce((a, b) => a * b, 1);
  const host = verifyOnHost(qm, { x: data.test.x.slice(0, 50 * f), sampleShape: data.test.sampleShape });
  expect(host.mismatches).toBe(0);
});

test('%export --c --dsp without a stored int8 model quantizes with the given options; float output is a one-line error', async () => {
  vars.delete('model_int8');
  await spec.run(parseArgs(spec, 'model --c c2 --dsp --format qjson -o m --calibration 32 --method minmax'), ctx);
  expect(fs.readFileSync(path.join(dir, 'c2', 'model.c'), 'utf8')).toContain('tl_conv2d_dsp(');
  expect(fs.readFileSync(path.join(dir, 'c2', 'kernels.c'), 'utf8')).toContain('__smlad');
  expect(fs.existsSync(path.join(dir, 'm.int8.json'))).toBe(true);
  const err = await Promise.resolve()
    .then(() => spec.run(parseArgs(spec, 'model --c c3 --output float'), ctx))
    .then(
      () => undefined,
      (e: Error) => e,
    );
  expect(err?.name).toBe('InputError');
  expect(err?.message).toMatch(/--c generates the int8 path only: drop --output float$/);
});
