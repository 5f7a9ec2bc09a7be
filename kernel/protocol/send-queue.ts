/**
 * zeromq v6 allows one send in flight per socket ("Socket is busy writing"); every sender goes through this queue,
 * which keeps message order too (status busy → outputs → idle must arrive in that order).
 */
export interface Sendable {
  send(frames: Buffer[]): Promise<void>;
}

export class SendQueue {
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  constructor(private readonly socket: Sendable, private readonly log: (msg: string) => void) {}

  send(frames: Buffer[]): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.tail = this.tail.then(
      () => (this.closed ? undefined : this.socket.send(frames)),
    ).catch((err: unknown) => {
      this.log(`send failed: ${(err as Error).message}`);
    });
    return this.tail;
  }

  /** Resolves when everything queued so far has been handed to ZeroMQ. */
  drain(): Promise<void> {
    return this.tail;
  }

  close(): void {
    this.closed = true;
  }
}
