/**
 * The magics contract. Every magic — built-in or tinyML — is declared once as a MagicSpec: its arguments (a typed
 * schema the parser checks), its help, and a `run` that calls the src/ API and returns something to display.
 * `%lsmagic`, `%name?` and `%help name` are generated from these declarations.
 */
import type { MimeBundle } from '../display/bundle';

export type ArgType = 'string' | 'number' | 'int' | 'boolean' | 'enum' | 'list';

export interface ArgSpec {
  /** Long flag name without dashes (`--calibration` → 'calibration'), or the positional's name. */
  name: string;
  type: ArgType;
  help: string;
  /** Positional arguments are filled in declaration order. */
  positional?: boolean;
  required?: boolean;
  default?: string | number | boolean | string[];
  /** For 'enum' (and validated items of 'list'). */
  choices?: readonly string[];
  /** Inclusive bounds for 'number' / 'int'. */
  min?: number;
  max?: number;
  /** One-letter alias, e.g. 'o' for `-o`. */
  alias?: string;
}

export type ParsedArgs = Record<string, string | number | boolean | string[] | undefined>;

export interface MagicContext {
  /** The cell body under a `%%name` line (undefined for line magics). */
  body?: string;
  /** Aborted when the user interrupts the cell; long work must stop at its next boundary and keep what it has. */
  signal: AbortSignal;
  /** Show a value (MIME bundle, rich object, or plain value) as display_data; returns its display id. */
  display(value: unknown, opts?: { id?: string }): string;
  /** Replace a display in place (update_display_data). */
  updateDisplay(id: string, value: unknown): void;
  /** Write text to the cell's stdout stream. */
  print(text: string): void;
  /** Read a variable of the user's session by name (so `%mcu model` finds the model the user built). */
  getVariable(name: string): unknown;
  /** Define or overwrite a variable in the user's session (so `%train ... --out m` leaves `m` for later cells). */
  setVariable(name: string, value: unknown): void;
  /** The kernel's current working directory. */
  cwd: string;
}

export interface MagicSpec {
  name: string;
  /** 'line' for `%name`, 'cell' for `%%name`, 'both' when it accepts either form. */
  kind: 'line' | 'cell' | 'both';
  /** One line for %lsmagic. */
  summary: string;
  /** Longer help shown by `%name?` / `%help name`, after the generated argument table. */
  help?: string;
  args: ArgSpec[];
  examples?: string[];
  /** Returns a value shown as the cell's result (undefined: nothing). Throwing TinylabError shows a one-line error. */
  run(args: ParsedArgs, ctx: MagicContext): Promise<unknown> | unknown;
}

export type { MimeBundle };
