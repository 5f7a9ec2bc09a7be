/**
 * The HTML report: structure checked on the markup, then opened from disk in Debian's chromium (playwright-core,
 * no browser download) to prove the charts render offline, with and without JavaScript, and nothing errors.
 */
import * as fs from 'fs';
import * as path from 'path';
import { chromium, BrowserContext } from 'playwright-core';
import { FIXTURES, ROOT, readJson, requireBuild, runCli, tmpDir } from '../run/helpers';
import { renderReport } from '../../kernel/report/render';
import type { Notebook } from '../../kernel/run/notebook';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
let dir: string;
let chartHtml: string;
let chartNb: Notebook;
let paramsNb: Notebook;
let errorNb: Notebook;

beforeAll(async () => {
  requireBuild();
  dir = tmpDir('tinylab-report-');
  const chart = await runCli(['run', path.join(FIXTURES, 'py-chart.ipynb'), '--kernel', 'python3', '-o', path.join(dir, 'chart.ipynb'), '--html', path.join(dir, 'chart.html'), '-q']);
  expect(chart.code).toBe(0);
  chartHtml = fs.readFileSync(path.join(dir, 'chart.html'), 'utf8');
  chartNb = readJson<Notebook>(path.join(dir, 'chart.ipynb'));
  const params = await runCli(['run', path.join(FIXTURES, 'py-params.ipynb'), '--kernel', 'python3', '-o', path.join(dir, 'params.ipynb'), '-p', 'epochs=7', '-q']);
  expect(params.code).toBe(0);
  paramsNb = readJson<Notebook>(path.join(dir, 'params.ipynb'));
  const err = await runCli(['run', path.join(FIXTURES, 'py-error.ipynb'), '--kernel', 'python3', '-o', path.join(dir, 'error.ipynb'), '-q']);
  expect(err.code).toBe(1);
  errorNb = readJson<Notebook>(path.join(dir, 'error.ipynb'));
}, 120_000);

test('title, header, table of contents, markdown, collapsible code and the static chart are in the page', () => {
  const html = chartHtml;
  expect(html).toMatch(/<title>Chart report<\/title>/);
  expect(html).toContain('<h1 class="report-title">Chart report</h1>');
  for (const row of ['Run', 'Duration', 'Status', 'Kernel', 'Versions', 'Parameters']) expect(html).toContain(`<th>${row}</th>`);
  expect(html).toContain('Node ' + process.version);
  // Every TOC link points at a heading id that exists.
  const links = [...html.matchAll(/<li class="l\d"><a href="#([^"]+)">/g)].map((m) => m[1]);
  expect(links).toEqual(['chart-report', 'the-chart', 'a-table']);
  for (const id of links) expect(html).toContain(`id="${id}"`);
  expect(html).toContain('<strong>markdown</strong>');
  expect(html).toContain('<li>one</li>');
  expect(html).toMatch(/<details class="source"[^>]*><summary><span class="prompt">In \[1\]<\/span>/);
  expect(html).toContain('<th>board</th>'); // text/html output passed through
  expect(html).toContain('<pre class="output stream stderr">to stderr');
  // The static SVG the kernel produced sits inside the chart, and the spec is embedded for the live chart.
  const svg = fs.readFileSync(path.join(FIXTURES, 'chart.svg'), 'utf8').trim();
  expect(html).toContain(`<div class="static">${svg}`);
  expect(html).toContain('"description":"accuracy per model"');
  // Offline: the vega builds are inline and nothing is fetched from anywhere.
  expect(html).not.toMatch(/<script[^>]+src=/);
  expect(html).not.toMatch(/<link[^>]+href=/);
  expect(html).toContain('vegaLite');
  expect(html.length).toBeGreaterThan(700_000);
});

test('the results block pins summary outputs at the top; parameters are listed', () => {
  const html = renderReport(paramsNb);
  const results = html.indexOf('<section class="results"');
  expect(results).toBeGreaterThan(0);
  expect(results).toBeLessThan(html.indexOf('<main>'));
  expect(html).toContain('<table class="metrics"><tr><th>accuracy</th><td>0.875</td></tr><tr><th>epochs</th><td>7</td></tr></table>');
  expect(html).toContain('<tr><th>epochs</th><td><code>7</code></td></tr>');
  expect(html).not.toContain('<script>'); // no charts: no scripts
  // A notebook without summary outputs gets no results block.
  expect(renderReport(chartNb)).not.toContain('class="results"');
});

test('errors are styled with their traceback; the failing cell is marked; markup from outputs is escaped', () => {
  const html = renderReport(errorNb);
  expect(html).toContain('<section class="cell code failed" id="cell-2"');
  expect(html).toMatch(/<div class="output error"><div class="ename">ValueError: boom at 2<\/div><pre class="traceback">[\s\S]*boom/);
  expect(html).not.toContain('\x1b['); // ANSI colours stripped
  const nb: Notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [{ id: 'a', cell_type: 'code', source: 'x', metadata: {}, execution_count: 1, outputs: [{ output_type: 'stream', name: 'stdout', text: '<script>alert(1)</script>' }] }],
  };
  const h = renderReport(nb);
  expect(h).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  expect(h).toContain('<title>Notebook report</title>');
});

test('`tinylab report` writes the file; a missing notebook exits 2', async () => {
  const out = path.join(dir, 'via-cli.html');
  const r = await runCli(['report', path.join(dir, 'params.ipynb'), '-o', out]);
  expect(r.code).toBe(0);
  expect(fs.readFileSync(out, 'utf8')).toContain('Parameter demo');
  const bad = await runCli(['report', path.join(dir, 'missing.ipynb')]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('no such notebook');
});

test('a Vega-Lite output without SVG (as Altair writes them) gets its static image rendered for the report', async () => {
  const nb = JSON.parse(JSON.stringify(chartNb)) as Notebook;
  const out = nb.cells[1].outputs![0] as { data: Record<string, unknown> };
  delete out.data['image/svg+xml'];
  delete out.data['text/html'];
  const file = path.join(dir, 'no-svg.ipynb');
  fs.writeFileSync(file, JSON.stringify(nb));
  const html = path.join(dir, 'no-svg.html');
  const r = await runCli(['report', file, '-o', html]);
  expect(r.code).toBe(0);
  const page = fs.readFileSync(html, 'utf8');
  const svg = /<div class="static">(<svg[\s\S]*?<\/svg>)/.exec(page);
  expect(svg).not.toBeNull();
  // Same drawing as the fixture's SVG, which vega rendered independently when the fixture was made.
  const bars = (s: string): string[] => [...s.matchAll(/aria-label="(model: [^"]+)"/g)].map((m) => m[1]).sort();
  expect(bars(svg![1])).toEqual(bars(fs.readFileSync(path.join(FIXTURES, 'chart.svg'), 'utf8')));
  expect(bars(svg![1])).toHaveLength(3);
});

const haveChromium = fs.existsSync(CHROMIUM);
(haveChromium ? describe : describe.skip)('in chromium (Debian package `chromium`)', () => {
  let ctx: BrowserContext;
  beforeAll(async () => {
    ctx = await chromium.launchPersistentContext(tmpDir('tinylab-chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
  });

  test('opened from disk: the chart goes live with non-zero size, no console errors, no network', async () => {
    const file = path.join(dir, 'chart.html');
    const page = await ctx.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto('file://' + file);
    await page.waitForSelector('.vega-chart.live .interactive svg', { timeout: 20_000 });
    const box = await page.locator('.vega-chart .interactive svg').first().boundingBox();
    expect(box && box.width > 100 && box.height > 100).toBe(true);
    // The live chart drew the three bars of the fixture's data.
    expect(await page.locator('.vega-chart .interactive svg .mark-rect path').count()).toBe(3);
    expect(await page.locator('.toc a').count()).toBe(3);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-chart.png'), fullPage: true });
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  }, 60_000);

  test('without JavaScript the static SVG is shown with non-zero size', async () => {
    const noJs = await ctx.browser()?.newContext({ javaScriptEnabled: false });
    // A persistent context has no separate browser object; fall back to disabling JS through a fresh page's CDP.
    const page = noJs ? await noJs.newPage() : await ctx.newPage();
    if (!noJs) {
      const cdp = await ctx.newCDPSession(page);
      await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
    }
    await page.goto('file://' + path.join(dir, 'chart.html'));
    const stat = page.locator('.vega-chart .static svg').first();
    const box = await stat.boundingBox();
    expect(box && box.width > 100 && box.height > 100).toBe(true);
    expect(await page.locator('.vega-chart.live').count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-chart-nojs.png'), fullPage: true });
    await page.close();
  }, 60_000);
});
