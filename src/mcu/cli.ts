/**
 * `tinylab mcu` and `tinylab boards` (routed here by kernel/cli/main.ts).
 *
 *   tinylab mcu model.onnx --board nucleo-h743zi2 [--dtype int8|float32] [--runtime cmsis-nn] [--json]
 *   tinylab mcu model.json --boards all            comparison table of every board
 *   tinylab boards [--json]
 *
 * Errors meant for people (TinylabError) print one line and exit 2; a model that does not fit exits 0 unless
 * --strict is given (then 1), so scripts can gate on it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InputError, TinylabError } from '../common/errors';
import type { ArchDescription } from '../graph/arch';
import { graphFromArchitectureRef } from '../graph/arch';
import { graphFromOnnx } from '../graph/onnx';
import type { GraphDType, LayerGraph } from '../graph/types';
import { listBoards } from './boards';
import { compareBoards } from './compare';
import type { RuntimeKind } from './cost';
import { RUNTIMES } from './cost';
import { estimate } from './estimate';
import { formatComparison, formatReport, textTable } from './report';

interface Flags {
  positional: string[];
  values: Map<string, string>;
  bools: Set<string>;
}

const BOOL_FLAGS = new Set(['json', 'help', 'h', 'strict', 'io-outside', 'no-scratch']);

function parseFlags(argv: string[]): Flags {
  const f: Flags = { positional: [], values: new Map(), bools: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--') || (a.startsWith('-') && a.length === 2)) {
      let key = a.replace(/^--?/, '');
      let val: string | undefined;
      const eq = key.indexOf('=');
      if (eq >= 0) {
        val = key.slice(eq + 1);
        key = key.slice(0, eq);
      }
      if (BOOL_FLAGS.has(key) && val === undefined) f.bools.add(key);
      else {
        if (val === undefined) {
          val = argv[++i];
          if (val === undefined) throw new InputError(`option --${key} needs a value`);
        }
        f.values.set(key, val);
      }
    } else f.positional.push(a);
  }
  return f;
}

const MCU_USAGE = `usage: tinylab mcu <model.onnx | model.json | ref:<architecture>> [options]

Price a model on a microcontroller: per-layer flash, RAM and latency, totals, and whether it fits.

options:
  --board NAME         board to price on (default NUCLEO-H743ZI2); \`tinylab boards\` lists them
  --boards all|A,B,…   compare on many boards instead (one row per board)
  --dtype int8|float32 deployment data type (default int8)
  --runtime NAME       inference runtime: ${RUNTIMES.join(', ')} (default cmsis-nn)
  --clock MHZ          override the board clock
  --input-shape N,C,H,W  shape for ONNX inputs with symbolic dimensions
  --architectures FILE mcu_architectures.json for ref:<name> models
  --io-outside         keep input/output buffers out of the arena
  --json               print one JSON object (the McuReport, or {boards: [...]})
  --strict             exit 1 when the model does not fit`;

/** Load a model file (ONNX or tfjs model.json) or an architecture reference into a layer graph. */
export async function loadModelGraph(spec: string, opts: { architectures?: string; inputShape?: number[] } = {}): Promise<LayerGraph> {
  if (spec.startsWith('ref:')) {
    const file = opts.architectures ?? path.resolve('..', 'shared', 'mcu', 'mcu_architectures.json');
    if (!fs.existsSync(file)) throw new InputError(`ref: models need the architectures file; pass --architectures path/to/mcu_architectures.json`);
    return graphFromArchitectureRef(spec, JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, ArchDescription>);
  }
  if (!fs.existsSync(spec)) throw new InputError(`model file '${spec}' not found; give a .onnx file or a tfjs model.json`);
  const base = path.basename(spec, path.extname(spec));
  if (spec.toLowerCase().endsWith('.onnx')) {
    const bytes = new Uint8Array(fs.readFileSync(spec));
    let inputShapes: Record<string, number[]> | undefined;
    if (opts.inputShape) {
      // Applies to every symbolic input (models priced here have one).
      inputShapes = new Proxy({}, { get: () => opts.inputShape });
    }
    return graphFromOnnx(bytes, { name: base, inputShapes });
  }
  if (spec.toLowerCase().endsWith('.json')) {
    const json = JSON.parse(fs.readFileSync(spec, 'utf8')) as { modelTopology?: unknown };
    if (!json.modelTopology) throw new InputError(`'${spec}' is not a tfjs model.json (no modelTopology); save it with model.save('file://…')`);
    // Topology only: weights are not needed to price the model. tfjs is loaded lazily (it is heavy).
    const tf = await import('@tensorflow/tfjs');
    const { graphFromLayersModel } = await import('../graph/tfjs');
    const model = await tf.models.modelFromJSON(json.modelTopology as never);
    try {
      return graphFromLayersModel(model, { name: base });
    } finally {
      model.dispose();
    }
  }
  throw new InputError(`cannot read '${spec}': give a .onnx file, a tfjs model.json, or ref:<architecture>`);
}

function fail(err: unknown): number {
  if (err instanceof TinylabError) {
    process.stderr.write(`tinylab: ${err.message}\n`);
    return 2;
  }
  throw err;
}

export async function runMcu(argv: string[]): Promise<number> {
  try {
    const f = parseFlags(argv);
    if (f.bools.has('help') || f.bools.has('h')) {
      process.stdout.write(MCU_USAGE + '\n');
      return 0;
    }
    if (f.positional.length !== 1) {
      process.stderr.write(MCU_USAGE + '\n');
      return 2;
    }
    const dtype = (f.values.get('dtype') ?? 'int8') as GraphDType;
    if (dtype !== 'int8' && dtype !== 'float32') throw new InputError(`--dtype must be int8 or float32, not '${dtype}'`);
    const runtime = (f.values.get('runtime') ?? 'cmsis-nn') as RuntimeKind;
    if (!RUNTIMES.includes(runtime)) throw new InputError(`--runtime must be one of ${RUNTIMES.join(', ')}, not '${runtime}'`);
    const clock = f.values.has('clock') ? Number(f.values.get('clock')) : undefined;
    if (clock !== undefined && !(clock > 0)) throw new InputError(`--clock must be a positive number of MHz`);
    const inputShape = f.values.get('input-shape')?.split(/[,x]/).map(Number);
    if (inputShape && inputShape.some((d) => !(d > 0))) throw new InputError(`--input-shape must be positive integers like 1,3,32,32`);
    const graph = await loadModelGraph(f.positional[0], { architectures: f.values.get('architectures'), inputShape });
    const opts = { dtype, runtime, clockMhz: clock, includeIO: !f.bools.has('io-outside'), scratch: !f.bools.has('no-scratch') };
    if (f.values.has('boards')) {
      const v = f.values.get('boards')!;
      const cmp = compareBoards(graph, v === 'all' ? 'all' : v.split(',').map((s) => s.trim()), opts);
      if (f.bools.has('json')) process.stdout.write(JSON.stringify({ model: cmp.model, dtype: cmp.dtype, boards: cmp.rows }) + '\n');
      else process.stdout.write(formatComparison(cmp) + '\n');
      return f.bools.has('strict') && !cmp.rows.some((r) => r.fitsFlash && r.fitsRam) ? 1 : 0;
    }
    const report = estimate(graph, f.values.get('board') ?? 'NUCLEO-H743ZI2', opts);
    process.stdout.write((f.bools.has('json') ? JSON.stringify(report) : formatReport(report)) + '\n');
    return f.bools.has('strict') && !(report.fits.flash && report.fits.ram) ? 1 : 0;
  } catch (err) {
    return fail(err);
  }
}

export async function runBoards(argv: string[]): Promise<number> {
  try {
    const f = parseFlags(argv);
    if (f.bools.has('help') || f.bools.has('h')) {
      process.stdout.write('usage: tinylab boards [--json]\n\nList the microcontroller boards the cost simulator knows, with core, clock, flash and SRAM.\n');
      return 0;
    }
    const boards = listBoards();
    if (f.bools.has('json')) {
      process.stdout.write(JSON.stringify(boards) + '\n');
      return 0;
    }
    const rows = boards.map((b) => [b.name, b.mcu, b.core + (b.helium ? ' (Helium)' : b.fpu ? '' : ' (no FPU)'), String(b.clockMhz), String(b.flashKiB), String(b.sramKiB), b.accelerator ? 'yes (CPU-only estimate)' : '']);
    process.stdout.write(`${boards.length} boards (sources: tinylab boards --json)\n` + textTable(['board', 'MCU', 'core', 'MHz', 'flash KiB', 'SRAM KiB', 'accelerator'], rows) + '\n');
    return 0;
  } catch (err) {
    return fail(err);
  }
}
