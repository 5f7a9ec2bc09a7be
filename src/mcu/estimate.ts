/**
 * estimate(graph, board, options) → McuReport: flash, RAM and latency per layer and in total, and whether it fits.
 *
 * Fast by construction (sweeps call it for every trial): one pass over the nodes plus the greedy planner; the
 * deployment graph (BN folded, activations fused) is cached per source graph and dtype.
 */
import { InputError } from '../common/errors';
import type { GraphDType, LayerGraph } from '../graph/types';
import { deploymentGraph } from '../graph/deploy';
import { graphTotals } from '../graph/types';
import type { Board } from './boards';
import { findBoard } from './boards';
import type { Calibration, RuntimeKind } from './cost';
import { CALIBRATION, RUNTIMES, nodeCycles, nodeScratchBytes, nodeWeightBytes } from './cost';
import { planArena } from './planner';
import { attachReportDisplay } from './report';

export interface EstimateOptions {
  /** Deployment data type; default int8. */
  dtype?: GraphDType;
  /** Inference runtime whose efficiency factor applies; default 'cmsis-nn'. */
  runtime?: RuntimeKind;
  /** Inputs/outputs inside the arena (default true, as TFLM and STM32Cube.AI "input/output allocated"). */
  includeIO?: boolean;
  /** Override the board's clock (MHz). */
  clockMhz?: number;
  /** Count CMSIS-NN scratch buffers in the arena (default true). */
  scratch?: boolean;
  /** A different calibration table (validation, what-if). */
  calibration?: Calibration;
}

export interface McuLayer {
  name: string;
  op: string;
  outputShape: number[];
  params: number;
  macs: number;
  weightsFlashBytes: number;
  latencyMs: number;
  /** Extras. Per-channel quantisation parameters (int8: float32 scale + int32 zero point per output channel). */
  quantParamsBytes: number;
  activation: string;
  cycles: number;
  /** Bytes of arena buffers live while this layer runs, and that as a share of the arena peak (0–1). */
  liveRamBytes: number;
  peakRamShare: number;
  /** Share of total latency (0–1). */
  latencyShare: number;
  scratchBytes: number;
}

export interface McuReport {
  board: string;
  dtype: GraphDType;
  totals: {
    params: number;
    macs: number;
    weightsFlashBytes: number;
    codeFlashBytes: number;
    activationRamBytes: number;
    runtimeRamBytes: number;
    latencyMs: number;
    /** Extras. */
    quantParamsFlashBytes: number;
    flashBytes: number;
    ramBytes: number;
    cycles: number;
  };
  fits: { flash: boolean; ram: boolean };
  layers: McuLayer[];
  /** Extras. */
  model: string;
  runtime: RuntimeKind;
  core: string;
  clockMhz: number;
  margins: { flashBytes: number; ramBytes: number; flashPct: number; ramPct: number };
  peak: { layer: string; liveBytes: number; tensors: string[] };
  capacity: { flashBytes: number; ramBytes: number };
  notes: string[];
}

const deployCache = new WeakMap<LayerGraph, Map<GraphDType, LayerGraph>>();

function deployed(graph: LayerGraph, dtype: GraphDType): LayerGraph {
  if (graph.deployed && graph.dtype === dtype) return graph;
  let m = deployCache.get(graph);
  if (!m) deployCache.set(graph, (m = new Map()));
  let g = m.get(dtype);
  if (!g) m.set(dtype, (g = deploymentGraph(graph, dtype)));
  return g;
}

export function estimate(graph: LayerGraph, board: Board | string, opts: EstimateOptions = {}): McuReport {
  const b = typeof board === 'string' ? findBoard(board) : board;
  const dtype = opts.dtype ?? 'int8';
  if (dtype !== 'int8' && dtype !== 'float32') throw new InputError(`dtype '${String(dtype)}' is not supported; use 'int8' or 'float32'`);
  const runtime = opts.runtime ?? 'cmsis-nn';
  const cal = opts.calibration ?? CALIBRATION;
  if (!cal.runtimes[runtime]) throw new InputError(`unknown runtime '${runtime}'; use one of ${RUNTIMES.join(', ')}`);
  const clockMhz = opts.clockMhz ?? b.clockMhz;
  const g = deployed(graph, dtype);
  const n = g.nodes.length;

  const scratch = new Array<number>(n);
  const cycles = new Array<number>(n);
  const wBytes = new Array<number>(n);
  const qpBytes = new Array<number>(n);
  let qBytes = 0;
  let totalCycles = 0;
  let weightsFlash = 0;
  const kernels = new Set<string>();
  for (let i = 0; i < n; i++) {
    const node = g.nodes[i];
    scratch[i] = opts.scratch === false ? 0 : nodeScratchBytes(node, dtype, runtime);
    cycles[i] = nodeCycles(node, b.core, dtype, runtime, cal);
    const w = nodeWeightBytes(node, dtype, cal);
    wBytes[i] = w.weights;
    qpBytes[i] = w.quantParams;
    qBytes += w.quantParams;
    totalCycles += cycles[i];
    weightsFlash += w.weights;
    kernels.add(node.op); // each kernel's code once, whatever its fused activation
  }
  const plan = planArena(g, { includeIO: opts.includeIO ?? true, alignment: cal.ram.alignment, scratch });
  let codeFlash = cal.flash.runtimeBytes + cal.flash.perLayerBytes * n;
  for (const k of kernels) codeFlash += cal.flash.kernelCodeBytes[k as keyof typeof cal.flash.kernelCodeBytes] ?? 1000;
  const runtimeRam = cal.ram.runtimeBytes + cal.ram.perLayerBytes * n + cal.ram.perTensorBytes * Object.keys(g.tensors).length;
  const latencyMs = totalCycles / (clockMhz * 1e3);
  const peak = Math.max(plan.arenaBytes, 1);
  const layers: McuLayer[] = g.nodes.map((node, i) => ({
    name: node.name,
    op: node.op,
    outputShape: node.outputShape,
    params: node.params,
    macs: node.macs,
    weightsFlashBytes: wBytes[i],
    latencyMs: cycles[i] / (clockMhz * 1e3),
    quantParamsBytes: qpBytes[i],
    activation: node.activation,
    cycles: cycles[i],
    liveRamBytes: plan.liveBytesPerNode[i] ?? 0,
    peakRamShare: (plan.liveBytesPerNode[i] ?? 0) / peak,
    latencyShare: totalCycles > 0 ? cycles[i] / totalCycles : 0,
    scratchBytes: scratch[i],
  }));
  const flashBytes = weightsFlash + qBytes + codeFlash;
  const ramBytes = plan.arenaBytes + runtimeRam;
  const capFlash = b.flashKiB * 1024;
  const capRam = b.sramKiB * 1024;
  const totals = graphTotals(g);
  const notes: string[] = [];
  if (b.accelerator) notes.push(`${b.name} has an accelerator (${b.accelerator}); this is a CPU-only estimate`);
  if (!cal.cores[b.core].fitted) notes.push(`latency for ${b.core} uses prior costs, not fitted to measurements`);
  const report: McuReport = {
    board: b.name,
    dtype,
    totals: {
      params: totals.params,
      macs: totals.macs,
      weightsFlashBytes: weightsFlash,
      codeFlashBytes: codeFlash,
      activationRamBytes: plan.arenaBytes,
      runtimeRamBytes: runtimeRam,
      latencyMs,
      quantParamsFlashBytes: qBytes,
      flashBytes,
      ramBytes,
      cycles: totalCycles,
    },
    fits: { flash: flashBytes <= capFlash, ram: ramBytes <= capRam },
    layers,
    model: graph.name,
    runtime,
    core: b.core,
    clockMhz,
    margins: {
      flashBytes: capFlash - flashBytes,
      ramBytes: capRam - ramBytes,
      flashPct: (100 * (capFlash - flashBytes)) / capFlash,
      ramPct: (100 * (capRam - ramBytes)) / capRam,
    },
    peak: { layer: g.nodes[plan.peakNode]?.name ?? '', liveBytes: plan.peakLiveBytes, tensors: plan.peakTensors },
    capacity: { flashBytes: capFlash, ramBytes: capRam },
    notes,
  };
  return attachReportDisplay(report);
}
