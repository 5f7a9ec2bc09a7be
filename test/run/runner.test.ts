/**
 * `tinylab run` end to end: the built CLI drives a real kernel process over ZeroMQ. These use Debian's ipykernel
 * (kernel `python3`) as the reference kernel so the runner's own behaviour is tested independently of ours;
 * test/run/tinylab-kernel.test.ts runs the TypeScript fixtures on the tinylab kernel.
 */
import * as fs from 'fs';
import * as path from 'path';
import { FIXTURES, nbformatErrors, readJson, requireBuild, runCli, tmpDir } from './helpers';
import type { Notebook, ErrorOutput, StreamOutput, RunMetadata } from '../../kernel/run/notebook';

const K = ['--kernel', 'python3'];
let dir: string;

beforeAll(() => {
  requireBuild();
  dir = tmpDir();
});

function fx(name: string): string {
  return path.join(FIXTURES, name);
}

function streamText(nb: Notebook, index: number): string {
  return (nb.cells[index].outputs ?? [])
    .filter((o): o is StreamOutput => o.output_type === 'stream')
    .map((o) => (Array.isArray(o.text) ? o.text.join('') : o.text))
    .join('');
}

function runMeta(nb: Notebook): RunMetadata {
  return (nb.metadata.tinylab as { run: RunMetadata }).run;
}

test('parameters: -p overrides land in an injected cell after the parameters cell, typed, and are used', async () => {
  const out = path.join(dir, 'params.ipynb');
  const r = await runCli(['run', fx('py-params.ipynb'), ...K, '-o', out, '-p', 'epochs=5', '-p', 'name=hello', '-p', 'flag=true']);
  expect(r.stderr).toContain('[5/5] ok');
  expect(r.code).toBe(0);
  const nb = readJson<Notebook>(out);
  expect(nbformatErrors(nb)).toBeUndefined();
  expect(nb.nbformat).toBe(4);
  expect(nb.nbformat_minor).toBe(5);
  // Cell order: markdown, parameters, injected, markdown, print, summary, expression.
  expect(nb.cells[1].metadata.tags).toEqual(['parameters']);
  expect(nb.cells[2].metadata.tags).toEqual(['injected-parameters']);
  expect(nb.cells[2].source).toBe('# Parameters injected by `tinylab run`\nepochs = 5\nname = "hello"\nflag = True');
  // The parameters cell keeps its defaults; the printed values are the overrides with their types.
  expect(nb.cells[1].source).toContain('epochs = 2');
  expect(streamText(nb, 4)).toBe('int 10 hello 0.1 True\n');
  const counts = nb.cells.filter((c) => c.cell_type === 'code').map((c) => c.execution_count);
  expect(counts).toEqual([1, 2, 3, 4, 5]);
  const last = nb.cells[6].outputs![0];
  expect(last).toMatchObject({ output_type: 'execute_result', execution_count: 5, data: { 'text/plain': '6' } });
  // nbclient-style timings: all four stamps, in order.
  const ex = nb.cells[4].metadata.execution as Record<string, string>;
  const t = ['iopub.status.busy', 'iopub.execute_input', 'shell.execute_reply', 'iopub.status.idle'].map((k) => Date.parse(ex[k]));
  expect(t.every(Number.isFinite)).toBe(true);
  expect(t[0]).toBeLessThanOrEqual(t[1]);
  expect(t[1]).toBeLessThanOrEqual(t[3]);
  const meta = runMeta(nb);
  expect(meta.status).toBe('ok');
  expect(meta.parameters).toEqual({ epochs: 5, name: 'hello', flag: true });
  expect(meta.cells).toEqual({ total: 5, executed: 5 });
  expect(meta.kernel.name).toBe('python3');
  expect(meta.versions.node).toBe(process.version);
  expect(Date.parse(meta.ended) - Date.parse(meta.started)).toBeCloseTo(meta.duration_s * 1000, -1);
  expect(nb.metadata.kernelspec).toMatchObject({ name: 'python3' });
  // Summary outputs keep their metadata flag.
  expect(nb.cells[5].outputs![0]).toMatchObject({ metadata: { 'tinylab/summary': true }, data: { 'application/json': { accuracy: 0.875, epochs: 5 } } });
});

test('parameters from a YAML file, -p wins; no parameters cell puts the injected cell first; re-running replaces it', async () => {
  const pf = path.join(dir, 'p.yaml');
  fs.writeFileSync(pf, 'x: 41\nname: from-file\n');
  const out = path.join(dir, 'noparams.ipynb');
  const r = await runCli(['run', fx('py-noparams.ipynb'), ...K, '-o', out, '-f', pf, '-p', 'x=42', '-q']);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  const nb = readJson<Notebook>(out);
  expect(nb.cells[0].metadata.tags).toEqual(['injected-parameters']);
  expect(streamText(nb, 1)).toBe('x is 42\n');
  // Running the executed notebook again must not stack a second injected cell.
  const out2 = path.join(dir, 'noparams2.ipynb');
  const r2 = await runCli(['run', out, ...K, '-o', out2, '-p', 'x=7', '-q']);
  expect(r2.code).toBe(0);
  const nb2 = readJson<Notebook>(out2);
  expect(nb2.cells.filter((c) => (c.metadata.tags as string[] | undefined)?.includes('injected-parameters'))).toHaveLength(1);
  expect(streamText(nb2, 1)).toBe('x is 7\n');
});

test('an error stops the run, marks the cell, writes the partial notebook and report, names cell, line and error', async () => {
  const out = path.join(dir, 'error.ipynb');
  const html = path.join(dir, 'error.html');
  const r = await runCli(['run', fx('py-error.ipynb'), ...K, '-o', out, '--html', html]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('cell index 2 (In [2])');
  expect(r.stderr).toContain('`y = x + 1`');
  expect(r.stderr).toContain('ValueError: boom at 2');
  const nb = readJson<Notebook>(out);
  expect(nbformatErrors(nb)).toBeUndefined();
  expect(streamText(nb, 1)).toBe('before\n');
  expect(nb.cells[2].metadata.tinylab).toMatchObject({ status: 'error' });
  const err = nb.cells[2].outputs!.find((o): o is ErrorOutput => o.output_type === 'error')!;
  expect(err).toMatchObject({ ename: 'ValueError', evalue: 'boom at 2' });
  expect(err.traceback.join('\n')).toContain('boom');
  expect(nb.cells[3].execution_count).toBeNull(); // never ran
  expect(nb.cells[3].outputs).toEqual([]);
  expect(runMeta(nb)).toMatchObject({ status: 'error', failure: { cell_index: 2, ename: 'ValueError' }, cells: { total: 3, executed: 2 } });
  expect(fs.readFileSync(html, 'utf8')).toContain('boom at 2');
});

test('--allow-errors runs past the failing cell and exits 0, listing it', async () => {
  const out = path.join(dir, 'error-allowed.ipynb');
  const r = await runCli(['run', fx('py-error.ipynb'), ...K, '-o', out, '--allow-errors']);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain('ran past 1 failing cell(s) (indices 2');
  const nb = readJson<Notebook>(out);
  expect(streamText(nb, 3)).toBe('after\n');
  expect(runMeta(nb).status).toBe('error');
});

test('--timeout interrupts the cell, records it and fails cleanly', async () => {
  const out = path.join(dir, 'timeout.ipynb');
  const r = await runCli(['run', fx('py-timeout.ipynb'), ...K, '-o', out, '--timeout', '2']);
  expect(r.code).toBe(1);
  expect(r.ms).toBeLessThan(30_000); // the cell sleeps 60 s: the runner did not wait for it
  expect(r.stderr).toContain('cell index 0');
  expect(r.stderr).toContain('--timeout 2 s');
  const nb = readJson<Notebook>(out);
  expect(nbformatErrors(nb)).toBeUndefined();
  expect(streamText(nb, 0)).toBe('start\n'); // what the cell printed before the timeout is kept
  const errs = nb.cells[0].outputs!.filter((o): o is ErrorOutput => o.output_type === 'error').map((o) => o.ename);
  expect(errs).toContain('CellTimeoutError');
  expect(errs).toContain('KeyboardInterrupt'); // the kernel really was interrupted (ipykernel reports it)
  expect(nb.cells[0].metadata.tinylab).toMatchObject({ status: 'timeout' });
  expect(nb.cells[1].execution_count).toBeNull();
});

test('a kernel that dies is reported as such; the run does not hang', async () => {
  const out = path.join(dir, 'dies.ipynb');
  const r = await runCli(['run', fx('py-dies.ipynb'), ...K, '-o', out]);
  expect(r.code).toBe(1);
  // "(In [2])" only when execute_input got out of the kernel before it died, which is a race.
  expect(r.stderr).toMatch(/cell index 1( \(In \[2\]\))?, first line `import os` killed the kernel \(process \d+ ended \(exit code 3\)\)/);
  const nb = readJson<Notebook>(out);
  expect(nb.cells[1].outputs!.some((o) => o.output_type === 'error' && o.ename === 'DeadKernelError')).toBe(true);
  expect(runMeta(nb).status).toBe('dead');
});

test('display updates replace the earlier output in place; clear_output(wait) keeps only what follows', async () => {
  const out = path.join(dir, 'display.ipynb');
  const r = await runCli(['run', fx('py-display-update.ipynb'), ...K, '-o', out, '-q']);
  expect(r.code).toBe(0);
  const nb = readJson<Notebook>(out);
  expect(nbformatErrors(nb)).toBeUndefined();
  expect(nb.cells[1].outputs![0]).toMatchObject({ output_type: 'display_data', data: { 'text/plain': 'second' } });
  expect(streamText(nb, 2)).toBe('updated\n');
  expect(nb.cells[3].outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: 'kept\n' }]);
});

test('Ctrl-C interrupts the running cell, writes what exists and exits 130', async () => {
  const out = path.join(dir, 'sigint.ipynb');
  let sent = false;
  // -p makes an injected first cell whose progress line tells us the sleeping cell has started.
  const r = await runCli(['run', fx('py-timeout.ipynb'), ...K, '-o', out, '-p', 'a=1'], {
    onStderr: (all, child) => {
      if (!sent && all.includes('[1/3] ok')) {
        sent = true;
        setTimeout(() => child.kill('SIGINT'), 700);
      }
    },
  });
  expect(sent).toBe(true);
  expect(r.code).toBe(130);
  expect(r.ms).toBeLessThan(30_000);
  const nb = readJson<Notebook>(out);
  expect(nb.cells[1].metadata.tinylab).toMatchObject({ status: 'interrupted' });
  expect(nb.cells[1].outputs!.some((o) => o.output_type === 'error' && o.ename === 'KeyboardInterrupt')).toBe(true);
  expect(runMeta(nb).status).toBe('interrupted');
});

describe('bad input exits 2 with a message that names the fix', () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ['missing file', () => ['run', path.join(dir, 'nope.ipynb'), ...K], /no such notebook: .*nope\.ipynb/],
    ['not JSON', () => ['run', writeTmp('bad.ipynb', '{ not json'), ...K], /is not a notebook: it is not valid JSON/],
    ['JSON but not a notebook', () => ['run', writeTmp('list.ipynb', '[1,2]'), ...K], /not a Jupyter notebook/],
    ['nbformat 3', () => ['run', writeTmp('v3.ipynb', '{"nbformat":3,"cells":[]}'), ...K], /nbformat 3; .*nbconvert/],
    ['unknown kernel', () => ['run', fx('py-params.ipynb'), '--kernel', 'pyhton3'], /no Jupyter kernel named 'pyhton3'; did you mean 'python3'\?/],
    ['bad -p', () => ['run', fx('py-params.ipynb'), ...K, '-p', 'epochs'], /bad parameter 'epochs': write -p name=value/],
    ['bad -p name', () => ['run', fx('py-params.ipynb'), ...K, '-p', '1x=2'], /bad parameter name '1x'/],
    ['bad --timeout', () => ['run', fx('py-params.ipynb'), ...K, '--timeout', 'soon'], /--timeout takes a positive number/],
    ['unknown option', () => ['run', fx('py-params.ipynb'), '--frobnicate'], /unknown option '--frobnicate'/],
  ];
  function writeTmp(name: string, text: string): string {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  }
  test.each(cases)('%s', async (_name, args, re) => {
    const r = await runCli(args(), { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });
});

describe('kernels that never come up are reported, not waited on forever', () => {
  function jupyterPathWith(name: string, argv: string[]): string {
    const jp = tmpDir('jp-');
    fs.mkdirSync(path.join(jp, 'kernels', name), { recursive: true });
    fs.writeFileSync(path.join(jp, 'kernels', name, 'kernel.json'), JSON.stringify({ argv, display_name: name, language: 'python' }));
    return jp;
  }

  test('a kernel process that exits at start', async () => {
    const env = { ...process.env, JUPYTER_PATH: jupyterPathWith('crashy', ['/bin/sh', '-c', 'echo "no such module" >&2; exit 4', '{connection_file}']) };
    const r = await runCli(['run', fx('py-noparams.ipynb'), '--kernel', 'crashy', '-o', path.join(dir, 'crashy.ipynb')], { env, timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the kernel 'crashy' did not start: the kernel died: process \d+ ended \(exit code 4\); its last output:\nno such module/);
  });

  test('a kernel that never answers hits --startup-timeout', async () => {
    const env = { ...process.env, JUPYTER_PATH: jupyterPathWith('mute', ['/bin/sh', '-c', 'sleep 300', '{connection_file}']) };
    const r = await runCli(['run', fx('py-noparams.ipynb'), '--kernel', 'mute', '--startup-timeout', '2'], { env, timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the kernel 'mute' did not start: no reply to kernel_info_request \(kernel start\) within 2\.0 s/);
    expect(r.ms).toBeLessThan(15_000);
  });
});

test('a kernel that ignores the interrupt is killed after the grace period; the run still ends', async () => {
  const { executeNotebook } = await import('../../kernel/run/execute');
  const { parseNotebook } = await import('../../kernel/run/notebook');
  const nb = parseNotebook(
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        { id: 'a', cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source: 'import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(120)' },
        { id: 'b', cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source: 'print("never")' },
      ],
    }),
  );
  const t0 = Date.now();
  const r = await executeNotebook(nb, { kernel: 'python3', timeoutSec: 1, interruptGraceMs: 1_000 });
  expect(Date.now() - t0).toBeLessThan(20_000);
  expect(r.status).toBe('timeout');
  expect(r.failure?.index).toBe(0);
  expect(nb.cells[0].outputs!.some((o) => o.output_type === 'error' && o.ename === 'CellTimeoutError')).toBe(true);
  expect(nb.cells[1].execution_count).toBeNull();
});
