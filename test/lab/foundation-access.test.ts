// Foundation, access: an independent client (buf curl) lists the services by reflection and gets
// SERVING from grpc.health.v1; with mTLS, only clients with a certificate from the configured CA
// get in; systemd hears READY=1 and watchdog pings.
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { inNamespace } from './exec.js';
import { labWithDaemon } from './fixture.js';
import { REPO_ROOT, labConfig } from './lab-config.js';
import { createPki } from './pki.js';
import { ADDRESSES } from './topology.js';

const BUF = join(REPO_ROOT, 'node_modules/.bin/buf');
const MANAGEMENT_IP = ADDRESSES.routerManagement.split('/')[0] ?? '';
const LISTEN = `${MANAGEMENT_IP}:7800`;

t.test('buf curl over plaintext (--insecure): reflection and health', async (t) => {
  const { topology, daemon } = await labWithDaemon(t, { daemon: { listen: LISTEN } });
  await daemon.client.apply({ config: labConfig() });
  const curl = (...args: string[]) =>
    inNamespace(topology.manager, BUF, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args], {
      allowFailure: true,
    });

  const services = await curl('--list-services', `http://${LISTEN}`);
  t.equal(services.code, 0, services.stderr);
  t.same(services.stdout.trim().split('\n').sort(), ['grpc.health.v1.Health', 'vrouter.v1.RouterService']);
  const methods = await curl('--list-methods', `http://${LISTEN}`);
  t.match(methods.stdout, /vrouter\.v1\.RouterService\/Apply/);

  const health = await curl(`http://${LISTEN}/grpc.health.v1.Health/Check`);
  t.same(JSON.parse(health.stdout), { status: 'SERVING' });
  const named = await curl(
    '--data',
    '{"service":"vrouter.v1.RouterService"}',
    `http://${LISTEN}/grpc.health.v1.Health/Check`,
  );
  t.same(JSON.parse(named.stdout), { status: 'SERVING' });

  const status = await curl(`http://${LISTEN}/vrouter.v1.RouterService/GetStatus`);
  t.match(JSON.parse(status.stdout), { generation: '1' });

  const refused = await curl(
    '--data',
    '{"config":{"nics":[{"id":"x","mac":"nope","role":"NIC_ROLE_PUBLIC"}]}}',
    `http://${LISTEN}/vrouter.v1.RouterService/Apply`,
  );
  t.not(refused.code, 0);
  t.match(refused.stderr, /invalid_argument/);
  t.match(refused.stderr, /nics\[0\]\.mac/);
});

t.test(
  'mutual TLS: the manager gets in, a client without a certificate or from another CA does not',
  async (t) => {
    const pki = await createPki(MANAGEMENT_IP);
    t.teardown(() => pki.remove());
    const { topology } = await labWithDaemon(t, {
      daemon: { listen: LISTEN, tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca } },
    });
    const curl = (...args: string[]) =>
      inNamespace(
        topology.manager,
        BUF,
        [
          'curl',
          '--protocol',
          'grpc',
          '--cacert',
          pki.ca,
          ...args,
          `https://${LISTEN}/grpc.health.v1.Health/Check`,
        ],
        {
          allowFailure: true,
        },
      );
    const manager = await curl('--cert', pki.clientCert, '--key', pki.clientKey);
    t.equal(manager.code, 0, manager.stderr);
    t.same(JSON.parse(manager.stdout), { status: 'SERVING' });
    const anonymous = await curl();
    t.not(anonymous.code, 0, 'no client certificate: refused');
    const stranger = await curl('--cert', pki.strangerCert, '--key', pki.strangerKey);
    t.not(stranger.code, 0, 'a certificate from another CA: refused');
    const plaintext = await inNamespace(
      topology.manager,
      BUF,
      [
        'curl',
        '--protocol',
        'grpc',
        '--http2-prior-knowledge',
        `http://${LISTEN}/grpc.health.v1.Health/Check`,
      ],
      { allowFailure: true },
    );
    t.not(plaintext.code, 0, 'plaintext: refused');
  },
);

t.test('systemd notification: READY=1 after the restore, then watchdog pings', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vrouterd-notify-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const socket = join(dir, 'notify.sock');
  // A stand-in for systemd's notification socket: a unix datagram socket printing what it receives.
  const listener = spawn('python3', [
    '-c',
    'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound",flush=True)\nwhile True:\n  print(s.recv(4096).decode().replace("\\n","|"),flush=True)',
    socket,
  ]);
  t.teardown(() => listener.kill());
  const lines: string[] = [];
  listener.stdout.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.trim().split('\n')));
  while (!lines.includes('bound')) await new Promise((resolve) => setTimeout(resolve, 20));

  const { daemon } = await labWithDaemon(t, {
    daemon: { env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '200000' } },
  });
  await daemon.client.getStatus();
  while (!lines.includes('WATCHDOG=1')) await new Promise((resolve) => setTimeout(resolve, 50));
  const ready = lines.findIndex((l) => l.startsWith('READY=1'));
  t.ok(ready > lines.findIndex((l) => l.startsWith('STATUS=restoring')), 'READY=1 comes after the restore');
  t.match(lines[ready], /^READY=1\|STATUS=serving generation 0$/);
  t.equal(await daemon.stop(), 0, 'SIGTERM: a clean exit');
  for (let i = 0; i < 100 && !lines.includes('STOPPING=1'); i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  t.ok(lines.includes('STOPPING=1'));
});
