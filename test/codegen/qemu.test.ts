/**
 * The generated C on emulated Cortex-M cores (arm-none-eabi-gcc + qemu-system-arm, MPS2 boards AN385 M3, AN386 M4,
 * AN500 M7, AN505 M33): outputs byte-identical with the TypeScript integer engine, sizes from the linker map against
 * an independent count and the cost simulator, a board-sized link that fails with our message, and instruction
 * counts (qemu -icount + SysTick) checked on a known loop and against the fitted cost table on a held-out model.
 */
import { Matrix, solve } from 'ml-matrix';
import { buildCnn } from '../../src/models';
import { quantizeModel } from '../../src/quantize/quantize';
import type { QuantizedModel } from '../../src/quantize/types';
import { ridgeSolve } from '../../src/export/c/fit';
import { QEMU_TARGETS, findTarget } from '../../src/export/c/targets';
import { verifyOnHost, verifyOnTarget, type Samples } from '../../src/export/c/verify';
import { generateC } from '../../src/export/c';
import { findVerifyModel } from '../../src/export/c/verify-models';
import { findBoard } from '../../src/mcu/boards';
import { estimate } from '../../src/mcu/estimate';
import { predictGeneratedCodeBytes, predictInstructions } from '../../src/mcu/instructions';
import { mulberry32, normal } from '../../src/common/rng';
import { buildResDw, mnist14 } from '../quantize/fixtures';

jest.setTimeout(300000);

const N = 4;

async function resdw(rounding?: 'single' | 'double'): Promise<{ qm: QuantizedModel; samples: Samples }> {
  const data = await mnist14();
  const qm = quantizeModel(buildResDw(), data, { method: 'minmax', calibrationSize: 64, rounding });
  const f = data.test.sampleShape.reduce((a, b) => a * b, 1);
  return { qm, samples: { x: data.test.x.slice(0, N * f), sampleShape: data.test.sampleShape } };
}

/** Bytes of every constant array the generator emits, counted from the quantized model (not from the C). */
function constantBytes(qm: QuantizedModel): { total: number; tables: number } {
  let total = 0, tables = 0;
  for (const n of Object.values(qm.nodes)) {
    total += (n.weights?.length ?? 0) + 4 * ((n.bias?.length ?? 0) + (n.multipliers?.length ?? 0) + (n.shifts?.length ?? 0));
    const t = (n.lut?.length ?? 0) + 4 * (n.expLut?.length ?? 0);
    total += t;
    tables += t;
  }
  return { total, tables };
}

describe('generated C on emulated Cortex-M (qemu-system-arm)', () => {
  test.each(QEMU_TARGETS.map((t) => [t.id, t.machine]))('%s (%s): CNN and depthwise-residual net (both roundings) are bit-exact with runInt8', async (id) => {
    const target = findTarget(id);
    const cnn = await findVerifyModel('cnn').make(N);
    const rd = await resdw('double');
    const rs = await resdw('single');
    expect(rs.qm.rounding).toBe('single');
    for (const { qm, samples } of [cnn, rd, rs]) {
      const r = await verifyOnTarget(qm, samples, target);
      expect(r.samples).toBe(N);
      expect(r.mismatches).toBe(0);
      expect(r.bitExact).toBe(true);
    }
    const ops = new Set(rd.qm.graph.nodes.map((n) => n.op));
    expect(['depthwiseConv2d', 'add', 'avgPool', 'globalAvgPool'].every((o) => ops.has(o as never))).toBe(true);
  });

  test('linker-map sizes: constants, arena and code match an independent count and are compared with the simulator', async () => {
    const { qm, samples } = await resdw();
    const r = await verifyOnTarget(qm, samples, findTarget('m4'), { board: findBoard('NUCLEO-F401RE') });
    expect(r.bitExact).toBe(true);
    const c = constantBytes(qm);
    expect(r.sizes.weightsBytes).toBe(c.total);
    // The arena is one array sized by the planner; the simulator's RAM prediction without CMSIS-NN scratch (these
    // kernels need none) is the same planner over the same graph.
    const rep = estimate(qm.graph, 'NUCLEO-F401RE', { scratch: false });
    expect(r.sizes.arenaBytes).toBe(rep.totals.activationRamBytes);
    // The simulator's weights (+ per-channel quantisation params) miss only the activation/exp tables and its
    // per-buffer 4-byte alignment padding.
    const predicted = rep.totals.weightsFlashBytes + rep.totals.quantParamsFlashBytes;
    expect(Math.abs(r.sizes.weightsBytes - c.tables - predicted)).toBeLessThanOrEqual(4 * qm.graph.nodes.length);
    // Code: the generated-C code model (kernel functions + model_invoke per layer + library code) from the fit models' maps.
    const codePred = predictGeneratedCodeBytes(qm.graph, 'cortex-m4');
    const code = r.sizes.codeBytes + r.sizes.libraryCodeBytes;
    expect(Math.abs(codePred - code) / code).toBeLessThan(0.1);
    expect(r.sizes.dataBytes).toBe(0);
  });

  test('a model larger than the board SRAM fails to link with a one-line message', async () => {
    const shape = [64, 64, 3];
    const rng = mulberry32(7);
    const x = new Float32Array(16 * 64 * 64 * 3).map(() => normal(rng));
    const data = { x, y: new Int32Array(16), sampleShape: shape, numClasses: 2, classNames: ['a', 'b'], name: 'noise' };
    const qm = quantizeModel(buildCnn({ inputShape: shape, numClasses: 2, filters: 32, depth: 1, seed: 1 }), data, { method: 'minmax', calibrationSize: 16 });
    const board = findBoard('NUCLEO-F401RE');
    const arena = estimate(qm.graph, board, { scratch: false }).totals.activationRamBytes;
    expect(arena).toBeGreaterThan(board.sramKiB * 1024);
    const err = await verifyOnTarget(qm, { x: x.subarray(0, 64 * 64 * 3), sampleShape: shape }, findTarget('m4'), { board }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.name).toBe('InputError');
    expect(err?.message).not.toContain('\n');
    const m = /does not fit board NUCLEO-F401RE .*RAM \(arena \+ stack \+ data\) overflows by (\d+) bytes; pick a board/.exec(err?.message ?? '');
    expect(m).not.toBeNull();
    // Overflow = arena + 4 KiB stack + the harness's few hundred bytes of bss - SRAM.
    const over = Number(m![1]);
    expect(over).toBeGreaterThanOrEqual(arena + 4096 - board.sramKiB * 1024);
    expect(over).toBeLessThan(arena + 4096 + 4096 - board.sramKiB * 1024);
  });

  test('instruction counts: a known loop is exact, and the shipped cost table predicts a held-out model within 10 %', async () => {
    const held = findVerifyModel('ds-cnn');
    expect(held.role).toBe('eval');
    const { qm, samples } = await held.make(2);
    const target = findTarget('m4');
    const r = await verifyOnTarget(qm, samples, target, { instrument: true });
    expect(r.bitExact).toBe(true);
    // The calibration loop runs exactly 2 * N instructions: measured within one timer tick.
    expect(Math.abs(r.calibration!.measured - r.calibration!.expected)).toBeLessThanOrEqual(r.instructionsPerTick);
    const li = r.layerInstructions!;
    let compared = 0;
    qm.graph.nodes.forEach((node, i) => {
      if (li[i] < 2000) return; // below 50 ticks the count itself is uncertain by > 2 %
      const pred = predictInstructions(node, target.core);
      expect(Math.abs(pred - li[i]) / li[i]).toBeLessThan(0.1);
      compared++;
    });
    expect(compared).toBeGreaterThanOrEqual(5);
  });

  test.each(QEMU_TARGETS.filter((t) => t.dsp).map((t) => [t.id, t.machine]))('%s (%s): the DSP (SMLAD) variant is bit-exact and executes fewer instructions', async (id) => {
    const target = findTarget(id);
    const { qm, samples } = await resdw('double');
    const mlp = await findVerifyModel('mlp').make(2);
    for (const m of [{ qm, samples }, mlp]) {
      const scalar = await verifyOnTarget(m.qm, m.samples, target, { instrument: true });
      const dsp = await verifyOnTarget(m.qm, m.samples, target, { instrument: true, dsp: true });
      expect(dsp.mismatches).toBe(0);
      const total = (r: typeof dsp) => r.layerInstructions!.reduce((a, b) => a + b, 0);
      expect(total(dsp)).toBeLessThan(0.9 * total(scalar));
    }
  });

  test('the DSP variant builds on a host without the extension (scalar fallback) and stays bit-exact', async () => {
    const { qm, samples } = await resdw('single');
    const files = generateC(qm, { dsp: true }).files;
    expect(files['kernels.c']).toContain('__smlad');
    expect(files['model.c']).toContain('tl_conv2d_dsp');
    expect(verifyOnHost(qm, samples, { dsp: true }).mismatches).toBe(0);
  });

  test('the least-squares solver agrees with ml-matrix on a well-conditioned system', () => {
    const rng = mulberry32(3);
    const rows = Array.from({ length: 12 }, () => [1 + rng() * 100, rng() * 10, 1]);
    const b = rows.map((r) => 3 * r[0] - 2 * r[1] + 50 + normal(rng));
    const mine = ridgeSolve(rows, b, 0);
    const A = new Matrix(rows);
    const ref = solve(A.transpose().mmul(A), A.transpose().mmul(Matrix.columnVector(b))).to1DArray();
    mine.forEach((v, i) => expect(v).toBeCloseTo(ref[i], 6));
  });
});
