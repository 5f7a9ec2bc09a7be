/**
 * A PNG copy of a chart's SVG, carried inside the SVG itself, for front ends that drop inline SVG.
 *
 * nbconvert 6.x (Debian's) passes `image/svg+xml` through lxml's `clean_html`, which deletes every SVG drawing element,
 * and it ranks `text/html` above SVG while JupyterLab ranks `text/html` above Vega-Lite, so neither another MIME type
 * nor an HTML copy can fix it without costing JupyterLab its interactive chart. `clean_html` keeps `<img>` though,
 * even inside SVG, so the PNG goes into the SVG's `<desc>`, which SVG renderers never draw; nbconvert's page shows
 * the image beside the (now empty) SVG element.
 *
 * Rendering uses resvg (prebuilt binaries from the npm registry). Where it cannot load, charts keep plain SVG.
 */
import type { Resvg as ResvgClass } from '@resvg/resvg-js';

/** Marks the fallback so our own report can drop it (it inlines the SVG itself). */
export const RASTER_FALLBACK_ID = 'tinylab-raster-fallback';

let resvg: typeof ResvgClass | null | undefined;
function loadResvg(): typeof ResvgClass | null {
  if (resvg === undefined) {
    try {
      resvg = (require('@resvg/resvg-js') as { Resvg: typeof ResvgClass }).Resvg;
    } catch {
      resvg = null;
    }
  }
  return resvg;
}

/** PNG bytes of an SVG at `zoom` (2: sharp on high-density screens), or undefined when resvg is unavailable. */
export function svgToPng(svg: string, zoom = 2): Buffer | undefined {
  const Resvg = loadResvg();
  if (!Resvg) return undefined;
  const r = new Resvg(svg, { fitTo: { mode: 'zoom', value: zoom }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  return r.render().asPng();
}

/**
 * The chart as an SVG that survives nbconvert 6's sanitizer: an outer SVG of the same size whose `<desc>` holds the PNG
 * rendering and whose one `<image>` shows the original SVG from a data: URL. The original goes in base64 because
 * clean_html keeps the text of every element it deletes (axis labels would spill into the page as loose words).
 * Unchanged when resvg cannot render it.
 */
export function withRasterFallback(svg: string): string {
  const open = /<svg\b[^>]*>/.exec(svg);
  if (!open || svg.includes(RASTER_FALLBACK_ID)) return svg;
  let png: Buffer | undefined;
  try {
    png = svgToPng(svg);
  } catch {
    return svg; // an SVG resvg cannot read still shows where SVG is shown
  }
  if (!png) return svg;
  const num = (attr: string): string => /^\s*(\d+(?:\.\d+)?)/.exec(new RegExp(`\\s${attr}="([^"]+)"`).exec(open[0])?.[1] ?? '')?.[1] ?? '';
  const w = num('width');
  const h = num('height');
  const dims = `${w ? ` width="${w}"` : ''}${h ? ` height="${h}"` : ''}`;
  const viewBox = w && h ? ` viewBox="0 0 ${w} ${h}"` : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg"${dims}${viewBox}>` +
    `<desc id="${RASTER_FALLBACK_ID}"><img xmlns="http://www.w3.org/1999/xhtml"${dims} alt="chart" src="data:image/png;base64,${png.toString('base64')}"/></desc>` +
    // Sized by style, not attributes: clean_html strips style but keeps width/height, which would leave an empty
    // bordered box in nbconvert's page where the <image> (without a src to show) ends up as an <img>.
    `<image${w && h ? ` style="width:${w}px;height:${h}px"` : ''} href="data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}"/>` +
    `</svg>`
  );
}

/** The original SVG back from withRasterFallback's wrapper (anything else unchanged), e.g. for our report. */
export function withoutRasterFallback(svg: string): string {
  if (!svg.includes(RASTER_FALLBACK_ID)) return svg;
  const inner = /<image\b[^>]*\shref="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)"/.exec(svg);
  return inner ? Buffer.from(inner[1], 'base64').toString('utf8') : svg;
}
