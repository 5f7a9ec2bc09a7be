/**
 * A Jupyter client on zeromq v6: the five channels, request/reply with timeouts, execute with iopub routing by parent,
 * and a "dead" state that fails every pending wait at once (so nothing that waits on the kernel can hang).
 */
import * as zmq from 'zeromq';
import { randomUUID } from 'crypto';
import { TinylabError } from '../../src/common/errors';
import { ConnectionInfo, channelAddress } from './connection';
import { JupyterMessage, decode, encode, makeMessage } from './wire';

/** The kernel process ended or stopped answering; `detail` carries the exit status and its last stderr lines. */
export class KernelDiedError extends TinylabError {
  constructor(public readonly detail: string) {
    super(`the kernel died: ${detail}`);
    this.name = 'KernelDiedError';
  }
}

/** A request got no reply in time. */
export class KernelTimeoutError extends TinylabError {
  constructor(what: string, ms: number) {
    super(`no reply to ${what} within ${(ms / 1000).toFixed(1)} s; the kernel may be busy or stuck (raise the timeout or restart it)`);
    this.name = 'KernelTimeoutError';
  }
}

export type IopubListener = (msg: JupyterMessage) => void;

export interface ExecuteRequestOptions {
  silent?: boolean;
  storeHistory?: boolean;
  allowStdin?: boolean;
  stopOnError?: boolean;
  userExpressions?: Record<string, string>;
  /** Every iopub message whose parent is this request, in arrival order (status, execute_input, outputs…). */
  onIopub?: IopubListener;
}

export interface ExecuteOutcome {
  msgId: string;
  /** The shell execute_reply. */
  reply: JupyterMessage;
  /** The iopub messages of this request, in order (also delivered live through onIopub). */
  iopub: JupyterMessage[];
}

export interface ExecuteHandle {
  msgId: string;
  /** Resolves once both the execute_reply and the iopub status idle have arrived; rejects when the kernel dies. */
  done: Promise<ExecuteOutcome>;
}

interface Pending {
  resolve(msg: JupyterMessage): void;
  reject(err: Error): void;
}

type ReplyChannel = 'shell' | 'control';

export class KernelClient {
  readonly session = randomUUID();
  private shell!: zmq.Dealer;
  private control!: zmq.Dealer;
  private stdin!: zmq.Dealer;
  private iopub!: zmq.Subscriber;
  private hb!: zmq.Dealer;
  private readonly replies = new Map<string, Pending>();
  private readonly iopubByParent = new Map<string, IopubListener>();
  private readonly iopubAll = new Set<IopubListener>();
  private deadError: Error | undefined;
  private readonly deathWatchers = new Set<(err: Error) => void>();
  private closed = false;
  private readonly hbWaiters = new Map<string, () => void>();
  /** Answer for input_request on stdin (the headless runner has no person to ask). */
  stdinReply: (prompt: string, password: boolean) => string = () => '';

  constructor(readonly info: ConnectionInfo) {}

  /** Open the sockets (ZeroMQ connects lazily, so this succeeds before the kernel is listening). */
  connect(): void {
    const id = this.session;
    this.shell = new zmq.Dealer({ routingId: id, linger: 0 });
    this.control = new zmq.Dealer({ routingId: id, linger: 0 });
    this.stdin = new zmq.Dealer({ routingId: id, linger: 0 });
    this.iopub = new zmq.Subscriber({ linger: 0 });
    this.hb = new zmq.Dealer({ linger: 0 });
    this.shell.connect(channelAddress(this.info, 'shell'));
    this.control.connect(channelAddress(this.info, 'control'));
    this.stdin.connect(channelAddress(this.info, 'stdin'));
    this.iopub.connect(channelAddress(this.info, 'iopub'));
    this.iopub.subscribe();
    this.hb.connect(channelAddress(this.info, 'hb'));
    void this.readLoop(this.shell, 'shell');
    void this.readLoop(this.control, 'control');
    void this.readLoop(this.stdin, 'stdin');
    void this.readLoop(this.iopub, 'iopub');
    void this.hbLoop();
  }

  get isDead(): boolean {
    return this.deadError !== undefined;
  }

  /** Mark the kernel dead: every pending request and execute rejects with `err` now, and later ones at once. */
  markDead(err: Error): void {
    if (this.deadError) return;
    this.deadError = err;
    for (const p of this.replies.values()) p.reject(err);
    this.replies.clear();
    for (const w of this.deathWatchers) w(err);
  }

  /** Undo markDead after a restart brought a new process up on the same ports. */
  revive(): void {
    this.deadError = undefined;
  }

  onIopub(listener: IopubListener): () => void {
    this.iopubAll.add(listener);
    return () => this.iopubAll.delete(listener);
  }

  private async readLoop(sock: zmq.Dealer | zmq.Subscriber, channel: string): Promise<void> {
    try {
      for await (const frames of sock) {
        let msg: JupyterMessage;
        try {
          msg = decode(frames, this.info.key, this.info.signature_scheme);
        } catch {
          continue; // unsigned or malformed: ignore, as jupyter_client does
        }
        this.dispatch(channel, msg);
      }
    } catch (err) {
      if (!this.closed) this.markDead(new KernelDiedError(`${channel} channel failed: ${(err as Error).message}`));
    }
  }

  private dispatch(channel: string, msg: JupyterMessage): void {
    const parentId = msg.parent_header?.msg_id;
    if (channel === 'iopub') {
      if (parentId) this.iopubByParent.get(parentId)?.(msg);
      for (const l of this.iopubAll) l(msg);
      return;
    }
    if (channel === 'stdin') {
      if (msg.header.msg_type === 'input_request') {
        const c = msg.content as { prompt?: string; password?: boolean };
        void this.send(this.stdin, makeMessage('input_reply', { value: this.stdinReply(c.prompt ?? '', !!c.password) }, this.session, msg.header));
      }
      return;
    }
    if (parentId) {
      const p = this.replies.get(parentId);
      if (p) {
        this.replies.delete(parentId);
        p.resolve(msg);
      }
    }
  }

  private async send(sock: zmq.Dealer, msg: JupyterMessage<unknown>): Promise<void> {
    await sock.send(encode(msg, this.info.key, this.info.signature_scheme));
  }

  /** Send a request on shell or control and wait for its reply (rejects on timeout or kernel death). */
  async request(channel: ReplyChannel, msgType: string, content: Record<string, unknown>, timeoutMs = 30_000): Promise<JupyterMessage> {
    if (this.deadError) throw this.deadError;
    const msg = makeMessage(msgType, content, this.session);
    const id = msg.header.msg_id;
    const reply = new Promise<JupyterMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.replies.delete(id);
        reject(new KernelTimeoutError(msgType, timeoutMs));
      }, timeoutMs);
      this.replies.set(id, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
    await this.send(channel === 'shell' ? this.shell : this.control, msg);
    return reply;
  }

  async kernelInfo(timeoutMs = 30_000): Promise<JupyterMessage> {
    return this.request('shell', 'kernel_info_request', {}, timeoutMs);
  }

  /**
   * Wait until the kernel answers kernel_info and its iopub reaches us (a SUB socket drops what is published before the
   * subscription lands, so the first reply alone does not prove we will see a cell's outputs).
   */
  async waitForReady(timeoutMs = 60_000): Promise<JupyterMessage> {
    const deadline = Date.now() + timeoutMs;
    let lastReply: JupyterMessage | undefined;
    while (Date.now() < deadline) {
      if (this.deadError) throw this.deadError;
      let sawIopub = false;
      const off = this.onIopub(() => {
        sawIopub = true;
      });
      try {
        lastReply = await this.kernelInfo(Math.max(100, Math.min(5_000, deadline - Date.now())));
      } catch (err) {
        off();
        if (err instanceof KernelTimeoutError) continue;
        throw err;
      }
      // The kernel publishes status busy/idle around kernel_info; give it a moment to arrive.
      const until = Math.min(deadline, Date.now() + 500);
      while (!sawIopub && Date.now() < until && !this.deadError) await new Promise((r) => setTimeout(r, 10));
      off();
      if (sawIopub) return lastReply;
    }
    if (this.deadError) throw this.deadError;
    if (lastReply) return lastReply; // a kernel that publishes no status on kernel_info: accept the reply
    throw new KernelTimeoutError('kernel_info_request (kernel start)', timeoutMs);
  }

  /** Start an execute_request; the handle's promise settles when the reply and the matching idle status both arrived. */
  execute(code: string, opts: ExecuteRequestOptions = {}): ExecuteHandle {
    const msg = makeMessage(
      'execute_request',
      {
        code,
        silent: opts.silent ?? false,
        store_history: opts.storeHistory ?? true,
        user_expressions: opts.userExpressions ?? {},
        allow_stdin: opts.allowStdin ?? false,
        stop_on_error: opts.stopOnError ?? true,
      },
      this.session,
    );
    const msgId = msg.header.msg_id;
    const iopub: JupyterMessage[] = [];
    const done = new Promise<ExecuteOutcome>((resolve, reject) => {
      let reply: JupyterMessage | undefined;
      let idle = false;
      const finish = (): void => {
        if (reply && idle) {
          cleanup();
          resolve({ msgId, reply, iopub });
        }
      };
      const onDeath = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const cleanup = (): void => {
        this.iopubByParent.delete(msgId);
        this.deathWatchers.delete(onDeath);
      };
      this.iopubByParent.set(msgId, (m) => {
        iopub.push(m);
        opts.onIopub?.(m);
        if (m.header.msg_type === 'status' && (m.content as { execution_state?: string }).execution_state === 'idle') {
          idle = true;
          finish();
        }
      });
      this.deathWatchers.add(onDeath);
      if (this.deadError) return onDeath(this.deadError);
      this.replies.set(msgId, {
        resolve: (m) => {
          reply = m;
          finish();
        },
        reject: onDeath,
      });
      this.send(this.shell, msg).catch(onDeath);
    });
    return { msgId, done };
  }

  /** interrupt_request on the control channel (for kernels whose spec says interrupt_mode "message"). */
  async interruptByMessage(timeoutMs = 10_000): Promise<JupyterMessage> {
    return this.request('control', 'interrupt_request', {}, timeoutMs);
  }

  async shutdownRequest(restart = false, timeoutMs = 10_000): Promise<JupyterMessage> {
    return this.request('control', 'shutdown_request', { restart }, timeoutMs);
  }

  /** One heartbeat round trip: true if the kernel echoed within the timeout. */
  async ping(timeoutMs = 2_000): Promise<boolean> {
    if (this.closed) return false;
    const token = randomUUID();
    const echoed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.hbWaiters.delete(token);
        resolve(false);
      }, timeoutMs);
      this.hbWaiters.set(token, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    try {
      // hb is a REP socket on the kernel side: a DEALER must add the empty delimiter frame REQ would add.
      await this.hb.send([Buffer.alloc(0), token]);
    } catch {
      return false;
    }
    return echoed;
  }

  private async hbLoop(): Promise<void> {
    try {
      for await (const frames of this.hb) {
        const token = frames[frames.length - 1].toString();
        this.hbWaiters.get(token)?.();
        this.hbWaiters.delete(token);
      }
    } catch {
      /* closed */
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.hb]) {
      try {
        s?.close();
      } catch {
        /* already closed */
      }
    }
    this.markDead(new KernelDiedError('the client was closed'));
  }
}
