/**
 * A MagicContext for magic tests without a kernel: session variables in a Map, and every display, update and print
 * recorded in order (the kernel's real context publishes them over iopub instead).
 */
import type { MagicContext } from '../../kernel/magics/types';

export interface Shown {
  id: string;
  value: unknown;
  update: boolean;
}

export interface RecordingContext {
  ctx: MagicContext;
  vars: Map<string, unknown>;
  /** Displays and updates in order; prints too, with id 'stdout'. */
  shown: Shown[];
  printed: string[];
}

export function recordingContext(
  opts: { vars?: Map<string, unknown>; shown?: Shown[]; signal?: AbortSignal; cwd?: string; body?: string } = {},
): RecordingContext {
  const vars = opts.vars ?? new Map<string, unknown>();
  const shown = opts.shown ?? [];
  const printed: string[] = [];
  let n = 0;
  const ctx: MagicContext = {
    body: opts.body,
    signal: opts.signal ?? new AbortController().signal,
    display: (value, o) => {
      const id = o?.id ?? `d${n++}`;
      shown.push({ id, value, update: false });
      return id;
    },
    updateDisplay: (id, value) => void shown.push({ id, value, update: true }),
    print: (text) => {
      printed.push(text);
      shown.push({ id: 'stdout', value: text, update: false });
    },
    getVariable: (name) => vars.get(name),
    setVariable: (name, value) => void vars.set(name, value),
    cwd: opts.cwd ?? process.cwd(),
  };
  return { ctx, vars, shown, printed };
}
