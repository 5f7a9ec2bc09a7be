/**
 * `tinylab quantize` / `tinylab export` (in process, as kernel/cli/main.ts calls them) and the %quantize / %export
 * magics (called with a minimal session context), on a saved trained model.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { graphFromOnnx } from '../../src/graph/onnx';
import { saveModel } from '../../src/train';
import { run as quantizeCli } from '../../src/quantize/cli';
import { run as exportCli } from '../../src/export/cli';
import { magics } from '../../kernel/magics/quantize';
import { recordingContext } from '../helpers/magic-context';
import { isRichDisplayable } from '../../kernel/display/bundle';
import type { QuantizeReport } from '../../src/quantize';
import { trainedCnn } from './fixtures';

let dir: string;
let model: tf.LayersModel;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinylab-qcli-'));
  ({ model } = await trainedCnn(1));
  await saveModel(model, path.join(dir, 'cnn'));
}, 180000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await fn();
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** A float32 .npy file of the given shape. */
function writeNpy(file: string, shape: number[]): void {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const h = Buffer.alloc(10);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1;
  h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  const n = shape.reduce((a, b) => a * b, 1);
  fs.writeFileSync(file, Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(new Float32Array(n).fill(0.5).buffer)]));
}

test('tinylab quantize writes a QDQ ONNX and the quantized JSON, and prints accuracy and the per-layer table', async () => {
  const out = path.join(dir, 'cnn.int8.onnx');
  const json = path.join(dir, 'cnn.int8.json');
  const r = await capture(() => quantizeCli([path.join(dir, 'cnn', 'model.json'), '--calibration', '100', '--method', 'minmax', '-o', out, '--json', json]));
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/accuracy: float \d+\.\d+ %, int8 \d+\.\d+ %/);
  expect(r.out).toMatch(/SQNR/);
  expect(r.out).toMatch(/MCU \(NUCLEO-F446RE\)/);
  expect(graphFromOnnx(new Uint8Array(fs.readFileSync(out))).dtype).toBe('int8');
  expect(JSON.parse(fs.readFileSync(json, 'utf8')).format).toBe('tinylab-int8-graph');
});

test('tinylab quantize: wrong-shape calibration data and unknown options exit 2 with a message naming the fix', async () => {
  const npy = path.join(dir, 'bad.npy');
  writeNpy(npy, [20, 28, 28, 1]);
  const r = await capture(() => quantizeCli([path.join(dir, 'cnn'), '--data', npy, '--calibration', '10']));
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/\[28, 28, 1\].*\[14, 14, 1\]/);
  const r2 = await capture(() => quantizeCli([path.join(dir, 'cnn'), '--methd', 'mse']));
  expect(r2.code).toBe(2);
  expect(r2.err).toMatch(/did you mean --method/);
  const r3 = await capture(() => quantizeCli([path.join(dir, 'cnn'), '--method', 'entropy']));
  expect(r3.code).toBe(2);
  expect(r3.err).toMatch(/minmax, percentile, mse, kl/);
});

test('tinylab export writes float ONNX and tfjs; an unknown format suggests the right one', async () => {
  const base = path.join(dir, 'exp', 'cnn');
  const r = await capture(() => exportCli([path.join(dir, 'cnn'), '--format', 'onnx,tfjs', '-o', base]));
  expect(r.code).toBe(0);
  expect(fs.existsSync(`${base}.onnx`)).toBe(true);
  expect(fs.existsSync(path.join(base, 'model.json'))).toBe(true);
  expect(graphFromOnnx(new Uint8Array(fs.readFileSync(`${base}.onnx`))).dtype).toBe('float32');
  const bad = await capture(() => exportCli([path.join(dir, 'cnn'), '--format', 'onnx-int9']));
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/did you mean 'onnx-int8'/);
});

test('tinylab export --c writes C99 sources that compile with gcc', async () => {
  const cDir = path.join(dir, 'c-out');
  const r = await capture(() => exportCli([path.join(dir, 'cnn'), '--c', cDir, '--calibration', '100']));
  expect(r.code).toBe(0);
  for (const f of ['model.h', 'model.c', 'kernels.h', 'kernels.c']) expect(fs.existsSync(path.join(cDir, f))).toBe(true);
  // -fsyntax-only on each unit: the sources are valid C99 on their own (bit-exactness is test/codegen's job).
  for (const f of ['model.c', 'kernels.c']) {
    execFileSync('gcc', ['-std=c99', '-Wall', '-Werror', '-fsyntax-only', '-I', cDir, path.join(cDir, f)]);
  }
  const bad = await capture(() => exportCli([path.join(dir, 'cnn'), '--c', cDir, '--output', 'float']));
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/int8 path only/);
  // --dsp: the SMLAD kernels (with their portable fallback, so host gcc compiles them too).
  const dspDir = path.join(dir, 'c-dsp');
  const d = await capture(() => exportCli([path.join(dir, 'cnn'), '--c', dspDir, '--dsp', '--calibration', '100']));
  expect(d.code).toBe(0);
  expect(fs.readFileSync(path.join(dspDir, 'kernels.c'), 'utf8')).toContain('_dsp');
  execFileSync('gcc', ['-std=c99', '-Wall', '-Werror', '-fsyntax-only', '-I', dspDir, path.join(dspDir, 'kernels.c')]);
  const noC = await capture(() => exportCli([path.join(dir, 'cnn'), '--dsp']));
  expect(noC.code).toBe(2);
  expect(noC.err).toMatch(/--dsp selects C kernels: add --c DIR/);
});

test('%quantize shows the report and stores the int8 model; %export writes it', async () => {
  const { ctx, vars } = recordingContext({ vars: new Map<string, unknown>([['model', model]]), cwd: dir });
  const q = magics.find((m) => m.name === 'quantize')!;
  const rep = (await q.run({ model: 'model', calibration: 100, method: 'mse', 'eval-limit': 300 }, ctx)) as QuantizeReport;
  expect(isRichDisplayable(rep)).toBe(true);
  const b = await rep.toMimeBundle();
  expect(String(b.data['text/html'])).toMatch(/SQNR/);
  expect(String(b.data['text/plain'])).toMatch(/weights: float .* → int8 .* smaller/);
  expect(rep.accuracy!.samples).toBe(300);
  expect(rep.mcu!.int8.weightsFlashBytes).toBeLessThan(rep.mcu!.float.weightsFlashBytes);
  expect(vars.get('model_int8')).toBe(rep.model);
  const e = magics.find((m) => m.name === 'export')!;
  const res = (await e.run({ model: 'model', format: ['onnx-int8', 'qjson'], out: 'm' }, ctx)) as { data: Record<string, unknown> };
  expect(String(res.data['text/plain'])).toMatch(/onnx-int8 .*m\.int8\.onnx/);
  expect(graphFromOnnx(new Uint8Array(fs.readFileSync(path.join(dir, 'm.int8.onnx')))).dtype).toBe('int8');
  await expect(Promise.resolve().then(() => q.run({ model: 'nope' }, ctx))).rejects.toThrow(/no model in variable 'nope'/);
});
