/**
 * The bridge between code running in a cell (or a magic) and the kernel's iopub/stdin channels. The kernel installs a
 * sink while it runs; the preloaded `display`, `updateDisplay`, `clearOutput` and `input` go through it. Outside a
 * kernel (plain scripts, tests) display falls back to printing text/plain.
 */
import { randomBytes } from 'crypto';
import type { MimeBundle } from './bundle';
import { isPromiseLike, toMimeBundle } from './mime';
import { TinylabError } from '../../src/common/errors';

export interface DisplaySink {
  /** Publish display_data (or update_display_data when `update`); the sink captures the current parent at call time. */
  publish(bundle: Promise<MimeBundle>, opts: { displayId: string; update: boolean }): void;
  clearOutput(wait: boolean): void;
  /** Ask the front end for a line of input (input_request); rejects when the front end does not allow stdin. */
  requestInput(prompt: string, password: boolean): Promise<string>;
}

let sink: DisplaySink | undefined;

export function setDisplaySink(s: DisplaySink | undefined): void {
  sink = s;
}

export function newDisplayId(): string {
  return randomBytes(8).toString('hex');
}

function asBundle(value: unknown): Promise<MimeBundle> {
  return isPromiseLike(value) ? Promise.resolve(value).then(toMimeBundle) : toMimeBundle(value);
}

/** Show a value (bundle, object with toMimeBundle(), or anything) as display_data; returns its display id. */
export function display(value: unknown, opts: { id?: string } = {}): string {
  const displayId = opts.id ?? newDisplayId();
  if (sink) sink.publish(asBundle(value), { displayId, update: false });
  else void asBundle(value).then((b) => process.stdout.write(String(b.data['text/plain']) + '\n'));
  return displayId;
}

/** Replace what an earlier display(value, {id}) showed, in place. */
export function updateDisplay(id: string, value: unknown): void {
  if (sink) sink.publish(asBundle(value), { displayId: id, update: true });
  else void asBundle(value).then((b) => process.stdout.write(String(b.data['text/plain']) + '\n'));
}

/** Clear the cell's output (wait: clear when the next output arrives, avoiding flicker). */
export function clearOutput(wait = false): void {
  sink?.clearOutput(wait);
}

/** Read a line from the user through the front end (`await input('name? ')`). */
export function input(prompt = '', opts: { password?: boolean } = {}): Promise<string> {
  if (!sink) return Promise.reject(new TinylabError('input() needs a kernel with a front end; pass values as parameters instead'));
  return sink.requestInput(prompt, opts.password ?? false);
}
