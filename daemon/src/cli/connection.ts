// The RouterClient the connection options ask for: the console socket, or the management API
// (with mTLS when all three --tls-* files are given).
import { readFile } from 'node:fs/promises';
import { RouterClient } from './client.js';
import type { Options } from './options.js';

export async function connect(options: Options): Promise<RouterClient> {
  const tlsFiles = [options['tls-cert'], options['tls-key'], options['tls-ca']];
  const tls = tlsFiles.every((f) => f !== undefined)
    ? {
        cert: await readFile(tlsFiles[0] ?? ''),
        key: await readFile(tlsFiles[1] ?? ''),
        ca: await readFile(tlsFiles[2] ?? ''),
      }
    : undefined;
  return new RouterClient({
    socket: options.socket ?? process.env['VROUTERCTL_SOCKET'] ?? '/run/vrouterd/control.sock',
    ...(options.server !== undefined && { server: options.server }),
    ...(tls !== undefined && { tls }),
  });
}
