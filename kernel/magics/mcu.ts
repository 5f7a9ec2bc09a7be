/**
 * %mcu and %boards: thin adapters over src/mcu. `%mcu model --board nucleo-h743zi2` prices the model held in the
 * session variable `model` (a tf.LayersModel, a LayerGraph, ONNX bytes) or a file path (.onnx / model.json);
 * `--boards all` compares every board. The returned reports carry toMimeBundle() (table + Vega-Lite chart).
 */
import * as path from 'path';
import { InputError } from '../../src/common/errors';
import type { LayerGraph } from '../../src/graph/types';
import { graphFromOnnx } from '../../src/graph/onnx';
import { graphFromLayersModel } from '../../src/graph/tfjs';
import { listBoards } from '../../src/mcu/boards';
import { loadModelGraph } from '../../src/mcu/cli';
import { compareBoards } from '../../src/mcu/compare';
import type { RuntimeKind } from '../../src/mcu/cost';
import { RUNTIMES } from '../../src/mcu/cost';
import { estimate } from '../../src/mcu/estimate';
import { bundle } from '../display/bundle';
import type { MagicContext, MagicSpec, ParsedArgs } from './types';

function isLayerGraph(v: unknown): v is LayerGraph {
  return typeof v === 'object' && v !== null && Array.isArray((v as LayerGraph).nodes) && typeof (v as LayerGraph).tensors === 'object';
}

function isLayersModel(v: unknown): boolean {
  return typeof v === 'object' && v !== null && Array.isArray((v as { layers?: unknown }).layers) && Array.isArray((v as { inputs?: unknown }).inputs);
}

/** Resolve the magic's model argument: a session variable, else a file path relative to the kernel's cwd. */
async function resolveGraph(spec: string, ctx: MagicContext): Promise<LayerGraph> {
  const v = /^[A-Za-z_$][\w$]*$/.test(spec) ? ctx.getVariable(spec) : undefined;
  if (v !== undefined) {
    if (isLayerGraph(v)) return v;
    if (isLayersModel(v)) return graphFromLayersModel(v as Parameters<typeof graphFromLayersModel>[0], { name: spec });
    if (v instanceof Uint8Array) return graphFromOnnx(v, { name: spec });
    if (typeof v === 'string') return loadModelGraph(path.resolve(ctx.cwd, v));
    throw new InputError(`%mcu: '${spec}' is not a model (a tf.LayersModel, a LayerGraph, ONNX bytes or a file path)`);
  }
  if (/\.(onnx|json)$/i.test(spec) || spec.startsWith('ref:')) return loadModelGraph(spec.startsWith('ref:') ? spec : path.resolve(ctx.cwd, spec));
  throw new InputError(`%mcu: no variable or file named '${spec}'; pass a model variable or a .onnx / model.json path`);
}

export const magics: MagicSpec[] = [
  {
    name: 'mcu',
    kind: 'line',
    summary: 'price a model on a microcontroller: flash, RAM and latency per layer, and whether it fits',
    help:
      'The model is a session variable (tf.LayersModel, LayerGraph, ONNX bytes) or a .onnx / model.json path. ' +
      'int8 prices the model as deployed (BN folded, activations fused, int8 weights, int32 biases). ' +
      'Use --boards all for a comparison of every board; %boards lists them.',
    args: [
      { name: 'model', type: 'string', positional: true, required: true, help: 'model variable or file' },
      { name: 'board', type: 'string', default: 'NUCLEO-H743ZI2', help: 'board name (see %boards)' },
      { name: 'boards', type: 'string', help: "'all' or a comma-separated list: compare boards instead" },
      { name: 'dtype', type: 'enum', choices: ['int8', 'float32'], default: 'int8', help: 'deployment data type' },
      { name: 'runtime', type: 'enum', choices: RUNTIMES, default: 'cmsis-nn', help: 'inference runtime whose efficiency applies' },
      { name: 'clock', type: 'number', min: 1, help: 'override the board clock (MHz)' },
      { name: 'json', type: 'boolean', default: false, help: 'show the plain JSON report' },
      { name: 'out', type: 'string', help: 'also store the report in this variable' },
    ],
    examples: ['%mcu model --board nucleo-h743zi2', '%mcu model --boards all --dtype int8', '%mcu kws.onnx --board nrf52840-dk --json'],
    async run(args: ParsedArgs, ctx: MagicContext) {
      const graph = await resolveGraph(String(args.model), ctx);
      const opts = { dtype: (args.dtype as 'int8' | 'float32') ?? 'int8', runtime: (args.runtime as RuntimeKind) ?? 'cmsis-nn', clockMhz: args.clock as number | undefined };
      const result = args.boards
        ? compareBoards(graph, String(args.boards) === 'all' ? 'all' : String(args.boards).split(',').map((s) => s.trim()), opts)
        : estimate(graph, String(args.board ?? 'NUCLEO-H743ZI2'), opts);
      if (args.out) ctx.setVariable(String(args.out), result);
      if (args.json) return bundle({ 'text/plain': JSON.stringify(result, null, 1), 'application/json': JSON.parse(JSON.stringify(result)) });
      return result;
    },
  },
  {
    name: 'boards',
    kind: 'line',
    summary: 'list the microcontroller boards the cost simulator knows',
    args: [{ name: 'core', type: 'string', help: "only boards with this core, e.g. 'cortex-m7'" }],
    examples: ['%boards', '%boards --core cortex-m33'],
    run(args: ParsedArgs) {
      const core = args.core ? String(args.core).toLowerCase() : undefined;
      const boards = listBoards().filter((b) => !core || b.core === core);
      const header = ['board', 'MCU', 'core', 'MHz', 'flash KiB', 'SRAM KiB', 'accelerator'];
      const rows = boards.map((b) => [b.name, b.mcu, b.core, String(b.clockMhz), String(b.flashKiB), String(b.sramKiB), b.accelerator ?? '']);
      const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
      const html = `<table><thead><tr>${header.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
      const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      const text = [header, ...rows].map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
      return bundle({ 'text/plain': text, 'text/html': html });
    },
  },
];
