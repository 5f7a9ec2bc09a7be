/**
 * Runs a quantized model's generated C on the host (gcc) and on the emulated Cortex-M boards (arm-none-eabi-gcc +
 * qemu-system-arm) and compares every output byte with the TypeScript integer engine (runInt8). Also returns the
 * linker-map sizes and, when instrumented, the executed instructions of each layer.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError } from '../../common/errors';
import { numElements } from '../../graph/types';
import { quantizeValues, runInt8 } from '../../quantize/engine';
import type { QuantizedModel } from '../../quantize/types';
import { crossBuild, requireTool } from './build';
import { generateC } from './index';
import { modelSizes, type ModelSizes } from './linkmap';
import { runQemu } from './qemu';
import type { QemuTarget } from './targets';

export interface Samples {
  /** Float samples, row-major (as a Dataset's x). */
  x: Float32Array;
  sampleShape: number[];
}

function split(qm: QuantizedModel, s: Samples): { inputs: Int8Array[]; reference: Int8Array[]; inputSize: number; outputSize: number } {
  const g = qm.graph;
  const inputSize = numElements(g.tensors[g.inputs[0]].shape.slice(1));
  const outputSize = numElements(g.tensors[g.outputs[0]].shape.slice(1));
  if (s.x.length % inputSize !== 0 || s.x.length === 0) throw new InputError(`samples of ${s.x.length} values do not split into model inputs of ${inputSize}; pass whole samples shaped like the model input`);
  const ref = runInt8(qm, s.x, s.sampleShape).int8;
  if (!ref) throw new InputError(`model '${qm.name}' has a float output; quantize it with output: 'int8' to compare C outputs`);
  const n = s.x.length / inputSize;
  const inQ = qm.tensors[g.inputs[0]];
  const inputs: Int8Array[] = [];
  const reference: Int8Array[] = [];
  for (let i = 0; i < n; i++) {
    inputs.push(quantizeValues(s.x.subarray(i * inputSize, (i + 1) * inputSize), inQ));
    reference.push(ref.subarray(i * outputSize, (i + 1) * outputSize));
  }
  return { inputs, reference, inputSize, outputSize };
}

function countMismatches(got: Int8Array[], want: Int8Array[]): number {
  let bad = 0;
  for (let s = 0; s < want.length; s++) {
    const g = got[s];
    if (!g || g.length !== want[s].length) {
      bad += want[s].length;
      continue;
    }
    for (let i = 0; i < g.length; i++) if (g[i] !== want[s][i]) bad++;
  }
  return bad;
}

export interface VerifyResult {
  where: string;
  samples: number;
  /** Output bytes that differ from runInt8 (0 = bit-exact). */
  mismatches: number;
  bitExact: boolean;
}

export interface TargetResult extends VerifyResult {
  target: QemuTarget;
  sizes: ModelSizes;
  /** Mean over samples of each layer's executed instructions (instrumented runs only). */
  layerInstructions?: number[];
  calibration?: { expected: number; measured: number };
  instructionsPerTick: number;
  wallMs: number;
}

function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tinylab-c-${tag}-`));
}

function writeModel(qm: QuantizedModel, dir: string, dsp = false): void {
  for (const [name, text] of Object.entries(generateC(qm, { dsp }).files)) fs.writeFileSync(path.join(dir, name), text);
}

const HOST_MAIN = `#include <stdio.h>
#include <stdint.h>
#include "model.h"
int main(int argc, char **argv) {
  if (argc != 3) return 2;
  FILE *fi = fopen(argv[1], "rb"), *fo = fopen(argv[2], "wb");
  if (!fi || !fo) return 3;
  static int8_t in[MODEL_INPUT_SIZE], out[MODEL_OUTPUT_SIZE];
  while (fread(in, 1, MODEL_INPUT_SIZE, fi) == MODEL_INPUT_SIZE) {
    if (model_invoke(in, out) != 0) return 4;
    fwrite(out, 1, MODEL_OUTPUT_SIZE, fo);
  }
  fclose(fi);
  fclose(fo);
  return 0;
}
`;

/** Host build (gcc, -O2, strict warnings) run on the samples through files. */
export function verifyOnHost(qm: QuantizedModel, s: Samples, opts: { keepDir?: string; dsp?: boolean } = {}): VerifyResult {
  requireTool('gcc', 'gcc');
  const { inputs, reference, outputSize } = split(qm, s);
  const dir = tempDir('host');
  try {
    writeModel(qm, dir, opts.dsp);
    fs.writeFileSync(path.join(dir, 'main.c'), HOST_MAIN);
    execFileSync('gcc', ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-pedantic', '-o', 'model_run', 'main.c', 'model.c', 'kernels.c'], { cwd: dir, stdio: 'pipe' });
    const buf = Buffer.concat(inputs.map((x) => Buffer.from(x.buffer, x.byteOffset, x.length)));
    fs.writeFileSync(path.join(dir, 'in.bin'), buf);
    execFileSync(path.join(dir, 'model_run'), ['in.bin', 'out.bin'], { cwd: dir, stdio: 'pipe' });
    const raw = fs.readFileSync(path.join(dir, 'out.bin'));
    const all = new Int8Array(raw.buffer, raw.byteOffset, raw.length);
    const got = reference.map((_, i) => all.subarray(i * outputSize, (i + 1) * outputSize));
    const mismatches = countMismatches(got, reference);
    return { where: 'host-gcc', samples: inputs.length, mismatches, bitExact: mismatches === 0 && all.length === reference.length * outputSize };
  } finally {
    if (opts.keepDir) fs.cpSync(dir, opts.keepDir, { recursive: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface TargetOptions {
  /** Time each layer (adds one SysTick read per layer; sizes of an instrumented build include it). */
  instrument?: boolean;
  /** Size the link like this board (boards.json): a model that does not fit fails to link with an InputError. */
  board?: { name: string; flashKiB: number; sramKiB: number };
  /** The DSP-extension kernel variant (generateC dsp). */
  dsp?: boolean;
  timeoutMs?: number;
  keepDir?: string;
}

/** Cross-compile for one emulated board, run under QEMU, compare with runInt8. */
export async function verifyOnTarget(qm: QuantizedModel, s: Samples, target: QemuTarget, opts: TargetOptions = {}): Promise<TargetResult> {
  const { inputs, reference, inputSize, outputSize } = split(qm, s);
  if (opts.instrument && qm.graph.nodes.length + 1 > 512) throw new InputError(`model '${qm.name}' has ${qm.graph.nodes.length} layers; the instrumented harness times at most 511`);
  const dir = tempDir(target.id);
  try {
    writeModel(qm, dir, opts.dsp);
    const b = crossBuild(dir, { target, inputs, inputSize, instrument: opts.instrument, board: opts.board });
    const sizes = modelSizes(fs.readFileSync(b.map, 'utf8'));
    const run = await runQemu(target, b.elf, { outputSize, timeoutMs: opts.timeoutMs });
    const mismatches = countMismatches(run.outputs, reference);
    let layerInstructions: number[] | undefined;
    if (opts.instrument) {
      const n = qm.graph.nodes.length;
      layerInstructions = new Array<number>(n).fill(0);
      for (const per of run.layerInstructions) for (let i = 0; i < n; i++) layerInstructions[i] += per[i] / run.layerInstructions.length;
    }
    return {
      where: target.machine,
      target,
      samples: inputs.length,
      mismatches,
      bitExact: mismatches === 0 && run.outputs.length === reference.length,
      sizes,
      layerInstructions,
      calibration: run.calibration,
      instructionsPerTick: run.instructionsPerTick,
      wallMs: run.wallMs,
    };
  } finally {
    if (opts.keepDir) fs.cpSync(dir, opts.keepDir, { recursive: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
