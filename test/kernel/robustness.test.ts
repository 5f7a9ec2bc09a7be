/**
 * Robustness of the real kernel process: malformed frames, invalid JSON, bad and missing signatures, unknown
 * message types, a 10 MB output and 1,000 executions in a row. The kernel must stay up, answer, log what it dropped,
 * never execute a forged message, and not grow memory without bound.
 */
import { createHmac } from 'crypto';
import { Driver, assertBuilt, errorOf, resultText, streamText, tempJupyter } from './harness';
import * as fs from 'fs';

jest.setTimeout(300_000);

let jupyter: { dir: string; env: NodeJS.ProcessEnv };
let d: Driver;
let key = '';

beforeAll(async () => {
  assertBuilt();
  jupyter = tempJupyter('signal');
  d = new Driver(jupyter.env);
  key = (await d.call('start', { kernel_name: 'tinylab' })).key;
  expect(key.length).toBeGreaterThan(0);
  await d.execute('let marker = 0');
});

afterAll(async () => {
  await d?.close();
  fs.rmSync(jupyter.dir, { recursive: true, force: true });
});

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

/** Frames signed with the real key (independent HMAC, not the kernel's code). */
function signed(parts: string[]): string[] {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return ['<IDS|MSG>', h.digest('hex'), ...parts].map(b64);
}

function header(msgType: string, id: string): string {
  return JSON.stringify({ msg_id: id, msg_type: msgType, session: 's', username: 'u', date: new Date().toISOString(), version: '5.3' });
}

async function stillWorks(): Promise<void> {
  const c = await d.execute('marker');
  expect(c.reply!.status === 'ok' ? 'ok' : JSON.stringify(c.reply)).toBe('ok');
  expect(resultText(c)).toBe('0');
}

test('malformed frames and invalid JSON are dropped and logged; the kernel answers afterwards', async () => {
  await d.call('send_raw', { frames: [b64('garbage')] });
  await d.call('send_raw', { frames: [b64('<IDS|MSG>'), b64('sig')] });
  await d.call('send_raw', { frames: signed(['{not json', '{}', '{}', '{}']) });
  await d.call('send_raw', { frames: signed(['[1,2]', '{}', '{}', '{}']) });
  await d.call('send_raw', { frames: signed([JSON.stringify({ msg_type: 'execute_request' }), '{}', '{}', '{}']) });
  await d.call('send_raw', { frames: [b64('<IDS|MSG>'), b64(''), b64('{}')] });
  await stillWorks();
  expect(d.log).toContain('no <IDS|MSG> delimiter');
  expect(d.log).toContain('invalid JSON in header');
  expect(d.log).toContain('header is not a JSON object');
  expect(d.log).toContain('header lacks msg_type or msg_id');
  expect(d.log).toContain('too few frames');
});

test('bad or missing HMAC: never executed, no reply, logged', async () => {
  const forged = await d.call('send_signed', { msg_type: 'execute_request', content: { code: 'marker = 666', silent: false }, key: 'wrong-key' });
  expect((await d.call('wait_reply', { msg_id: forged.msg_id, timeout: 2 })).reply).toBeNull();
  const unsigned = await d.call('send_signed', { msg_type: 'execute_request', content: { code: 'marker = 777', silent: false }, key: '' });
  expect((await d.call('wait_reply', { msg_id: unsigned.msg_id, timeout: 2 })).reply).toBeNull();
  // Control channel too.
  await d.call('send_signed', { msg_type: 'shutdown_request', content: { restart: false }, key: 'wrong-key', channel: 'control' });
  await new Promise((r) => setTimeout(r, 500));
  expect((await d.call('is_alive')).alive).toBe(true);
  await stillWorks(); // marker is still 0: neither forged cell ran
  expect(d.log).toContain('dropped shell message: bad signature');
  expect(d.log).toContain('dropped shell message: missing signature');
  expect(d.log).toContain('dropped control message: bad signature');
  // A correctly signed message with the same construction is answered (the forgeries failed only on the signature).
  const good = await d.call('send_signed', { msg_type: 'kernel_info_request', content: {} });
  expect((await d.call('wait_reply', { msg_id: good.msg_id, timeout: 10 })).reply.msg_type).toBe('kernel_info_reply');
});

test('unknown message types are ignored with a log line', async () => {
  const u = await d.call('send_signed', { msg_type: 'frobnicate_request', content: { x: 1 } });
  expect((await d.call('wait_reply', { msg_id: u.msg_id, timeout: 1 })).reply).toBeNull();
  expect(d.log).toContain("unknown message type 'frobnicate_request'");
  await stillWorks();
});

test('a 10 MB output arrives whole', async () => {
  const size = 10 * 1024 * 1024;
  const c = await d.execute(`console.log('abcdefghij'.repeat(${size / 10}))`, { timeout: 120 });
  expect(c.reply!.status).toBe('ok');
  const text = streamText(c);
  expect(text.length).toBe(size + 1);
  expect(text.slice(0, 20)).toBe('abcdefghijabcdefghij');
  await stillWorks();
});

test('1,000 executions in a row: all answered, counts right, memory bounded', async () => {
  const first = (await d.execute('0')).reply!.execution_count as number;
  // The same cell again and again (its conversion is cached after the first run, so this exercises the protocol,
  // the runtime and memory rather than the type checker, whose cost bench:kernel reports).
  const r = await d.call('execute_many', { code: 'marker++', n: 1000 });
  expect(r.first_error).toBeNull();
  expect(r.statuses).toEqual({ ok: 1000 });
  expect(r.last.reply.execution_count).toBe(first + 1000);
  expect(resultText(r.last)).toBe('999');
  expect(resultText(await d.execute('marker'))).toBe('1000');
  await d.execute('marker = 0');
  const [start, afterWarmup, end] = r.rss_kb as number[];
  // After the first 100 cells the heap is warm; the next 900 must not keep growing (allow GC noise, 64 MB).
  expect(end - afterWarmup).toBeLessThan(64 * 1024);
  expect(start).toBeGreaterThan(0);
  const err = await d.execute('throw new Error("still fine")');
  expect(errorOf(err)!.evalue).toBe('still fine');
  await stillWorks();
});
