/** nbformat 4 notebooks: the types the runner and the report share, reading with clear errors, upgrading to 4.5. */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../../src/common/errors';

export type MultilineString = string | string[];

export interface StreamOutput {
  output_type: 'stream';
  name: 'stdout' | 'stderr';
  text: MultilineString;
}
export interface DisplayDataOutput {
  output_type: 'display_data';
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}
export interface ExecuteResultOutput {
  output_type: 'execute_result';
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  execution_count: number | null;
}
export interface ErrorOutput {
  output_type: 'error';
  ename: string;
  evalue: string;
  traceback: string[];
}
export type Output = StreamOutput | DisplayDataOutput | ExecuteResultOutput | ErrorOutput;

export interface Cell {
  id?: string;
  cell_type: 'code' | 'markdown' | 'raw';
  source: MultilineString;
  metadata: Record<string, unknown>;
  outputs?: Output[];
  execution_count?: number | null;
  attachments?: Record<string, unknown>;
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: Cell[];
}

/** What `tinylab run` records in `metadata.tinylab.run` (the report's header reads it back). */
export interface RunMetadata {
  started: string;
  ended: string;
  duration_s: number;
  status: RunStatus;
  parameters: Record<string, unknown>;
  input?: string;
  kernel: { name: string; display_name: string; language: string; implementation?: string; implementation_version?: string };
  versions: { tinylab: string; node: string; tfjs?: string; backend?: string };
  /** Kernel process start to kernel_info reply, and the wait for its warm-up before the first cell. */
  timings?: { kernel_start_s: number; kernel_warmup_s: number };
  cells: { total: number; executed: number };
  failure?: { cell_index: number; execution_count: number | null; first_line: string; ename: string; evalue: string };
}

export type RunStatus = 'ok' | 'error' | 'timeout' | 'dead' | 'interrupted';

export function joinSource(s: MultilineString | undefined): string {
  return Array.isArray(s) ? s.join('') : (s ?? '');
}

/** First non-blank line of a cell, trimmed and shortened for messages and progress bars. */
export function firstLine(cell: Cell, max = 60): string {
  const line = joinSource(cell.source).split('\n').find((l) => l.trim() !== '') ?? '';
  const t = line.trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

export function cellTags(cell: Cell): string[] {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) ? tags.map(String) : [];
}

export function newCellId(): string {
  return randomBytes(4).toString('hex');
}

/** Parse notebook JSON text; anything that is not an nbformat 4 notebook is an InputError naming what is wrong. */
export function parseNotebook(text: string, where = 'the input'): Notebook {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${where} is not a notebook: it is not valid JSON (${(err as Error).message}). Pass an .ipynb file saved by Jupyter.`);
  }
  const o = raw as Partial<Notebook>;
  if (typeof o !== 'object' || o === null || Array.isArray(o) || typeof o.nbformat !== 'number' || !Array.isArray(o.cells)) {
    throw new InputError(`${where} is JSON but not a Jupyter notebook (no "nbformat" number and "cells" list). Pass an .ipynb file.`);
  }
  if (o.nbformat !== 4) {
    throw new InputError(
      `${where} is nbformat ${o.nbformat}; tinylab runs nbformat 4. Convert it first: jupyter nbconvert --to notebook --nbformat 4 FILE`,
    );
  }
  o.cells.forEach((c, i) => {
    if (typeof c !== 'object' || c === null || !['code', 'markdown', 'raw'].includes((c as Cell).cell_type)) {
      throw new InputError(`${where}: cell ${i} has no valid cell_type (code, markdown or raw); the file is damaged.`);
    }
  });
  return upgradeTo45(o as Notebook);
}

export function readNotebook(file: string): Notebook {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`no such notebook: ${file} (check the path)`);
    if (code === 'EISDIR') throw new InputError(`${file} is a directory; pass a notebook file (.ipynb)`);
    throw new InputError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseNotebook(text, file);
}

/** Bring any 4.x notebook to 4.5: every cell gets a unique id, metadata objects exist, source is a string. */
export function upgradeTo45(nb: Notebook): Notebook {
  nb.metadata = nb.metadata && typeof nb.metadata === 'object' ? nb.metadata : {};
  delete nb.metadata.orig_nbformat;
  if (nb.nbformat_minor < 5) nb.nbformat_minor = 5;
  const seen = new Set<string>();
  for (const c of nb.cells) {
    c.metadata = c.metadata && typeof c.metadata === 'object' ? c.metadata : {};
    c.source = joinSource(c.source);
    if (typeof c.id !== 'string' || !/^[a-zA-Z0-9-_]{1,64}$/.test(c.id) || seen.has(c.id)) c.id = newCellId();
    seen.add(c.id);
    if (c.cell_type === 'code') {
      c.outputs = Array.isArray(c.outputs) ? c.outputs : [];
      if (c.execution_count === undefined) c.execution_count = null;
    } else {
      delete c.outputs;
      delete c.execution_count;
    }
  }
  return nb;
}

/** Write with Jupyter's layout (1-space indent, trailing newline), creating the directory. */
export function writeNotebook(nb: Notebook, file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(nb, null, 1) + '\n');
}
