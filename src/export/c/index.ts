/**
 * C99 code generation for int8 models: model.h / model.c / kernels.h / kernels.c, bit-exact with the integer
 * reference engine (src/quantize/engine.ts). The generator reads the quantized graph JSON (toQuantizedJson), so
 * anything that can be exported as qjson can be compiled. Weights become `const` arrays (flash); activations live in
 * one static arena laid out by the cost simulator's planner (planArena), so the generated RAM equals the predicted
 * arena. No malloc, no float in the int8 path; the same model always yields the same bytes (no timestamps, fixed order).
 * Requantisation follows the model's rounding (single or TFLite's double). `dsp: true` selects SMLAD conv/dense kernels
 * for cores with the DSP extension. model_invoke calls MODEL_LAYER_HOOK(i) around layers (empty by default; the
 * emulator harness in harness.ts times layers with it).
 *
 * Verification on emulated Cortex-M boards: targets.ts (MPS2 boards), harness.ts (start-up, semihosting main, linker
 * script), build.ts (arm-none-eabi-gcc), qemu.ts (qemu-system-arm, -icount), linkmap.ts (sizes), verify.ts (vs
 * runInt8), fit.ts (instruction-cost fit for src/mcu/instructions.ts), verify-models.ts (the benchmark models).
 */
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../../common/errors';
import type { GraphNode } from '../../graph/types';
import { numElements } from '../../graph/types';
import { planArena } from '../../mcu/planner';
import type { QuantizedModel } from '../../quantize/types';
import { toQuantizedJson, type QuantizedJsonNode } from '../qjson';
import { DOT_DSP_C, KERNEL_DECLS, KERNEL_DEFS, KERNEL_ORDER, fixedpointC, type KernelName } from './kernels';

export interface GenerateCOptions {
  /** Prefix for the public symbols (`<name>_invoke`, `<NAME>_INPUT_SIZE`…). Default 'model'. */
  name?: string;
  /**
   * Kernels for cores with the M-profile DSP extension (Cortex-M4/M7/M33…): conv2d and dense weights are stored
   * transposed and multiplied two pairs at a time with SMLAD. Still bit-exact; falls back to scalar code where
   * __ARM_FEATURE_DSP is not defined (so the same files build on a host or an M0+/M3).
   */
  dsp?: boolean;
}

/** Reorder int8 weights from [rows][cols] to [cols][rows] (conv [kh·kw·C][CO] → [CO][kh·kw·C], dense [K][N] → [N][K]). */
function transpose(w: Int8Array | ArrayLike<number>, rows: number, cols: number): Int8Array {
  const t = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
  return t;
}

export interface GeneratedC {
  files: Record<string, string>;
  /** Arena bytes (the planner's), for reports and tests. */
  arenaBytes: number;
}

/** Ops the C backend runs; everything else is an InputError naming the layer. */
export const C_SUPPORTED_OPS = ['conv2d', 'depthwiseConv2d', 'dense', 'maxPool', 'globalMaxPool', 'avgPool', 'globalAvgPool', 'add', 'concat', 'pad', 'reshape', 'flatten', 'softmax'] as const;

/** Same padding rule as the engine (engine.ts padBefore). */
function padBefore(size: number, out: number, k: number, s: number, d: number, p: GraphNode['attrs']['padding'], axis: 0 | 1): number {
  if (p === undefined || p === 'valid') return 0;
  if (p === 'same') return Math.floor(Math.max((out - 1) * s + (k - 1) * d + 1 - size, 0) / 2);
  return axis === 0 ? p[0] : p[1];
}

function ident(s: string): string {
  const id = s.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(id) ? `_${id}` : id;
}

/** Comment-safe text (a layer name containing '*\/' must not end the comment). */
function cmt(s: string): string {
  return s.replace(/\*\//g, '* /');
}

/** A C array initialiser, 16 values a line (deterministic formatting). */
function cArray(type: string, name: string, vals: ArrayLike<number>): string {
  const lines: string[] = [];
  for (let i = 0; i < vals.length; i += 16) {
    lines.push('  ' + Array.from(Array.prototype.slice.call(vals, i, i + 16) as number[], (v) => (type === 'int32_t' && v === -2147483648 ? '(-2147483647 - 1)' : String(v))).join(', ') + ',');
  }
  return `static const ${type} ${name}[${vals.length}] = {\n${lines.join('\n')}\n};\n`;
}

export function generateC(qm: QuantizedModel, opts: GenerateCOptions = {}): GeneratedC {
  const prefix = ident(opts.name ?? 'model');
  const P = prefix.toUpperCase();
  const json = toQuantizedJson(qm);
  const g = qm.graph;
  if (json.inputs.length !== 1 || json.outputs.length !== 1) throw new InputError(`C export supports one input and one output; '${json.name}' has ${json.inputs.length} and ${json.outputs.length}`);
  if (json.output !== 'int8') throw new InputError(`C export needs an int8 output; quantize '${json.name}' with output: 'int8'`);

  // Requantisation rounding of the model (qjson: absent in old files means TFLite's double rounding).
  const rounding = json.rounding ?? 'double';
  const plan = planArena(g);
  // Reshape/flatten nodes the planner marks in-place alias their input's buffer: resolve tensors to a buffer root.
  const root = new Map<string, string>();
  for (const n of g.nodes) if (n.inPlace && n.inputs.length === 1) root.set(n.outputs[0], root.get(n.inputs[0]) ?? n.inputs[0]);
  const offsetOf = new Map(plan.buffers.map((b) => [b.name, b.offset]));
  const ptr = (t: string): string => {
    const off = offsetOf.get(root.get(t) ?? t);
    if (off === undefined) throw new Error(`planner placed no buffer for tensor '${t}'`);
    return `(arena + ${off})`;
  };
  const tq = (t: string) => json.tensors[t];

  const used = new Set<KernelName>();
  const consts: string[] = [];
  const body: string[] = [];
  json.nodes.forEach((qn: QuantizedJsonNode, i) => {
    const node = g.nodes[i];
    const id = ident(`${prefix}_${i}_${node.name}`);
    const ins = node.inputs;
    const out = node.outputs[0];
    const shapes = `${node.inputShapes.map((s) => `[${s.join(',')}]`).join(' + ')} -> [${node.outputShape.join(',')}]`;
    body.push(`  /* ${i}: ${cmt(node.name)} (${node.op}${node.activation && node.activation !== 'none' ? ', ' + node.activation : ''}) ${shapes} */`);
    body.push(`  ${P}_LAYER_HOOK(${i});`);
    if (qn.keptFloat) throw new InputError(`layer '${node.name}' is kept float; C export runs int8 only — quantize it without keepFloat`);
    const inOff = -tq(ins[0]).zeroPoint;
    const zo = tq(out).zeroPoint;
    const lo = qn.actMin ?? -128;
    const hi = qn.actMax ?? 127;
    const emitParams = (transposedTo?: { rows: number; cols: number; layout: string }) => {
      const w = transposedTo ? transpose(qn.weights!, transposedTo.rows, transposedTo.cols) : qn.weights!;
      const layout = transposedTo ? `, stored ${transposedTo.layout}` : '';
      consts.push(`/* ${cmt(node.name)}: weights [${(node.weightShapes[0] ?? []).join(', ')}]${layout}, bias, requantisation */\n` + cArray('int8_t', `${id}_w`, w) + cArray('int32_t', `${id}_b`, qn.bias!) + cArray('int32_t', `${id}_m`, qn.multipliers!) + cArray('int32_t', `${id}_s`, qn.shifts!));
    };
    switch (node.op) {
      case 'conv2d':
      case 'depthwiseConv2d': {
        const [, H, W, C] = node.inputShapes[0];
        const [, OH, OW, CO] = node.outputShape;
        const [kh, kw, , last] = node.weightShapes[0];
        const [sh, sw] = node.attrs.strides ?? [1, 1];
        const [dh, dw] = node.attrs.dilations ?? [1, 1];
        const pt = padBefore(H, OH, kh, sh, dh, node.attrs.padding, 0);
        const pl = padBefore(W, OW, kw, sw, dw, node.attrs.padding, 1);
        const dwc = node.op === 'depthwiseConv2d';
        // Fewer than 4 input channels leave SMLAD's 4-wide steps empty and only add call overhead (first layers).
        const dsp = !dwc && !!opts.dsp && C >= 4;
        emitParams(dsp ? { rows: kh * kw * C, cols: CO, layout: '[CO][kh][kw][C] for the DSP kernel' } : undefined);
        const kname: KernelName = dwc ? 'depthwise' : dsp ? 'conv2d_dsp' : 'conv2d';
        used.add(kname);
        body.push(`  tl_${kname}(${ptr(ins[0])}, ${H}, ${W}, ${C}, ${ptr(out)}, ${OH}, ${OW}, ${dwc ? last : CO}, ${id}_w, ${kh}, ${kw}, ${sh}, ${sw}, ${dh}, ${dw}, ${pt}, ${pl}, ${id}_b, ${id}_m, ${id}_s, ${inOff}, ${zo}, ${lo}, ${hi});`);
        break;
      }
      case 'dense': {
        const [K, N] = node.weightShapes[0];
        const rows = numElements(node.inputShapes[0].slice(1)) / K;
        const dsp = !!opts.dsp && K >= 4;
        emitParams(dsp ? { rows: K, cols: N, layout: '[N][K] for the DSP kernel' } : undefined);
        used.add(dsp ? 'dense_dsp' : 'dense');
        body.push(`  tl_${dsp ? 'dense_dsp' : 'dense'}(${ptr(ins[0])}, ${rows}, ${K}, ${N}, ${ptr(out)}, ${id}_w, ${id}_b, ${id}_m, ${id}_s, ${inOff}, ${zo}, ${lo}, ${hi});`);
        break;
      }
      case 'maxPool':
      case 'globalMaxPool':
      case 'avgPool': {
        const [, H, W, C] = node.inputShapes[0];
        const global = node.op === 'globalMaxPool';
        const [kh, kw] = global ? [H, W] : node.attrs.kernel ?? [2, 2];
        const [sh, sw] = global ? [1, 1] : node.attrs.strides ?? [kh, kw];
        const OH = global ? 1 : node.outputShape[1];
        const OW = global ? 1 : node.outputShape[2];
        const pt = global ? 0 : padBefore(H, OH, kh, sh, 1, node.attrs.padding, 0);
        const pl = global ? 0 : padBefore(W, OW, kw, sw, 1, node.attrs.padding, 1);
        if (node.op === 'avgPool') {
          used.add('avgpool');
          body.push(`  tl_avgpool(${ptr(ins[0])}, ${H}, ${W}, ${C}, ${ptr(out)}, ${OH}, ${OW}, ${kh}, ${kw}, ${sh}, ${sw}, ${pt}, ${pl}, ${tq(ins[0]).zeroPoint}, ${lo}, ${hi});`);
        } else {
          used.add('maxpool');
          body.push(`  tl_maxpool(${ptr(ins[0])}, ${H}, ${W}, ${C}, ${ptr(out)}, ${OH}, ${OW}, ${kh}, ${kw}, ${sh}, ${sw}, ${pt}, ${pl}, ${lo}, ${hi});`);
        }
        break;
      }
      case 'globalAvgPool': {
        const C = node.inputShapes[0][3];
        const HW = numElements(node.inputShapes[0].slice(1)) / C;
        used.add('gap');
        body.push(`  tl_gap(${ptr(ins[0])}, ${HW}, ${C}, ${ptr(out)}, ${tq(ins[0]).zeroPoint}, ${qn.leftShift ?? 0}, ${qn.outputMultiplier}, ${qn.outputShift}, ${zo}, ${lo}, ${hi});`);
        break;
      }
      case 'add': {
        if (ins.length !== 2) throw new InputError(`C export: add '${node.name}' has ${ins.length} inputs; only 2 are supported`);
        const n = numElements(node.outputShape.slice(1));
        const na = numElements(node.inputShapes[0].slice(1));
        const nb = numElements(node.inputShapes[1].slice(1));
        const m = qn.inputMultipliers!, s = qn.inputShifts!;
        used.add('add');
        body.push(`  tl_add(${ptr(ins[0])}, ${na}, ${ptr(ins[1])}, ${nb}, ${ptr(out)}, ${n}, ${tq(ins[0]).zeroPoint}, ${tq(ins[1]).zeroPoint}, ${qn.leftShift}, ${m[0]}, ${s[0]}, ${m[1]}, ${s[1]}, ${qn.outputMultiplier}, ${qn.outputShift}, ${zo}, ${lo}, ${hi});`);
        break;
      }
      case 'concat': {
        const rank = node.outputShape.length;
        const axis = (node.attrs.axis ?? rank - 1) < 0 ? (node.attrs.axis ?? 0) + rank : (node.attrs.axis ?? rank - 1);
        if (axis < 1) throw new InputError(`C export: concat '${node.name}' joins along the batch axis; only feature axes are supported`);
        const outer = numElements(node.outputShape.slice(1, axis));
        const outInner = numElements(node.outputShape.slice(axis));
        used.add('concat');
        let offset = 0;
        ins.forEach((t, k) => {
          const inner = numElements(node.inputShapes[k].slice(axis));
          const q = tq(t);
          const same = q.scale === tq(out).scale && q.zeroPoint === zo ? 1 : 0;
          body.push(`  tl_concat(${ptr(t)}, ${outer}, ${inner}, ${ptr(out)}, ${outInner}, ${offset}, ${same}, ${q.zeroPoint}, ${qn.inputMultipliers![k]}, ${qn.inputShifts![k]}, ${zo});`);
          offset += inner;
        });
        break;
      }
      case 'pad': {
        const [, H, W, C] = node.inputShapes[0];
        const [, OH, OW] = node.outputShape;
        const [pt, pl] = node.attrs.pads ?? [0, 0, 0, 0];
        used.add('pad');
        body.push(`  tl_pad(${ptr(ins[0])}, ${H}, ${W}, ${C}, ${ptr(out)}, ${OH}, ${OW}, ${pt}, ${pl}, ${tq(ins[0]).zeroPoint});`);
        break;
      }
      case 'reshape':
      case 'flatten': {
        // Same NHWC bytes: a no-op when the planner aliased the buffers, a copy otherwise.
        if (ptr(ins[0]) !== ptr(out)) body.push(`  memmove(${ptr(out)}, ${ptr(ins[0])}, ${numElements(node.outputShape.slice(1))});`);
        else body.push('  /* in place: no code */');
        break;
      }
      case 'softmax': {
        const N = node.outputShape[node.outputShape.length - 1];
        const rows = numElements(node.outputShape.slice(1)) / N;
        consts.push(`/* ${cmt(node.name)}: exp table, Q16, indexed by (max - q) */\n` + cArray('int32_t', `${id}_exp`, qn.expLut!));
        used.add('softmax');
        body.push(`  tl_softmax(${ptr(ins[0])}, ${rows}, ${N}, ${ptr(out)}, ${id}_exp);`);
        break;
      }
      default: {
        if (!qn.lut) throw new InputError(`C export has no kernel for ${node.op} layer '${node.name}'; supported: ${C_SUPPORTED_OPS.join(', ')}, and table activations`);
        consts.push(`/* ${cmt(node.name)}: activation table indexed by q + 128 */\n` + cArray('int8_t', `${id}_lut`, qn.lut));
        used.add('lut');
        body.push(`  tl_lut(${ptr(ins[0])}, ${numElements(node.outputShape.slice(1))}, ${ptr(out)}, ${id}_lut);`);
      }
    }
  });

  const inT = json.inputs[0], outT = json.outputs[0];
  const inSize = numElements(json.tensors[inT].shape.slice(1));
  const outSize = numElements(json.tensors[outT].shape.slice(1));
  const kernels = KERNEL_ORDER.filter((k) => used.has(k));
  // Scales are printed with 9 significant digits (float32 round-trips); only applications read them, never the kernels.
  const f = (x: number) => x.toPrecision(9);
  const guard = `${P}_H`;
  const modelH = `/* Generated by tinylab from model '${cmt(json.name)}'. Do not edit. */
#ifndef ${guard}
#define ${guard}
#include <stdint.h>

#define ${P}_INPUT_SIZE ${inSize}
#define ${P}_OUTPUT_SIZE ${outSize}
#define ${P}_ARENA_SIZE ${Math.max(plan.arenaBytes, 1)}
/* Layers (nodes of the deployed graph, in execution order), numbered as in model.c's comments. */
#define ${P}_NUM_LAYERS ${g.nodes.length}
/* Input shape [${json.tensors[inT].shape.slice(1).join(', ')}] (NHWC), output shape [${json.tensors[outT].shape.slice(1).join(', ')}]. */
/* real = scale * (q - zero_point) */
#define ${P}_INPUT_SCALE ${f(json.tensors[inT].scale)}f
#define ${P}_INPUT_ZERO_POINT ${json.tensors[inT].zeroPoint}
#define ${P}_OUTPUT_SCALE ${f(json.tensors[outT].scale)}f
#define ${P}_OUTPUT_ZERO_POINT ${json.tensors[outT].zeroPoint}

/* Runs the model on one int8 sample (${P}_INPUT_SIZE bytes) into out (${P}_OUTPUT_SIZE bytes). Returns 0. Not reentrant: one static arena. */
int ${prefix}_invoke(const int8_t *in, int8_t *out);

#endif
`;
  const kernelsH = `/* Generated by tinylab. int8 kernels, bit-exact with tinylab's integer reference engine. */
#ifndef TL_KERNELS_H
#define TL_KERNELS_H
#include <stdint.h>

int32_t tl_mbqm(int32_t x, int32_t m, int32_t s);
${kernels.map((k) => KERNEL_DECLS[k]).join('\n')}

#endif
`;
  const kernelsC = `/* Generated by tinylab. int8 kernels, bit-exact with tinylab's integer reference engine. */
#include <stdint.h>
#include "kernels.h"
${kernels.some((k) => k.endsWith('_dsp')) ? '\n' + DOT_DSP_C : ''}
${fixedpointC(rounding)}
${kernels.map((k) => KERNEL_DEFS[k]).join('\n')}`;
  const arenaMap = plan.buffers
    .slice()
    .sort((a, b) => a.offset - b.offset || a.name.localeCompare(b.name))
    .map((b) => ` *   [${b.offset}, ${b.offset + b.bytes}) ${cmt(b.name)} (${b.kind}, nodes ${b.first}..${b.last})`)
    .join('\n');
  const modelC = `/* Generated by tinylab from model '${cmt(json.name)}' (${json.method} calibration, requantisation rounded ${rounding === 'single' ? 'once' : 'twice, as TFLite'}). Do not edit. */
#include <stdint.h>
#include <string.h>
#include "${'model.h'}"
#include "kernels.h"

/* Constants: const so the linker places them in flash (.rodata). */
${consts.join('\n')}
/* Activation arena, ${plan.arenaBytes} bytes, laid out by tinylab's planner (${plan.strategy} greedy):
${arenaMap}
 */
static int8_t arena[${P}_ARENA_SIZE] __attribute__((aligned(16)));

/* Called before layer i and, with i = ${P}_NUM_LAYERS, after the last: empty unless a build defines it (the
 * emulator harness defines it to read a timer, to count instructions per layer). */
#ifndef ${P}_LAYER_HOOK
#define ${P}_LAYER_HOOK(i) ((void)0)
#endif

int ${prefix}_invoke(const int8_t *in, int8_t *out) {
  memcpy(${ptr(inT)}, in, ${P}_INPUT_SIZE);
${body.join('\n')}
  ${P}_LAYER_HOOK(${P}_NUM_LAYERS);
  memcpy(out, ${ptr(outT)}, ${P}_OUTPUT_SIZE);
  return 0;
}
`;
  return { files: { 'model.h': modelH, 'model.c': modelC, 'kernels.h': kernelsH, 'kernels.c': kernelsC }, arenaBytes: plan.arenaBytes };
}

/** Generate and write model.h, model.c, kernels.h, kernels.c into `dir` (created); returns the files written. */
export function writeC(qm: QuantizedModel, dir: string, opts: GenerateCOptions = {}): { files: Array<{ path: string; bytes: number }>; arenaBytes: number } {
  const c = generateC(qm, opts);
  fs.mkdirSync(dir, { recursive: true });
  const files = Object.entries(c.files).map(([name, text]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return { path: file, bytes: Buffer.byteLength(text) };
  });
  return { files, arenaBytes: c.arenaBytes };
}
