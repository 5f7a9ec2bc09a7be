/**
 * The Jupyter wire format (messaging spec 5.3): identities, `<IDS|MSG>`, HMAC signature, header, parent header,
 * metadata, content, buffers. Parsing never throws on bad input: it returns a reason, so a malformed or forged
 * message is dropped and logged instead of taking the kernel down.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'crypto';

export const DELIMITER = Buffer.from('<IDS|MSG>');
export const PROTOCOL_VERSION = '5.3';

export interface MessageHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
}

export interface Message<C = Record<string, unknown>> {
  /** ZeroMQ routing identities (ROUTER sockets); empty for PUB. */
  identities: Buffer[];
  header: MessageHeader;
  /** Empty object when there is no parent (spec: `{}`). */
  parent: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

export class Signer {
  private readonly key: Buffer;
  constructor(key: string, private readonly scheme = 'hmac-sha256') {
    this.key = Buffer.from(key, 'utf8');
    if (key && scheme !== 'hmac-sha256') {
      throw new Error(`unsupported signature_scheme '${scheme}': only hmac-sha256 is implemented`);
    }
  }
  get enabled(): boolean {
    return this.key.length > 0;
  }
  sign(parts: readonly (Buffer | string)[]): string {
    if (!this.enabled) return '';
    const h = createHmac('sha256', this.key);
    for (const p of parts) h.update(p);
    return h.digest('hex');
  }
  /** Constant-time comparison; with an empty key every message is accepted (spec: signing disabled). */
  verify(signature: string, parts: readonly Buffer[]): boolean {
    if (!this.enabled) return true;
    const want = Buffer.from(this.sign(parts), 'utf8');
    const got = Buffer.from(signature, 'utf8');
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

export type ParseResult = { ok: true; message: Message } | { ok: false; reason: string; identities: Buffer[] };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseMessage(frames: readonly Buffer[], signer: Signer): ParseResult {
  const delim = frames.findIndex((f) => f.equals(DELIMITER));
  const identities = delim > 0 ? frames.slice(0, delim) : [];
  if (delim < 0) return { ok: false, reason: 'no <IDS|MSG> delimiter', identities };
  if (frames.length < delim + 6) return { ok: false, reason: `too few frames (${frames.length - delim - 1} after delimiter, need 5)`, identities };
  const signature = frames[delim + 1].toString('utf8');
  const parts = frames.slice(delim + 2, delim + 6);
  if (signer.enabled && !signature) return { ok: false, reason: 'missing signature', identities };
  if (!signer.verify(signature, parts)) return { ok: false, reason: 'bad signature', identities };
  const decoded: Record<string, unknown>[] = [];
  for (const [i, name] of ['header', 'parent_header', 'metadata', 'content'].entries()) {
    let v: unknown;
    try {
      v = JSON.parse(parts[i].toString('utf8'));
    } catch (err) {
      return { ok: false, reason: `invalid JSON in ${name}: ${(err as Error).message}`, identities };
    }
    if (!isObject(v)) return { ok: false, reason: `${name} is not a JSON object`, identities };
    decoded.push(v);
  }
  const header = decoded[0];
  if (typeof header.msg_type !== 'string' || typeof header.msg_id !== 'string') {
    return { ok: false, reason: 'header lacks msg_type or msg_id', identities };
  }
  return {
    ok: true,
    message: {
      identities,
      header: header as unknown as MessageHeader,
      parent: decoded[1] as Partial<MessageHeader>,
      metadata: decoded[2],
      content: decoded[3],
      buffers: frames.slice(delim + 6),
    },
  };
}

export function makeHeader(msgType: string, session: string, username = 'kernel'): MessageHeader {
  return { msg_id: randomUUID(), msg_type: msgType, session, username, date: new Date().toISOString(), version: PROTOCOL_VERSION };
}

/** Frames for one message; JSON is serialised once and the same bytes are signed and sent. */
export function serializeMessage(
  signer: Signer,
  identities: readonly Buffer[],
  header: MessageHeader,
  parent: Partial<MessageHeader>,
  content: unknown,
  metadata: Record<string, unknown> = {},
  buffers: readonly Buffer[] = [],
): Buffer[] {
  const parts = [JSON.stringify(header), JSON.stringify(parent ?? {}), JSON.stringify(metadata), JSON.stringify(content)].map((s) =>
    Buffer.from(s, 'utf8'),
  );
  return [...identities, DELIMITER, Buffer.from(signer.sign(parts), 'utf8'), ...parts, ...buffers];
}
