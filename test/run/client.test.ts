/**
 * kernel/client: wire signing checked against Python's hmac, kernelspec discovery by Jupyter's rules, and the client's
 * lifecycle (execute, interrupt by signal and by message, restart, heartbeat, death) on a real ipykernel process.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../../src/common/errors';
import { decode, encode, makeMessage, sign } from '../../kernel/client/wire';
import { freePorts } from '../../kernel/client/connection';
import { findKernelSpec, jupyterDataDirs, listKernelSpecs, packageRoot } from '../../kernel/client/kernelspec';
import { KernelDiedError } from '../../kernel/client/client';
import { RunningKernel, startKernel } from '../../kernel/client/launch';
import { tmpDir } from './helpers';

describe('wire', () => {
  test('HMAC-SHA256 signature matches Python hmac over the same four parts', () => {
    const parts = ['{"msg_id":"a"}', '{}', '{}', '{"code":"1+1"}'];
    const py = execFileSync('/usr/bin/python3', [
      '-c',
      'import hmac,hashlib,sys; h=hmac.new(sys.argv[1].encode(), digestmod=hashlib.sha256)\nfor p in sys.argv[2:]: h.update(p.encode())\nprint(h.hexdigest())',
      'secret-key',
      ...parts,
    ])
      .toString()
      .trim();
    expect(sign('secret-key', 'hmac-sha256', parts)).toBe(py);
    expect(sign('', 'hmac-sha256', parts)).toBe('');
  });

  test('encode/decode round trip; a tampered message is rejected', () => {
    const msg = makeMessage('execute_request', { code: 'x = 1' }, 'sess');
    const frames = encode(msg, 'k', 'hmac-sha256').map((f) => Buffer.from(f));
    const back = decode(frames, 'k', 'hmac-sha256');
    expect(back.header).toEqual(msg.header);
    expect(back.content).toEqual({ code: 'x = 1' });
    frames[frames.length - 1] = Buffer.from('{"code":"evil()"}');
    expect(() => decode(frames, 'k', 'hmac-sha256')).toThrow(/invalid HMAC/);
  });

  test('freePorts gives distinct bindable ports', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    for (const p of ports) expect(p).toBeGreaterThan(1023);
  });
});

describe('kernelspec discovery', () => {
  function specDir(base: string, name: string, spec: Record<string, unknown>): void {
    fs.mkdirSync(path.join(base, 'kernels', name), { recursive: true });
    fs.writeFileSync(path.join(base, 'kernels', name, 'kernel.json'), JSON.stringify(spec));
  }

  test('JUPYTER_PATH first, then the user dir, then system prefixes; first match wins; names are case-insensitive', () => {
    const jp = tmpDir('jp-');
    const home = tmpDir('home-');
    specDir(jp, 'Python3', { argv: ['/bin/false', '{connection_file}'], display_name: 'shadow', language: 'python' });
    specDir(path.join(home, '.local', 'share', 'jupyter'), 'userk', { argv: ['x'], display_name: 'user kernel', language: 'r' });
    const env = { JUPYTER_PATH: jp, HOME: home, XDG_DATA_HOME: path.join(home, '.local', 'share') };
    const dirs = jupyterDataDirs(env);
    expect(dirs[0]).toBe(jp);
    expect(dirs[1]).toBe(path.join(home, '.local', 'share', 'jupyter'));
    expect(dirs.slice(-2)).toEqual(['/usr/local/share/jupyter', '/usr/share/jupyter']);
    const specs = listKernelSpecs(env);
    expect(specs.get('python3')?.display_name).toBe('shadow');
    expect(specs.get('userk')?.language).toBe('r');
    // Without JUPYTER_PATH the Debian system kernel is found.
    const sys = findKernelSpec('PYTHON3', { HOME: home, XDG_DATA_HOME: path.join(home, '.local', 'share') });
    expect(sys.resourceDir).toBe('/usr/share/jupyter/kernels/python3');
    expect(sys.argv).toContain('{connection_file}');
    expect(sys.interrupt_mode).toBe('signal');
  });

  test('an unknown kernel is an InputError that suggests the closest name', () => {
    expect(() => findKernelSpec('pyton3')).toThrow(InputError);
    expect(() => findKernelSpec('pyton3')).toThrow(/did you mean 'python3'/);
  });

  test('tinylab without an installed kernelspec falls back to this package\'s dist/kernel/main.js', () => {
    const home = tmpDir('home-');
    const env = { HOME: home, XDG_DATA_HOME: path.join(home, 'share') };
    const main = path.join(packageRoot(), 'dist', 'kernel', 'main.js');
    if (fs.existsSync(main)) {
      const s = findKernelSpec('tinylab', env);
      expect(s.argv).toEqual([process.execPath, main, '{connection_file}']);
      expect(s.language).toBe('typescript');
    } else {
      expect(() => findKernelSpec('tinylab', env)).toThrow(/npm run build/);
    }
  });
});

describe('client on a real ipykernel', () => {
  let k: RunningKernel;
  beforeAll(async () => {
    k = await startKernel({ kernel: 'python3', startupTimeoutMs: 60_000 });
  }, 90_000);
  afterAll(async () => {
    await k?.shutdown();
  });

  test('kernel_info, execute with ordered iopub, heartbeat', async () => {
    expect((k.kernelInfo!.content as { protocol_version: string }).protocol_version).toMatch(/^5\./);
    const types: string[] = [];
    const r = await k.client.execute('print("hi")\n6*7', { onIopub: (m) => types.push(m.header.msg_type) }).done;
    expect(r.reply.content).toMatchObject({ status: 'ok', execution_count: 1 });
    expect(types).toEqual(['status', 'execute_input', 'stream', 'execute_result', 'status']);
    const res = r.iopub.find((m) => m.header.msg_type === 'execute_result')!;
    expect((res.content as { data: Record<string, string> }).data['text/plain']).toBe('42');
    expect(await k.client.ping(5_000)).toBe(true);
  });

  test('interrupt by SIGINT (the spec\'s interrupt_mode) stops a sleeping cell', async () => {
    const t0 = Date.now();
    const h = k.client.execute('import time\ntime.sleep(30)');
    await new Promise((r) => setTimeout(r, 800));
    await k.interrupt();
    const r = await h.done;
    expect(r.reply.content).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  test('interrupt_request on control works too', async () => {
    const h = k.client.execute('import time\ntime.sleep(30)');
    await new Promise((r) => setTimeout(r, 800));
    const rep = await k.client.interruptByMessage();
    expect(rep.header.msg_type).toBe('interrupt_reply');
    expect((await h.done).reply.content).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
  });

  test('restart gives a fresh process and namespace on the same connection', async () => {
    await k.client.execute('survivor = 1').done;
    const pid = k.pid;
    await k.restart();
    expect(k.pid).not.toBe(pid);
    const r = await k.client.execute('survivor').done;
    expect(r.reply.content).toMatchObject({ status: 'error', ename: 'NameError', execution_count: 1 });
  }, 60_000);

  test('a killed kernel fails the pending execute with KernelDiedError instead of hanging', async () => {
    const h = k.client.execute('import time\ntime.sleep(30)');
    await new Promise((r) => setTimeout(r, 500));
    process.kill(k.pid!, 'SIGKILL');
    await expect(h.done).rejects.toBeInstanceOf(KernelDiedError);
    await expect(h.done).rejects.toThrow(/killed by SIGKILL/);
    expect(k.isAlive).toBe(false);
    // Later requests fail at once too.
    await expect(k.client.kernelInfo(1_000)).rejects.toBeInstanceOf(KernelDiedError);
    const file = k.connectionFile;
    await k.shutdown();
    expect(fs.existsSync(file)).toBe(false);
  });
});
