/**
 * %distill end to end through the kernel's argument parser, with a plain in-memory MagicContext (session variables in
 * a Map, displays recorded): live updates, the comparison table, variables left behind, the user's student untouched.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadMnist } from '../../src/data';
import { buildCnn } from '../../src/models';
import { train } from '../../src/train';
import type { DistillComparison } from '../../src/distill';
import { magics } from '../../kernel/magics/distill';
import { parseArgs } from '../../kernel/magics/parser';
import type { MagicContext } from '../../kernel/magics/types';
import { recordingContext, type Shown } from '../helpers/magic-context';
import { VegaLiteChart } from '../../kernel/display/vegalite';

function context(vars: Map<string, unknown>, shown: Shown[], signal = new AbortController().signal): MagicContext {
  return recordingContext({ vars, shown, signal }).ctx;
}

test('%distill --teacher t --student s: live display, table, chart, variables', async () => {
  await initBackend();
  const data = loadMnist({ size: 14, seed: 2, limit: 500 });
  const t = buildCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: [8, 16], depth: 2, dense: 32, seed: 1, name: 't' });
  await train(t, data, { epochs: 2, seed: 1 });
  const s = buildCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: [4], depth: 1, seed: 2, name: 's' });
  const s0 = s.getWeights().map((w) => Array.from(w.dataSync()));
  const before = tf.memory().numTensors;
  const vars = new Map<string, unknown>([['t', t], ['s', s], ['data', data]]);
  const shown: Array<{ id: string; value: unknown; update: boolean }> = [];
  const spec = magics.find((m) => m.name === 'distill')!;
  const args = parseArgs(spec, '--teacher t --student s --temperature 4 --alpha 0.3 --epochs 2');
  const result = await spec.run(args, context(vars, shown));

  expect(result).toBeInstanceOf(VegaLiteChart);
  const chart = (result as VegaLiteChart).spec as { data: { values: Array<{ model: string }> } };
  expect(chart.data.values.map((v) => v.model)).toEqual(['teacher', 'student alone', 'student distilled']);
  // Live display: updates of the first display, with both runs' epoch ends.
  const live = shown.filter((d) => d.id === 'd0' && d.update);
  expect(live.length).toBeGreaterThanOrEqual(4);
  const lastLive = String((live[live.length - 1].value as { data: Record<string, unknown> }).data['text/plain']);
  expect(lastLive).toMatch(/alone\s+epoch\s+2/);
  expect(lastLive).toMatch(/distilled\s+epoch\s+2/);
  // The comparison table.
  const table = shown.find((d) => d.id === 'd1')!.value as { data: Record<string, unknown> };
  expect(String(table.data['text/plain'])).toMatch(/teacher[\s\S]*student alone[\s\S]*student distilled/);
  expect(String(table.data['text/html'])).toContain('<table>');
  // Variables: distilled and alone students, the report; the user's `s` is untouched.
  const report = vars.get('s_distilled_report') as DistillComparison;
  expect(vars.get('s_distilled')).toBe(report.distilledModel);
  expect(vars.get('s_distilled_alone')).toBe(report.aloneModel);
  expect(report.distilledModel).not.toBe(s);
  expect(s.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(s0);
  expect(report.teacher.params / report.distilled.params).toBeGreaterThan(3);
  report.distilledModel.dispose();
  report.aloneModel.dispose();
  expect(tf.memory().numTensors).toBe(before);

  // Derived student: its learnables reduction shows in the live display before training.
  const shown2: typeof shown = [];
  await spec.run(parseArgs(spec, '--teacher t --epochs 1 --reduction 4 --out d2'), context(vars, shown2));
  const first = shown2.find((d) => d.update)!.value as { data: Record<string, unknown> };
  expect(String(first.data['text/plain'])).toMatch(/learnables \([\d.]+× fewer than the teacher's/);
  const r2 = vars.get('d2_report') as DistillComparison;
  expect(r2.derived!.reduction).toBeGreaterThanOrEqual(4);
  r2.distilledModel.dispose();
  r2.aloneModel.dispose();
  expect(tf.memory().numTensors).toBe(before);

  // Errors name the fix.
  await expect(async () => spec.run(parseArgs(spec, '--teacher nope'), context(vars, shown))).rejects.toThrow(/no variable 'nope'/);
  await expect(async () => spec.run(parseArgs(spec, '--teacher t --data s'), context(vars, shown))).rejects.toThrow(/not data splits/);
  t.dispose();
  s.dispose();
});
