/**
 * The PNG copy a chart's SVG carries for nbconvert (kernel/display/raster.ts): the wrapper still shows the chart as
 * SVG, the PNG is a real rendering of it, and the report gets the original SVG back byte for byte.
 */
import * as fs from 'fs';
import * as path from 'path';
import { RASTER_FALLBACK_ID, withRasterFallback, withoutRasterFallback } from '../../kernel/display/raster';

test('withRasterFallback wraps a vega SVG with its PNG; withoutRasterFallback restores it exactly', async () => {
  // vega's SVG of test/fixtures/chart.vl.json (vega is ESM-only, which jest's CommonJS sandbox cannot import).
  const svg = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'chart.svg'), 'utf8');
  const wrapped = withRasterFallback(svg);
  expect(wrapped).toContain(`<desc id="${RASTER_FALLBACK_ID}">`);
  const w = /<svg[^>]*\swidth="(\d+)"/.exec(svg)![1];
  const h = /<svg[^>]*\sheight="(\d+)"/.exec(svg)![1];
  expect(wrapped.startsWith(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"`)).toBe(true);
  // The PNG: rendered at 2x, so twice the SVG's size (IHDR width and height, big-endian at bytes 16 and 20).
  const png = Buffer.from(/src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/.exec(wrapped)![1], 'base64');
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  expect(png.readUInt32BE(16)).toBe(2 * Number(w));
  expect(png.readUInt32BE(20)).toBe(2 * Number(h));
  // No loose text outside the data URLs (nbconvert's sanitizer would keep it as words on the page).
  expect(wrapped.replace(/<[^>]*>/g, '').trim()).toBe('');
  expect(withoutRasterFallback(wrapped)).toBe(svg);
  // Idempotent, and anything else passes through untouched.
  expect(withRasterFallback(wrapped)).toBe(wrapped);
  expect(withoutRasterFallback(svg)).toBe(svg);
}, 60_000);
