/**
 * Interop with Debian's Jupyter tooling: what `tinylab run` writes opens in nbconvert (and shows the static chart),
 * and nbconvert's own executor runs notebooks on the tinylab kernel through an installed kernelspec.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { FIXTURES, ROOT, readJson, requireBuild, runCli, tmpDir } from './helpers';
import type { Notebook } from '../../kernel/run/notebook';

const JUPYTER = '/usr/bin/jupyter';
const TINYLAB_MAIN = path.join(ROOT, 'dist', 'kernel', 'main.js');

/** Run nbconvert; a failure is reported with the tail of its output (the cell error nbconvert printed). */
function nbconvert(args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 120_000): { code: number | null; out: string } {
  const p = spawnSync(JUPYTER, ['nbconvert', ...args], { env, encoding: 'utf8', timeout: timeoutMs });
  const out = `${p.stdout}\n${p.stderr}`;
  if (p.status !== 0) return { code: p.status, out: `nbconvert ${args.join(' ')} failed:\n${out.slice(-3000)}` };
  return { code: 0, out: '' };
}

beforeAll(() => requireBuild());

test('nbconvert --to html renders a notebook written by `tinylab run`, static chart included', async () => {
  const dir = tmpDir('interop-');
  const out = path.join(dir, 'chart.ipynb');
  const r = await runCli(['run', path.join(FIXTURES, 'py-chart.ipynb'), '--kernel', 'python3', '-o', out, '-q']);
  expect(r.code).toBe(0);
  const c = nbconvert(['--to', 'html', out, '--output', path.join(dir, 'chart-nbconvert.html')]);
  expect(c).toEqual({ code: 0, out: '' });
  const html = fs.readFileSync(path.join(dir, 'chart-nbconvert.html'), 'utf8');
  expect(html).toContain('mark-rect role-mark'); // the vega-rendered static chart's bars survive nbconvert
  expect(html).toContain('<th>board</th>');
}, 120_000);

/** A kernelspec for the built tinylab kernel in a throwaway JUPYTER_PATH, the way `tinylab install` would register it. */
function tinylabJupyterPath(): string {
  const jp = tmpDir('jupyter-path-');
  const kdir = path.join(jp, 'kernels', 'tinylab');
  fs.mkdirSync(kdir, { recursive: true });
  fs.writeFileSync(
    path.join(kdir, 'kernel.json'),
    JSON.stringify({ argv: [process.execPath, TINYLAB_MAIN, '{connection_file}'], display_name: 'TypeScript (tinylab)', language: 'typescript' }),
  );
  return jp;
}

const haveKernel = fs.existsSync(TINYLAB_MAIN);
// Skipped (not failed) only while the tinylab kernel is not in the build: issue 3 depends on it (kernel/main.ts).
(haveKernel ? describe : describe.skip)('on the tinylab kernel', () => {
  let executed = '';
  let env: NodeJS.ProcessEnv = process.env;
  test('nbconvert --execute runs a chart fixture with --ExecutePreprocessor.kernel_name=tinylab', () => {
    const dir = tmpDir('interop-ts-');
    env = { ...process.env, JUPYTER_PATH: tinylabJupyterPath() };
    executed = path.join(dir, 'chart.ipynb');
    const c = nbconvert(['--to', 'notebook', '--execute', '--ExecutePreprocessor.kernel_name=tinylab', path.join(FIXTURES, 'ts-chart.ipynb'), '--output', executed], env);
    expect(c).toEqual({ code: 0, out: '' });
    const nb = readJson<Notebook>(executed);
    const chart = nb.cells[1].outputs?.[0] as { data?: Record<string, unknown> } | undefined;
    expect(Object.keys(chart?.data ?? {})).toEqual(expect.arrayContaining(['application/vnd.vegalite.v5+json', 'image/svg+xml']));
    expect(nb.cells[3].outputs?.[0]).toMatchObject({ metadata: { 'tinylab/summary': true } });
  }, 180_000);

  // Debian's nbconvert 6.5 runs image/svg+xml through lxml's clean_html, which deletes every SVG drawing element, and
  // ranks text/html above SVG (JupyterLab ranks it above Vega-Lite, so an HTML copy would cost Lab the live chart).
  // The kernel's SVG therefore carries a PNG copy in its <desc> (kernel/display/raster.ts), which clean_html keeps.
  test('nbconvert --to html of that notebook shows the static chart', () => {
    if (!executed) throw new Error('the execute test did not run');
    const out = path.join(path.dirname(executed), 'chart.html');
    const h = nbconvert(['--to', 'html', executed, '--output', out], env);
    expect(h).toEqual({ code: 0, out: '' });
    const html = fs.readFileSync(out, 'utf8');
    const svgBlock = /data-mime-type="image\/svg\+xml">([\s\S]*?)<\/div>/.exec(html);
    expect(svgBlock).not.toBeNull();
    const img = /<img[^>]*src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/.exec(svgBlock![1]);
    expect(img).not.toBeNull();
    // A real PNG of a real chart: the signature, and more than a blank image's few hundred bytes.
    const png = Buffer.from(img![1], 'base64');
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.length).toBeGreaterThan(2000);
  }, 120_000);

  const notebooks = fs.existsSync(path.join(ROOT, 'notebooks'))
    ? fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb') && !f.includes('.executed.'))
    : [];
  // The real notebooks with their own defaults (MNIST training and a sweep in 01: minutes, not seconds), as a user's
  // `jupyter nbconvert --execute` would run them; issue 3 asks for every notebook in CI.
  if (!notebooks.length) {
    test.skip('nbconvert executes every notebook in notebooks/ (there are none yet)', () => undefined);
  } else test.each(notebooks)('nbconvert executes notebooks/%s on tinylab and its HTML has the static charts', (name) => {
    const dir = tmpDir('interop-nb-');
    const env = { ...process.env, JUPYTER_PATH: tinylabJupyterPath() };
    const executed = path.join(dir, name);
    const c = nbconvert(
      ['--to', 'notebook', '--execute', '--ExecutePreprocessor.kernel_name=tinylab', '--ExecutePreprocessor.timeout=600', path.join(ROOT, 'notebooks', name), '--output', executed],
      env,
      900_000,
    );
    expect(c).toEqual({ code: 0, out: '' });
    const nb = readJson<Notebook>(executed);
    const charts = nb.cells.flatMap((cell) => cell.outputs ?? []).filter((o) => 'data' in o && Object.keys(o.data).some((k) => k.startsWith('application/vnd.vegalite')));
    const h = nbconvert(['--to', 'html', executed, '--output', path.join(dir, 'out.html')], env);
    expect(h).toEqual({ code: 0, out: '' });
    const html = fs.readFileSync(path.join(dir, 'out.html'), 'utf8');
    // Every chart shows as the PNG copy its SVG carries (nbconvert strips the SVG drawing itself; see above).
    expect((html.match(/<img[^>]*src="data:image\/png;base64,/g) ?? []).length).toBeGreaterThanOrEqual(charts.length);
  }, 900_000);
});
