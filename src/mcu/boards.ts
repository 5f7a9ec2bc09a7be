/**
 * The boards the cost simulator knows, from one data file (boards.json, with the source of every figure).
 * `findBoard` accepts any spelling that normalises to a board name ('nucleo-h743zi2', 'NUCLEO_H743ZI2', 'h743zi2')
 * and otherwise throws an InputError that suggests the nearest names.
 */
import { InputError } from '../common/errors';
import { closestMatch, editDistance } from '../common/suggest';
import boardData from './boards.json';

export type CoreKind = 'cortex-m0+' | 'cortex-m4' | 'cortex-m7' | 'cortex-m33' | 'cortex-m55' | 'cortex-m85' | 'xtensa-lx7';

export interface SramBank {
  name: string;
  kib: number;
}

export interface Board {
  name: string;
  mcu: string;
  core: CoreKind;
  fpu: boolean;
  dsp: boolean;
  helium: boolean;
  clockMhz: number;
  flashKiB: number;
  sramKiB: number;
  sramBanks: SramBank[] | null;
  /** Present when the part has an NPU/accelerator; estimates are CPU-only. */
  accelerator: string | null;
  sources: string[];
  notes: string | null;
  /** '../shared/mcu/mcu_boards.json' (calibration list) or 'added for tinylab'. */
  from: string;
}

const BOARDS: readonly Board[] = (boardData as { boards: Board[] }).boards;

/** Every board, in file order. */
export function listBoards(): Board[] {
  return BOARDS.map((b) => ({ ...b }));
}

function norm(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9+]/g, '');
}

/** Look a board up by name, case/punctuation-insensitive; unknown names throw with the nearest suggestions. */
export function findBoard(name: string): Board {
  const q = norm(name);
  const exact = BOARDS.find((b) => norm(b.name) === q);
  if (exact) return { ...exact };
  // A unique board whose name contains the query ('h743zi2', 'pico-2' …) or whose MCU matches.
  const partial = BOARDS.filter((b) => norm(b.name).includes(q) || norm(b.mcu) === q);
  if (q.length >= 4 && partial.length === 1) return { ...partial[0] };
  throw new InputError(`unknown board '${name}'; ${suggestBoards(name)}. Run \`tinylab boards\` for the full list`);
}

/** "did you mean 'X'? (also 'Y', 'Z')" for an unknown board name. */
export function suggestBoards(name: string): string {
  const q = norm(name);
  // Boards whose MCU part number starts with the query ('stm32l4' → the L4 boards) are what a person means by a
  // family name; they rank before spelling neighbours.
  const family = q.length >= 4 ? BOARDS.filter((b) => norm(b.mcu).startsWith(q)).map((b) => b.name) : [];
  const ranked = BOARDS.map((b) => {
    const n = norm(b.name);
    let score = editDistance(q, n);
    if (n.includes(q) || q.includes(n)) score = Math.min(score, Math.abs(n.length - q.length) * 0.5);
    return { name: b.name, score };
  }).sort((a, b) => a.score - b.score);
  const best = family[0] ?? closestMatch(name, BOARDS.map((b) => b.name)) ?? ranked[0].name;
  const others = [...family, ...ranked.map((r) => r.name)].filter((n, i, all) => n !== best && all.indexOf(n) === i).slice(0, 2);
  return `did you mean '${best}'? (also ${others.map((o) => `'${o}'`).join(', ')})`;
}
