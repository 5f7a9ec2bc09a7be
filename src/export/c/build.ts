/**
 * Cross-compiles a generated model plus the bare-metal harness with arm-none-eabi-gcc for one emulated target, and
 * links it with a linker script sized like the target (or like a real board). A link that runs out of FLASH or RAM
 * becomes a one-line InputError saying by how much and what to do.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { InputError, TinylabError } from '../../common/errors';
import { HARNESS_H, STARTUP_C, linkerScript, mainC, regionsFor } from './harness';
import type { QemuTarget } from './targets';

export const ARM_GCC = 'arm-none-eabi-gcc';

/** Flags of every Cortex-M build: -O2, one section per function/array so the map attributes bytes and gc drops the unused. */
export function cortexMFlags(target: QemuTarget): string[] {
  return [`-mcpu=${target.cpu}`, '-mthumb', '-mfloat-abi=soft', '-O2', '-std=c99', '-ffunction-sections', '-fdata-sections', '-Wall', '-Wextra', '-Werror'];
}

/** Throws an InputError naming the Debian package when a tool is missing. */
export function requireTool(tool: string, pkg: string): void {
  const r = spawnSync(tool, ['--version'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) throw new InputError(`'${tool}' is not installed; install it with: apt-get install ${pkg}`);
}

export interface CrossBuildOptions {
  target: QemuTarget;
  /** Inputs compiled into the image (int8, model input size each). */
  inputs: Int8Array[];
  inputSize: number;
  /** Per-layer SysTick marks (see harness.ts). */
  instrument?: boolean;
  /** Size FLASH and RAM like this board instead of the emulator's 4 MiB each. */
  board?: { name: string; flashKiB: number; sramKiB: number };
  stackBytes?: number;
  /** Extra -D flags, e.g. a kernel variant. */
  defines?: string[];
}

export interface CrossBuild {
  dir: string;
  elf: string;
  map: string;
}

/** Parse GNU ld's "region `X' overflowed by N bytes" lines. */
export function overflowedRegions(stderr: string): Array<{ region: string; bytes: number }> {
  const out: Array<{ region: string; bytes: number }> = [];
  for (const m of stderr.matchAll(/region [`']?(\w+)'? overflowed by (\d+) bytes/g)) out.push({ region: m[1], bytes: Number(m[2]) });
  return out;
}

/**
 * Write the sources into `dir` (which holds model.h/model.c/kernels.h/kernels.c already) and build model.elf +
 * model.map. Throws InputError when the image does not fit the board, TinylabError on any other compiler failure.
 */
export function crossBuild(dir: string, o: CrossBuildOptions): CrossBuild {
  requireTool(ARM_GCC, 'gcc-arm-none-eabi libnewlib-arm-none-eabi');
  const regions = regionsFor(o.target, o.board, o.stackBytes);
  fs.writeFileSync(path.join(dir, 'harness.h'), HARNESS_H);
  fs.writeFileSync(path.join(dir, 'startup.c'), STARTUP_C);
  fs.writeFileSync(path.join(dir, 'main.c'), mainC(o.inputs, o.inputSize, { instrument: !!o.instrument }));
  fs.writeFileSync(path.join(dir, 'link.ld'), linkerScript(regions));
  const flags = cortexMFlags(o.target);
  const defs = [...(o.defines ?? [])];
  const objs: string[] = [];
  for (const src of ['model.c', 'kernels.c', 'startup.c', 'main.c']) {
    const obj = src.replace(/\.c$/, '.o');
    // Only model.c calls the hook; it gets harness.h force-included so TL_MARK is visible.
    const hook = src === 'model.c' && o.instrument ? ['-include', 'harness.h', '-DMODEL_LAYER_HOOK(i)=TL_MARK(i)'] : [];
    // The start-up's copy/zero loops must stay loops: as memcpy/memset calls they would pull library code that the
    // map would count as the model's.
    const own = src === 'startup.c' ? ['-fno-tree-loop-distribute-patterns'] : [];
    run(ARM_GCC, [...flags, ...defs.map((d) => `-D${d}`), ...hook, ...own, '-c', src, '-o', obj], dir, `compiling ${src} for ${o.target.cpu}`);
    objs.push(obj);
  }
  const link = spawnSync(
    ARM_GCC,
    [...flags, '-nostartfiles', '--specs=nano.specs', '-Wl,--gc-sections', '-Wl,-Map=model.map', '-T', 'link.ld', '-o', 'model.elf', ...objs, '-lgcc'],
    { cwd: dir, encoding: 'utf8' },
  );
  if (link.status !== 0) {
    const over = overflowedRegions(link.stderr);
    if (over.length) {
      const where = o.board ? `board ${o.board.name} (${o.board.flashKiB} KiB flash, ${o.board.sramKiB} KiB SRAM)` : `${o.target.machine}`;
      const what = over.map((r) => `${r.region === 'RAM' ? 'RAM (arena + stack + data)' : r.region === 'FLASH' ? 'flash (weights + code)' : r.region} overflows by ${r.bytes} bytes`).join(', ');
      throw new InputError(`model does not fit ${where}: ${what}; pick a board with more memory or shrink the model (fewer filters, smaller input)`);
    }
    throw new TinylabError(`linking for ${o.target.cpu} failed:\n${link.stderr.trim()}`);
  }
  return { dir, elf: path.join(dir, 'model.elf'), map: path.join(dir, 'model.map') };
}

function run(cmd: string, args: string[], cwd: string, what: string): void {
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer };
    throw new TinylabError(`${what} failed:\n${err.stderr?.toString().trim() ?? String(e)}`);
  }
}
