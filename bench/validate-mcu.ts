/**
 * `npm run validate:mcu`: rebuild every model of ../shared/mcu/measurements.json from mcu_architectures.json, predict
 * weights flash, activation RAM and latency with the shipped calibration table, and print the median and worst
 * absolute percentage error, overall and per board, separately for the records the latency table was fitted on and
 * the held-out ones. Last line: one JSON object with the figures.
 *
 *   node dist/bench/validate-mcu.js            validate the shipped table
 *   node dist/bench/validate-mcu.js --fit      re-fit the latency costs on the fit set and validate the result
 *   node dist/bench/validate-mcu.js --fit --write   … and write it to src/mcu/calibration.json
 *
 * Fit set vs held out (decided before fitting, by board): latency is fitted on the MLPerf Tiny records of the four
 * boards with the most submissions (NUCLEO-L4R5ZI, NUCLEO-H7A3ZI-Q, NUCLEO-U575ZI-Q, NUCLEO-G0B1RE) plus nRF5340-DK;
 * every other board (CY8CPROTO-062-4343W, NUMAKER-M467HJ, EK-RA6M4, NUCLEO-U385RG-Q, EK-RA8D1, and the ST model-zoo
 * STM32H747I-DISCO records) is held out. CAUTION records and accelerator boards (xG24 MVP, U3C5 DSP co-processor) are
 * excluded from the fit and from the error figures (listed separately). Flash and RAM are bookkeeping, never fitted.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ArchDescription } from '../src/graph/arch';
import { graphFromArchitectureRef } from '../src/graph/arch';
import { deploymentGraph } from '../src/graph/deploy';
import type { GraphDType, LayerGraph } from '../src/graph/types';
import { numElements } from '../src/graph/types';
import type { Board, CoreKind } from '../src/mcu/boards';
import { findBoard } from '../src/mcu/boards';
import type { Calibration, ElementClass, MacClass, RuntimeKind } from '../src/mcu/cost';
import { CALIBRATION, elementWork, macClass } from '../src/mcu/cost';
import { estimate } from '../src/mcu/estimate';
import { textTable } from '../src/mcu/report';

interface Measurement {
  id: string;
  architecture: string;
  dtype: string;
  board: string;
  core: string;
  clock_mhz: number | null;
  tool_and_version: string;
  weights_flash_kib: number | null;
  activation_ram_kib: number | null;
  code_flash_kib: number | null;
  runtime_ram_kib: number | null;
  latency_ms: number | null;
  notes: string;
  tier: string;
}

const SHARED = process.env.TINYLAB_SHARED ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'mcu');
const FIT_BOARDS = new Set(['NUCLEO-L4R5ZI', 'NUCLEO-H7A3ZI-Q', 'NUCLEO-U575ZI-Q', 'NUCLEO-G0B1RE', 'nRF5340-DK']);

/** The runtime class of a record's tool. */
export function runtimeOf(tool: string): RuntimeKind {
  if (/STM32Cube\.AI (9|10)|X-CUBE-AI (9|10)|STEdgeAI/i.test(tool)) return 'cubeai';
  if (/X-CUBE-AI|STM32Cube\.AI/i.test(tool)) return 'cubeai-legacy';
  if (/Plumerai/i.test(tool)) return 'plumerai';
  if (/HALE/i.test(tool)) return 'hale';
  if (/microTVM/i.test(tool) && /native/i.test(tool)) return 'microtvm-native';
  if (/TensorFlow Lite for Microcontrollers v2\.3\.1/i.test(tool)) return 'tflm-reference';
  return 'cmsis-nn';
}

function boardOf(m: Measurement): Board {
  if (m.board.startsWith('STM32H7 series')) return findBoard('NUCLEO-H7A3ZI-Q');
  if (m.board === 'NUCLEO-L4R5ZI-P') return findBoard('NUCLEO-L4R5ZI');
  return findBoard(m.board);
}

function isExcluded(m: Measurement): string | undefined {
  if (/CAUTION/.test(m.notes)) return 'CAUTION record';
  if (/MVP|co-processor|accelerator/i.test(m.core)) return 'accelerator';
  return undefined;
}

/** Weights-flash "pinned tool": versions that store the int8 weights as-is (STM32Cube.AI >= 9, ST Edge AI, model zoo). */
function pinnedFlashTool(m: Measurement): boolean {
  return /STM32Cube\.AI (9|10)|X-CUBE-AI (9|10)|STEdgeAI/i.test(m.tool_and_version) || m.id.startsWith('zoo-') || /ModelFlashOccupation=(78744|24368|270880) B/.test(m.notes);
}

/** Inputs/outputs in the arena unless the record says the tool allocated them outside. */
function includeIO(m: Measurement): boolean {
  return !/useInputAllocation=None/.test(m.notes);
}

function pctErr(pred: number, meas: number): number {
  return (100 * Math.abs(pred - meas)) / meas;
}

function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
}

interface Row {
  m: Measurement;
  board: Board;
  graph: LayerGraph;
  split: 'fit' | 'held-out' | 'excluded';
  why?: string;
}

// ---------- latency fit ----------

interface Features {
  mac: Record<MacClass, number>;
  elem: Record<ElementClass, number>;
  /** Fused requantisation pass of MAC ops (priced at eltwise * 0.25). */
  macOut: number;
  layers: number;
}

function features(g: LayerGraph): Features {
  const f: Features = { mac: { conv: 0, depthwise: 0, dense: 0 }, elem: { eltwise: 0, pool: 0, transcendental: 0, copy: 0 }, macOut: 0, layers: 0 };
  for (const n of g.nodes) {
    if (n.inPlace) continue;
    f.layers++;
    const mc = macClass(n);
    if (mc) {
      f.mac[mc] += n.macs;
      f.macOut += numElements(n.outputShape);
    } else {
      const w = elementWork(n);
      if (w) f.elem[w.cls] += w.elements;
    }
  }
  return f;
}

const FIT_CORES: CoreKind[] = ['cortex-m0+', 'cortex-m4', 'cortex-m7', 'cortex-m33'];
const MACS: MacClass[] = ['conv', 'depthwise', 'dense'];
const FIT_RUNTIMES: RuntimeKind[] = ['cubeai', 'cubeai-legacy', 'plumerai', 'hale', 'microtvm-native', 'tflm-reference'];

/** Fit latency costs in log space (least squares on log(pred/measured)) with Adam; returns a new table. */
function fitLatency(rows: Row[]): Calibration {
  const data = rows
    .filter((r) => r.split === 'fit' && r.m.latency_ms != null)
    .map((r) => ({ f: features(deploymentGraph(r.graph, r.m.dtype as GraphDType)), core: r.board.core, clock: r.m.clock_mhz ?? r.board.clockMhz, rt: runtimeOf(r.m.tool_and_version), float: r.m.dtype === 'float32', y: Math.log(r.m.latency_ms!) }));
  // Parameter vector (log values): [core x mac class], eltwise, pool, layer, runtimes, float factor (M7, shared by M4/M33).
  const idx = new Map<string, number>();
  const theta: number[] = [];
  const add = (k: string, v: number) => {
    idx.set(k, theta.length);
    theta.push(Math.log(v));
  };
  for (const c of FIT_CORES) for (const mc of MACS) add(`${c}.${mc}`, CALIBRATION.cores[c].cyclesPerMac[mc]);
  add('eltwise', CALIBRATION.cyclesPerElement.eltwise);
  add('pool', CALIBRATION.cyclesPerElement.pool);
  add('layer', CALIBRATION.cyclesPerLayer);
  for (const r of FIT_RUNTIMES) add(`rt.${r}`, 1);
  add('float', 2.5);
  const P = (k: string) => Math.exp(theta[idx.get(k)!]);
  const m = new Array(theta.length).fill(0);
  const v = new Array(theta.length).fill(0);
  const lr = 0.03;
  for (let it = 1; it <= 6000; it++) {
    const grad = new Array(theta.length).fill(0);
    for (const d of data) {
      const terms: Array<[number, number]> = [];
      for (const mc of MACS) terms.push([idx.get(`${d.core}.${mc}`)!, P(`${d.core}.${mc}`) * d.f.mac[mc]]);
      terms.push([idx.get('eltwise')!, P('eltwise') * (d.f.elem.eltwise + 0.25 * d.f.macOut)]);
      terms.push([idx.get('pool')!, P('pool') * d.f.elem.pool]);
      terms.push([idx.get('layer')!, P('layer') * d.f.layers]);
      const fixed = CALIBRATION.cyclesPerElement.transcendental * d.f.elem.transcendental + CALIBRATION.cyclesPerElement.copy * d.f.elem.copy;
      const base = terms.reduce((a, t) => a + t[1], 0) + fixed;
      let logPred = Math.log(base / (d.clock * 1e3));
      const extra: number[] = [];
      if (d.rt !== 'cmsis-nn') {
        logPred += theta[idx.get(`rt.${d.rt}`)!];
        extra.push(idx.get(`rt.${d.rt}`)!);
      }
      if (d.float) {
        logPred += theta[idx.get('float')!];
        extra.push(idx.get('float')!);
      }
      const r = logPred - d.y;
      for (const [k, val] of terms) grad[k] += (2 * r * val) / base;
      for (const k of extra) grad[k] += 2 * r;
    }
    for (let k = 0; k < theta.length; k++) {
      const g = grad[k] / data.length;
      m[k] = 0.9 * m[k] + 0.1 * g;
      v[k] = 0.999 * v[k] + 0.001 * g * g;
      const mh = m[k] / (1 - 0.9 ** it);
      const vh = v[k] / (1 - 0.999 ** it);
      theta[k] -= (lr * mh) / (Math.sqrt(vh) + 1e-8);
    }
  }
  const r2 = (x: number) => Number(x.toPrecision(3));
  const cal: Calibration = JSON.parse(JSON.stringify(CALIBRATION));
  for (const c of FIT_CORES) {
    cal.cores[c].fitted = true;
    for (const mc of MACS) cal.cores[c].cyclesPerMac[mc] = r2(P(`${c}.${mc}`));
  }
  // Cores without CPU-only measurements in the fit set: priors relative to the fitted Cortex-M7, from vendor claims:
  // Arm quotes up to 4x the ML performance of Cortex-M7 for Cortex-M85 (Helium: 8 int8 MACs per beat-pair vs two
  // 16-bit SMLADs) and a little less for Cortex-M55; ESP-NN on the LX7's 128-bit SIMD assumed ~0.8x M7. fitted:false.
  const m7 = cal.cores['cortex-m7'].cyclesPerMac;
  const rel: Array<[CoreKind, number]> = [['cortex-m55', 0.3], ['cortex-m85', 0.25], ['xtensa-lx7', 0.8]];
  for (const [c, k] of rel) {
    cal.cores[c].fitted = false;
    for (const mc of MACS) cal.cores[c].cyclesPerMac[mc] = r2(m7[mc] * k);
  }
  const ff = r2(P('float'));
  for (const c of ['cortex-m4', 'cortex-m7', 'cortex-m33'] as CoreKind[]) cal.cores[c].float32Factor = ff;
  cal.cyclesPerElement.eltwise = r2(P('eltwise'));
  cal.cyclesPerElement.pool = r2(P('pool'));
  cal.cyclesPerLayer = Math.round(P('layer'));
  for (const rt of FIT_RUNTIMES) cal.runtimes[rt].factor = r2(P(`rt.${rt}`));
  cal.fittedOn = `${data.length} latency records of ../shared/mcu/measurements.json (boards ${[...FIT_BOARDS].join(', ')}; CAUTION and accelerator records excluded); fit: least squares on log latency`;
  return cal;
}

// ---------- report ----------

interface Stat {
  n: number;
  median: number;
  worst: number;
  worstId?: string;
}

function stat(errs: Array<{ e: number; id: string }>): Stat {
  if (!errs.length) return { n: 0, median: NaN, worst: NaN };
  const w = errs.reduce((a, b) => (b.e > a.e ? b : a));
  return { n: errs.length, median: median(errs.map((x) => x.e)), worst: w.e, worstId: w.id };
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');

function main(): void {
  const args = process.argv.slice(2);
  const measurements = JSON.parse(fs.readFileSync(path.join(SHARED, 'measurements.json'), 'utf8')) as Measurement[];
  const archs = JSON.parse(fs.readFileSync(path.join(SHARED, 'mcu_architectures.json'), 'utf8')) as Record<string, ArchDescription>;
  const graphs = new Map<string, LayerGraph>();
  const rows: Row[] = measurements.map((m) => {
    let g = graphs.get(m.architecture);
    if (!g) graphs.set(m.architecture, (g = graphFromArchitectureRef(m.architecture, archs)));
    const board = boardOf(m);
    const why = isExcluded(m);
    return { m, board, graph: g, split: why ? 'excluded' : FIT_BOARDS.has(board.name) && m.id.startsWith('mlperf') ? 'fit' : 'held-out', why };
  });

  let cal = CALIBRATION;
  if (args.includes('--fit')) {
    cal = fitLatency(rows);
    if (args.includes('--write')) {
      const out = process.env.TINYLAB_CALIBRATION_OUT ?? path.resolve(__dirname, '..', '..', 'src', 'mcu', 'calibration.json');
      fs.writeFileSync(out, JSON.stringify(cal, null, 1) + '\n');
      console.log(`wrote ${out}`);
    }
  }

  type Metric = 'flash' | 'ram' | 'latency' | 'code';
  const errs: Record<string, Array<{ e: number; id: string }>> = {};
  const push = (key: string, e: number, id: string) => (errs[key] ??= []).push({ e, id });
  const detail: string[][] = [];
  for (const r of rows) {
    const m = r.m;
    const dtype = m.dtype as GraphDType;
    const rep = estimate(r.graph, r.board, { dtype, runtime: runtimeOf(m.tool_and_version), includeIO: includeIO(m), clockMhz: m.clock_mhz ?? r.board.clockMhz, calibration: cal });
    const cells: Partial<Record<Metric, string>> = {};
    if (m.weights_flash_kib != null) {
      const e = pctErr(rep.totals.weightsFlashBytes / 1024, m.weights_flash_kib);
      cells.flash = f1(e);
      if (r.split !== 'excluded') {
        push(pinnedFlashTool(m) ? 'flash' : 'flash:unpinned', e, m.id);
        if (pinnedFlashTool(m)) push(`flash@${r.board.name}`, e, m.id);
      }
    }
    if (m.activation_ram_kib != null) {
      const e = pctErr(rep.totals.activationRamBytes / 1024, m.activation_ram_kib);
      cells.ram = f1(e);
      if (r.split !== 'excluded') {
        push('ram', e, m.id);
        push(`ram@${r.board.name}`, e, m.id);
      }
    }
    if (m.code_flash_kib != null && r.split !== 'excluded') push('code', pctErr(rep.totals.codeFlashBytes / 1024, m.code_flash_kib), m.id);
    if (m.runtime_ram_kib != null && r.split !== 'excluded') push('runtime-ram', pctErr(rep.totals.runtimeRamBytes / 1024, m.runtime_ram_kib), m.id);
    if (m.latency_ms != null) {
      const e = pctErr(rep.totals.latencyMs, m.latency_ms);
      cells.latency = f1(e);
      if (r.split !== 'excluded') {
        push(`latency:${r.split}`, e, m.id);
        push(`latency:${r.split}@${r.board.name}`, e, m.id);
      } else push('latency:excluded', e, m.id);
    }
    detail.push([
      m.id.slice(0, 58),
      r.split + (r.why ? ` (${r.why})` : ''),
      runtimeOf(m.tool_and_version),
      m.weights_flash_kib != null ? `${(rep.totals.weightsFlashBytes / 1024).toFixed(1)}/${m.weights_flash_kib}` : '',
      cells.flash ?? '',
      m.activation_ram_kib != null ? `${(rep.totals.activationRamBytes / 1024).toFixed(1)}/${m.activation_ram_kib}` : '',
      cells.ram ?? '',
      m.latency_ms != null ? `${rep.totals.latencyMs.toFixed(1)}/${m.latency_ms}` : '',
      cells.latency ?? '',
    ]);
  }
  if (args.includes('--detail')) {
    console.log(textTable(['record', 'split', 'runtime', 'flash KiB pred/meas', 'err%', 'RAM KiB pred/meas', 'err%', 'latency ms pred/meas', 'err%'], detail));
    console.log('');
  }

  const summary: Record<string, Stat> = {};
  for (const [k, v] of Object.entries(errs)) summary[k] = stat(v);
  const order = Object.keys(summary).sort();
  console.log('Absolute percentage error of predictions vs published deployments (../shared/mcu/measurements.json)');
  console.log(`calibration: ${cal.fittedOn}`);
  console.log('');
  console.log(
    textTable(
      ['metric / subset', 'records', 'median %', 'worst %', 'worst record'],
      order.map((k) => [k, String(summary[k].n), f1(summary[k].median), f1(summary[k].worst), summary[k].worstId ?? '']),
    ),
  );
  const goals = { flash: 5, ram: 15, latency: 30 };
  const s = (k: string) => summary[k] ?? { n: 0, median: NaN, worst: NaN };
  console.log('');
  console.log(`goals (median): weights flash <= ${goals.flash}% (pinned tool versions) -> ${f1(s('flash').median)}%;  activation RAM <= ${goals.ram}% -> ${f1(s('ram').median)}%;  latency <= ${goals.latency}% -> fit ${f1(s('latency:fit').median)}%, held out ${f1(s('latency:held-out').median)}%`);
  const perBoard: Record<string, Record<string, number>> = {};
  for (const k of order) {
    const at = k.indexOf('@');
    if (at < 0) continue;
    (perBoard[k.slice(at + 1)] ??= {})[`${k.slice(0, at)}Median`] = Number(summary[k].median.toFixed(2));
  }
  const json = {
    weightsFlash: { pinned: s('flash'), unpinnedToolVersions: s('flash:unpinned') },
    activationRam: s('ram'),
    latency: { fit: s('latency:fit'), heldOut: s('latency:held-out'), excluded: s('latency:excluded') },
    codeFlash: s('code'),
    runtimeRam: s('runtime-ram'),
    perBoard,
    goalsMedianPct: goals,
    calibration: cal.fittedOn,
  };
  console.log(JSON.stringify(json));
}

main();
