/**
 * %backend, %data, %model, %train through the kernel's argument parser with a plain in-memory MagicContext
 * (session variables in a Map, displays recorded): variables left behind, live display updated in place, interrupt.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { magics } from '../../kernel/magics/training';
import { parseArgs } from '../../kernel/magics/parser';
import type { MagicContext } from '../../kernel/magics/types';
import { recordingContext, type Shown as RecordedDisplay } from '../helpers/magic-context';
import type { DataSplits } from '../../src/data';
import { initBackend } from '../../src/backend';

type Shown = RecordedDisplay[];

function context(vars: Map<string, unknown>, shown: Shown, signal = new AbortController().signal, cwd = process.cwd()): MagicContext {
  return recordingContext({ vars, shown, signal, cwd }).ctx;
}

const run = async (name: string, line: string, ctx: MagicContext) => {
  const spec = magics.find((m) => m.name === name)!;
  return spec.run(parseArgs(spec, line), ctx);
};
const text = (v: unknown): string => {
  const o = v as { data?: Record<string, unknown>; toMimeBundle?: () => { data: Record<string, unknown> } };
  return String((o.toMimeBundle ? o.toMimeBundle() : o).data?.['text/plain']);
};

test('%backend shows and switches', async () => {
  const shown: Shown = [];
  const ctx = context(new Map(), shown);
  expect(text(await run('backend', 'cpu', ctx))).toMatch(/backend: cpu \(requested cpu\)/);
  expect(text(await run('backend', 'wasm', ctx))).toMatch(/tinylab kernels: Conv2DBackpropFilter/);
  expect(tf.getBackend()).toBe('wasm');
});

test('%data, %model, %train: variables, live display, test evaluation, save', async () => {
  await initBackend('wasm');
  const vars = new Map<string, unknown>();
  const shown: Shown = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinylab-magic-'));
  const ctx = context(vars, shown, new AbortController().signal, tmp);
  expect(text(await run('data', 'gestures --per-class 30 --seed 2 --out g', ctx))).toMatch(/classes \(6\): idle=24/);
  const g = vars.get('g') as DataSplits;
  expect(g.train.sampleShape).toEqual([128, 3]);
  const summary = await run('model', 'cnn --input 128,3 --classes 6 --filters 8 --depth 2 --seed 1 --out m', ctx);
  expect(text(summary)).toMatch(/Conv1D/);
  expect(vars.get('m')).toBeDefined();
  expect(text(await run('model', 'm', ctx))).toMatch(/total: /);
  await expect(run('model', 'resnt8', ctx)).rejects.toThrow(/did you mean resnet8/);

  const before = tf.memory().numTensors;
  const out = await run('train', `m g --epochs 4 --batch-size 16 --lr 0.003 --save ${path.join(tmp, 'saved')}`, ctx);
  expect(tf.memory().numTensors).toBe(before);
  expect(text(out)).toMatch(/completed after 4 epochs/);
  expect(text(out)).toMatch(/test: accuracy/);
  const first = shown.find((s) => !s.update && text(s.value).startsWith('%train'))!;
  const updates = shown.filter((s) => s.update && s.id === first.id);
  expect(updates.length).toBeGreaterThanOrEqual(4); // at least one per epoch, same display id
  expect(text(updates[updates.length - 1].value)).toMatch(/completed/);
  const res = vars.get('m_result') as { history: unknown[]; test: { accuracy: number } };
  expect(res.history.length).toBe(4);
  expect(res.test.accuracy).toBeGreaterThan(0.5);
  expect(fs.existsSync(path.join(tmp, 'saved', 'model.json'))).toBe(true);

  // Interrupt: abort after the first progress update → stops at the next batch, reports 'aborted'.
  const ac = new AbortController();
  const ctx2 = context(vars, [], ac.signal, tmp);
  const orig = ctx2.updateDisplay;
  ctx2.updateDisplay = (id, v) => {
    orig(id, v);
    ac.abort();
  };
  const out2 = await run('train', 'm g --epochs 50 --batch-size 8', ctx2);
  expect(text(out2)).toMatch(/aborted after/);
  expect(tf.memory().numTensors).toBe(before);
  fs.rmSync(tmp, { recursive: true, force: true });
});
