/**
 * GNU ld map file → bytes per input section and object file, and the figures we compare with the cost simulator:
 * the model's constants (.rodata of model.o: weights, biases, requantisation, tables), the model's code (.text of
 * model.o and kernels.o), library code the model pulls in (newlib memcpy, libgcc 64-bit division), and the arena
 * (.bss of model.o). The harness (startup.o, main.o with its compiled-in inputs) is counted apart. Builds use
 * -ffunction-sections -fdata-sections, so every function and array is its own input section.
 */

export interface MapEntry {
  /** Input section, e.g. '.rodata.model_0_conv_w'. */
  section: string;
  address: number;
  bytes: number;
  /** Object file base name ('model.o'), or 'libc_nano.a(lib_a-memcpy.o)' for archive members. */
  file: string;
}

export interface ModelSizes {
  /** const arrays of model.c (flash). */
  weightsBytes: number;
  /** Code of model.c + kernels.c (flash). */
  codeBytes: number;
  /** Library code linked because the model uses it (memcpy, memmove, __aeabi_ldivmod …). */
  libraryCodeBytes: number;
  /** The same per archive member, e.g. 'libgcc.a(_udivmoddi4.o)' → bytes. */
  libraryMembers: Record<string, number>;
  /** Static arena (and any other zero-initialised data) of model.c (RAM). */
  arenaBytes: number;
  /** Initialised data of model.c (RAM + flash): 0 for generated code. */
  dataBytes: number;
  /** The harness: start-up, main, test inputs. */
  harnessBytes: number;
  entries: MapEntry[];
}

function base(file: string): string {
  const m = /([^/]+\.a)\(([^)]+)\)$/.exec(file);
  if (m) return `${m[1]}(${m[2]})`;
  return file.split('/').pop() ?? file;
}

/** Input sections of the "Linker script and memory map" part (only those with a size and a file). */
export function parseLinkMap(text: string): MapEntry[] {
  const start = text.indexOf('Linker script and memory map');
  const lines = (start >= 0 ? text.slice(start) : text).split('\n');
  const out: MapEntry[] = [];
  const tail = /^\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$/;
  for (let i = 0; i < lines.length; i++) {
    // An input section starts with one space then its name; a long name puts address/size/file on the next line.
    const m = /^ (\.[^\s]+)(.*)$/.exec(lines[i]);
    if (!m) continue;
    let rest = m[2];
    if (!rest.trim() && i + 1 < lines.length) rest = lines[++i];
    const t = tail.exec(rest);
    if (!t) continue;
    const file = t[3].trim();
    if (file === 'linker stubs' || /^load address/.test(file)) continue;
    out.push({ section: m[1], address: parseInt(t[1], 16), bytes: parseInt(t[2], 16), file: base(file) });
  }
  return out;
}

const kind = (section: string): 'code' | 'const' | 'data' | 'bss' | 'other' =>
  /^\.text/.test(section) ? 'code' : /^\.rodata/.test(section) ? 'const' : /^\.data/.test(section) ? 'data' : /^\.bss|^COMMON/.test(section) ? 'bss' : 'other';

export function modelSizes(mapText: string): ModelSizes {
  const entries = parseLinkMap(mapText);
  const s: ModelSizes = { weightsBytes: 0, codeBytes: 0, libraryCodeBytes: 0, libraryMembers: {}, arenaBytes: 0, dataBytes: 0, harnessBytes: 0, entries };
  for (const e of entries) {
    const k = kind(e.section);
    if (e.file === 'model.o' || e.file === 'kernels.o') {
      if (k === 'code') s.codeBytes += e.bytes;
      else if (k === 'const') {
        // String literals of model.c (none today) would be code-side constants, not weights; all rodata is model data.
        s.weightsBytes += e.bytes;
      } else if (k === 'bss') s.arenaBytes += e.bytes;
      else if (k === 'data') s.dataBytes += e.bytes;
    } else if (e.file === 'startup.o' || e.file === 'main.o') s.harnessBytes += e.bytes;
    else if (/\.a\(/.test(e.file) && k === 'code') {
      s.libraryCodeBytes += e.bytes;
      s.libraryMembers[e.file] = (s.libraryMembers[e.file] ?? 0) + e.bytes;
    }
  }
  return s;
}
