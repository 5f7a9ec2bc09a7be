/**
 * Runs a harness image under qemu-system-arm on an MPS2 board and parses what it printed over semihosting
 * (QEMU writes the semihosting console to its stderr). `-icount shift=0` makes the virtual clock advance 1 ns per
 * executed instruction, which is what turns SysTick ticks into instruction counts (harness.ts).
 */
import { spawn } from 'child_process';
import { InputError, TinylabError } from '../../common/errors';
import { CAL_LOOPS, HARNESS_PREFIX } from './harness';
import { requireTool } from './build';
import type { QemuTarget } from './targets';

export const QEMU = 'qemu-system-arm';

export interface QemuRun {
  exitCode: number;
  /** Outputs per sample, in order. */
  outputs: Int8Array[];
  /** Per sample, instructions of each layer (ticks × instructions per tick); empty unless instrumented. */
  layerInstructions: number[][];
  /** The calibration loop: expected instructions (2·N) and measured (ticks × instructions per tick). */
  calibration?: { expected: number; measured: number };
  /** Instructions per SysTick tick: the counting granularity. */
  instructionsPerTick: number;
  wallMs: number;
}

export function qemuArgs(target: QemuTarget, elf: string): string[] {
  return ['-M', target.machine, '-cpu', target.cpu, '-nographic', '-monitor', 'none', '-serial', 'none', '-semihosting-config', 'enable=on,target=native', '-icount', 'shift=0', '-kernel', elf];
}

/** Run an image; resolves when QEMU exits (semihosting SYS_EXIT), rejects on timeout or a guest fault. */
export function runQemu(target: QemuTarget, elf: string, opts: { timeoutMs?: number; outputSize: number }): Promise<QemuRun> {
  requireTool(QEMU, 'qemu-system-arm');
  const t0 = Date.now();
  const perTick = 1e9 / target.sysclkHz;
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, qemuArgs(target, elf), { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new TinylabError(`${target.machine}: QEMU did not finish within ${opts.timeoutMs ?? 120000} ms (model too slow for the emulator, or the guest hung)`));
    }, opts.timeoutMs ?? 120000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new InputError(`could not start ${QEMU} (${e.message}); install it with: apt-get install qemu-system-arm`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const outputs: Int8Array[] = [];
      const layerInstructions: number[][] = [];
      let calibration: QemuRun['calibration'];
      let done = false;
      for (const line of text.split('\n')) {
        const f = line.trim().split(' ');
        if (f[0] !== HARNESS_PREFIX) continue;
        if (f[1] === 'OUT') {
          const hex = f[3] ?? '';
          const o = new Int8Array(hex.length / 2);
          for (let i = 0; i < o.length; i++) o[i] = (parseInt(hex.slice(2 * i, 2 * i + 2), 16) << 24) >> 24;
          outputs[Number(f[2])] = o;
        } else if (f[1] === 'T') layerInstructions[Number(f[2])] = f.slice(3).map((t) => Number(t) * perTick);
        else if (f[1] === 'CAL') calibration = { expected: 2 * CAL_LOOPS, measured: Number(f[3]) * perTick };
        else if (f[1] === 'FAULT') return reject(new TinylabError(`${target.machine}: the guest took a fault (HardFault/MemManage/BusFault/UsageFault)`));
        else if (f[1] === 'DONE') done = true;
      }
      if (code !== 0 || !done) return reject(new TinylabError(`${target.machine}: harness exited with status ${code}${done ? '' : ' before finishing'}:\n${text.trim().slice(-2000)}`));
      for (const o of outputs) if (o.length !== opts.outputSize) return reject(new TinylabError(`${target.machine}: an output has ${o.length} bytes, expected ${opts.outputSize}`));
      resolve({ exitCode: code, outputs, layerInstructions, calibration, instructionsPerTick: perTick, wallMs: Date.now() - t0 });
    });
  });
}
