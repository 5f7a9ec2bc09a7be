/**
 * Captures process.stdout/stderr and turns writes into iopub `stream` messages for the current output parent
 * (the last execute request, as ipykernel does, so a timer that prints after its cell still shows up). Writes are
 * batched for up to 30 ms or 64 KB, and flushed before any other iopub message so order is kept.
 *
 * Display and clear_output messages are published asynchronously (a chart's SVG renders in the background), so text a
 * cell prints after calling `display()`/`clearOutput()` must wait for that message: `gate()` flushes what was printed
 * so far and holds later text until the matching `release()`, in call order (like ipykernel, which flushes stdout
 * before publishing any display message).
 */
import { kernelTimers } from './timers';

export type StreamName = 'stdout' | 'stderr';
type WriteFn = typeof process.stdout.write;

export class StreamCapture {
  private parent: object | undefined;
  private buf: { name: StreamName; text: string } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly origOut: WriteFn;
  private readonly origErr: WriteFn;
  private readonly decoder = new TextDecoder();
  /** Text printed after each still-pending gate, oldest gate first. */
  private readonly gated: { name: StreamName; text: string; parent: object }[][] = [];

  constructor(private readonly emit: (content: { name: StreamName; text: string }, parent: object) => void) {
    this.origOut = process.stdout.write.bind(process.stdout) as WriteFn;
    this.origErr = process.stderr.write.bind(process.stderr) as WriteFn;
  }

  /** The kernel's own log line: the real stderr, never a cell. */
  log(text: string): void {
    this.origErr(`[tinylab] ${text}\n`);
  }

  install(): void {
    const make = (name: StreamName, orig: WriteFn): WriteFn =>
      ((chunk: unknown, encOrCb?: unknown, cb?: unknown): boolean => {
        const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? this.decoder.decode(chunk) : String(chunk);
        const callback = typeof encOrCb === 'function' ? encOrCb : typeof cb === 'function' ? cb : undefined;
        if (this.parent) this.write(name, text);
        else orig(text);
        if (callback) (callback as () => void)();
        return true;
      }) as WriteFn;
    process.stdout.write = make('stdout', this.origOut);
    process.stderr.write = make('stderr', this.origErr);
  }

  setParent(parent: object): void {
    if (this.parent !== parent) this.flush();
    this.parent = parent;
  }

  /** Flush what was printed so far, then hold later text until `release()` (one per gate, in order). */
  gate(): void {
    if (!this.gated.length) this.flush();
    this.gated.push([]);
  }

  /** The oldest gate's message went out: emit the text printed after it (and before the next gate). */
  release(): void {
    const held = this.gated.shift();
    if (!held) return;
    let merged: { name: StreamName; text: string; parent: object } | undefined;
    for (const chunk of held) {
      if (merged && merged.name === chunk.name && merged.parent === chunk.parent) merged.text += chunk.text;
      else {
        if (merged) this.emit({ name: merged.name, text: merged.text }, merged.parent);
        merged = { ...chunk };
      }
    }
    if (merged) this.emit({ name: merged.name, text: merged.text }, merged.parent);
  }

  write(name: StreamName, text: string): void {
    if (!text) return;
    const held = this.gated[this.gated.length - 1];
    if (held && this.parent) {
      held.push({ name, text, parent: this.parent });
      return;
    }
    if (this.buf && this.buf.name !== name) this.flush();
    if (this.buf) this.buf.text += text;
    else this.buf = { name, text };
    if (this.buf.text.length >= 65536) this.flush();
    else this.timer ??= kernelTimers.setTimeout(() => this.flush(), 30);
  }

  flush(): void {
    if (this.timer) {
      kernelTimers.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const b = this.buf;
    this.buf = undefined;
    if (b && this.parent) this.emit(b, this.parent);
  }
}
