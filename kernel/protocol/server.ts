/**
 * The kernel's sockets and message routing. Shell, iopub and stdin live on the main thread; control and heartbeat
 * on a worker (control-worker.ts) so they answer while a cell blocks. Shell requests run one at a time, each wrapped
 * in status busy/idle with the request as parent; after an execute error with stop_on_error, requests already queued
 * are answered "aborted". Malformed or badly signed messages are dropped and logged, never executed.
 */
import * as path from 'path';
import { randomUUID } from 'crypto';
import { Worker } from 'worker_threads';
import * as zmq from 'zeromq';
import { endpoint, type ConnectionInfo } from './connection';
import { SendQueue } from './send-queue';
import { Signer, makeHeader, parseMessage, serializeMessage, type Message, type MessageHeader } from './wire';
import type { ControlWorkerData, FromWorker, ToWorker } from './control-worker';
import { kernelTimers } from '../session/timers';

export type Channel = 'shell' | 'control';

/** One request being handled: reply on its channel, publish on iopub with it as parent, ask stdin. */
export interface RequestContext {
  msg: Message;
  channel: Channel;
  reply(msgType: string, content: object, metadata?: Record<string, unknown>): void;
  publish(msgType: string, content: object, metadata?: Record<string, unknown>): void;
}

export interface RequestHandlers {
  /** Return `'error'` from an execute_request to trigger stop_on_error aborting of queued executes. */
  handle(ctx: RequestContext): Promise<'ok' | 'error' | void> | 'ok' | 'error' | void;
  /** SIGINT or interrupt_request arrived (also when idle). */
  interrupt(): void;
}

export type Logger = (text: string) => void;

export class KernelServer {
  readonly kernelId = randomUUID();
  readonly signer: Signer;
  private shell = new zmq.Router();
  private iopub = new zmq.Publisher({ sendHighWaterMark: 100_000 });
  private stdin = new zmq.Router();
  private shellOut: SendQueue;
  private iopubOut: SendQueue;
  private stdinOut: SendQueue;
  private worker: Worker | undefined;
  private readonly queue: Message[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private pendingInput: { resolve(v: string): void; reject(e: Error): void; parentId: string } | undefined;
  /** The session id we stamp on messages we originate (replies reuse the request's session, per spec). */
  readonly session = randomUUID();
  handlers: RequestHandlers | undefined;
  /** Called for every iopub message before sending (the session flushes buffered streams first). */
  beforePublish: (() => void) | undefined;

  constructor(private readonly conn: ConnectionInfo, private readonly log: Logger) {
    this.signer = new Signer(conn.key, conn.signature_scheme);
    this.shellOut = new SendQueue(this.shell, log);
    this.iopubOut = new SendQueue(this.iopub, log);
    this.stdinOut = new SendQueue(this.stdin, log);
    for (const s of [this.shell, this.iopub, this.stdin]) s.linger = 1000;
  }

  async start(): Promise<void> {
    await Promise.all([
      this.shell.bind(endpoint(this.conn, this.conn.shell_port)),
      this.iopub.bind(endpoint(this.conn, this.conn.iopub_port)),
      this.stdin.bind(endpoint(this.conn, this.conn.stdin_port)),
      this.startWorker(),
    ]);
    void this.receiveLoop(this.shell, (m) => this.enqueue(m), 'shell');
    void this.receiveLoop(this.stdin, (m) => this.onStdin(m), 'stdin');
    void this.processLoop();
  }

  private startWorker(): Promise<void> {
    const data: ControlWorkerData = {
      controlEndpoint: endpoint(this.conn, this.conn.control_port),
      hbEndpoint: endpoint(this.conn, this.conn.hb_port),
      key: this.conn.key,
      scheme: this.conn.signature_scheme,
    };
    const worker = new Worker(path.join(__dirname, 'control-worker.js'), { workerData: data });
    this.worker = worker;
    worker.unref();
    return new Promise((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            resolve();
            break;
          case 'error':
            reject(new Error(m.text));
            break;
          case 'log':
            this.log(m.text);
            break;
          case 'interrupted':
            // SIGINT was raised by the worker; status messages for the control request keep clients in step.
            this.publishRaw('status', { execution_state: 'busy' }, m.parent as Partial<MessageHeader>);
            this.publishRaw('status', { execution_state: 'idle' }, m.parent as Partial<MessageHeader>);
            break;
          case 'control': {
            const parsed = parseMessage(m.frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)), this.signer);
            if (parsed.ok) void this.dispatch(parsed.message, 'control');
            break;
          }
        }
      });
      worker.on('error', (err) => this.log(`control thread failed: ${err.message}`));
    });
  }

  private async receiveLoop(sock: zmq.Router, onMessage: (m: Message) => void, name: string): Promise<void> {
    try {
      for await (const frames of sock) {
        const parsed = parseMessage(frames, this.signer);
        if (!parsed.ok) {
          this.log(`dropped ${name} message: ${parsed.reason}`);
          continue;
        }
        onMessage(parsed.message);
      }
    } catch (err) {
      if (!this.closed) this.log(`${name} socket failed: ${(err as Error).message}`);
    }
  }

  private enqueue(m: Message): void {
    this.queue.push(m);
    this.wake?.();
  }

  private async processLoop(): Promise<void> {
    while (!this.closed) {
      const msg = this.queue.shift();
      if (!msg) {
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      await this.dispatch(msg, 'shell');
    }
  }

  /**
   * stop_on_error: let requests the client already sent reach the queue, then answer queued execute_requests
   * "aborted". Called before the failing cell's reply goes out, so a client that waits for that reply before
   * sending its next cell is never aborted by mistake.
   */
  async abortQueuedExecutes(): Promise<void> {
    await new Promise<void>((r) => kernelTimers.setTimeout(r, 10));
    const keep: Message[] = [];
    for (const m of this.queue.splice(0)) {
      if (m.header.msg_type !== 'execute_request') {
        keep.push(m);
        continue;
      }
      const ctx = this.context(m, 'shell');
      ctx.publish('status', { execution_state: 'busy' });
      ctx.reply('execute_reply', { status: 'aborted', execution_count: null });
      ctx.publish('status', { execution_state: 'idle' });
    }
    this.queue.unshift(...keep);
  }

  private async dispatch(msg: Message, channel: Channel): Promise<'ok' | 'error' | void> {
    const ctx = this.context(msg, channel);
    ctx.publish('status', { execution_state: 'busy' });
    try {
      return await this.handlers?.handle(ctx);
    } catch (err) {
      this.log(`handler for ${msg.header.msg_type} failed: ${(err as Error).stack ?? String(err)}`);
      return 'error';
    } finally {
      ctx.publish('status', { execution_state: 'idle' });
    }
  }

  context(msg: Message, channel: Channel): RequestContext {
    return {
      msg,
      channel,
      reply: (msgType, content, metadata = {}) => {
        const frames = serializeMessage(this.signer, msg.identities, makeHeader(msgType, msg.header.session), msg.header, content, metadata);
        if (channel === 'shell') void this.shellOut.send(frames);
        else this.worker?.postMessage({ type: 'send', frames } satisfies ToWorker);
      },
      publish: (msgType, content, metadata = {}) => this.publishRaw(msgType, content, msg.header, metadata),
    };
  }

  publishRaw(msgType: string, content: object, parent: Partial<MessageHeader>, metadata: Record<string, unknown> = {}): void {
    if (this.closed) return;
    this.beforePublish?.();
    const topic = Buffer.from(`kernel.${this.kernelId}.${msgType}`);
    const header = makeHeader(msgType, parent.session ?? this.session);
    void this.iopubOut.send(serializeMessage(this.signer, [topic], header, parent, content, metadata));
  }

  /** Publish without flushing streams first (used by the stream flusher itself). */
  publishStream(content: object, parent: Partial<MessageHeader>): void {
    if (this.closed) return;
    const topic = Buffer.from(`kernel.${this.kernelId}.stream`);
    void this.iopubOut.send(serializeMessage(this.signer, [topic], makeHeader('stream', parent.session ?? this.session), parent, content));
  }

  /** input_request on stdin to the client that sent `parent`; resolves with its input_reply's value. */
  requestInput(parent: Message, prompt: string, password: boolean): Promise<string> {
    this.pendingInput?.reject(new Error('superseded by a newer input request'));
    return new Promise<string>((resolve, reject) => {
      this.pendingInput = { resolve, reject, parentId: parent.header.msg_id };
      const frames = serializeMessage(this.signer, parent.identities, makeHeader('input_request', parent.header.session), parent.header, { prompt, password });
      void this.stdinOut.send(frames);
    });
  }

  cancelInput(reason: Error): void {
    const p = this.pendingInput;
    this.pendingInput = undefined;
    p?.reject(reason);
  }

  private onStdin(m: Message): void {
    if (m.header.msg_type !== 'input_reply') {
      this.log(`ignored ${m.header.msg_type} on stdin`);
      return;
    }
    const p = this.pendingInput;
    this.pendingInput = undefined;
    if (!p) {
      this.log('input_reply without a pending input_request');
      return;
    }
    p.resolve(String((m.content as { value?: unknown }).value ?? ''));
  }

  /** Flush what is queued, then close every socket and the control thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    await Promise.race([Promise.all([this.shellOut.drain(), this.iopubOut.drain(), this.stdinOut.drain()]), new Promise((r) => kernelTimers.setTimeout(r, 1000))]);
    this.worker?.postMessage({ type: 'close' } satisfies ToWorker);
    for (const q of [this.shellOut, this.iopubOut, this.stdinOut]) q.close();
    this.shell.close();
    this.iopub.close();
    this.stdin.close();
    await new Promise((r) => kernelTimers.setTimeout(r, 50));
    await this.worker?.terminate();
  }
}
