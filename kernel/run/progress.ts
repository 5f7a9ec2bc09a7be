/**
 * What `tinylab run` shows while it works: a redrawn bar on a TTY (cells done/total, the running cell's first line,
 * elapsed time), one line per finished cell otherwise, nothing with --quiet.
 */
import { CellEvent, CellStatus } from './execute';
import { firstLine } from './notebook';

export type ProgressMode = 'tty' | 'lines' | 'quiet';

export function progressMode(stream: NodeJS.WriteStream, quiet: boolean): ProgressMode {
  if (quiet) return 'quiet';
  return stream.isTTY ? 'tty' : 'lines';
}

function fmtSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}

export class RunProgress {
  private readonly t0 = Date.now();
  private done = 0;
  private total = 0;
  private running = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly mode: ProgressMode,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Before the first cell: kernel start can take seconds, say what is happening. */
  starting(kernel: string): void {
    if (this.mode === 'tty') this.out.write(`\r\x1b[2Kstarting kernel ${kernel}…`);
  }

  cellStart(e: CellEvent): void {
    this.total = e.total;
    this.running = firstLine(e.cell, 50);
    if (this.mode === 'tty') {
      this.draw();
      this.timer ??= setInterval(() => this.draw(), 250);
      this.timer.unref();
    }
  }

  cellEnd(e: CellEvent & { status: CellStatus; seconds: number }): void {
    this.done = e.ordinal;
    this.total = e.total;
    if (this.mode === 'lines') {
      const mark = e.status === 'ok' ? 'ok' : e.status.toUpperCase();
      this.out.write(`[${e.ordinal}/${e.total}] ${mark.padEnd(5)} ${fmtSeconds(e.seconds).padStart(6)}  cell ${e.index}: ${firstLine(e.cell, 60)}\n`);
    } else if (this.mode === 'tty') {
      this.running = '';
      this.draw();
    }
  }

  private draw(): void {
    const width = 24;
    const frac = this.total ? this.done / this.total : 0;
    const fill = Math.round(frac * width);
    const bar = '█'.repeat(fill) + '░'.repeat(width - fill);
    const elapsed = fmtSeconds((Date.now() - this.t0) / 1000);
    const cols = this.out.columns || 100;
    let line = `${bar} ${this.done}/${this.total} ${elapsed}${this.running ? `  ▶ ${this.running}` : ''}`;
    if (line.length > cols - 1) line = line.slice(0, cols - 2) + '…';
    this.out.write(`\r\x1b[2K${line}`);
  }

  /** Stop redrawing and leave the cursor on a fresh line. */
  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.mode === 'tty') {
      this.running = '';
      this.draw();
      this.out.write('\n');
    }
  }
}
