/**
 * Splitting a cell into TypeScript chunks and magics. `%%name args` on the first line makes the whole cell a cell
 * magic; otherwise any line starting with `%name` (or `%name?`) is a line magic and the lines between them run as
 * TypeScript, each chunk keeping its line numbers in the cell.
 */
export type Segment =
  | { kind: 'code'; code: string; line: number }
  | { kind: 'magic'; name: string; args: string; line: number; help: boolean };

export interface SplitCell {
  /** Set when the cell starts with `%%name`. */
  cellMagic?: { name: string; args: string; body: string; help: boolean };
  segments: Segment[];
}

const LINE_MAGIC_RE = /^\s*%([A-Za-z_][\w.-]*)(\?{1,2})?(?:[ \t]+(.*))?\s*$/;
const CELL_MAGIC_RE = /^\s*%%([A-Za-z_][\w.-]*)(\?{1,2})?(?:[ \t]+(.*))?\s*$/;

export function splitCell(code: string): SplitCell {
  const lines = code.split('\n');
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first >= 0) {
    const m = CELL_MAGIC_RE.exec(lines[first]);
    if (m) return { cellMagic: { name: m[1], help: !!m[2], args: (m[3] ?? '').trim(), body: lines.slice(first + 1).join('\n') }, segments: [] };
  }
  const segments: Segment[] = [];
  let chunk: string[] = [];
  let chunkStart = 0;
  const flush = (): void => {
    if (chunk.some((l) => l.trim() !== '')) segments.push({ kind: 'code', code: chunk.join('\n'), line: chunkStart });
    chunk = [];
  };
  lines.forEach((l, i) => {
    const m = LINE_MAGIC_RE.exec(l);
    if (m && !l.trimStart().startsWith('%%')) {
      flush();
      segments.push({ kind: 'magic', name: m[1], help: !!m[2], args: (m[3] ?? '').trim(), line: i });
      chunkStart = i + 1;
    } else {
      if (chunk.length === 0) chunkStart = i;
      chunk.push(l);
    }
  });
  flush();
  return { segments };
}

/** Whether the cell contains magics at all (plain TypeScript takes the fast path). */
export function hasMagic(code: string): boolean {
  return /^\s*%/m.test(code);
}
