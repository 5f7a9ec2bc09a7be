// Regenerates notebooks/02-sensor-gestures.ipynb and notebooks/03-bring-your-own-onnx.ipynb (committed; this documents
// them): node test/notebooks/generate.mjs. Same Python-free style as notebook 01: nbformat 4.5 JSON with cell ids.
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let n = 0;
const id = () => `cell-${String(n++).padStart(2, '0')}`;
const lines = (s) => {
  const l = s.replace(/^\n/, '').replace(/\n$/, '').split('\n');
  return l.map((x, i) => (i < l.length - 1 ? x + '\n' : x));
};
const md = (s) => ({ cell_type: 'markdown', id: id(), metadata: {}, source: lines(s) });
const code = (s, tags) => ({ cell_type: 'code', execution_count: null, id: id(), metadata: tags ? { tags } : {}, outputs: [], source: lines(s) });
const META = {
  kernelspec: { name: 'tinylab', display_name: 'TypeScript (tinylab)', language: 'typescript' },
  language_info: { name: 'typescript', file_extension: '.ts', mimetype: 'text/x.typescript' },
};
function write(name, cells) {
  n = 0;
  const nb = { cells: cells(), metadata: META, nbformat: 4, nbformat_minor: 5 };
  fs.writeFileSync(path.join(root, 'notebooks', name), JSON.stringify(nb, null, 1) + '\n');
}

// ------------------------------------------------------------------ 02: sensor gestures on a Cortex-M4
write('02-sensor-gestures.ipynb', () => [
  md(`
# Sensor gestures on a Cortex-M4

The tinyML loop of notebook 01 for a **time-series** model: six accelerometer gestures (idle, wave, circle, shake, punch,
lift; 3 axes at 50 Hz, 2.56 s windows, synthetic and seeded, with sensor noise and drift) classified by a **1-D convolutional network**, targeting a
Cortex-M4 board (default: NUCLEO-L476RG, 80 MHz, 1 MiB flash, 128 KiB SRAM). Train a **teacher**, **sweep** a student
with Bayesian optimization constrained to the board, **distill**, **project-prune** and fine-tune, **quantize** to int8,
price every stage with the cost simulator (float32 and int8), and show the **latency of every layer** on the board.

Every accuracy is measured on the held-out test split; int8 accuracy comes from the integer reference engine; flash,
RAM and latency come from the cost simulator. Re-run it bigger with
\`tinylab run notebooks/02-sensor-gestures.ipynb -p trials=12 -p samplesPerClass=400 --html out/gestures.html\`.
`),
  md('## Parameters'),
  code(`
let samplesPerClass = 150;     // data size: windows per gesture (6 gestures; split 80/10/10)
let noise = 0.3;               // sensor white noise (g); 0.05 makes the task trivial, 0.5 very hard
let drift = 0.3;               // slow drift over a window (g per axis)
let teacherEpochs = 20;
let studentEpochs = 12;
let trials = 6;                // Bayesian-optimization trials for the student
let distillLearningRate = 4e-3; // soft targets train well at a higher rate than the sweep's best
let board = 'NUCLEO-L476RG';   // a Cortex-M4 board the student must fit
let flashBudgetKiB = 8;        // the student's int8 weights budget
let seed = 1;
`, ['parameters']),
  md('## Backend and data'),
  code(`
import * as fs from "fs";
const backend = await initBackend();
const data = makeGestureData({ samplesPerClass, noise, drift, seed });
const inputShape = data.train.sampleShape;
const numClasses = data.train.numClasses;
const target = findBoard(board);
const boards = ['NUCLEO-L476RG', 'NUCLEO-L4R5ZI', 'nRF52840-DK', 'NUCLEO-F401RE', 'Raspberry-Pi-Pico'].map((b) => findBoard(b));
if (!boards.some((b) => b.name === target.name)) boards.unshift(target);
console.log(\`backend \${backend.name}: \${backend.reason}\`);
console.log(\`data \${data.train.name}: train \${datasetSize(data.train)}, val \${datasetSize(data.val)}, test \${datasetSize(data.test)}; \` +
  \`sample \${inputShape.join('×')} (steps × axes), classes \${(data.train.classNames ?? []).join(', ')}\`);
console.log(\`target \${target.name}: \${target.core} @ \${target.clockMhz} MHz, flash \${target.flashKiB} KiB, SRAM \${target.sramKiB} KiB\`);
if (target.core !== 'cortex-m4') console.log(\`note: \${target.name} is not a Cortex-M4 board (\${target.core})\`);
`),
  md(`
Every model is recorded in \`points\` (stage, accuracy, int8 flash and RAM on the target board) for the decision chart.
The cost simulator prices a Conv1D layer as a 2-D convolution over a \`[1, 1, steps, channels]\` tensor (how TFLite
lowers it: expand_dims → Conv2D → squeeze), so the per-layer table shows \`conv2d\` ops with their reshapes.
`),
  code(`
const points: DecisionPoint[] = [];
type Model = ReturnType<typeof buildCnn>;
function price(model: Model, dtype: 'int8' | 'float32' = 'int8') {
  return estimate(graphFromLayersModel(model), target, { dtype });
}
function record(stage: string, model: Model, accuracy: number, details = '') {
  const r = price(model);
  points.push({ stage, name: model.name, accuracy, flashBytes: r.totals.weightsFlashBytes, ramBytes: r.totals.activationRamBytes,
    params: r.totals.params, details });
  return r;
}
function live(title: string) {
  const id = display(markdown(\`**\${title}**: starting…\`));
  return (e: ProgressEvent) => {
    updateDisplay(id, markdown(\`**\${title}**: \${e.message ?? \`\${e.done}/\${e.total ?? '?'}\`}\`));
  };
}
const pct = (x: number) => \`\${(x * 100).toFixed(1)} %\`;
const kib = (b: number) => \`\${(b / 1024).toFixed(1)} KiB\`;
`),
  md('## 1. Teacher: a 1-D CNN'),
  code(`
const teacher = buildCnn({ inputShape, numClasses, filters: 16, depth: 2, kernelSize: 5, batchNorm: true, dense: 32, seed, name: 'teacher' });
const teacherRun = await train(teacher, data, { epochs: teacherEpochs, batchSize: 32, learningRate: 3e-3, seed, onProgress: live('teacher') });
const teacherAcc = evaluate(teacher, data.test).accuracy;
const teacherCost = record('teacher', teacher, teacherAcc, 'conv1d 16→32 filters, kernel 5, dense 32');
console.log(\`teacher: test accuracy \${pct(teacherAcc)}, \${teacherCost.totals.params} params, int8 weights \${kib(teacherCost.totals.weightsFlashBytes)}\`);
vegaLite(trainingCurvesChart(teacherRun.history, 'teacher training'))
`),
  md(`
## 2. Sweep the student, constrained to the board

Each candidate is priced for the target board **before** training; one over the flash budget or the board's RAM is
skipped and taught to the surrogate as infeasible.
`),
  code(`
function studentFrom(p: Params) {
  return buildCnn({ inputShape, numClasses, filters: Number(p.filters), depth: Number(p.depth), kernelSize: 5, batchNorm: true, seed,
    name: \`student_f\${p.filters}_d\${p.depth}\` });
}
const sweepResult = await sweep({
  name: \`gesture-student-\${Date.now()}\`,
  space: \`filters: int(2, 16)\\ndepth: int(1, 3)\\nlearningRate: loguniform(1e-3, 2e-2)\`,
  objective: 'val_accuracy', maximize: true, trials, seed, optimizer: 'bayes',
  store: 'out/experiments.db',
  constraints: (p) => {
    const m = studentFrom(p);
    try {
      const r = price(m);
      const feasible = r.fits.flash && r.fits.ram && r.totals.weightsFlashBytes <= flashBudgetKiB * 1024;
      return { feasible, reason: feasible ? undefined : 'over the flash budget or the board', costs: { flash: r.totals.weightsFlashBytes, ram: r.totals.activationRamBytes } };
    } finally { m.dispose(); }
  },
  trial: async (p, signal) => {
    const m = studentFrom(p);
    try {
      const r = await train(m, data, { epochs: studentEpochs, batchSize: 32, learningRate: Number(p.learningRate), seed, signal });
      const acc = evaluate(m, data.test).accuracy;
      record('sweep', m, acc, \`filters \${p.filters}, depth \${p.depth}, lr \${Number(p.learningRate).toExponential(2)}\`);
      return { val_accuracy: r.history.at(-1)?.valAccuracy ?? acc, test_accuracy: acc };
    } finally { m.dispose(); }
  },
  onProgress: live('sweep'),
});
sweepResult
`),
  md('## 3. Distill the teacher into the best student'),
  code(`
const best = sweepResult.best;
if (!best) throw new Error('the sweep found no feasible student: raise flashBudgetKiB or trials');
const studentAloneAcc = Number(best.metrics.test_accuracy);
const distilled = await distill({ teacher, student: studentFrom(best.params), data, temperature: 4, alpha: 0.3,
  epochs: studentEpochs, batchSize: 32, learningRate: distillLearningRate, seed, onProgress: live('distillation') });
const distilledAcc = evaluate(distilled.student, data.test).accuracy;
record('distilled', distilled.student, distilledAcc, \`T 4, alpha 0.3, lr \${distillLearningRate}, from \${JSON.stringify(best.params)}\`);
console.log(\`student alone \${pct(studentAloneAcc)} → distilled \${pct(distilledAcc)}\`);
`),
  md('## 4. Projection pruning and fine-tuning'),
  code(`
const projection = await projectModel(distilled.student, data.train, { reduction: 0.3 });
const projectedAcc = evaluate(projection.model, data.test).accuracy;
await train(projection.model, data, { epochs: Math.max(2, Math.round(studentEpochs / 2)), batchSize: 32, learningRate: 2e-3, seed });
const finetunedAcc = evaluate(projection.model, data.test).accuracy;
record('projected', projection.model, finetunedAcc, \`learnables −\${(projection.reduction * 100).toFixed(0)} %\`);
console.log(\`learnables \${projection.learnablesBefore} → \${projection.learnablesAfter} (−\${(projection.reduction * 100).toFixed(1)} %); \` +
  \`accuracy after projection \${pct(projectedAcc)}, after fine-tuning \${pct(finetunedAcc)}\`);
const finalFloat = projection.reduction > 0 && finetunedAcc >= distilledAcc - 0.01 ? projection.model : distilled.student;
console.log(\`carrying forward: \${finalFloat === projection.model ? 'the projected model' : 'the distilled student (projection cost more than 1 point)'}\`);
`),
  md(`
## 5. int8 quantization

The quantizer and the integer reference engine handle the Conv1D layers (through the same expand_dims → 2-D conv
lowering the cost simulator uses), so the int8 accuracy below is measured, not assumed.
`),
  code(`
const quantized = quantizeModel(finalFloat, data, { method: 'mse', calibrationSize: 200, seed });
const int8Eval = evaluateQuantized(quantized, data.test);
const floatAcc = int8Eval.floatAccuracy;
const int8Acc = int8Eval.int8Accuracy;
console.log(\`float \${pct(floatAcc)} → int8 \${pct(int8Acc)} (integer engine, test split; top-1 agreement \${pct(int8Eval.top1Agreement)})\`);
`),
  md(`
## 6. Export ONNX and price the model: float32 against int8

The exported files are read back for pricing when the ONNX importer can read them. **Known limitation:** today
\`graphFromOnnx\` rejects tinylab's own Conv1D export (the exporter writes Conv1D as Unsqueeze → transpose → Conv on a
tensor the importer does not recognise as NCHW), so this cell then prices the same network from the tfjs graph
(\`graphFromLayersModel\`) and says so in its output.
`),
  code(`
const files = await exportModel(finalFloat, 'out/gesture-student', { formats: ['onnx', 'onnx-int8'], quantized,
  description: 'tinylab notebook 02: gesture classifier (1-D CNN), distilled, int8' });
console.log(files.map((f) => \`\${f.format}: \${f.path} (\${f.bytes} bytes)\`).join('\\n'));
let finalGraph = graphFromLayersModel(finalFloat, { name: 'gesture-student' });
let pricedFrom = 'the tfjs graph (graphFromLayersModel)';
try {
  finalGraph = graphFromOnnx(new Uint8Array(fs.readFileSync(files.find((f) => f.format === 'onnx-int8')!.path)), { name: 'exported-int8' });
  pricedFrom = 'the exported int8 ONNX file';
} catch (e) {
  console.log(\`reading the exported ONNX back failed (\${(e as Error).message}); pricing \${pricedFrom} instead\`);
}
const floatReport = estimate(finalGraph, target, { dtype: 'float32' });
const finalReport = estimate(finalGraph, target, { dtype: 'int8' });
points.push({ stage: 'int8', name: 'int8 student', accuracy: int8Acc, flashBytes: finalReport.totals.weightsFlashBytes,
  ramBytes: finalReport.totals.activationRamBytes, params: finalReport.totals.params, details: \`priced from \${pricedFrom}\` });
table([floatReport, finalReport].map((r) => ({
  dtype: r.dtype, accuracy: pct(r.dtype === 'int8' ? int8Acc : floatAcc),
  'weights flash': kib(r.totals.weightsFlashBytes), 'activation RAM': kib(r.totals.activationRamBytes),
  'total flash': kib(r.totals.flashBytes), 'total RAM': kib(r.totals.ramBytes), 'latency ms': r.totals.latencyMs.toFixed(3),
  fits: r.fits.flash && r.fits.ram ? 'yes' : 'no',
})))
`),
  code(`
compareBoards(finalGraph, boards, { dtype: 'int8' })
`),
  md('## 7. Latency per layer on the target board (int8)'),
  code(`
vegaLite(mcuLayerChart(finalReport))
`),
  code(`
finalReport
`),
  md('## 8. Does the chosen model fit the board it was swept for?'),
  code(`
if (!finalReport.fits.flash || !finalReport.fits.ram) {
  throw new Error(\`the int8 student does not fit \${target.name}: flash \${finalReport.fits.flash}, RAM \${finalReport.fits.ram}\`);
}
console.log(\`fits \${target.name}: \${kib(finalReport.totals.weightsFlashBytes)} weights flash of \${target.flashKiB} KiB, \` +
  \`\${kib(finalReport.totals.activationRamBytes)} activation RAM of \${target.sramKiB} KiB, \${finalReport.totals.latencyMs.toFixed(2)} ms per window \` +
  \`(float32: \${floatReport.totals.latencyMs.toFixed(2)} ms)\`);
`),
  md('## 9. The decision chart'),
  code(`
vegaLite(decisionChart(points, boards.map((b) => ({ board: b.name, flashBytes: b.flashKiB * 1024, ramBytes: b.sramKiB * 1024 }))))
`),
  code(`
const summary = {
  'teacher accuracy': teacherAcc,
  'student alone accuracy': studentAloneAcc,
  'distilled accuracy': distilledAcc,
  'projected + fine-tuned accuracy': finetunedAcc,
  'int8 accuracy (integer engine)': int8Acc,
  'int8 weights flash KiB': finalReport.totals.weightsFlashBytes / 1024,
  'activation RAM KiB': finalReport.totals.activationRamBytes / 1024,
  'estimated latency ms (int8)': finalReport.totals.latencyMs,
  'estimated latency ms (float32)': floatReport.totals.latencyMs,
  board: target.name,
  'models compared': points.length,
};
const summaryDisplay = display(mimeBundle({ 'application/json': summary, 'text/plain': JSON.stringify(summary, null, 2) }, { 'tinylab/summary': true }));
`),
]);

// ------------------------------------------------------------------ 03: bring your own ONNX
write('03-bring-your-own-onnx.ipynb', () => [
  md(`
# Bring your own ONNX: price it on every board

What a vendor benchmarking service does, locally and without uploading anything: read an ONNX model (float, QDQ or
QLinear), then estimate weights flash, activation RAM (a TFLite-Micro-style arena planner), code size and latency on
every board tinylab knows, and break the cost down layer by layer on the board you pick.

The default model is \`assets/ds-cnn-kws.onnx\`: the MLPerf Tiny keyword-spotting DS-CNN (49×10 MFCC input, 64 channels,
4 depthwise-separable blocks, 12 classes), built in TensorFlow.js and written by tinylab's own float ONNX exporter
(\`notebooks/assets/make-ds-cnn-kws.mjs\`; seeded, untrained weights — the cost does not depend on their values).
Point it at your own file: \`tinylab run notebooks/03-bring-your-own-onnx.ipynb -p onnxPath=/path/to/model.onnx -p board=nRF52840-DK\`.
Estimates are CPU-only (CMSIS-NN-style kernels); a float model priced as \`int8\` answers "what if I quantize it".
`),
  md('## Parameters'),
  code(`
let onnxPath = 'assets/ds-cnn-kws.onnx'; // relative paths resolve against the notebook's directory (the kernel's cwd)
let board = 'NUCLEO-L4R5ZI';             // the board for the per-layer breakdown (\`tinylab boards\` lists them)
let dtype = 'int8';                      // 'int8' or 'float32'
`, ['parameters']),
  md('## Read the model'),
  code(`
import * as fs from "fs";
import * as path from "path";
const file = path.resolve(onnxPath);
if (!fs.existsSync(file)) throw new Error(\`no ONNX file at \${file} (onnxPath '\${onnxPath}', cwd \${process.cwd()})\`);
const deployDtype = dtype as 'int8' | 'float32';
const graph = graphFromOnnx(new Uint8Array(fs.readFileSync(file)), { name: path.basename(file, '.onnx') });
const target = findBoard(board);
console.log(\`\${path.basename(file)}: \${fs.statSync(file).size} bytes; pricing as \${deployDtype}\`);
console.log(\`target \${target.name}: \${target.core} @ \${target.clockMhz} MHz, flash \${target.flashKiB} KiB, SRAM \${target.sramKiB} KiB\`);
`),
  md('## Every board'),
  code(`
const comparison = compareBoards(graph, 'all', { dtype: deployDtype });
const fitting = comparison.rows.filter((r) => r.fitsFlash && r.fitsRam);
const fastest = [...fitting].sort((a, b) => a.latencyMs - b.latencyMs)[0];
console.log(\`\${comparison.rows.length} boards, \${fitting.length} fit\` + (fastest ? \`; fastest that fits: \${fastest.board} at \${fastest.latencyMs.toFixed(2)} ms\` : ''));
comparison
`),
  code(`
vegaLite(boardComparisonChart(comparison.rows, \`\${graph.name} (\${deployDtype}): latency by board\`))
`),
  md('## Layer by layer on the chosen board'),
  code(`
const report = estimate(graph, target, { dtype: deployDtype });
report
`),
  code(`
vegaLite(mcuLayerChart(report))
`),
  code(`
const summary = {
  model: graph.name,
  dtype: deployDtype,
  board: target.name,
  params: report.totals.params,
  MACs: report.totals.macs,
  'weights flash KiB': report.totals.weightsFlashBytes / 1024,
  'activation RAM KiB': report.totals.activationRamBytes / 1024,
  'estimated latency ms': report.totals.latencyMs,
  'fits the board': report.fits.flash && report.fits.ram,
  'boards compared': comparison.rows.length,
  'boards it fits': fitting.length,
};
const summaryDisplay = display(mimeBundle({ 'application/json': summary, 'text/plain': JSON.stringify(summary, null, 2) }, { 'tinylab/summary': true }));
`),
]);
