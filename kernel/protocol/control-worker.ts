/**
 * Control and heartbeat sockets live on their own thread so that they answer while a cell blocks the main thread
 * (a busy `while (true)`). An `interrupt_request` is turned into SIGINT to our own process: the main thread runs cell
 * code with `breakOnSigint`, so V8 stops a synchronous loop, and the SIGINT listener rejects an awaiting cell.
 * Every other control message is handed to the main thread, whose replies come back here to be sent.
 */
import { parentPort, workerData } from 'worker_threads';
import * as zmq from 'zeromq';
import { Signer, makeHeader, parseMessage, serializeMessage } from './wire';
import { SendQueue } from './send-queue';

export interface ControlWorkerData {
  controlEndpoint: string;
  hbEndpoint: string;
  key: string;
  scheme: string;
}

/** Messages from the worker to the main thread. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'control'; frames: Uint8Array[] }
  | { type: 'interrupted'; parent: Record<string, unknown> }
  | { type: 'log'; text: string }
  | { type: 'error'; text: string };

/** Messages from the main thread to the worker. */
export type ToWorker = { type: 'send'; frames: Uint8Array[] } | { type: 'close' };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const data = workerData as ControlWorkerData;
  const signer = new Signer(data.key, data.scheme);
  const control = new zmq.Router();
  const hb = new zmq.Reply();
  const log = (text: string): void => port.postMessage({ type: 'log', text } satisfies FromWorker);
  const controlOut = new SendQueue(control, log);
  try {
    await control.bind(data.controlEndpoint);
    await hb.bind(data.hbEndpoint);
  } catch (err) {
    port.postMessage({ type: 'error', text: `cannot bind control/heartbeat: ${(err as Error).message}` } satisfies FromWorker);
    return;
  }
  port.on('message', (m: ToWorker) => {
    if (m.type === 'send') void controlOut.send(m.frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)));
    else if (m.type === 'close') {
      void controlOut.drain().then(() => {
        control.close();
        hb.close();
        port.close();
      });
    }
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);

  void (async () => {
    try {
      for await (const frames of hb) await hb.send(frames);
    } catch {
      /* socket closed at shutdown */
    }
  })();

  try {
    for await (const frames of control) {
      const parsed = parseMessage(frames, signer);
      if (!parsed.ok) {
        log(`dropped control message: ${parsed.reason}`);
        continue;
      }
      const msg = parsed.message;
      if (msg.header.msg_type === 'interrupt_request') {
        process.kill(process.pid, 'SIGINT');
        const header = makeHeader('interrupt_reply', msg.header.session);
        void controlOut.send(serializeMessage(signer, msg.identities, header, msg.header, { status: 'ok' }));
        port.postMessage({ type: 'interrupted', parent: msg.header as unknown as Record<string, unknown> } satisfies FromWorker);
        continue;
      }
      port.postMessage({ type: 'control', frames } satisfies FromWorker);
    }
  } catch {
    /* socket closed at shutdown */
  }
}

void main();
