/**
 * Static SVG for Vega-Lite outputs that carry none (e.g. a notebook whose charts came from Altair or an older kernel),
 * rendered with the same vega code the kernel's vegaLite() uses, so every chart in a report shows without JavaScript.
 */
import { vegaLiteToSvg } from '../display/vegalite';
import { Notebook } from '../run/notebook';

const VEGALITE_RE = /^application\/vnd\.vegalite\.v\d+(\.\d+)?\+json$/;

/** Fill in `image/svg+xml` where a Vega-Lite output lacks it (in place); returns how many were rendered. */
export async function addStaticCharts(nb: Notebook): Promise<number> {
  let n = 0;
  for (const c of nb.cells) {
    for (const o of c.outputs ?? []) {
      if (o.output_type !== 'display_data' && o.output_type !== 'execute_result') continue;
      const key = Object.keys(o.data ?? {}).find((k) => VEGALITE_RE.test(k));
      if (!key || o.data['image/svg+xml'] !== undefined) continue;
      try {
        const raw = o.data[key];
        o.data['image/svg+xml'] = await vegaLiteToSvg((typeof raw === 'string' ? JSON.parse(raw) : raw) as object);
        n++;
      } catch {
        // A spec vega cannot render stays without a static image; the report says so and the live chart may still work.
      }
    }
  }
  return n;
}
