// DHCP served by vrouterd to real clients in the lab: dhclient, udhcpc and dhcpcd on both private
// networks at once, each told its own network's settings; a pool lease that survives a restart and is
// freed by RELEASE; a host moved by Patch renumbered at its next renewal; a fuzz run that leaves the
// server answering. VMs have no static addresses here: whatever they hold came from the daemon.
import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import { DhcpSettingsSchema } from '../../daemon/src/gen/vrouter/v1/networks_pb.js';
import { DhcpLeaseKind } from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { LabDaemon, VROUTERCTL } from './daemon.js';
import { type ClientKind, DhcpClient, resetVm, vmState } from './dhcp-clients.js';
import { inNamespace, ip, removeNamespaceSync, run } from './exec.js';
import { networkADhcp } from './dhcp-settings.js';
import { labConfig } from './lab-config.js';
import { Topology } from './topology.js';

const FUZZ = fileURLToPath(new URL('./dhcp-fuzz.js', import.meta.url));
const POOL_ADDRESS = '10.1.0.100';
/** Network B's search list: over 255 bytes (option 119 split, RFC 3396) and, with the other options,
 * more than a 576-byte message holds (the rest in file and sname, option 52). */
const LONG_SEARCH = Array.from({ length: 12 }, (_, i) => `b${i}-search-domain-example.lab${i}`);
const VM2_MAC = '52:54:00:aa:00:12';

/** The lab config with DHCP on both networks; vm2 is not listed, so it is a pool client. */
function dhcpLabConfig(): RouterConfig {
  const config = labConfig();
  const [a, b] = config.networks;
  if (a === undefined || b === undefined) throw new Error('the lab config has two networks');
  a.hosts = a.hosts.filter((h) => h.mac !== VM2_MAC);
  // One address in the pool, so "the pool is taken" and "RELEASE gives it back" are visible.
  a.dhcp = networkADhcp({ start: POOL_ADDRESS, end: POOL_ADDRESS });
  b.dhcp = create(DhcpSettingsSchema, {
    enabled: true,
    dnsServers: ['10.2.0.53'],
    classlessRoutes: [{ destination: '192.168.60.0/24', nextHop: '10.2.0.254' }],
    domainSearch: LONG_SEARCH,
  });
  return config;
}

/** What each network's VM must be told and hold (network B's MTU is its NIC's, 1450). */
const EXPECTED = {
  a: {
    ip: '10.1.0.11',
    hostname: 'vm1',
    domain: 'a.lab.internal',
    dns: '10.1.0.53',
    mtu: 1400,
    routes: ['0.0.0.0/0 via 10.1.0.1', '192.168.50.0/24 via 10.1.0.254'],
  },
  b: {
    ip: '10.2.0.13',
    hostname: 'vm3',
    domain: 'b.lab.internal',
    dns: '10.2.0.53',
    mtu: 1450,
    routes: ['0.0.0.0/0 via 10.2.0.1', '192.168.60.0/24 via 10.2.0.254'],
  },
};

t.test('DHCP in the lab', async (t) => {
  const topology = await Topology.create({ staticVmAddresses: false });
  const daemon = await LabDaemon.start(topology.router);
  const dir = await mkdtemp(join(tmpdir(), 'vrouterd-dhcp-lab-'));
  const vm4 = `${topology.prefix}vm4`;
  t.teardown(async () => {
    removeNamespaceSync(vm4);
    await daemon.destroy();
    topology.destroySync();
    await rm(dir, { recursive: true, force: true });
  });
  const [vm1, vm2, vm3] = topology.vms;
  if (vm1 === undefined || vm2 === undefined || vm3 === undefined) throw new Error('the lab has three VMs');
  let clients = 0;
  const client = (kind: ClientKind, ns: string, ifname?: string) =>
    DhcpClient.prepare(kind, ns, join(dir, `${kind}-${++clients}`), ifname);

  await daemon.client.apply({ config: dhcpLabConfig() });

  await t.test('DHCP listens on the private NICs only, each socket bound to its NIC', async (t) => {
    const sockets = await inNamespace(topology.router, 'ss', ['-Hlun', 'sport = :67']);
    const bound = sockets.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(/\s+/)[3])
      .sort();
    t.same(bound, ['0.0.0.0%ens3:67', '0.0.0.0%ens4:67']);
  });

  for (const kind of ['dhclient', 'udhcpc', 'dhcpcd'] as const)
    await t.test(`${kind} on both networks at once: its network's address, name and options`, async (t) => {
      const onA = await client(kind, vm1.ns);
      const onB = await client(kind, vm3.ns);
      try {
        await Promise.all([onA.obtain(), onB.obtain()]);
        for (const [vm, c, want] of [
          [vm1, onA, EXPECTED.a],
          [vm3, onB, EXPECTED.b],
        ] as const) {
          const told = await c.waitFor((e) => e.ip !== '');
          t.match(told, { ip: want.ip, hostname: want.hostname, domain: want.domain, dns: want.dns }, vm.ns);
          t.equal(told.mask, '255.255.255.0');
          t.equal(Number(told.mtu), want.mtu);
          t.same([...told.routes].sort(), want.routes, 'classless routes, with the default route added');
          if (vm === vm1) {
            t.match(told.search, /^a\.lab\.internal\.? lab\.internal\.?$/, 'domain search (RFC 3397)');
            t.equal(told.ntp, '10.1.0.123');
          } else
            t.same(
              told.search.split(' ').map((d) => d.replace(/\.$/, '')),
              LONG_SEARCH,
              'a search list longer than one option, past the options field',
            );
          const state = await vmState(vm.ns);
          t.same(state.addresses, [`${want.ip}/24`], `${vm.ns} holds the address`);
          t.equal(state.mtu, want.mtu);
          t.same(state.routes, want.routes);
        }
      } finally {
        await Promise.all([onA.stop(), onB.stop()]);
        await Promise.all([resetVm(vm1.ns), resetVm(vm3.ns)]);
      }
    });

  await t.test('a pool lease survives a crash and restart, is renewed, and RELEASE frees it', async (t) => {
    // A fourth VM on network A, another pool client.
    await ip('netns', 'add', vm4);
    await ip(
      '-n',
      vm4,
      'link',
      'add',
      'eth0',
      'address',
      '02:00:00:00:00:44',
      'type',
      'veth',
      'peer',
      'name',
      'vm4',
      'netns',
      topology.switch,
    );
    await ip('-n', topology.switch, 'link', 'set', 'vm4', 'master', 'bra', 'up');
    await ip('-n', vm4, 'link', 'set', 'eth0', 'up');

    const holder = await client('udhcpc', vm2.ns);
    holder.startUdhcpc();
    t.teardown(() => holder.stop());
    const bound = await holder.waitFor((e) => e.event === 'bound');
    t.equal(bound.ip, POOL_ADDRESS);
    t.equal(bound.hostname, '', 'an unlisted client gets no name');

    const ctl = await run(process.execPath, [
      VROUTERCTL,
      '--socket',
      daemon.socket,
      'show',
      'dhcp',
      'leases',
    ]);
    t.match(
      ctl.stdout,
      new RegExp(`net-a\\s+${POOL_ADDRESS.replaceAll('.', '\\.')}\\s+${VM2_MAC}\\s+-\\s+pool`),
    );
    t.match(ctl.stdout, /^\d+ leases; since start: offers \d+, acks \d+, naks \d+/, 'with the counters');
    const nosuch = await run(
      process.execPath,
      [VROUTERCTL, '--socket', daemon.socket, 'show', 'dhcp', 'leases', '--network', 'nosuch'],
      { allowFailure: true },
    );
    t.not(nosuch.code, 0, 'an unknown network is an error, not an empty list');
    t.match(nosuch.stderr, /NOT_FOUND: no network with id "nosuch"/);
    const before = (await daemon.client.listDhcpLeases('net-a')).leases.find((l) => l.mac === VM2_MAC);
    t.equal(before?.kind, DhcpLeaseKind.POOL);

    // A crash, not a clean stop: the lease must already be in the journal (written within 100 ms).
    await new Promise((resolve) => setTimeout(resolve, 500));
    await daemon.kill();
    await daemon.launch();
    const after = (await daemon.client.listDhcpLeases('net-a')).leases.find((l) => l.mac === VM2_MAC);
    t.same(after, before, 'the lease came back from the lease file after kill -9');

    const other = await client('udhcpc', vm4);
    await t.rejects(other.obtain(), 'the only pool address is still held: no offer for another client');
    t.match(await other.events(), [{ event: 'deconfig' }, { event: 'leasefail' }]);
    t.match(
      await readFile(daemon.logFile, 'utf8'),
      /"network":"net-a","pools":\["10\.1\.0\.100-10\.1\.0\.100"\],"refused":\d+.*"msg":"DHCP pool exhausted/,
      'the refusal is logged',
    );

    holder.signal('SIGUSR1');
    const renewed = await holder.waitFor((e) => e.event === 'renew');
    t.equal(renewed.ip, POOL_ADDRESS, 'renewed after the restart, same address');
    t.equal((await vmState(vm2.ns)).addresses[0], `${POOL_ADDRESS}/24`);

    await holder.stop(); // -R: RELEASE on exit
    const released = await daemon.client.listDhcpLeases('net-a');
    t.notOk(
      released.leases.some((l) => l.mac === VM2_MAC),
      'the lease is gone',
    );
    const next = await client('udhcpc', vm4);
    await next.obtain(['-B']);
    t.equal(
      (await next.waitFor((e) => e.event === 'bound')).ip,
      POOL_ADDRESS,
      'the next client gets it (asking for broadcast replies)',
    );
    const status = await daemon.client.getStatus();
    const counters = status.services.find((s) => s.name === 'dhcp')?.counters ?? {};
    t.ok((counters['releases'] ?? 0n) >= 1n, 'release counted');
    t.ok((counters['drops.pool_exhausted'] ?? 0n) >= 1n, 'refusals counted');
  });

  await t.test('a host moved to another address by Patch gets it at its next renewal', async (t) => {
    const c = await client('udhcpc', vm3.ns);
    c.startUdhcpc();
    t.teardown(async () => {
      await c.stop();
      await resetVm(vm3.ns);
    });
    t.equal((await c.waitFor((e) => e.event === 'bound')).ip, '10.2.0.13');
    const host = dhcpLabConfig().networks[1]?.hosts[0];
    if (host === undefined) throw new Error('vm3 is a host of network B');
    await daemon.client.patch({
      operations: [
        { operation: { case: 'putHost', value: { networkId: 'net-b', host: { ...host, ip: '10.2.0.23' } } } },
      ],
    });
    c.signal('SIGUSR1');
    await c.waitFor((e) => e.event === 'nak');
    const rebound = await c.waitFor((e) => e.event === 'bound' && e.ip === '10.2.0.23');
    t.equal(rebound.hostname, 'vm3');
    t.same((await vmState(vm3.ns)).addresses, ['10.2.0.23/24']);
    const leases = await daemon.client.listDhcpLeases('net-b');
    t.same(
      leases.leases.map((l) => [l.ip, l.hostId]),
      [['10.2.0.23', 'vm3-nic']],
    );
  });

  await t.test(
    'random and malformed packets are dropped and counted; real clients are still served',
    async (t) => {
      await ip('-n', vm1.ns, 'addr', 'add', '10.1.0.77/24', 'dev', 'eth0');
      const fuzz = await inNamespace(vm1.ns, process.execPath, [FUZZ, '20000', '7', '10.1.0.1'], {
        timeoutMs: 120_000,
      });
      await resetVm(vm1.ns);
      const sent = JSON.parse(fuzz.stdout) as Record<string, number>;
      t.ok(Object.keys(sent).length >= 10, `every kind sent: ${fuzz.stdout.trim()}`);
      // Let the server work through its receive queue.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const status = await daemon.client.getStatus();
      const counters = status.services.find((s) => s.name === 'dhcp')?.counters ?? {};
      for (const reason of [
        'truncated',
        'bad_cookie',
        'option_overrun',
        'bad_overload',
        'not_request',
        'relayed',
        'bad_header',
      ])
        t.ok((counters[`drops.${reason}`] ?? 0n) > 0n, `drops.${reason} counted`);
      t.equal(counters['drops.internal'] ?? 0n, 0n, 'no packet made the handler fail');
      t.ok(
        daemon.pid !== undefined &&
          (await run('kill', ['-0', String(daemon.pid)], { allowFailure: true })).code === 0,
      );

      const c = await client('dhclient', vm1.ns);
      try {
        await c.obtain();
        t.equal(
          (await c.waitFor((e) => e.ip !== '')).ip,
          '10.1.0.11',
          'dhclient is served after the fuzz run',
        );
      } finally {
        await c.stop();
        await resetVm(vm1.ns);
      }
    },
  );

  await t.test('disabling DHCP on a network closes its socket', async (t) => {
    const config = dhcpLabConfig();
    const b = config.networks[1]?.dhcp;
    if (b !== undefined) b.enabled = false;
    await daemon.client.apply({ config });
    const sockets = await inNamespace(topology.router, 'ss', ['-Hlun', 'sport = :67']);
    t.match(sockets.stdout, /%ens3:67/);
    t.notMatch(sockets.stdout, /%ens4/);
  });
});
