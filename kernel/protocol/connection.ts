/** The connection file Jupyter writes for a kernel: ports, transport, IP and signing key. */
import * as fs from 'fs';
import { InputError } from '../../src/common/errors';

export interface ConnectionInfo {
  transport: 'tcp' | 'ipc';
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

export function readConnectionFile(file: string): ConnectionInfo {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read connection file ${file}: ${(err as Error).message}; Jupyter passes it as {connection_file}`);
  }
  let info: Partial<ConnectionInfo>;
  try {
    info = JSON.parse(raw) as Partial<ConnectionInfo>;
  } catch (err) {
    throw new InputError(`connection file ${file} is not JSON: ${(err as Error).message}`);
  }
  for (const k of ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'] as const) {
    if (info.transport !== 'ipc' && typeof info[k] !== 'number') throw new InputError(`connection file ${file} lacks a numeric ${k}`);
  }
  return {
    transport: info.transport === 'ipc' ? 'ipc' : 'tcp',
    ip: info.ip ?? '127.0.0.1',
    shell_port: info.shell_port ?? 0,
    iopub_port: info.iopub_port ?? 0,
    stdin_port: info.stdin_port ?? 0,
    control_port: info.control_port ?? 0,
    hb_port: info.hb_port ?? 0,
    key: info.key ?? '',
    signature_scheme: info.signature_scheme ?? 'hmac-sha256',
    kernel_name: info.kernel_name,
  };
}

/** The endpoint for one channel, bound only to the transport and IP the file names (ipc: `<ip>-<port>` like jupyter_client). */
export function endpoint(info: ConnectionInfo, port: number): string {
  return info.transport === 'ipc' ? `ipc://${info.ip}-${port}` : `tcp://${info.ip}:${port}`;
}
