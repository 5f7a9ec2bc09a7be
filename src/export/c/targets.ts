/**
 * The emulated Cortex-M targets the generated C is verified on: QEMU's MPS2 FPGA boards. Each entry holds what the
 * build and the run need — gcc's -mcpu, QEMU's machine and cpu, where code and data live in that machine's memory
 * map, and the frequency of the clock that drives SysTick (for turning timer ticks into instructions under
 * `-icount shift=0`).
 */
import { InputError } from '../../common/errors';
import { closestMatch } from '../../common/suggest';

export interface QemuTarget {
  /** Short id used in reports and options: 'm3', 'm4', 'm7', 'm33'. */
  id: string;
  core: 'cortex-m3' | 'cortex-m4' | 'cortex-m7' | 'cortex-m33';
  /** qemu-system-arm -M */
  machine: string;
  /** arm-none-eabi-gcc -mcpu (also qemu -cpu) */
  cpu: string;
  /** Whether the core has the M-profile DSP extension (SMLAD & co.). */
  dsp: boolean;
  /** Code + constants: origin and size of the memory QEMU loads the image into (the vector table goes first). */
  flash: { origin: number; bytes: number };
  /** Data, bss, stack. */
  ram: { origin: number; bytes: number };
  /**
   * SysTick's clock (QEMU wires the board's SYSCLK as the processor clock). With -icount shift=0 the virtual clock
   * advances 1 ns per executed instruction, so one tick is 1e9 / sysclkHz instructions: the timing granularity.
   */
  sysclkHz: number;
}

/**
 * Memory maps (QEMU hw/arm/mps2.c, mps2-tz.c):
 *  - AN385/AN386/AN500: ZBT SSRAM1 at 0x00000000 (4 MiB, code), ZBT SSRAM2&3 at 0x20000000 (4 MiB, data).
 *  - AN505 (SSE-200, Cortex-M33 with TrustZone): the core resets in secure state with VTOR_S = 0x10000000, the
 *    secure alias of ZBT SSRAM1 (4 MiB); data in the secure alias of SSRAM2&3 at 0x38000000. We stay secure: no SAU
 *    set-up is needed, everything the harness touches is secure.
 */
export const QEMU_TARGETS: readonly QemuTarget[] = [
  { id: 'm3', core: 'cortex-m3', machine: 'mps2-an385', cpu: 'cortex-m3', dsp: false, flash: { origin: 0x00000000, bytes: 4 << 20 }, ram: { origin: 0x20000000, bytes: 4 << 20 }, sysclkHz: 25e6 },
  { id: 'm4', core: 'cortex-m4', machine: 'mps2-an386', cpu: 'cortex-m4', dsp: true, flash: { origin: 0x00000000, bytes: 4 << 20 }, ram: { origin: 0x20000000, bytes: 4 << 20 }, sysclkHz: 25e6 },
  { id: 'm7', core: 'cortex-m7', machine: 'mps2-an500', cpu: 'cortex-m7', dsp: true, flash: { origin: 0x00000000, bytes: 4 << 20 }, ram: { origin: 0x20000000, bytes: 4 << 20 }, sysclkHz: 25e6 },
  { id: 'm33', core: 'cortex-m33', machine: 'mps2-an505', cpu: 'cortex-m33', dsp: true, flash: { origin: 0x10000000, bytes: 4 << 20 }, ram: { origin: 0x38000000, bytes: 4 << 20 }, sysclkHz: 20e6 },
];

/** A target by id ('m4'), core ('cortex-m4') or machine ('mps2-an386'); unknown names suggest the nearest. */
export function findTarget(name: string): QemuTarget {
  const q = name.toLowerCase();
  const t = QEMU_TARGETS.find((x) => x.id === q || x.core === q || x.machine === q);
  if (t) return t;
  const all = QEMU_TARGETS.flatMap((x) => [x.id, x.core, x.machine]);
  const near = closestMatch(name, all);
  throw new InputError(`unknown emulated target '${name}'${near ? `; did you mean '${near}'?` : ''} (targets: ${QEMU_TARGETS.map((x) => x.id).join(', ')})`);
}
