/**
 * Execution history for `history_request` (tail, range, search) — in memory for the kernel's lifetime, like a
 * fresh IPython session; bounded so a long-running kernel does not grow without limit.
 */
export interface HistoryEntry {
  session: number;
  line: number;
  input: string;
  output: string | null;
}

export type HistoryRow = [number, number, string] | [number, number, [string, string | null]];

export interface HistoryQuery {
  hist_access_type?: 'tail' | 'range' | 'search';
  output?: boolean;
  n?: number;
  session?: number;
  start?: number;
  stop?: number;
  pattern?: string;
  unique?: boolean;
}

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]');
  return new RegExp(`^${re}$`);
}

export class History {
  private readonly entries: HistoryEntry[] = [];
  constructor(readonly session = 1, private readonly limit = 10_000) {}

  add(line: number, input: string): void {
    this.entries.push({ session: this.session, line, input, output: null });
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
  }

  setOutput(line: number, output: string): void {
    let e: HistoryEntry | undefined;
    for (let i = this.entries.length - 1; i >= 0 && !e; i--) if (this.entries[i].line === line) e = this.entries[i];
    if (e) e.output = output.length > 10_000 ? output.slice(0, 10_000) + '…' : output;
  }

  get size(): number {
    return this.entries.length;
  }

  query(q: HistoryQuery): HistoryRow[] {
    let rows: HistoryEntry[];
    switch (q.hist_access_type ?? 'tail') {
      case 'range': {
        // session 0 (or omitted) and negative sessions are relative to the current one, as in IPython.
        const session = !q.session || q.session <= 0 ? this.session + (q.session ?? 0) : q.session;
        const start = q.start ?? 0;
        const stop = q.stop ?? Infinity;
        rows = this.entries.filter((e) => e.session === session && e.line >= start && e.line < stop);
        break;
      }
      case 'search': {
        const re = globToRegExp(q.pattern ?? '*');
        rows = this.entries.filter((e) => re.test(e.input));
        if (q.unique) {
          const seen = new Set<string>();
          rows = rows.reverse().filter((e) => !seen.has(e.input) && seen.add(e.input) !== undefined).reverse();
        }
        if (q.n) rows = rows.slice(-q.n);
        break;
      }
      default:
        rows = q.n ? this.entries.slice(-q.n) : this.entries.slice();
    }
    return rows.map((e) => (q.output ? [e.session, e.line, [e.input, e.output]] : [e.session, e.line, e.input]));
  }
}
