/**
 * `npm run bench:distill`: does distillation make a small MNIST student more accurate than training it alone?
 *
 * Setup (embedded MNIST, 14×14 digits, seeded 80/10/10 split): a CNN teacher (conv 32 → conv 64 → dense 64, 56k
 * params) is trained once on the whole training split (8,000 digits). The student is derived from it (default: both
 * conv blocks at width ×0.25, pooling kept → 3.7k params, 15× smaller) and gets a small budget:
 * BENCH_DISTILL_SAMPLES training digits (default 1000, a fixed stratified subset of the training split) for
 * BENCH_DISTILL_EPOCHS epochs (default 20); the teacher's soft targets are computed on those same digits only.
 * For each of 3 seeds (student initial weights and batch order) the student is trained alone (cross-entropy) and,
 * from the same initial weights with the same batches, distilled for each temperature/alpha setting. Accuracies are
 * on the 1,000-digit test split. Printed: mean ± std (sample std over seeds) of student-alone and distilled accuracy
 * and of their paired difference, for every setting run.
 *
 * Honesty note: the seeds (1, 2, 3) are fixed; the student shape and the settings (T:alpha = 4:0.1, 8:0.1, 2:0.1,
 * plus the %distill default 4:0.3) were picked after exploring on seeds 1–2, so only seed 3 is fresh for them.
 *
 * Env: BENCH_DISTILL_STUDENT ("blocks:width:reduce", or "auto" with BENCH_DISTILL_REDUCTION), BENCH_DISTILL_SAMPLES,
 * BENCH_DISTILL_EPOCHS, BENCH_DISTILL_SETTINGS ("4:0.3,2:0.5" = T:alpha list), BENCH_DISTILL_SEEDS ("1,2,3"),
 * BENCH_DISTILL_TEACHER_EPOCHS (default 4).
 * Last line: one JSON object with the figures.
 */
import { initBackend } from '../src/backend';
import { loadMnist, splitDataset } from '../src/data';
import type { DataSplits } from '../src/data/types';
import { cloneModel, deriveStudent, distill, modelFigures } from '../src/distill';
import type { ReduceMode } from '../src/distill';
import { buildCnn } from '../src/models';
import { evaluate, train } from '../src/train';

const env = (k: string, d: string) => process.env[k] ?? d;
const SAMPLES = Number(env('BENCH_DISTILL_SAMPLES', '1000'));
const EPOCHS = Number(env('BENCH_DISTILL_EPOCHS', '20'));
const TEACHER_EPOCHS = Number(env('BENCH_DISTILL_TEACHER_EPOCHS', '4'));
const SEEDS = env('BENCH_DISTILL_SEEDS', '1,2,3').split(',').map(Number);
const SETTINGS = env('BENCH_DISTILL_SETTINGS', '4:0.1,8:0.1,2:0.1,4:0.3').split(',').map((s) => {
  const [T, a] = s.split(':').map(Number);
  return { temperature: T, alpha: a };
});
// Student shape: derived from the teacher with at least this reduction, or pinned as "blocks:width:reduce".
const STUDENT = env('BENCH_DISTILL_STUDENT', '2:0.25:pool');
const REDUCTION = Number(env('BENCH_DISTILL_REDUCTION', '8'));
const BOARD = 'NUCLEO-L476RG';
const BATCH = 32;
const LR = 2e-3;

function meanStd(v: number[]): { mean: number; std: number } {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const s = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
  return { mean: m, std: s };
}
const pm = (v: number[], scale = 100, digits = 2) => {
  const { mean, std } = meanStd(v);
  return `${(scale * mean).toFixed(digits)} ± ${(scale * std).toFixed(digits)}`;
};

async function main(): Promise<void> {
  const t0 = performance.now();
  const info = await initBackend();
  const full = loadMnist({ size: 14, seed: 0 });
  // The student's budget: a fixed stratified subset of the training split (same for every seed and setting).
  const frac = Math.min(1, SAMPLES / full.train.y.length);
  const small: DataSplits = {
    train: frac < 1 ? splitDataset(full.train, { seed: 99, trainFraction: frac, valFraction: 0 }).train : full.train,
    val: full.val,
    test: full.test,
  };

  const teacher = buildCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: [32, 64], depth: 2, dense: 64, seed: 1, name: 'teacher' });
  const tt = performance.now();
  await train(teacher, full, { epochs: TEACHER_EPOCHS, batchSize: BATCH, learningRate: LR, schedule: 'cosine', seed: 1 });
  const teacherSeconds = (performance.now() - tt) / 1000;
  const tf0 = modelFigures(teacher, 'teacher', full.test, BOARD);
  console.log(`backend ${info.name}; teacher ${tf0.params.toLocaleString('en-US')} params trained ${TEACHER_EPOCHS} epochs on ` +
    `${full.train.y.length} digits in ${teacherSeconds.toFixed(0)} s: test accuracy ${(100 * tf0.accuracy).toFixed(2)} %`);

  const alone: number[] = [];
  const dist: number[][] = SETTINGS.map(() => []);
  let studentFig: ReturnType<typeof modelFigures> | undefined;
  let description = '';
  const opts = { epochs: EPOCHS, batchSize: BATCH, learningRate: LR, schedule: 'cosine' as const };
  for (const seed of SEEDS) {
    const [b, wd, rd] = STUDENT.split(':');
    const d = deriveStudent(teacher, STUDENT === 'auto'
      ? { reduction: REDUCTION, seed, name: 'student' }
      : { blocks: Number(b), width: Number(wd), reduce: rd as ReduceMode, reduction: 5, seed, name: 'student' });
    description = d.description;
    const init = await cloneModel(d.model, 'student_init');
    d.model.dispose();
    const a = await cloneModel(init, 'student');
    await train(a, small, { ...opts, seed });
    alone.push(evaluate(a, small.test).accuracy);
    studentFig ??= modelFigures(a, 'student alone', undefined, BOARD);
    a.dispose();
    for (let i = 0; i < SETTINGS.length; i++) {
      const s = await cloneModel(init, 'student');
      const r = await distill({ teacher, student: s, data: small, ...SETTINGS[i], ...opts, seed });
      dist[i].push(r.accuracy);
      s.dispose();
    }
    init.dispose();
    console.log(`seed ${seed}: alone ${(100 * alone[alone.length - 1]).toFixed(2)} %, distilled ` +
      SETTINGS.map((s, i) => `T=${s.temperature}/α=${s.alpha} ${(100 * dist[i][dist[i].length - 1]).toFixed(2)} %`).join(', ') +
      ` (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const sf = studentFig!;
  console.log(description);
  console.log(`student budget: ${small.train.y.length} digits × ${EPOCHS} epochs, batch ${BATCH}, adam ${LR} cosine; seeds ${SEEDS.join(', ')}; ` +
    `int8 flash on ${BOARD}`);
  console.log('');
  const head = ['model', 'T', 'alpha', 'test accuracy %', 'diff vs alone (points)', 'params', 'MACs', 'int8 weights KiB'];
  const rows: string[][] = [
    ['teacher', '-', '-', (100 * tf0.accuracy).toFixed(2), '-', tf0.params.toLocaleString('en-US'), tf0.macs.toLocaleString('en-US'), (tf0.int8WeightsFlashBytes / 1024).toFixed(1)],
    ['student alone', '-', '-', pm(alone), '-', sf.params.toLocaleString('en-US'), sf.macs.toLocaleString('en-US'), (sf.int8WeightsFlashBytes / 1024).toFixed(1)],
  ];
  const settingsOut = SETTINGS.map((s, i) => {
    const diff = dist[i].map((v, j) => v - alone[j]);
    rows.push(['student distilled', String(s.temperature), String(s.alpha), pm(dist[i]), pm(diff), sf.params.toLocaleString('en-US'), sf.macs.toLocaleString('en-US'), (sf.int8WeightsFlashBytes / 1024).toFixed(1)]);
    return {
      temperature: s.temperature,
      alpha: s.alpha,
      distilled: { ...meanStd(dist[i]), perSeed: dist[i] },
      diff: { ...meanStd(diff), perSeed: diff },
      distilledAtLeastAsAccurate: meanStd(diff).mean >= 0,
    };
  });
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  rows.forEach((r) => console.log(line(r)));
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\nstudent is ${(tf0.params / sf.params).toFixed(1)}× smaller than the teacher (params); total ${seconds.toFixed(0)} s`);
  teacher.dispose();
  console.log(
    JSON.stringify({
      bench: 'distill',
      backend: info.name,
      data: 'mnist-14x14',
      board: BOARD,
      seeds: SEEDS,
      studentTrainSamples: small.train.y.length,
      studentEpochs: EPOCHS,
      teacher: { params: tf0.params, macs: tf0.macs, int8WeightsFlashBytes: tf0.int8WeightsFlashBytes, accuracy: tf0.accuracy, epochs: TEACHER_EPOCHS },
      student: { params: sf.params, macs: sf.macs, int8WeightsFlashBytes: sf.int8WeightsFlashBytes, description },
      sizeRatio: tf0.params / sf.params,
      alone: { ...meanStd(alone), perSeed: alone },
      settings: settingsOut,
      seconds,
    }),
  );
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
