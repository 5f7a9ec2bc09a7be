/**
 * Test harness: installs the kernelspec into a temp dir and drives the real kernel process over real ZeroMQ sockets
 * through the Debian jupyter_client (test/kernel/driver.py), one JSON command at a time.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installKernelSpec } from '../../kernel/spec/install';

export const ROOT = path.resolve(__dirname, '..', '..');
export const PYTHON = '/usr/bin/python3';

export interface IopubOutput {
  msg_type: string;
  content: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- message contents are free-form JSON
  t: number;
}

export interface Collected {
  reply: Record<string, any> | null; // eslint-disable-line @typescript-eslint/no-explicit-any -- reply contents are free-form JSON
  outputs: IopubOutput[];
  idle: boolean;
  stdin_requests: { prompt: string; password: boolean }[];
}

export function assertBuilt(): void {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'kernel', 'main.js'))) throw new Error('run `npm run build` first (tests spawn dist/kernel/main.js)');
}

/** A temp Jupyter data dir with our kernelspec installed (never the user's). */
export function tempJupyter(interruptMode: 'signal' | 'message' = 'signal'): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinylab-jupyter-'));
  installKernelSpec({ prefix: dir, name: 'tinylab', interruptMode });
  installKernelSpec({ prefix: dir, name: 'tinylab-msg', interruptMode: 'message' });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: path.join(dir, 'share', 'jupyter'),
    JUPYTER_RUNTIME_DIR: path.join(dir, 'runtime'),
    JUPYTER_DATA_DIR: path.join(dir, 'data'),
    JUPYTER_CONFIG_DIR: path.join(dir, 'config'),
    JUPYTER_PLATFORM_DIRS: '1',
    PYTHONNOUSERSITE: '1',
  };
  return { dir, env };
}

export class Driver {
  private proc: ChildProcessWithoutNullStreams;
  private parts: string[] = [];
  private waiting: ((line: string) => void)[] = [];
  private stderr = '';

  constructor(env: NodeJS.ProcessEnv) {
    this.proc = spawn(PYTHON, [path.join(__dirname, 'driver.py')], { env, stdio: 'pipe' });
    this.proc.stdout.setEncoding('utf8');
    // Lines can be tens of MB (the 10 MB output test): collect chunks, join only when a newline arrives.
    this.proc.stdout.on('data', (chunk: string) => {
      let i: number;
      while ((i = chunk.indexOf('\n')) >= 0) {
        this.parts.push(chunk.slice(0, i));
        chunk = chunk.slice(i + 1);
        const line = this.parts.join('');
        this.parts = [];
        this.waiting.shift()?.(line);
      }
      if (chunk) this.parts.push(chunk);
    });
    this.proc.stderr.on('data', (c: Buffer) => {
      this.stderr = (this.stderr + c.toString()).slice(-20000);
    });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- results are free-form JSON from the driver
  call<T = any>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push((line) => {
        let r: { ok: boolean; result?: T; error?: string; trace?: string };
        try {
          r = JSON.parse(line) as typeof r;
        } catch (err) {
          reject(new Error(`${op}: driver sent a bad line (${(err as Error).message}): ${line.slice(0, 300)}`));
          return;
        }
        if (r.ok) resolve(r.result as T);
        else reject(new Error(`${op}: ${r.error}\n${r.trace}\nkernel/driver stderr:\n${this.stderr}`));
      });
      this.proc.stdin.write(JSON.stringify({ op, ...args }) + '\n');
    });
  }

  execute(code: string, opts: Record<string, unknown> = {}): Promise<Collected> {
    return this.call<Collected>('execute', { code, ...opts });
  }

  get log(): string {
    return this.stderr;
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.call('shutdown'), new Promise((r) => setTimeout(r, 15000).unref())]);
    } catch {
      /* already down */
    }
    this.proc.stdin.end();
    await new Promise((r) => {
      if (this.proc.exitCode !== null) r(null);
      else this.proc.on('exit', r);
      setTimeout(() => {
        this.proc.kill('SIGKILL');
        r(null);
      }, 5000).unref();
    });
  }
}

export function streamText(c: Collected, name = 'stdout'): string {
  return c.outputs.filter((o) => o.msg_type === 'stream' && o.content.name === name).map((o) => o.content.text as string).join('');
}

export function resultText(c: Collected): string | undefined {
  const r = c.outputs.find((o) => o.msg_type === 'execute_result');
  return r ? (r.content.data['text/plain'] as string) : undefined;
}

export function errorOf(c: Collected): { ename: string; evalue: string; traceback: string[] } | undefined {
  const e = c.outputs.find((o) => o.msg_type === 'error');
  return e ? (e.content as { ename: string; evalue: string; traceback: string[] }) : undefined;
}

/**
 * A tinylab kernel for one test file, started in a fresh notebook directory outside the package (preloading must not
 * depend on the cwd) and shut down afterwards. Call at describe or file level; use `.driver` inside tests.
 */
export function kernelInTempDir(): { readonly driver: Driver; readonly nbDir: string } {
  let jupyter: { dir: string; env: NodeJS.ProcessEnv } | undefined;
  let nbDir: string | undefined;
  let d: Driver | undefined;
  beforeAll(async () => {
    assertBuilt();
    jupyter = tempJupyter('signal');
    nbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinylab-nb-'));
    d = new Driver(jupyter.env);
    await d.call('start', { kernel_name: 'tinylab', cwd: nbDir });
  });
  afterAll(async () => {
    await d?.close();
    if (jupyter) fs.rmSync(jupyter.dir, { recursive: true, force: true });
    if (nbDir) fs.rmSync(nbDir, { recursive: true, force: true });
  });
  return {
    get driver(): Driver {
      if (!d) throw new Error('the kernel is not started yet (use .driver inside a test)');
      return d;
    },
    get nbDir(): string {
      if (!nbDir) throw new Error('the kernel is not started yet (use .nbDir inside a test)');
      return nbDir;
    },
  };
}
