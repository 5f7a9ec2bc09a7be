/**
 * Jupyter messaging 5.3 wire format, client side: building, signing, encoding and decoding multipart messages.
 * Kept separate from kernel/protocol (the kernel side) so the client can be tested against any kernel, ours or not.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'crypto';

export const PROTOCOL_VERSION = '5.3';
const DELIMITER = '<IDS|MSG>';

export interface MessageHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
}

export interface JupyterMessage<C = Record<string, unknown>> {
  header: MessageHeader;
  /** Empty object when the message answers nothing. */
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: C;
  buffers?: Buffer[];
  /** The routing prefix frames (only meaningful on ROUTER sockets; kept for completeness). */
  identities?: Buffer[];
}

export function newHeader(msgType: string, session: string, username = 'tinylab'): MessageHeader {
  return { msg_id: randomUUID(), msg_type: msgType, session, username, date: new Date().toISOString(), version: PROTOCOL_VERSION };
}

export function makeMessage<C>(msgType: string, content: C, session: string, parent: Partial<MessageHeader> = {}): JupyterMessage<C> {
  return { header: newHeader(msgType, session), parent_header: parent, metadata: {}, content };
}

/** HMAC over the four JSON parts, hex; the empty string when the connection has no key (signing disabled). */
export function sign(key: string, scheme: string, parts: Array<string | Buffer>): string {
  if (!key) return '';
  const algo = scheme.replace(/^hmac-/, '');
  const h = createHmac(algo, key);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

export function encode(msg: JupyterMessage<unknown>, key: string, scheme: string): Array<string | Buffer> {
  const parts = [
    JSON.stringify(msg.header),
    JSON.stringify(msg.parent_header ?? {}),
    JSON.stringify(msg.metadata ?? {}),
    JSON.stringify(msg.content ?? {}),
  ];
  return [...(msg.identities ?? []), DELIMITER, sign(key, scheme, parts), ...parts, ...(msg.buffers ?? [])];
}

/** Decode a multipart message; throws when the signature does not match (a message we must not trust). */
export function decode(frames: Buffer[], key: string, scheme: string): JupyterMessage {
  const i = frames.findIndex((f) => f.length === DELIMITER.length && f.toString() === DELIMITER);
  if (i < 0 || frames.length < i + 6) throw new Error('malformed Jupyter message: no <IDS|MSG> delimiter or missing parts');
  const [sig, h, p, m, c] = frames.slice(i + 1, i + 6);
  if (key) {
    const expected = Buffer.from(sign(key, scheme, [h, p, m, c]));
    if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) throw new Error('Jupyter message with an invalid HMAC signature');
  }
  return {
    identities: frames.slice(0, i),
    header: JSON.parse(h.toString()) as MessageHeader,
    parent_header: JSON.parse(p.toString()) as Partial<MessageHeader>,
    metadata: JSON.parse(m.toString()) as Record<string, unknown>,
    content: JSON.parse(c.toString()) as Record<string, unknown>,
    buffers: frames.slice(i + 6),
  };
}
