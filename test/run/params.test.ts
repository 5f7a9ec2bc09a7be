/** Parameter typing and injection, notebook reading/upgrading, and the progress display, without a kernel. */
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../../src/common/errors';
import { injectParameters, injectedSource, parseParamArg, parseParamValue, readParamsFile } from '../../kernel/run/params';
import { Notebook, parseNotebook, readNotebook } from '../../kernel/run/notebook';
import { RunProgress, progressMode } from '../../kernel/run/progress';
import { parseRunArgs } from '../../kernel/run/cli';
import { FIXTURES, nbformatErrors, tmpDir } from './helpers';

test('-p values are typed like papermill: numbers, booleans, null, JSON, else strings', () => {
  expect(parseParamValue('5')).toBe(5);
  expect(parseParamValue('-0.25')).toBe(-0.25);
  expect(parseParamValue('1e-3')).toBe(0.001);
  expect(parseParamValue('true')).toBe(true);
  expect(parseParamValue('False')).toBe(false);
  expect(parseParamValue('null')).toBeNull();
  expect(parseParamValue('[1, 2]')).toEqual([1, 2]);
  expect(parseParamValue('{"a": "b"}')).toEqual({ a: 'b' });
  expect(parseParamValue('[not json')).toBe('[not json');
  expect(parseParamValue('1.2.3')).toBe('1.2.3');
  expect(parseParamValue('mnist-14x14')).toBe('mnist-14x14');
  expect(parseParamArg('board=nano 33')).toEqual(['board', 'nano 33']);
  expect(parseParamArg('expr=a=b')).toEqual(['expr', 'a=b']);
  expect(() => parseParamArg('=3')).toThrow(InputError);
  expect(() => parseParamArg('a-b=3')).toThrow(/bad parameter name 'a-b'/);
});

test('injected source is valid TypeScript/Python for each value type', () => {
  const p = { n: 3, s: 'it\'s "q"', b: false, z: null, l: [1, 'a'], inf: Infinity };
  expect(injectedSource(p, 'typescript')).toBe(
    '// Parameters injected by `tinylab run`\nconst n = 3;\nconst s = "it\'s \\"q\\"";\nconst b = false;\nconst z = null;\nconst l = [1,"a"];\nconst inf = Infinity;',
  );
  expect(injectedSource(p, 'python')).toBe(
    '# Parameters injected by `tinylab run`\nn = 3\ns = "it\'s \\"q\\""\nb = False\nz = None\nl = [1, "a"]\ninf = float(\'inf\')',
  );
});

test('injection goes after the parameters cell, first without one, and replaces an old injected cell', () => {
  const nb = readNotebook(path.join(FIXTURES, 'py-params.ipynb'));
  expect(injectParameters(nb, { epochs: 9 }, 'python')).toBe(2);
  expect(injectParameters(nb, { epochs: 10 }, 'python')).toBe(2);
  expect(nb.cells.filter((c) => (c.metadata.tags as string[] | undefined)?.includes('injected-parameters'))).toHaveLength(1);
  expect(nb.cells[2].source).toContain('epochs = 10');
  const bare = readNotebook(path.join(FIXTURES, 'py-noparams.ipynb'));
  expect(injectParameters(bare, { x: 1 }, 'python')).toBe(0);
  expect(injectParameters(readNotebook(path.join(FIXTURES, 'py-noparams.ipynb')), {}, 'python')).toBe(-1);
});

test('parameters files: JSON and YAML objects; anything else is an InputError', () => {
  const d = tmpDir('params-');
  fs.writeFileSync(path.join(d, 'a.json'), '{"lr": 0.01, "tag": "x"}');
  fs.writeFileSync(path.join(d, 'b.yml'), 'lr: 0.02\nlayers: [8, 16]\n');
  fs.writeFileSync(path.join(d, 'c.yaml'), '- 1\n- 2\n');
  fs.writeFileSync(path.join(d, 'd.json'), '{"lr": ');
  expect(readParamsFile(path.join(d, 'a.json'))).toEqual({ lr: 0.01, tag: 'x' });
  expect(readParamsFile(path.join(d, 'b.yml'))).toEqual({ lr: 0.02, layers: [8, 16] });
  expect(() => readParamsFile(path.join(d, 'c.yaml'))).toThrow(/one object/);
  expect(() => readParamsFile(path.join(d, 'd.json'))).toThrow(/does not parse/);
  expect(() => readParamsFile(path.join(d, 'none.json'))).toThrow(/cannot read/);
});

test('older 4.x notebooks are upgraded to valid 4.5 (cell ids, string sources)', () => {
  const v44 = {
    nbformat: 4,
    nbformat_minor: 2,
    metadata: {},
    cells: [
      { cell_type: 'markdown', metadata: {}, source: ['# T\n', 'text'] },
      { cell_type: 'code', metadata: {}, source: ['x = 1\n', 'x'], outputs: [], execution_count: null },
      { cell_type: 'code', id: 'dup', metadata: {}, source: '', outputs: [], execution_count: null },
      { cell_type: 'code', id: 'dup', metadata: {}, source: '', outputs: [], execution_count: null },
    ],
  };
  const nb = parseNotebook(JSON.stringify(v44));
  expect(nb.nbformat_minor).toBe(5);
  expect(nb.cells[1].source).toBe('x = 1\nx');
  expect(new Set(nb.cells.map((c) => c.id)).size).toBe(4);
  expect(nbformatErrors(nb)).toBeUndefined();
});

test('command line: defaults and overrides', () => {
  const a = parseRunArgs(['nb/x.ipynb', '-p', 'a=1', '--timeout=30', '--html', 'r.html', '--allow-errors']);
  if (a === 'help') throw new Error('unexpected help');
  expect(a.output).toBe(path.resolve('nb', 'x.executed.ipynb'));
  expect(a.cwd).toBe(path.resolve('nb'));
  expect(a).toMatchObject({ params: { a: 1 }, timeoutSec: 30, html: 'r.html', allowErrors: true, kernel: 'tinylab', quiet: false });
  expect(parseRunArgs(['-h'])).toBe('help');
  expect(() => parseRunArgs(['x.ipynb', '--cwd', '/nonexistent-dir'])).toThrow(/not a directory/);
  expect(() => parseRunArgs([])).toThrow(/which notebook/);
});

/** A terminal stand-in: records what the bar writes. */
function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = { isTTY, columns: 80, text: '', write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

test('progress: a redrawn bar on a TTY, one line per cell otherwise, nothing when quiet', () => {
  expect(progressMode(fakeStream(true), false)).toBe('tty');
  expect(progressMode(fakeStream(false), false)).toBe('lines');
  expect(progressMode(fakeStream(true), true)).toBe('quiet');
  const nb: Notebook = parseNotebook(fs.readFileSync(path.join(FIXTURES, 'py-error.ipynb'), 'utf8'));
  const cell = nb.cells[2];
  const ev = { index: 2, cell, ordinal: 2, total: 3 };
  const tty = fakeStream(true);
  const p = new RunProgress('tty', tty);
  p.cellStart(ev);
  expect(tty.text).toMatch(/\r\x1b\[2K░+ 0\/3 \d+\.\ds {2}▶ y = x \+ 1/);
  p.cellEnd({ ...ev, status: 'error', seconds: 0.5 });
  p.finish();
  expect(tty.text).toMatch(/█+░+ 2\/3 /);
  expect(tty.text.endsWith('\n')).toBe(true);
  const lines = fakeStream(false);
  const q = new RunProgress('lines', lines);
  q.cellStart(ev);
  q.cellEnd({ ...ev, status: 'error', seconds: 0.5 });
  q.finish();
  expect(lines.text).toBe('[2/3] ERROR   0.5s  cell 2: y = x + 1\n');
  const quiet = fakeStream(true);
  const r = new RunProgress('quiet', quiet);
  r.cellStart(ev);
  r.cellEnd({ ...ev, status: 'ok', seconds: 0.1 });
  r.finish();
  expect(quiet.text).toBe('');
});
