/** Connection files: five free TCP ports on loopback, a random HMAC key, written where the kernel can read them. */
import { randomBytes, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { ConnectionInfo as ProtocolConnectionInfo } from '../protocol/connection';

/** The kernel side's connection-file shape; a client we start always uses TCP on loopback. */
export type ConnectionInfo = ProtocolConnectionInfo & { transport: 'tcp' };

export type Channel = 'shell' | 'iopub' | 'stdin' | 'control' | 'hb';

export function channelAddress(info: ConnectionInfo, ch: Channel): string {
  return `${info.transport}://${info.ip}:${info[`${ch}_port`]}`;
}

/**
 * `n` distinct free ports. All listeners stay open until every port is chosen, so the OS cannot hand out one twice;
 * the small window between closing them and the kernel binding is the same one jupyter_client lives with.
 */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, host, () => resolve());
      });
      ports.push((srv.address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

export async function newConnectionInfo(kernelName?: string): Promise<ConnectionInfo> {
  const [shell, iopub, stdin, control, hb] = await freePorts(5);
  return {
    transport: 'tcp',
    ip: '127.0.0.1',
    shell_port: shell,
    iopub_port: iopub,
    stdin_port: stdin,
    control_port: control,
    hb_port: hb,
    key: randomUUID(),
    signature_scheme: 'hmac-sha256',
    ...(kernelName ? { kernel_name: kernelName } : {}),
  };
}

/** Write a connection file readable only by this user (it holds the signing key); returns its path. */
export function writeConnectionFile(info: ConnectionInfo, dir = os.tmpdir()): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `tinylab-kernel-${randomBytes(6).toString('hex')}.json`);
  fs.writeFileSync(file, JSON.stringify(info, null, 2), { mode: 0o600 });
  return file;
}

export function readConnectionFile(file: string): ConnectionInfo {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ConnectionInfo;
}
