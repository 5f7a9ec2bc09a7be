/**
 * Launching a kernel from its kernelspec and owning its life: interrupt (signal or message, as the spec says), restart,
 * shutdown, and death detection from the process itself, so a crashed kernel fails waits instead of hanging them.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import { ConnectionInfo, newConnectionInfo, writeConnectionFile } from './connection';
import { KernelClient, KernelDiedError } from './client';
import { KernelSpec, findKernelSpec } from './kernelspec';
import { JupyterMessage } from './wire';

export interface StartKernelOptions {
  /** Kernel name (looked up with Jupyter's rules) or a resolved spec. Default 'tinylab'. */
  kernel?: string | KernelSpec;
  /** Working directory of the kernel process. */
  cwd?: string;
  /** Extra environment for the kernel process. */
  env?: Record<string, string>;
  /** How long to wait for the kernel to answer kernel_info. */
  startupTimeoutMs?: number;
  /** Called with the kernel's stderr/stdout text as it arrives (default: kept in a ring buffer only). */
  onKernelOutput?: (text: string) => void;
}

const TAIL_LINES = 20;

export class RunningKernel {
  private proc!: ChildProcess;
  private tail: string[] = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private exited!: Promise<void>;
  private stopping = false;
  kernelInfo: JupyterMessage | undefined;

  private constructor(
    readonly spec: KernelSpec,
    readonly connection: ConnectionInfo,
    readonly connectionFile: string,
    readonly client: KernelClient,
    private readonly opts: StartKernelOptions,
  ) {}

  static async start(opts: StartKernelOptions = {}): Promise<RunningKernel> {
    const spec = typeof opts.kernel === 'object' ? opts.kernel : findKernelSpec(opts.kernel ?? 'tinylab');
    const info = await newConnectionInfo(spec.name);
    const file = writeConnectionFile(info);
    const client = new KernelClient(info);
    const k = new RunningKernel(spec, info, file, client, opts);
    k.spawnProcess();
    client.connect();
    try {
      k.kernelInfo = await client.waitForReady(opts.startupTimeoutMs ?? 60_000);
    } catch (err) {
      await k.shutdown(0);
      throw err;
    }
    return k;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get isAlive(): boolean {
    return this.exitInfo === undefined;
  }

  /** The last lines the kernel wrote to stdout/stderr (for "the kernel died" messages). */
  get outputTail(): string {
    return this.tail.join('').split('\n').slice(-TAIL_LINES).join('\n').trim();
  }

  private spawnProcess(): void {
    const argv = this.spec.argv.map((a) =>
      a.replace('{connection_file}', this.connectionFile).replace('{resource_dir}', this.spec.resourceDir ?? ''),
    );
    this.exitInfo = undefined;
    this.tail = [];
    this.proc = spawn(argv[0], argv.slice(1), {
      cwd: this.opts.cwd,
      env: { ...process.env, ...(this.spec.env ?? {}), ...(this.opts.env ?? {}), JPY_PARENT_PID: String(process.pid) },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: a Ctrl-C in the terminal reaches the runner only, which then interrupts the cell on purpose
      // (otherwise a kernel without a SIGINT handler would die with the runner's Ctrl-C).
      detached: true,
    });
    const keep = (b: Buffer): void => {
      const s = b.toString();
      this.tail.push(s);
      if (this.tail.length > 200) this.tail.splice(0, this.tail.length - 100);
      this.opts.onKernelOutput?.(s);
    };
    this.proc.stdout?.on('data', keep);
    this.proc.stderr?.on('data', keep);
    const proc = this.proc;
    this.exited = new Promise<void>((resolve) => {
      let done = false;
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (done) return;
        done = true;
        if (proc !== this.proc) return resolve();
        this.exitInfo = { code, signal };
        process.removeListener('exit', killOnExit);
        if (!this.stopping) {
          const how = signal ? `killed by ${signal}` : `exit code ${code}`;
          const tail = this.outputTail;
          this.client.markDead(new KernelDiedError(`process ${proc.pid} ended (${how})${tail ? `; its last output:\n${tail}` : ''}`));
        }
        resolve();
      };
      proc.on('exit', onExit);
      proc.on('error', (err) => {
        this.tail.push(`failed to start ${argv[0]}: ${err.message}\n`);
        onExit(127, null);
      });
    });
    // Never leave an orphan kernel behind when the runner itself exits.
    const killOnExit = (): void => {
      try {
        if (proc.pid) process.kill(-proc.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    process.on('exit', killOnExit);
  }

  /** Interrupt the running cell the way the kernelspec asks (SIGINT to the process, or interrupt_request). */
  async interrupt(): Promise<void> {
    if (!this.isAlive) return;
    if (this.spec.interrupt_mode === 'message') {
      await this.client.interruptByMessage().catch(() => undefined);
    } else {
      try {
        this.proc.kill('SIGINT');
      } catch {
        /* already gone */
      }
    }
  }

  /** Resolves when the process has exited, or with false after `ms`. */
  async waitForExit(ms: number): Promise<boolean> {
    if (!this.isAlive) return true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), ms);
    });
    // Clear the timer either way: a pending one would keep the runner's process alive for `ms` after it is done.
    return Promise.race([this.exited.then(() => true), late]).finally(() => clearTimeout(timer));
  }

  private async stopProcess(graceMs: number, restart: boolean): Promise<void> {
    this.stopping = true;
    if (this.isAlive && graceMs > 0) {
      await this.client.shutdownRequest(restart, graceMs).catch(() => undefined);
      await this.waitForExit(graceMs);
    }
    for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
      if (!this.isAlive) break;
      try {
        if (this.proc.pid) process.kill(-this.proc.pid, sig);
      } catch {
        /* gone */
      }
      await this.waitForExit(2_000);
    }
  }

  /** Stop the process (a clean shutdown_request first, then signals) and start a fresh one on the same ports. */
  async restart(graceMs = 5_000): Promise<void> {
    await this.stopProcess(graceMs, true);
    this.stopping = false;
    this.client.revive();
    this.spawnProcess();
    this.kernelInfo = await this.client.waitForReady(this.opts.startupTimeoutMs ?? 60_000);
  }

  /** Shut the kernel down, close the sockets and remove the connection file. Safe to call twice. */
  async shutdown(graceMs = 5_000): Promise<void> {
    await this.stopProcess(graceMs, false);
    this.client.close();
    try {
      fs.unlinkSync(this.connectionFile);
    } catch {
      /* already removed */
    }
  }
}

export function startKernel(opts: StartKernelOptions = {}): Promise<RunningKernel> {
  return RunningKernel.start(opts);
}
