/**
 * estimate(): the report's JSON shape, totals that add up, latency = cycles / clock from the calibration table
 * (recomputed here by hand), fit decisions and margins against the board's capacity, boards and suggestions.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../../src/common/errors';
import type { ArchDescription } from '../../src/graph/arch';
import { graphFromArchitectureRef } from '../../src/graph/arch';
import { GraphBuilder } from '../../src/graph/builder';
import { findBoard, listBoards } from '../../src/mcu/boards';
import { compareBoards } from '../../src/mcu/compare';
import { CALIBRATION } from '../../src/mcu/cost';
import { estimate } from '../../src/mcu/estimate';
import { formatReport } from '../../src/mcu/report';
import { mcuLayerChart } from '../../src/charts/mcu';

const SHARED = path.resolve(__dirname, '..', '..', '..', 'shared', 'mcu');
const archs = JSON.parse(fs.readFileSync(path.join(SHARED, 'mcu_architectures.json'), 'utf8')) as Record<string, ArchDescription>;

function denseNet() {
  const b = new GraphBuilder('mlp');
  let x = b.input('x', [1, 64]);
  x = b.dense(x, { units: 32, activation: 'relu', name: 'h' });
  x = b.dense(x, { units: 4, name: 'o' });
  return b.build([x]);
}

describe('estimate', () => {
  test('report has the issue JSON shape and its totals add up', () => {
    const r = estimate(graphFromArchitectureRef('ref:mlperf_tiny_kws_dscnn', archs), 'NUCLEO-L4R5ZI', { dtype: 'int8' });
    const plain = JSON.parse(JSON.stringify(r));
    expect(Object.keys(plain)).toEqual(expect.arrayContaining(['board', 'dtype', 'totals', 'fits', 'layers']));
    expect(Object.keys(plain.totals)).toEqual(
      expect.arrayContaining(['params', 'macs', 'weightsFlashBytes', 'codeFlashBytes', 'activationRamBytes', 'runtimeRamBytes', 'latencyMs']),
    );
    expect(Object.keys(plain.fits).sort()).toEqual(['flash', 'ram']);
    for (const l of plain.layers) expect(Object.keys(l)).toEqual(expect.arrayContaining(['name', 'op', 'outputShape', 'params', 'macs', 'weightsFlashBytes', 'latencyMs']));
    expect(plain.toMimeBundle).toBeUndefined(); // display method is not part of the JSON
    const sum = (k: 'params' | 'macs' | 'weightsFlashBytes' | 'latencyMs') => r.layers.reduce((a, l) => a + l[k], 0);
    expect(sum('params')).toBe(r.totals.params);
    expect(sum('macs')).toBe(r.totals.macs);
    expect(sum('weightsFlashBytes')).toBe(r.totals.weightsFlashBytes);
    expect(sum('latencyMs')).toBeCloseTo(r.totals.latencyMs, 9);
    expect(r.totals.weightsFlashBytes).toBe(24368); // int8 weights + int32 biases of the MLPerf .tflite
    expect(r.totals.activationRamBytes).toBeGreaterThanOrEqual(16000); // two 25x5x64 int8 tensors live at once
    expect(r.peak.tensors).toHaveLength(2);
    expect(r.fits).toEqual({ flash: true, ram: true });
    expect(r.margins.flashBytes).toBe(2048 * 1024 - r.totals.flashBytes);
  });

  test('latency is cycles / clock with the calibration table, recomputed by hand', () => {
    const g = denseNet();
    const board = findBoard('NUCLEO-F446RE');
    const r = estimate(g, board, { dtype: 'int8', runtime: 'cmsis-nn' });
    const c = CALIBRATION.cores['cortex-m4'];
    const fused = CALIBRATION.cyclesPerElement.eltwise * 0.25;
    const cycles = 2 * CALIBRATION.cyclesPerLayer + 64 * 32 * c.cyclesPerMac.dense + 32 * fused + 32 * 4 * c.cyclesPerMac.dense + 4 * fused;
    expect(r.totals.cycles).toBeCloseTo(cycles, 6);
    expect(r.totals.latencyMs).toBeCloseTo(cycles / (180 * 1e3), 9);
    // Latency scales with clock; float32 by the core's float factor.
    expect(estimate(g, board, { clockMhz: 90 }).totals.latencyMs).toBeCloseTo(2 * r.totals.latencyMs, 9);
    expect(estimate(g, board, { dtype: 'float32' }).totals.latencyMs).toBeCloseTo(r.totals.latencyMs * c.float32Factor, 9);
    // Weights: int8 64x32 + 32x4 (1 B) and int32 biases (4 B).
    expect(r.totals.weightsFlashBytes).toBe(64 * 32 + 32 * 4 + 4 * (32 + 4));
    expect(estimate(g, board, { dtype: 'float32' }).totals.weightsFlashBytes).toBe(4 * (64 * 32 + 32 + 32 * 4 + 4));
    // Arena: x (64 B) + h (32 B) at node 0 → 64 + aligned 32 = 96 (x at 0, h at 64).
    expect(r.totals.activationRamBytes).toBe(96);
  });

  test('fits and margins against board capacity', () => {
    const big = graphFromArchitectureRef('ref:keras_mobilenet_v2(alpha=1.0, input=224x224x3, classes=1000, keras top)', archs);
    const small = estimate(big, 'NUCLEO-G0B1RE', { dtype: 'int8' });
    expect(small.fits.flash).toBe(false);
    expect(small.fits.ram).toBe(false);
    expect(small.margins.flashBytes).toBeLessThan(0);
    const large = estimate(big, 'STM32N6570-DK', { dtype: 'int8' });
    expect(large.fits).toEqual({ flash: true, ram: true });
    expect(large.notes.join(' ')).toMatch(/CPU-only/);
  });

  test('compareBoards covers every board, sorted by latency', () => {
    const cmp = compareBoards(graphFromArchitectureRef('ref:mlperf_tiny_ic_resnet8', archs), 'all');
    expect(cmp.rows).toHaveLength(listBoards().length);
    for (let i = 1; i < cmp.rows.length; i++) expect(cmp.rows[i].latencyMs).toBeGreaterThanOrEqual(cmp.rows[i - 1].latencyMs);
    const h7 = cmp.rows.find((r) => r.board === 'NUCLEO-H743ZI2')!;
    const f4 = cmp.rows.find((r) => r.board === 'NUCLEO-F401RE')!;
    expect(h7.latencyMs).toBeLessThan(f4.latencyMs);
  });

  test('text report, MIME bundle and Vega-Lite spec', () => {
    const r = estimate(denseNet(), 'nucleo-h743zi2');
    const text = formatReport(r);
    expect(text).toMatch(/layer\s+op/);
    expect(text).toMatch(/NUCLEO-H743ZI2/);
    const bundle = (r as unknown as { toMimeBundle(): { data: Record<string, unknown> } }).toMimeBundle();
    expect(Object.keys(bundle.data)).toEqual(expect.arrayContaining(['text/plain', 'text/html', 'application/vnd.vegalite.v5+json']));
    const spec = mcuLayerChart(r) as { data: { values: unknown[] } };
    expect(spec.data.values).toHaveLength(r.layers.length);
  });
});

describe('boards', () => {
  test('at least 15 boards with sources, including the families the issue lists', () => {
    const boards = listBoards();
    expect(boards.length).toBeGreaterThanOrEqual(15);
    for (const b of boards) {
      expect(b.sources.length).toBeGreaterThan(0);
      expect(b.clockMhz).toBeGreaterThan(0);
      expect(b.flashKiB).toBeGreaterThan(0);
      expect(b.sramKiB).toBeGreaterThan(0);
    }
    const mcus = boards.map((b) => `${b.name} ${b.mcu}`).join(' ');
    for (const fam of ['STM32F4', 'STM32F7', 'STM32H7', 'STM32L4', 'STM32U5', 'STM32G4', 'STM32N6', 'nRF52840', 'RP2040', 'ESP32-S3', 'RT106']) {
      expect(mcus).toContain(fam);
    }
  });

  test('findBoard is forgiving and suggests the nearest names', () => {
    expect(findBoard('nucleo_h743zi2').name).toBe('NUCLEO-H743ZI2');
    expect(findBoard('h743zi2').name).toBe('NUCLEO-H743ZI2');
    expect(findBoard('nucleo-h743').name).toBe('NUCLEO-H743ZI2'); // unique partial name
    expect(() => findBoard('nucleo-h7')).toThrow(InputError); // ambiguous: H7A3, H743
    expect(() => findBoard('nucleo-h7')).toThrow(/did you mean/);
    expect(() => findBoard('nucleo-h74zi2')).toThrow(/did you mean 'NUCLEO-H743ZI2'/);
    expect(findBoard('esp32').name).toBe('ESP32-S3-DevKitC-1');
    expect(() => findBoard('stm32-nucleo')).toThrow(/tinylab boards/);
  });
});
