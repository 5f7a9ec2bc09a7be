/**
 * What every notebook cell sees besides the tinylab library: display helpers and input. The kernel imports this
 * module's compiled d.ts for the type checker and binds these names lazily in the cell scope.
 */
export { display, updateDisplay, clearOutput, input } from './runtime';
export { html, markdown, svg, table } from './helpers';
export type { TableRow, TableOptions } from './helpers';
export { vegaLite } from './vegalite';
export { bundle as mimeBundle } from './bundle';
export type { MimeBundle, RichDisplayable } from './bundle';

/** Resolve after `ms` milliseconds (an interrupt cancels the pending timer, which stops an `await sleep()` loop). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
