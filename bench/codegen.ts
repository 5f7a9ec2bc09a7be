/**
 * `npm run bench:codegen`: the generated C on real toolchains and emulated cores. For every verify model
 * (src/export/c/verify-models.ts) and every MPS2 board under qemu-system-arm (M3 AN385, M4 AN386, M7 AN500,
 * M33 AN505):
 *   - bit-exactness: host gcc build and Cortex-M build outputs vs the TypeScript integer engine, byte for byte;
 *   - sizes from the linker map (weights = model.c .rodata, code = model.c + kernels.c .text, arena = .bss) vs the
 *     cost simulator's prediction (estimate(): weights + quantisation params, activation RAM without CMSIS-NN
 *     scratch since these kernels use none, and its code-flash model, which describes TFLM/CMSIS-NN runtimes);
 *   - MEASURED executed instructions per layer (-icount shift=0 + SysTick marks; granularity one tick = 40
 *     instructions on the 25 MHz boards, 50 on AN505), instructions per MAC;
 *   - the instruction-cost fit: least squares on the 'fit' models, error on the held-out 'eval' models;
 *   - the DSP-extension variant (generateC dsp: SMLAD) on the M4/M7/M33: bit-exact, measured instructions.
 * Cycles are ESTIMATED (instructions × a per-core cycles-per-instruction guess); QEMU does not model timing.
 *
 *   node dist/bench/codegen.js             evaluate the shipped src/mcu/instruction-costs.json and a fresh fit
 *   node dist/bench/codegen.js --write     … and write the fresh fit to src/mcu/instruction-costs.json
 *   --samples N (default 8)  --models a,b  --targets m4,m7  --dump FILE (measured layers as JSON)
 * Last line: one JSON object with the figures.
 */
import * as fs from 'fs';
import * as path from 'path';
import { fitError, fitInstructionCosts, ridgeSolve, type MeasuredLayer } from '../src/export/c/fit';
import { QEMU_TARGETS, findTarget } from '../src/export/c/targets';
import { verifyOnHost, verifyOnTarget } from '../src/export/c/verify';
import { VERIFY_MODELS, findVerifyModel } from '../src/export/c/verify-models';
import { estimate } from '../src/mcu/estimate';
import { INSTRUCTION_COSTS, predictGeneratedCodeBytes, type InstructionCosts } from '../src/mcu/instructions';
import type { LayerGraph } from '../src/graph/types';
import { textTable } from '../src/mcu/report';
import { DEFAULT_ROUNDING } from '../src/quantize/quantize';

/**
 * Cycles per instruction: ESTIMATES for these kernels' inner loops (two sign-extending byte loads, an add, a
 * multiply-accumulate, pointer increments, compare and branch) from the cores' published timings: M3/M4 — loads 2
 * cycles (1 when pipelined), taken branches 2–4; M33 similar with a shorter pipeline; M7 dual-issues with branch
 * prediction. Not measured: QEMU counts instructions only.
 */
const CPI_ESTIMATES: InstructionCosts['cyclesPerInstruction'] = {
  'cortex-m3': { value: 1.4, about: 'estimate (published M3 timings on the kernels inner loop), not measured' },
  'cortex-m4': { value: 1.35, about: 'estimate (published M4 timings on the kernels inner loop), not measured' },
  'cortex-m7': { value: 0.8, about: 'estimate (dual issue, branch prediction), not measured' },
  'cortex-m33': { value: 1.3, about: 'estimate (published M33 timings on the kernels inner loop), not measured' },
};

const SIZE_BOARD = 'NUCLEO-F446RE'; // flash/RAM predictions do not depend on the core; any int8 board gives the same figures

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const pctErr = (measured: number, predicted: number) => (measured === 0 ? 0 : (100 * (predicted - measured)) / measured);
const sgn = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;

async function main(): Promise<void> {
  const t0 = Date.now();
  const write = process.argv.includes('--write');
  const nSamples = Number(arg('samples') ?? 8);
  const models = arg('models') ? arg('models')!.split(',').map(findVerifyModel) : [...VERIFY_MODELS];
  const targets = arg('targets') ? arg('targets')!.split(',').map(findTarget) : [...QEMU_TARGETS];

  interface Row {
    model: string;
    role: string;
    target: string;
    hostExact: boolean;
    exact: boolean;
    samples: number;
    flash: number;
    flashPred: number;
    weights: number;
    weightsPred: number;
    code: number;
    codePred: number;
    arena: number;
    arenaPred: number;
    macs: number;
    instructions: number;
    /** DSP-extension variant (cores with DSP): bit-exact and measured instructions. */
    dsp?: { exact: boolean; instructions: number };
  }
  const rows: Row[] = [];
  const measured: MeasuredLayer[] = [];
  const calibrations: Array<{ target: string; expected: number; measured: number }> = [];
  const graphs = new Map<string, LayerGraph>();
  // Code bytes from each plain build's map: kernel functions, model_invoke, library code (fit-role models only).
  const codeSamples: Array<{ core: string; kernels: Record<string, number>; invoke: number; layers: number; libc: number; libgcc: number; softmax: boolean }> = [];
  for (const m of models) {
    const { qm, samples } = await m.make(nSamples);
    graphs.set(m.name, qm.graph);
    const host = verifyOnHost(qm, samples);
    const rep = estimate(qm.graph, SIZE_BOARD);
    const repNoScratch = estimate(qm.graph, SIZE_BOARD, { scratch: false });
    const weightsPred = rep.totals.weightsFlashBytes + rep.totals.quantParamsFlashBytes;
    for (const t of targets) {
      const plain = await verifyOnTarget(qm, samples, t);
      // Instruction counts from a separate instrumented build (3 samples: the kernels' work is data independent
      // except for clamps and max comparisons).
      const timed = await verifyOnTarget(qm, { x: samples.x.subarray(0, 3 * (samples.x.length / plain.samples)), sampleShape: samples.sampleShape }, t, { instrument: true });
      if (timed.calibration) calibrations.push({ target: t.id, ...timed.calibration });
      const li = timed.layerInstructions ?? [];
      qm.graph.nodes.forEach((node, i) => measured.push({ model: m.name, core: t.core, node, instructions: li[i] ?? 0 }));
      if (m.role === 'fit') {
        const kernels: Record<string, number> = {};
        let invoke = 0;
        for (const e of plain.sizes.entries) {
          if (e.file === 'kernels.o' && e.section.startsWith('.text.tl_')) kernels[e.section.slice('.text.'.length)] = e.bytes;
          if (e.file === 'model.o' && e.section === '.text.model_invoke') invoke = e.bytes;
        }
        const lib = Object.entries(plain.sizes.libraryMembers);
        const sum = (re: RegExp) => lib.filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0);
        codeSamples.push({ core: t.core, kernels, invoke, layers: qm.graph.nodes.filter((n) => !n.inPlace).length, libc: sum(/^libc/), libgcc: sum(/^libgcc/), softmax: qm.graph.nodes.some((n) => n.op === 'softmax') });
      }
      let dsp: Row['dsp'];
      if (t.dsp) {
        const d = await verifyOnTarget(qm, samples, t, { instrument: true, dsp: true });
        dsp = { exact: d.bitExact, instructions: (d.layerInstructions ?? []).reduce((a, b) => a + b, 0) };
      }
      const s = plain.sizes;
      rows.push({
        dsp,
        model: m.name,
        role: m.role,
        target: t.id,
        hostExact: host.bitExact,
        exact: plain.bitExact && timed.bitExact,
        samples: plain.samples,
        flash: s.weightsBytes + s.codeBytes + s.libraryCodeBytes,
        flashPred: weightsPred + rep.totals.codeFlashBytes,
        weights: s.weightsBytes,
        weightsPred,
        code: s.codeBytes + s.libraryCodeBytes,
        codePred: rep.totals.codeFlashBytes,
        arena: s.arenaBytes,
        arenaPred: repNoScratch.totals.activationRamBytes,
        macs: qm.graph.nodes.reduce((a, n) => a + n.macs, 0),
        instructions: li.reduce((a, b) => a + b, 0),
      });
    }
  }

  // Fit on the 'fit' models, evaluate on the held-out 'eval' ones; also evaluate the shipped table.
  const fitNames = new Set(models.filter((m) => m.role === 'fit').map((m) => m.name));
  const fitLayers = measured.filter((l) => fitNames.has(l.model));
  const evalLayers = measured.filter((l) => !fitNames.has(l.model));
  const fresh: InstructionCosts = {
    description:
      'Instruction-count model of tinylab generated C kernels (src/mcu/instructions.ts): per core and kernel family, instructions = coefficients . features (FAMILY_FEATURES). Written by `node dist/bench/codegen.js --write`.',
    method:
      'Instructions MEASURED under qemu-system-arm -icount shift=0 (1 ns of virtual time per instruction) by SysTick reads around each layer of the generated model_invoke (granularity one tick: 40 instructions at 25 MHz SYSCLK, 50 on AN505); arm-none-eabi-gcc 12 -O2 -mthumb. Least squares per (core, family) with column scaling and a 1e-6 ridge; a family with fewer distinct layer shapes than features keeps its leading features. ' +
      `Models quantized with ${DEFAULT_ROUNDING} requantisation rounding (the library default when fitted). cyclesPerInstruction values are ESTIMATES, not measurements.`,
    fittedOn: [...fitNames],
    heldOut: models.filter((m) => m.role === 'eval').map((m) => m.name),
    cores: fitInstructionCosts(fitLayers),
    cyclesPerInstruction: CPI_ESTIMATES,
    codeBytes: Object.fromEntries(
      targets.map((t) => {
        const cs = codeSamples.filter((c) => c.core === t.core);
        const kernels: Record<string, number> = {};
        for (const c of cs) for (const [k, v] of Object.entries(c.kernels)) kernels[k] = Math.max(kernels[k] ?? 0, v);
        const [perLayer, base] = ridgeSolve(cs.map((c) => [c.layers, 1]), cs.map((c) => c.invoke), 1e-9);
        const library = { always: Math.max(0, ...cs.map((c) => c.libc)), softmax: Math.max(0, ...cs.filter((c) => c.softmax).map((c) => c.libgcc)) };
        return [t.core, { kernels, invokeBase: Math.round(base), invokePerLayer: Number(perLayer.toFixed(2)), library }];
      }),
    ),
  };
  const perCore = (costs: InstructionCosts, layers: MeasuredLayer[]) =>
    Object.fromEntries(targets.map((t) => [t.core, fitError(costs, layers.filter((l) => l.core === t.core))]));
  const freshEval = perCore(fresh, evalLayers);
  const freshFit = perCore(fresh, fitLayers);
  fresh.heldOutError = Object.fromEntries(Object.entries(freshEval).map(([c, e]) => [c, { maxPct: Number(e.maxPct.toFixed(2)), meanPct: Number(e.meanPct.toFixed(2)), layers: e.layers }]));
  let shippedEval: Record<string, ReturnType<typeof fitError>> | undefined;
  try {
    shippedEval = perCore(INSTRUCTION_COSTS, evalLayers);
  } catch {
    shippedEval = undefined; // no shipped table yet (first --write)
  }
  const dump = arg('dump');
  if (dump) fs.writeFileSync(dump, JSON.stringify(measured.map((l) => ({ model: l.model, core: l.core, node: l.node, instructions: l.instructions }))));
  if (write) {
    const file = path.resolve(__dirname, '..', '..', 'src', 'mcu', 'instruction-costs.json');
    fs.writeFileSync(file, JSON.stringify(fresh, null, 1) + '\n');
    process.stdout.write(`wrote ${file}\n\n`);
  }

  // Per model × core: the model's own per-layer error against the fresh fit (held-out models are the real test).
  const modelErr = (model: string, core: string) => fitError(fresh, measured.filter((l) => l.model === model && l.core === core));
  const table = textTable(
    ['model', 'role', 'core', 'host exact', 'qemu exact', 'flash B', 'pred TFLM', 'err', 'weights B', 'pred', 'err', 'code B', 'pred C', 'err', 'pred TFLM', 'arena B', 'pred', 'err', 'instr (measured)', 'instr/MAC', 'layer err max', 'DSP exact', 'DSP instr/MAC'],
    rows.map((r) => {
      const e = modelErr(r.model, findTarget(r.target).core);
      return [
        r.model,
        r.role,
        r.target,
        r.hostExact ? 'yes' : 'NO',
        r.exact ? `yes (${r.samples})` : 'NO',
        String(r.flash),
        String(r.flashPred),
        sgn(pctErr(r.flash, r.flashPred)),
        String(r.weights),
        String(r.weightsPred),
        sgn(pctErr(r.weights, r.weightsPred)),
        String(r.code),
        String(predictGeneratedCodeBytes(graphs.get(r.model)!, findTarget(r.target).core, fresh)),
        sgn(pctErr(r.code, predictGeneratedCodeBytes(graphs.get(r.model)!, findTarget(r.target).core, fresh))),
        String(r.codePred),
        String(r.arena),
        String(r.arenaPred),
        sgn(pctErr(r.arena, r.arenaPred)),
        String(Math.round(r.instructions)),
        (r.instructions / r.macs).toFixed(2),
        `${e.maxPct.toFixed(1)}%`,
        r.dsp ? (r.dsp.exact ? 'yes' : 'NO') : '-',
        r.dsp ? (r.dsp.instructions / r.macs).toFixed(2) : '-',
      ];
    }),
  );
  process.stdout.write(`C code generation on emulated Cortex-M (${nSamples} samples per model; ${((Date.now() - t0) / 1000).toFixed(0)} s)\n\n${table}\n\n`);
  process.stdout.write(
    'flash = weights + model code + library code it pulls in (memcpy, 64-bit division). pred TFLM = estimate()\'s code model,\n' +
      'which describes a TFLM/CMSIS-NN runtime (its error is the generated C being smaller than a runtime); pred C = the\n' +
      'generated-C code model (instruction-costs.json codeBytes, from the fit models\' maps). weights pred = estimate() weights\n' +
      '+ per-channel quantisation params; the difference is the softmax exp table (1 KiB) and activation LUTs. arena pred = estimate()\n' +
      'without CMSIS-NN scratch. instr = MEASURED executed instructions per inference (qemu -icount, SysTick per layer).\n' +
      'DSP = the --dsp kernel variant (SMLAD, conv/dense with >= 4 input channels) on cores with the DSP extension.\n\n',
  );
  const fitRows = targets.map((t) => {
    const f = freshFit[t.core], e = freshEval[t.core], s = shippedEval?.[t.core];
    return [t.core, `${f.maxPct.toFixed(1)}%`, String(e.layers), `${e.meanPct.toFixed(1)}%`, `${e.maxPct.toFixed(1)}%`, `${e.worstModelPct.toFixed(1)}%`, s ? `${s.maxPct.toFixed(1)}%` : '-', e.worst ? `${e.worst.model}/${e.worst.layer}` : '', String(CPI_ESTIMATES[t.core]?.value ?? '')];
  });
  process.stdout.write(
    `Instruction-cost fit: fitted on ${[...fitNames].join(', ')}; held out ${fresh.heldOut.join(', ')}. Per-layer errors over layers >= 2000 instructions.\n\n` +
      textTable(['core', 'fit-set max', 'held-out layers', 'held-out mean', 'held-out max', 'held-out worst model total', 'shipped table held-out max', 'worst layer', 'CPI (estimate)'], fitRows) +
      '\n\n',
  );
  const cal = calibrations.length ? Math.max(...calibrations.map((c) => Math.abs(c.measured - c.expected))) : NaN;
  process.stdout.write(`Method check: a loop of exactly ${calibrations[0]?.expected ?? '?'} instructions measured within ${cal} instructions on every run (${calibrations.length} runs).\n\n`);
  const summary = {
    bench: 'codegen',
    samples: nSamples,
    models: models.map((m) => m.name),
    targets: targets.map((t) => t.id),
    allBitExact: rows.every((r) => r.exact && r.hostExact && (r.dsp?.exact ?? true)),
    runs: rows.map((r) => ({
      model: r.model,
      target: r.target,
      bitExact: r.exact,
      hostBitExact: r.hostExact,
      flashBytes: r.flash,
      flashPredBytes: r.flashPred,
      weightsBytes: r.weights,
      weightsPredBytes: r.weightsPred,
      codeBytes: r.code,
      codePredBytes: r.codePred,
      codePredGeneratedCBytes: predictGeneratedCodeBytes(graphs.get(r.model)!, findTarget(r.target).core, fresh),
      arenaBytes: r.arena,
      arenaPredBytes: r.arenaPred,
      instructions: Math.round(r.instructions),
      instructionsPerMac: Number((r.instructions / r.macs).toFixed(3)),
      dspBitExact: r.dsp ? r.dsp.exact : null,
      dspInstructions: r.dsp ? Math.round(r.dsp.instructions) : null,
    })),
    fit: Object.fromEntries(targets.map((t) => [t.core, { fitSetMaxPct: Number(freshFit[t.core].maxPct.toFixed(2)), heldOutMaxPct: Number(freshEval[t.core].maxPct.toFixed(2)), heldOutMeanPct: Number(freshEval[t.core].meanPct.toFixed(2)), heldOutLayers: freshEval[t.core].layers, heldOutWorstModelPct: Number(freshEval[t.core].worstModelPct.toFixed(2)), shippedHeldOutMaxPct: shippedEval ? Number(shippedEval[t.core].maxPct.toFixed(2)) : null }])),
    methodCheckMaxErrorInstructions: cal,
    seconds: Math.round((Date.now() - t0) / 1000),
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
