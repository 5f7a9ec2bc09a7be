/**
 * Vega-Lite charts: the JSON spec for JupyterLab's interactive renderer plus an SVG rendered here with vega, so
 * nbconvert, the classic notebook and our HTML report show the same chart statically.
 */
import { bundle, type MimeBundle, type RichDisplayable } from './bundle';
import { withRasterFallback } from './raster';

export const VEGALITE_MIME = 'application/vnd.vegalite.v5+json';

/**
 * vega and vega-lite 6 are ESM-only. Under module=commonjs TypeScript rewrites `import()` into `require()`, which
 * cannot load ESM, so the import is built at run time where the compiler cannot see it.
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/* The two modules' surfaces we use, typed narrowly (their own d.ts are ESM-only and not importable from CommonJS). */
interface VegaLiteModule {
  compile(spec: unknown): { spec: unknown };
}
interface VegaView {
  toSVG(scale?: number): Promise<string>;
  finalize(): void;
}
interface VegaModule {
  parse(spec: unknown): unknown;
  View: new (runtime: unknown, opts: { renderer: 'none' }) => VegaView;
}

let modules: Promise<[VegaLiteModule, VegaModule]> | undefined;
function loadVega(): Promise<[VegaLiteModule, VegaModule]> {
  modules ??= Promise.all([dynamicImport('vega-lite'), dynamicImport('vega')]) as Promise<[VegaLiteModule, VegaModule]>;
  return modules;
}

/** Render a Vega-Lite spec to SVG text (server side, no browser). */
export async function vegaLiteToSvg(spec: object): Promise<string> {
  const [vl, vega] = await loadVega();
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The bundle: Vega-Lite JSON + static SVG (carrying a PNG copy for nbconvert: raster.ts) + a text/plain line. */
export async function renderVegaLite(spec: object): Promise<MimeBundle> {
  const svgText = withRasterFallback(await vegaLiteToSvg(spec));
  const title = (spec as { title?: unknown }).title;
  return bundle({
    [VEGALITE_MIME]: spec,
    'image/svg+xml': svgText,
    'text/plain': `Vega-Lite chart${typeof title === 'string' ? `: ${title}` : ''}`,
  });
}

export class VegaLiteChart implements RichDisplayable {
  constructor(readonly spec: object) {}
  toMimeBundle(): Promise<MimeBundle> {
    return renderVegaLite(this.spec);
  }
}

/** A displayable chart: the last expression of a cell or `display(vegaLite(spec))` shows it. */
export function vegaLite(spec: object): VegaLiteChart {
  return new VegaLiteChart(spec);
}
