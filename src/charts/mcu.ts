/**
 * Vega-Lite specs for the MCU cost simulator, as plain objects (no vega import: src/ stays light; the kernel's
 * display layer renders them). Inputs are the plain reports of src/mcu, typed structurally so this file does not
 * depend on src/mcu.
 */

export interface McuLayerLike {
  name: string;
  op: string;
  latencyMs: number;
  weightsFlashBytes: number;
  liveRamBytes: number;
  macs: number;
}

export interface McuReportLike {
  board: string;
  dtype: string;
  model?: string;
  layers: McuLayerLike[];
}

export interface BoardRowLike {
  board: string;
  latencyMs: number;
  fitsFlash: boolean;
  fitsRam: boolean;
  flashPct: number;
  ramPct: number;
}

export type VegaLiteSpec = Record<string, unknown>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** Per-layer chart: latency bars (ms) by layer in execution order, coloured by op, with flash and live RAM in the tooltip. */
export function mcuLayerChart(report: McuReportLike): VegaLiteSpec {
  const values = report.layers.map((l, i) => ({
    index: i,
    layer: `${String(i).padStart(2, '0')} ${l.name}`,
    op: l.op,
    latencyMs: Number(l.latencyMs.toFixed(4)),
    flashKiB: Number((l.weightsFlashBytes / 1024).toFixed(2)),
    liveRamKiB: Number((l.liveRamBytes / 1024).toFixed(2)),
    macs: l.macs,
  }));
  return {
    $schema: SCHEMA,
    title: `${report.model ?? 'model'} on ${report.board} (${report.dtype}): latency per layer`,
    width: 480,
    height: Math.max(120, 14 * values.length),
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'layer', type: 'nominal', sort: null, title: null },
      x: { field: 'latencyMs', type: 'quantitative', title: 'latency (ms)' },
      color: { field: 'op', type: 'nominal', title: 'op' },
      tooltip: [
        { field: 'layer' },
        { field: 'op' },
        { field: 'latencyMs', title: 'ms' },
        { field: 'macs', format: ',' },
        { field: 'flashKiB', title: 'weights KiB' },
        { field: 'liveRamKiB', title: 'live RAM KiB' },
      ],
    },
  };
}

/** Board comparison: latency per board (log scale), colour says whether the model fits flash and RAM. */
export function boardComparisonChart(rows: BoardRowLike[], title = 'latency by board'): VegaLiteSpec {
  const values = rows.map((r) => ({
    board: r.board,
    latencyMs: Number(r.latencyMs.toFixed(3)),
    fits: r.fitsFlash && r.fitsRam ? 'fits' : !r.fitsFlash && !r.fitsRam ? 'flash and RAM too small' : !r.fitsFlash ? 'flash too small' : 'RAM too small',
    flashMarginPct: Number(r.flashPct.toFixed(1)),
    ramMarginPct: Number(r.ramPct.toFixed(1)),
  }));
  return {
    $schema: SCHEMA,
    title,
    width: 480,
    height: Math.max(120, 16 * values.length),
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'board', type: 'nominal', sort: { field: 'latencyMs', order: 'ascending' }, title: null },
      x: { field: 'latencyMs', type: 'quantitative', scale: { type: 'log' }, title: 'latency (ms, log scale)' },
      color: { field: 'fits', type: 'nominal', scale: { domain: ['fits', 'RAM too small', 'flash too small', 'flash and RAM too small'], range: ['#4c78a8', '#f58518', '#e45756', '#b279a2'] } },
      tooltip: [{ field: 'board' }, { field: 'latencyMs', title: 'ms' }, { field: 'fits' }, { field: 'flashMarginPct', title: 'flash margin %' }, { field: 'ramMarginPct', title: 'RAM margin %' }],
    },
  };
}
