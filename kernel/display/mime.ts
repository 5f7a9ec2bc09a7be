/**
 * Turning any value into a MIME bundle: ready bundles pass through, objects with `toMimeBundle()` are asked, everything
 * else becomes text/plain via util.inspect (what a REPL would print).
 */
import { inspect } from 'util';
import { bundle, isMimeBundle, isRichDisplayable, type MimeBundle } from './bundle';

/** text/plain for a value: strings quoted like a REPL result, tensors through their own toString(). */
export function plainText(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    // tfjs tensors: util.inspect shows internals (dataId, kernel refs); their toString() shows the values.
    for (let p: object | null = value; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
      if ((p.constructor as { name?: string } | undefined)?.name === 'Tensor' && typeof (value as { toString(): unknown }).toString === 'function') {
        return String((value as { toString(): unknown }).toString());
      }
    }
  }
  return inspect(value, { depth: 4, maxArrayLength: 100, maxStringLength: 100_000, breakLength: 100 });
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** The bundle for a value; text/plain is always present (spec requirement for display_data). */
export async function toMimeBundle(value: unknown): Promise<MimeBundle> {
  let b: MimeBundle;
  if (isMimeBundle(value)) b = value;
  else if (isRichDisplayable(value)) b = await value.toMimeBundle();
  else return bundle({ 'text/plain': plainText(value) });
  const data = { ...b.data };
  if (typeof data['text/plain'] !== 'string') data['text/plain'] = isRichDisplayable(value) ? plainText(value) : '<rich output>';
  return { data, metadata: b.metadata ?? {} };
}

/** Whether a value has anything to show as an execute_result (undefined/null show nothing, like IPython's None). */
export function isDisplayable(value: unknown): boolean {
  return value !== undefined && value !== null;
}
