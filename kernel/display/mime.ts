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

const VEGALITE_KEY = /^application\/vnd\.vegalite\.v\d+(\.\d+)?\+json$/;

/**
 * The outputs one bundle should become. A bundle that holds a Vega-Lite chart beside an HTML table (the MCU report,
 * a sweep result, a distillation comparison) would show only its HTML everywhere: JupyterLab ranks text/html above
 * Vega-Lite and nbconvert ranks it above images. So it becomes two outputs, the table and then the chart, and every
 * chart gets its static SVG (with the PNG copy for nbconvert: raster.ts) if it came without one.
 */
export async function outputBundles(b: MimeBundle): Promise<MimeBundle[]> {
  const vl = Object.keys(b.data).find((k) => VEGALITE_KEY.test(k));
  if (!vl) return [b];
  const hasHtml = b.data['text/html'] !== undefined;
  if (!hasHtml && b.data['image/svg+xml'] !== undefined) return [b];
  const raw = b.data[vl];
  let chart: MimeBundle;
  try {
    // Loaded here, not at the top: vega is ESM-only and heavy; most bundles never need it.
    const { renderVegaLite } = await import('./vegalite');
    chart = await renderVegaLite((typeof raw === 'string' ? JSON.parse(raw) : raw) as object);
  } catch {
    return [b]; // a spec vega cannot render: the bundle as it is (the live renderer may still manage)
  }
  if (!hasHtml) return [{ data: { ...b.data, 'image/svg+xml': chart.data['image/svg+xml'] }, metadata: b.metadata ?? {} }];
  const { [vl]: _chart, ...rest } = b.data;
  void _chart;
  return [{ data: rest, metadata: b.metadata ?? {} }, chart];
}
