/**
 * Jupyter messaging 5.3 wire format, client side: the client's view (messages with `parent_header`, decoding that
 * throws on a bad signature) over the one implementation of framing and signing in kernel/protocol/wire.ts, which the
 * kernel uses too — so client and kernel cannot drift apart on the wire.
 */
import { PROTOCOL_VERSION, Signer, makeHeader, parseMessage, serializeMessage } from '../protocol/wire';
import type { MessageHeader } from '../protocol/wire';

export { PROTOCOL_VERSION };
export type { MessageHeader };

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
  return makeHeader(msgType, session, username);
}

export function makeMessage<C>(msgType: string, content: C, session: string, parent: Partial<MessageHeader> = {}): JupyterMessage<C> {
  return { header: newHeader(msgType, session), parent_header: parent, metadata: {}, content };
}

/** HMAC over the four JSON parts, hex; the empty string when the connection has no key (signing disabled). */
export function sign(key: string, scheme: string, parts: Array<string | Buffer>): string {
  return new Signer(key, scheme).sign(parts);
}

export function encode(msg: JupyterMessage<unknown>, key: string, scheme: string): Buffer[] {
  return serializeMessage(new Signer(key, scheme), msg.identities ?? [], msg.header, msg.parent_header ?? {}, msg.content ?? {}, msg.metadata ?? {}, msg.buffers ?? []);
}

/** Decode a multipart message; throws when it is malformed or its signature does not match (a message we must not trust). */
export function decode(frames: Buffer[], key: string, scheme: string): JupyterMessage {
  const r = parseMessage(frames, new Signer(key, scheme));
  if (!r.ok) {
    throw new Error(/signature/.test(r.reason) ? `Jupyter message with an invalid HMAC signature (${r.reason})` : `malformed Jupyter message: ${r.reason}`);
  }
  const m = r.message;
  return { identities: m.identities, header: m.header, parent_header: m.parent, metadata: m.metadata, content: m.content, buffers: m.buffers };
}
