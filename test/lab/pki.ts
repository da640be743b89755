// A throwaway PKI for mTLS scenarios: two CAs, a server certificate for the router's management
// address, a client certificate from each CA. openssl, in a temporary directory.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.js';

export interface Pki {
  readonly dir: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A client certificate signed by another CA. */
  readonly strangerCert: string;
  readonly strangerKey: string;
  remove(): Promise<void>;
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function createPki(serverIp: string): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'vrouterd-pki-'));
  const path = (name: string) => join(dir, name);
  /** A new key NAME.key and, for CN=NAME, a request OUT (or with -x509 a self-signed certificate). */
  const newKey = (name: string, out: string, ...options: string[]) =>
    run('openssl', [
      'req',
      ...options,
      ...KEY,
      '-keyout',
      path(`${name}.key`),
      '-out',
      path(out),
      '-subj',
      `/CN=${name}`,
    ]);
  const ca = (name: string) => newKey(name, `${name}.crt`, '-x509', '-days', '2');
  const issue = async (name: string, caName: string, extensions: string) => {
    await writeFile(path(`${name}.ext`), extensions);
    await newKey(name, `${name}.csr`);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      path(`${name}.csr`),
      '-CA',
      path(`${caName}.crt`),
      '-CAkey',
      path(`${caName}.key`),
      '-CAcreateserial',
      '-out',
      path(`${name}.crt`),
      '-days',
      '2',
      '-extfile',
      path(`${name}.ext`),
    ]);
  };
  await ca('manager-ca');
  await ca('stranger-ca');
  await issue('router', 'manager-ca', `subjectAltName=IP:${serverIp}\nextendedKeyUsage=serverAuth\n`);
  await issue('manager', 'manager-ca', 'extendedKeyUsage=clientAuth\n');
  await issue('stranger', 'stranger-ca', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    ca: path('manager-ca.crt'),
    serverCert: path('router.crt'),
    serverKey: path('router.key'),
    clientCert: path('manager.crt'),
    clientKey: path('manager.key'),
    strangerCert: path('stranger.crt'),
    strangerKey: path('stranger.key'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
