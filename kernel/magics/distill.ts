/**
 * %distill: teacher-student knowledge distillation, a thin adapter over src/distill's compareDistillation().
 *
 *   %distill --teacher t --student s --temperature 4 --alpha 0.3 --epochs 10
 *
 * Trains the student alone and distilled (same initial weights, epochs and seed) with a live display of both runs,
 * then shows the comparison table (teacher / student alone / student distilled: accuracy, params, MACs, int8 flash on
 * the board) and returns the accuracy-vs-flash chart. Without --student a student is derived from the teacher
 * (fewer blocks / narrower, at least --reduction× fewer learnables) and its reduction is printed.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../../src/common/errors';
import type { ProgressEvent } from '../../src/common/progress';
import type { DataSplits } from '../../src/data/types';
import { cloneModel, compareDistillation } from '../../src/distill/distill';
import type { DistillComparison } from '../../src/distill/distill';
import { distillHtml, distillText } from '../../src/distill/report';
import { distillChart } from '../../src/charts/distill';
import type { ReduceMode } from '../../src/distill/student';
import { bundle } from '../display/bundle';
import type { MimeBundle } from '../display/bundle';
import { VegaLiteChart } from '../display/vegalite';
import type { MagicContext, MagicSpec, ParsedArgs } from './types';

const IDENT = /^[A-Za-z_$][\w$]*$/;

function modelVar(ctx: MagicContext, name: string, what: string): tf.LayersModel {
  if (!IDENT.test(name)) throw new InputError(`%distill: --${what} takes a variable name, got '${name}'`);
  const v = ctx.getVariable(name);
  if (v === undefined) throw new InputError(`%distill: no variable '${name}'; build the ${what} first, e.g. ${name} = buildCnn({...})`);
  if (!(v instanceof tf.LayersModel)) throw new InputError(`%distill: '${name}' is not a tf.LayersModel (the ${what} must be a model built with tinylab or tf.model)`);
  return v;
}

function dataVar(ctx: MagicContext, name: string): DataSplits {
  const v = ctx.getVariable(name) as Partial<DataSplits> | undefined;
  if (v === undefined) throw new InputError(`%distill: no variable '${name}' with the data; define it, e.g. ${name} = loadMnist({ size: 14 }), or pass --data NAME`);
  if (typeof v !== 'object' || v === null || !v.train || !(v.train.x instanceof Float32Array)) {
    throw new InputError(`%distill: '${name}' is not data splits ({train, val, test} datasets, as loadMnist() returns)`);
  }
  return v as DataSplits;
}

interface EpochRow {
  run: string;
  epoch: number;
  loss: number;
  valAccuracy?: number;
}

/** The live display: one line per finished epoch of each run, and the current batch line. */
function liveBundle(rows: EpochRow[], current: string, header: string): MimeBundle {
  const fmtAcc = (a?: number) => (a === undefined ? '-' : `${(100 * a).toFixed(2)} %`);
  const text = [header, ...rows.map((r) => `${r.run.padEnd(8)} epoch ${String(r.epoch).padStart(3)}  loss ${r.loss.toFixed(4)}  val acc ${fmtAcc(r.valAccuracy)}`), current].join('\n');
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const html =
    `<p>${esc(header)}</p><table><thead><tr><th>run</th><th>epoch</th><th>loss</th><th>val accuracy</th></tr></thead><tbody>` +
    rows.map((r) => `<tr><td>${r.run}</td><td>${r.epoch}</td><td>${r.loss.toFixed(4)}</td><td>${fmtAcc(r.valAccuracy)}</td></tr>`).join('') +
    `</tbody></table><p><code>${esc(current)}</code></p>`;
  return bundle({ 'text/plain': text, 'text/html': html });
}

export const magics: MagicSpec[] = [
  {
    name: 'distill',
    kind: 'line',
    summary: 'distil a teacher into a small student and compare with the student trained alone (accuracy, size, int8 flash)',
    help:
      'Loss: alpha·CE(y, softmax(s)) + (1 − alpha)·T²·CE(softmax(t/T), softmax(s/T)); the T² keeps the soft-target ' +
      'gradients independent of T. The teacher runs in inference mode and its logits over the training split are ' +
      'computed once. The student (given, or derived from the teacher with at least --reduction× fewer learnables) ' +
      'is trained twice from the same initial weights: alone (cross-entropy) and distilled. The distilled student is ' +
      'stored in --out (default <student>_distilled, or student_distilled), the alone one in <out>_alone and the ' +
      'comparison in <out>_report. Interrupting stops at the next batch and shows what was trained. The distilled ' +
      "run's loss is the formula's value: its soft term includes T² times the teacher's entropy, so it does not go to 0.",
    args: [
      { name: 'teacher', type: 'string', required: true, help: 'teacher model variable (trained, ends in Dense softmax)' },
      { name: 'student', type: 'string', help: "student model variable; omit to derive one from the teacher" },
      { name: 'data', type: 'string', default: 'data', help: 'data splits variable ({train, val, test}, e.g. from loadMnist)' },
      { name: 'temperature', type: 'number', default: 4, min: 0.01, help: 'softmax temperature T' },
      { name: 'alpha', type: 'number', default: 0.3, min: 0, max: 1, help: 'weight of the hard-label loss' },
      { name: 'epochs', type: 'int', default: 10, min: 1, help: 'epochs for each of the two student runs' },
      { name: 'batch', type: 'int', default: 32, min: 1, help: 'batch size' },
      { name: 'lr', type: 'number', default: 0.002, min: 0, help: 'learning rate (adam)' },
      { name: 'seed', type: 'int', default: 0, help: 'seed of batch order (and of a derived student)' },
      { name: 'board', type: 'string', default: 'NUCLEO-L476RG', help: 'board for the int8 flash figures (see %boards)' },
      { name: 'reduction', type: 'number', default: 5, min: 1, help: 'derived student: at least this many times fewer learnables' },
      { name: 'blocks', type: 'int', min: 1, help: 'derived student: feature blocks to keep' },
      { name: 'width', type: 'number', min: 0.01, max: 1, help: 'derived student: width multiplier' },
      { name: 'reduce', type: 'enum', choices: ['pool', 'gap', 'flatten'], help: 'derived student: what absorbs the larger feature map' },
      { name: 'out', type: 'string', help: 'variable for the distilled student' },
    ],
    examples: [
      '%distill --teacher t --student s --temperature 4 --alpha 0.3 --epochs 10',
      '%distill --teacher t --reduction 8 --epochs 5 --board nrf52840-dk',
    ],
    async run(args: ParsedArgs, ctx: MagicContext) {
      const teacher = modelVar(ctx, String(args.teacher), 'teacher');
      const studentName = args.student === undefined ? undefined : String(args.student);
      // Train a copy: the user's student keeps its initial weights, so re-running the cell is repeatable.
      const student = studentName ? await cloneModel(modelVar(ctx, studentName, 'student'), `${studentName}_distilled`) : undefined;
      const data = dataVar(ctx, String(args.data ?? 'data'));
      const out = String(args.out ?? `${studentName ?? 'student'}_distilled`);
      if (!IDENT.test(out)) throw new InputError(`%distill: --out must be a variable name, got '${out}'`);
      const T = Number(args.temperature ?? 4);
      const alpha = Number(args.alpha ?? 0.3);
      let header = `distilling '${teacher.name}' → ${studentName ? `'${studentName}'` : 'a derived student'} (T=${T}, alpha=${alpha}, ${args.epochs} epochs per run)`;
      const rows: EpochRow[] = [];
      const id = ctx.display(liveBundle(rows, 'starting: teacher logits and student alone run…', header));
      const onProgress = (e: ProgressEvent) => {
        if (e.task === 'student') {
          header = `${header}\n${e.message ?? ''}`; // the derived student and its learnables reduction
          ctx.updateDisplay(id, liveBundle(rows, 'teacher logits and student alone run…', header));
          return;
        }
        const run = e.task === 'distill' ? 'distilled' : 'alone';
        if (e.metrics?.epochEnd) {
          rows.push({ run, epoch: e.metrics.epoch, loss: e.metrics.loss, valAccuracy: e.metrics.val_accuracy });
        }
        ctx.updateDisplay(id, liveBundle(rows, e.message ?? '', header));
      };
      let cmp: DistillComparison;
      try {
          cmp = await compareDistillation({
          teacher,
          student: student ?? {
            reduction: Number(args.reduction ?? 5),
            blocks: args.blocks as number | undefined,
            width: args.width as number | undefined,
            reduce: args.reduce as ReduceMode | undefined,
          },
          data,
          temperature: T,
          alpha,
          epochs: Number(args.epochs ?? 10),
          batchSize: Number(args.batch ?? 32),
          learningRate: Number(args.lr ?? 0.002),
          seed: Number(args.seed ?? 0),
          board: String(args.board ?? 'NUCLEO-L476RG'),
          signal: ctx.signal,
          onProgress,
        });
      } catch (e) {
        student?.dispose();
        throw e;
      }
      ctx.updateDisplay(id, liveBundle(rows, cmp.aborted ? 'interrupted: results below are of the partial training' : 'done', header));
      ctx.setVariable(out, cmp.distilledModel);
      ctx.setVariable(`${out}_alone`, cmp.aloneModel);
      ctx.setVariable(`${out}_report`, cmp);
      ctx.display(bundle({ 'text/plain': distillText(cmp), 'text/html': distillHtml(cmp) }));
      return new VegaLiteChart(distillChart([cmp.teacher, cmp.alone, cmp.distilled], `accuracy vs int8 weights flash (${cmp.board})`));
    },
  },
];
