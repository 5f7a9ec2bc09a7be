/**
 * Runs the Jupyter kernel conformance suite (Debian python3-jupyter-kernel-test) against the real kernel, with the
 * kernelspec installed into a temp dir (never the user's), so `npm test` covers it.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { assertBuilt, tempJupyter, PYTHON } from '../kernel/harness';

jest.setTimeout(300_000);

test('jupyter_kernel_test conformance suite passes', () => {
  assertBuilt();
  const { dir, env } = tempJupyter('signal');
  try {
    const r = spawnSync(PYTHON, ['-m', 'unittest', '-v', 'test_tinylab'], { cwd: __dirname, env, encoding: 'utf8', timeout: 280_000 });
    const out = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0) throw new Error(`conformance suite failed (exit ${r.status}):\n${out.slice(-8000)}`);
    // Every applicable test ran: only test_pager (no pager payloads) may be skipped.
    const ran = Number(/Ran (\d+) tests?/.exec(out)?.[1] ?? 0);
    expect(ran).toBeGreaterThanOrEqual(14);
    const skipped = out.split('\n').filter((l) => / \.\.\. skipped/.test(l));
    expect(skipped.map((l) => l.split(' ')[0])).toEqual(skipped.length ? ['test_pager'] : []);
    expect(out).toMatch(/\nOK/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the kernelspec is written where --prefix says, pointing at this build', () => {
  const { dir } = tempJupyter('message');
  try {
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'share', 'jupyter', 'kernels', 'tinylab', 'kernel.json'), 'utf8'));
    expect(spec.argv[0]).toBe(process.execPath);
    expect(spec.argv[1]).toBe(path.resolve(__dirname, '..', '..', 'dist', 'kernel', 'main.js'));
    expect(spec.argv[2]).toBe('{connection_file}');
    expect(spec.language).toBe('typescript');
    expect(spec.display_name).toBe('TypeScript (tinylab)');
    // jupyter_client itself finds it through JUPYTER_PATH.
    const r = spawnSync(PYTHON, ['-c', 'from jupyter_client.kernelspec import KernelSpecManager as K; s=K().get_kernel_spec("tinylab-msg"); print(s.interrupt_mode, s.argv[-1])'], {
      env: { ...process.env, JUPYTER_PATH: path.join(dir, 'share', 'jupyter') },
      encoding: 'utf8',
    });
    expect(r.stdout.trim()).toBe('message {connection_file}');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
