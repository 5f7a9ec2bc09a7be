/**
 * Errors as Jupyter shows them: ename, evalue and a traceback whose locations are the cell's own lines and columns.
 * Type errors come with exact positions from the checker. Runtime stack frames point into the JavaScript tslab
 * emitted (types erased, exports rewritten, no source map), so each frame's line is matched back to the TypeScript
 * cell by its tokens; a TinylabError (an error meant for people) is shown as one line without a stack.
 */
import type { Diagnostic } from 'tslab/dist/converter';

export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

export interface CellRecord {
  /** How the cell is named in tracebacks, e.g. `Cell [3]`. */
  label: string;
  /** The TypeScript the user wrote (whole cell; magic lines blanked). */
  ts: string;
  /** The JavaScript that ran, wrapper included. */
  js: string;
}

const TOKEN_RE = /[A-Za-z_$][\w$]*|\d+(?:\.\d+)?|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g;
const IGNORED = new Set(['exports', 'const', 'let', 'var', 'void', '0', 'tsLastExpr']);

function tokens(line: string): { text: string; index: number }[] {
  const out: { text: string; index: number }[] = [];
  for (const m of line.matchAll(TOKEN_RE)) if (!IGNORED.has(m[0])) out.push({ text: m[0], index: m.index ?? 0 });
  return out;
}

/**
 * Map a 1-based (line, column) in the emitted JavaScript to the TypeScript cell: the TS line sharing most tokens with
 * the JS line (ties go to the line nearest the same relative position), and the column of the token under the JS column.
 */
export function mapToCell(rec: CellRecord, jsLine: number, jsCol: number): { line: number; column: number } | undefined {
  const jsLines = rec.js.split('\n');
  const tsLines = rec.ts.split('\n');
  const line = jsLines[jsLine - 1];
  if (line === undefined) return undefined;
  const jsTok = tokens(line);
  if (jsTok.length === 0) return undefined;
  const expected = ((jsLine - 1) / Math.max(1, jsLines.length - 1)) * (tsLines.length - 1);
  let best = -1;
  let bestScore = 0;
  let bestDist = Infinity;
  tsLines.forEach((tl, i) => {
    const have = new Map<string, number>();
    for (const t of tokens(tl)) have.set(t.text, (have.get(t.text) ?? 0) + 1);
    let score = 0;
    for (const t of jsTok) {
      const n = have.get(t.text) ?? 0;
      if (n > 0) {
        score += t.text.length > 2 ? 2 : 1;
        have.set(t.text, n - 1);
      }
    }
    const dist = Math.abs(i - expected);
    if (score > bestScore || (score === bestScore && score > 0 && dist < bestDist)) {
      best = i;
      bestScore = score;
      bestDist = dist;
    }
  });
  if (best < 0) return undefined;
  // Column: the token at (or just after) the JS column, found in the TS line (same occurrence count).
  const col0 = jsCol - 1;
  const under = jsTok.find((t) => t.index + t.text.length > col0) ?? jsTok[jsTok.length - 1];
  const nth = jsTok.filter((t) => t.text === under.text && t.index < under.index).length;
  const tsTok = tokens(tsLines[best]).filter((t) => t.text === under.text);
  const hit = tsTok[Math.min(nth, tsTok.length - 1)];
  const firstNonSpace = tsLines[best].search(/\S/);
  return { line: best + 1, column: (hit ? hit.index : Math.max(0, firstNonSpace)) + 1 };
}

function caretLines(src: string, line: number, column: number, width = 1): string[] {
  const text = src.split('\n')[line - 1];
  if (text === undefined) return [];
  return [`    ${text}`, `    ${' '.repeat(Math.max(0, column - 1))}${'^'.repeat(Math.max(1, Math.min(width, text.length - column + 1)))}`];
}

/** Type errors: one traceback entry per diagnostic, with the cell line, column and a caret under the span. */
export function formatDiagnostics(diags: readonly Diagnostic[], src: string, label: string): ErrorContent {
  const traceback: string[] = [];
  for (const d of diags) {
    const line = d.start.line + 1;
    const col = d.start.character + 1;
    const where = d.fileName ? `${d.fileName} ` : `${label}, `;
    const width = d.end.line === d.start.line ? d.end.character - d.start.character : 1;
    traceback.push([`${where}line ${line}, column ${col}: error TS${d.code}: ${d.messageText}`, ...(d.fileName ? [] : caretLines(src, line, col, width))].join('\n'));
  }
  const first = diags[0];
  const evalue = first ? `${label}, line ${first.start.line + 1}, column ${first.start.character + 1}: ${first.messageText}` : 'compile error';
  return { ename: 'TSError', evalue, traceback: traceback.length ? traceback : [evalue] };
}

/** True for the library's errors meant for people (by prototype chain name, so two copies of the module still match). */
export function isTinylabError(err: unknown): err is Error {
  for (let p = err as object | null; p; p = Object.getPrototypeOf(p) as object | null) {
    if ((p.constructor as { name?: string } | undefined)?.name === 'TinylabError') return true;
  }
  return false;
}

const FRAME_RE = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/;

/** A runtime error: name, message, and the stack with cell frames rewritten to cell lines (internal frames dropped). */
export function formatRuntimeError(err: unknown, cells: ReadonlyMap<string, CellRecord>): ErrorContent {
  if (typeof err !== 'object' || err === null || !('message' in err)) {
    const evalue = String(err);
    return { ename: 'Error', evalue, traceback: [`Uncaught ${evalue}`] };
  }
  const e = err as Partial<Error>;
  const ename = e.name || e.constructor?.name || 'Error';
  const evalue = String(e.message ?? '');
  if (isTinylabError(e)) return { ename, evalue, traceback: [`${ename}: ${evalue}`] };
  const traceback = [`${ename}: ${evalue}`];
  const stack = typeof e.stack === 'string' ? e.stack.split('\n') : [];
  let shown = 0;
  for (const raw of stack) {
    const m = FRAME_RE.exec(raw);
    if (!m) continue;
    const [, fn, file, l, c] = m;
    const rec = cells.get(file);
    if (rec) {
      const pos = mapToCell(rec, Number(l), Number(c));
      const name = fn && !/^(?:exports\.)?tsLastExpr|^Object\.<anonymous>$/.test(fn) && fn !== '<anonymous>' ? ` in ${fn.replace(/^exports\./, '')}` : '';
      if (pos) {
        traceback.push(`  at ${rec.label}, line ${pos.line}, column ${pos.column}${name}`, ...caretLines(rec.ts, pos.line, pos.column));
        shown++;
      }
    } else if (!file.startsWith('node:') && !file.includes('/kernel/') && !file.includes('/tslab/') && !file.startsWith('evalmachine')) {
      traceback.push(raw.replace(/^\s*/, '  '));
      shown++;
    }
    if (shown >= 20) break;
  }
  return { ename, evalue, traceback };
}
