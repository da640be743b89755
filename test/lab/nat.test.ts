// NAT and addressing with real traffic: EIPs (both directions, hairpin, removal cutting open flows),
// SNAT per network, port forwards (tcp range, udp, allowed sources), static routes, VIP announcements,
// drift repair and refused input. One lab, one daemon, scenarios in order.
import { spawn } from 'node:child_process';
import t from 'tap';
import { type ServiceError, status } from '@grpc/grpc-js';
import { type MessageInitShape, create } from '@bufbuild/protobuf';
import {
  EipSchema,
  PortForwardSchema,
  SnatSchema,
  VipSchema,
} from '../../daemon/src/gen/vrouter/v1/nat_pb.js';
import { TransportProtocol } from '../../daemon/src/gen/vrouter/v1/common_pb.js';
import { RouteSchema } from '../../daemon/src/gen/vrouter/v1/routing_pb.js';
import { ObjectKind, type PatchOperationSchema } from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { readErrorDetails } from '../../daemon/src/api/status-details.js';
import { VROUTERCTL, LabDaemon } from './daemon.js';
import { inNamespace, ip, run } from './exec.js';
import { IP, natConfig } from './nat-helpers.js';
import { HeldConnection, client, serve } from './traffic.js';
import { ROUTER_NICS, Topology } from './topology.js';

const topology = await Topology.create();
let daemon = await LabDaemon.start(topology.router);
t.teardown(async () => {
  await daemon.destroy();
  topology.destroySync();
});
const [vm1, vm2, vm3] = topology.vms;
if (vm1 === undefined || vm2 === undefined || vm3 === undefined) throw new Error('the lab has three VMs');
const inet = topology.internet;
const rt = topology.router;
const curl = (ns: string, url: string) =>
  inNamespace(ns, 'curl', ['-sS', '--max-time', '3', url], { allowFailure: true });

// "The internet" reaches the router's public subnet directly; the network behind vm3 through it.
await ip('-n', inet, 'route', 'add', '192.168.0.0/16', 'via', IP.systemVip);
await ip('-n', vm3.ns, 'addr', 'add', `${IP.behindVm3}/32`, 'dev', 'lo');
await ip('-n', vm3.ns, 'link', 'set', 'lo', 'up');
await inNamespace(vm3.ns, 'sysctl', ['-qw', 'net.ipv4.conf.all.rp_filter=0']);

await serve(vm1.ns, 'serve-http', 80);
await serve(vm1.ns, 'serve-lines', 7000);
await serve(vm2.ns, 'serve-tcp', 9000, 9001, 9002, 7100, 7101);
await serve(vm3.ns, 'serve-udp', 5000);
await serve(vm3.ns, 'serve-tcp', 6000);
await serve(inet, 'serve-http', 8080);
await serve(inet, 'serve-lines', 7200);

const applied = await daemon.client.apply({ config: natConfig() });
t.ok(applied.generation > 0n, 'the NAT config applies');

void t.test('curl through an EIP reaches the VM, which sees the real client', async (t) => {
  const r = await curl(inet, `http://${IP.eip}/`);
  t.equal(r.stdout, IP.internet, `vm1 answered and saw ${IP.internet}`);
});

void t.test('SNAT: VMs reach the internet as their network VIP, an EIP VM as its EIP', async (t) => {
  t.equal((await curl(vm2.ns, `http://${IP.internet}:8080/`)).stdout, IP.systemVip, 'net-a → system VIP');
  t.equal((await curl(vm3.ns, `http://${IP.internet}:8080/`)).stdout, IP.snatB, 'net-b → its VIP');
  t.equal((await curl(vm1.ns, `http://${IP.internet}:8080/`)).stdout, IP.eip, 'vm1 → its EIP');
});

void t.test('port forwards: a tcp range to the matching ports, a same-port range, udp', async (t) => {
  for (const [port, target] of [
    [8000, 9000],
    [8001, 9001],
    [8002, 9002],
    [7100, 7100],
    [7101, 7101],
  ] as const) {
    const r = await client(inet, 'tcp', IP.forwards, String(port));
    t.equal(r.stdout, `${target} ${IP.internet}`, `${IP.forwards}:${port} → vm2:${target}`);
  }
  const closed = await client(inet, 'tcp', IP.forwards, '8003', '1500');
  t.not(closed.code, 0, 'a port outside the range is not forwarded');
  const udp = await client(inet, 'udp', IP.forwards, '5353');
  t.equal(udp.stdout, `5000 ${IP.internet}`, 'udp 5353 → vm3:5000');
});

void t.test('port forward sources: outside the allowed CIDRs refused, inside forwarded', async (t) => {
  const refused = await client(inet, 'tcp', IP.forwards, '2222', '1500');
  t.not(refused.code, 0, `${IP.internet} is not in 198.51.100.0/24: refused`);
  const allowed = await client(inet, 'tcp', IP.forwards, '2223');
  t.equal(allowed.stdout, `6000 ${IP.internet}`, 'the forward listing 203.0.113.0/24 lets it through');
});

void t.test(
  "narrowing a forward's allowed sources cuts an open connection from a source now outside",
  async (t) => {
    const forward = (allowed: string[]) =>
      daemon.client.patch({
        operations: [
          {
            operation: {
              case: 'putPortForward',
              value: create(PortForwardSchema, {
                id: 'pf-held',
                vipId: 'v-pf',
                protocol: TransportProtocol.TCP,
                vipPorts: { start: 2224 },
                privateIp: '10.1.0.11',
                privatePorts: { start: 7000 },
                allowedSourceCidrs: allowed,
              }),
            },
          },
        ],
      });
    await forward(['203.0.113.0/24']);
    const held = await HeldConnection.open(inet, IP.forwards, 2224);
    t.teardown(() => held.close());
    t.ok(await held.echo(), 'an allowed source holds a connection through the forward');
    // Sources are judged on a flow's first packets; the change clears the forward's flows, so the open
    // connection's next packet is a first packet again, from a source no longer allowed.
    await forward(['198.51.100.0/24']);
    t.notOk(await held.echo(), 'after the change its packets are refused');
    await daemon.client.patch({
      operations: [
        { operation: { case: 'delete', value: { kind: ObjectKind.PORT_FORWARD, id: 'pf-held' } } },
      ],
    });
  },
);

void t.test('hairpin: VMs reach another VM through its EIP', async (t) => {
  const sameNetwork = await curl(vm2.ns, `http://${IP.eip}/`);
  t.equal(sameNetwork.stdout, '10.1.0.1', 'vm2 (same network) reaches vm1, masqueraded to the gateway');
  const otherNetwork = await curl(vm3.ns, `http://${IP.eip}/`);
  t.equal(otherNetwork.stdout, vm3.ip, 'vm3 (other network) reaches vm1 with its own address');
  const forwarded = await client(vm3.ns, 'tcp', IP.forwards, '8000');
  t.equal(forwarded.stdout, `9000 ${vm3.ip}`, 'vm3 reaches vm2 through a port forward');
});

void t.test('static routes: a network behind a VM carries traffic; a blackhole drops', async (t) => {
  // From a VM of network A: the public side reaches no private address (the firewall's inbound default).
  const ping = await inNamespace(vm1.ns, 'ping', ['-c1', '-W2', IP.behindVm3], { allowFailure: true });
  t.equal(ping.code, 0, `${IP.behindVm3} behind vm3 answers vm1 through the static route`);
  const routes = (await ip('-n', rt, 'route', 'show', 'proto', '176')).stdout;
  t.match(routes, /192\.168\.50\.0\/24 via 10\.2\.0\.13/, 'the route carries the daemon protocol');
  t.match(routes, /blackhole 192\.168\.60\.0\/24/, 'the blackhole route is installed');
  const dropped = await inNamespace(vm1.ns, 'ping', ['-c1', '-W1', '192.168.60.1'], { allowFailure: true });
  t.not(dropped.code, 0, 'the blackhole drops');
});

void t.test('removing an EIP cuts its open connection; re-adding it works', async (t) => {
  // A long-lived client in the internet namespace: one line echoed, then waits for the go.
  const session = spawn('ip', [
    'netns',
    'exec',
    inet,
    'python3',
    '-u',
    '-c',
    [
      'import socket,sys,time',
      `s=socket.create_connection(("${IP.eip}",7000),timeout=3)`,
      's.sendall(b"one\\n"); print("echo", s.recv(100).decode().strip())',
      'sys.stdin.readline()',
      'try:',
      '  s.sendall(b"two\\n"); d=s.recv(100); print("after", d.decode().strip() or "closed")',
      'except Exception as e: print("after", type(e).__name__)',
    ].join('\n'),
  ]);
  t.teardown(() => session.kill());
  // Unbuffered print() writes a line in pieces: join the output, then split it into lines.
  let output = '';
  session.stdout.on('data', (c: Buffer) => (output += c.toString()));
  const lines = () => output.split('\n').filter((l) => l !== '');
  session.stdin.on('error', () => undefined);
  await until(() => output.includes('\n'));
  t.ok(lines().includes('echo one'), 'the connection through the EIP works');
  t.equal((await curl(vm1.ns, `http://${IP.internet}:8080/`)).stdout, IP.eip, 'an outbound flow of the EIP');
  // Both directions of the EIP carry its mark, which is how the removal finds them.
  const mark = `mark=${IP.eip.split('.').reduce((n, o) => n * 256 + Number(o), 0)}`;
  const marked = await inNamespace(rt, 'conntrack', ['-L', '-q', IP.eip], { allowFailure: true });
  t.match(marked.stdout, mark, 'the outbound flow carries the EIP mark');
  t.match((await inNamespace(rt, 'conntrack', ['-L', '-d', IP.eip])).stdout, mark, 'so does the inbound');

  const removed = await daemon.client.patch({
    operations: [{ operation: { case: 'delete', value: { kind: ObjectKind.EIP, id: 'e-vm1' } } }],
  });
  t.comment(removed.results.map((r) => `${r.step}: ${r.message}`).join('; '));
  session.stdin.end('go\n');
  await until(() => /after .*\n/.test(output), 10_000);
  t.notOk(lines().includes('after two'), `the open connection stopped (${lines().at(-1) ?? ''})`);
  t.not((await curl(inet, `http://${IP.eip}/`)).stdout, IP.internet, 'no new connection reaches vm1');
  const flows = await inNamespace(rt, 'conntrack', ['-L', '-d', IP.eip], { allowFailure: true });
  t.notMatch(flows.stdout, /dport=7000/, 'no conntrack entry of the old mapping is left');
  const outbound = await inNamespace(rt, 'conntrack', ['-L', '-q', IP.eip], { allowFailure: true });
  t.notMatch(outbound.stdout, /dport=8080/, 'nor of its outbound flows');

  await daemon.client.patch({
    operations: [
      {
        operation: {
          case: 'putEip',
          value: create(EipSchema, { id: 'e-vm1', vipId: 'v-eip', privateIp: '10.1.0.11' }),
        },
      },
    ],
  });
  t.equal((await curl(inet, `http://${IP.eip}/`)).stdout, IP.internet, 'after re-adding, curl reaches vm1');
  // The Patches changed set elements only: they went over netlink, and the elements they added carry
  // the counter the set declares (the kernel adds it, as it does for nft's own elements).
  t.match(removed.results.find((r) => r.step === 'nftables')?.message, /over netlink/, 'the removal');
  const stats = await inNamespace(rt, 'nft', ['list', 'set', 'ip', 'vrouter_nat', 'eip_stats']);
  // Keyed by the EIP's conntrack mark (its VIP as a number), named by the element's comment.
  t.match(stats.stdout, /counter packets [1-9]\d* bytes \d+ comment "eip:e-vm1"/, 'counted');
});

void t.test(
  "a SNAT's new VIP cuts its network's open flows, not others' on the old address; new ones leave anew",
  async (t) => {
    const putSnat = (id: string, networkId: string, vipId: string) =>
      daemon.client.patch({
        operations: [{ operation: { case: 'putSnat', value: create(SnatSchema, { id, networkId, vipId }) } }],
      });
    // net-b shares the system VIP with net-a for this scenario.
    await putSnat('s-b', 'net-b', '');
    const fromA = await HeldConnection.open(vm2.ns, IP.internet, 7200);
    const fromB = await HeldConnection.open(vm3.ns, IP.internet, 7200);
    const fromRouter = await HeldConnection.open(rt, IP.internet, 7200);
    t.teardown(() => [fromA, fromB, fromRouter].forEach((c) => c.close()));
    t.ok(await fromA.echo(), 'vm2 (net-a) holds a connection to the internet');
    t.ok(await fromB.echo(), 'vm3 (net-b) too');
    t.ok(await fromRouter.echo(), 'the router too, from its public address');
    /** Flows to port 7200 answered to `address`, by their original source. */
    const sources = async (address: string) => {
      const r = await inNamespace(rt, 'conntrack', ['-L', '-p', 'tcp', '--dport', '7200', '-q', address], {
        allowFailure: true,
      });
      return [...r.stdout.matchAll(/^tcp .*? src=(\S+) /gm)].map((m) => m[1]).sort();
    };
    t.same(
      await sources(IP.systemVip),
      [IP.systemVip, vm2.ip, vm3.ip].sort(),
      'all three answered to the system VIP',
    );

    const changed = await putSnat('s-a', 'net-a', 'v-snat-b');
    t.comment(changed.results.map((r) => `${r.step}: ${r.message}`).join('; '));
    t.same(
      await sources(IP.systemVip),
      [IP.systemVip, vm3.ip].sort(),
      "only net-a's flow to the old address went",
    );
    t.notOk(await fromA.echo(), "net-a's open connection stopped");
    t.ok(await fromB.echo(), "net-b's, SNATed to the same old address, goes on");
    t.ok(await fromRouter.echo(), "and so does the router's own");
    t.equal(
      (await curl(vm2.ns, `http://${IP.internet}:8080/`)).stdout,
      IP.snatB,
      'net-a leaves as the new VIP',
    );

    await putSnat('s-a', 'net-a', '');
    await putSnat('s-b', 'net-b', 'v-snat-b');
    t.equal((await curl(vm3.ns, `http://${IP.internet}:8080/`)).stdout, IP.snatB, 'net-b back on its VIP');
  },
);

void t.test('a new VIP is announced with a gratuitous ARP', async (t) => {
  await ip(
    '-n',
    inet,
    'neigh',
    'replace',
    IP.announced,
    'lladdr',
    '02:00:00:00:00:99',
    'dev',
    'eth0',
    'nud',
    'stale',
  );
  await daemon.client.patch({
    operations: [
      {
        operation: {
          case: 'putVip',
          value: create(VipSchema, { id: 'v-new', ip: IP.announced, nicId: 'pub0' }),
        },
      },
    ],
  });
  await until(async () =>
    (await ip('-n', inet, 'neigh', 'show', IP.announced)).stdout.includes(ROUTER_NICS.public.mac),
  );
  const neighbour = (await ip('-n', inet, 'neigh', 'show', IP.announced)).stdout;
  t.match(neighbour, ROUTER_NICS.public.mac, `the internet host learned ${IP.announced} is at the router`);
  const addresses = (await ip('-n', rt, 'addr', 'show', 'dev', ROUTER_NICS.public.ifname)).stdout;
  t.match(addresses, `${IP.announced}/32`, 'the VIP is on the public NIC as a /32');
});

void t.test('invalid input is refused with field paths and changes nothing', async (t) => {
  const before = (await daemon.client.getConfig()).generation;
  /** The code and field paths a Patch of this one operation is refused with. */
  const refused = async (operation: MessageInitShape<typeof PatchOperationSchema>['operation']) => {
    try {
      await daemon.client.patch({ operations: [{ operation }] });
      return undefined;
    } catch (e) {
      const err = e as ServiceError;
      return { code: err.code, fields: readErrorDetails(err.metadata).violations.map((v) => v.field) };
    }
  };
  const cases: [string, Parameters<typeof refused>[0], string][] = [
    [
      'EIP outside every network',
      { case: 'putEip', value: create(EipSchema, { id: 'e-x', vipId: 'v-new', privateIp: '10.9.9.9' }) },
      'operations[0].put_eip.private_ip',
    ],
    [
      'overlap',
      {
        case: 'putPortForward',
        value: create(PortForwardSchema, {
          id: 'pf-x',
          vipId: 'v-pf',
          protocol: TransportProtocol.TCP,
          vipPorts: { start: 8002, end: 8010 },
          privateIp: '10.1.0.12',
        }),
      },
      'operations[0].put_port_forward.vip_ports',
    ],
    [
      'VIP outside the public CIDR',
      { case: 'putVip', value: create(VipSchema, { id: 'v-x', ip: '198.51.100.7', nicId: 'pub0' }) },
      'operations[0].put_vip.ip',
    ],
    [
      "VIP on a network's gateway (whose DNS a forward would take)",
      { case: 'putVip', value: create(VipSchema, { id: 'v-x', ip: '10.1.0.1', nicId: 'priv-a' }) },
      'operations[0].put_vip.ip',
    ],
    [
      "EIP on the forwards' VIP: at the EIP, not the forwards",
      { case: 'putEip', value: create(EipSchema, { id: 'e-x', vipId: 'v-pf', privateIp: '10.1.0.20' }) },
      'operations[0].put_eip.vip_id',
    ],
    [
      "route via a subnet's broadcast address (the kernel's EINVAL before)",
      {
        case: 'putRoute',
        value: create(RouteSchema, { id: 'r-x', destination: '192.168.70.0/24', nextHop: '10.1.0.255' }),
      },
      'operations[0].put_route.next_hop',
    ],
  ];
  for (const [label, operation, field] of cases)
    t.same(await refused(operation), { code: status.INVALID_ARGUMENT, fields: [field] }, label);
  t.equal((await daemon.client.getConfig()).generation, before, 'the generation did not move');
  t.equal((await curl(inet, `http://${IP.eip}/`)).stdout, IP.internet, 'and the EIP still works');
});

void t.test('drift: a VIP address and set elements removed by hand are repaired', async (t) => {
  const rpFilter = async (ifname: string) =>
    (await inNamespace(rt, 'sysctl', ['-n', `net.ipv4.conf.${ifname}.rp_filter`])).stdout.trim();
  for (const nic of Object.values(ROUTER_NICS))
    t.equal(await rpFilter(nic.ifname), '2', `${nic.ifname} validates sources in loose mode`);
  const pub = ROUTER_NICS.public.ifname;
  await inNamespace(rt, 'sysctl', ['-qw', `net.ipv4.conf.${pub}.rp_filter=0`]);
  await inNamespace(rt, 'sysctl', ['-qw', `net.ipv4.conf.${pub}.forwarding=0`]);
  await ip('-n', rt, 'addr', 'del', `${IP.eip}/32`, 'dev', pub);
  await inNamespace(rt, 'nft', ['delete', 'element', 'ip', 'vrouter_nat', 'eip_dnat', `{ ${IP.eip} }`]);
  // An interval set's range is two kernel elements (its start and its end): both go, one is missed.
  await inNamespace(rt, 'nft', ['delete', 'element', 'ip', 'vrouter_nat', 'snat_stats', '{ 10.1.0.0/24 }']);
  const { repaired } = await daemon.client.checkDrift();
  const findings = repaired.flatMap((r) => r.findings.map((f) => `${r.step}: ${f}`));
  t.match(
    findings.join('\n'),
    new RegExp(`interfaces: .*${IP.eip.replaceAll('.', '\\.')}/32 missing`),
    'VIP found missing',
  );
  t.match(findings.join('\n'), /nftables: .*eip_dnat has 0 elements, not 1/, 'element found missing');
  t.match(findings.join('\n'), /nftables: .*snat_stats has 1 elements, not 2/, 'interval found missing');
  t.match(
    findings.join('\n'),
    `interfaces: net/ipv4/conf/${pub}/rp_filter is 0, set to 2`,
    'source validation found off',
  );
  t.equal(await rpFilter(pub), '2', 'and set back');
  t.match(
    findings.join('\n'),
    `interfaces: net/ipv4/conf/${pub}/forwarding is 0, set to 1`,
    "the public NIC's forwarding found off",
  );
  t.equal((await curl(inet, `http://${IP.eip}/`)).stdout, IP.internet, 'after the repair the EIP works');
  t.same((await daemon.client.checkDrift()).repaired, [], 'a second check finds nothing');
});

void t.test('drift: an EIP element replaced by hand (same count, another VM) is repaired', async (t) => {
  const map = ['ip', 'vrouter_nat', 'eip_dnat'];
  await inNamespace(rt, 'nft', ['delete', 'element', ...map, `{ ${IP.eip} }`]);
  await inNamespace(rt, 'nft', ['add', 'element', ...map, `{ ${IP.eip} : 10.1.0.99 }`]);
  const { repaired } = await daemon.client.checkDrift();
  t.match(
    repaired.flatMap((r) => r.findings).join('\n'),
    /eip_dnat holds 1 element the config does not have, e\.g\. \["203\.0\.113\.10","10\.1\.0\.99"\]/,
    'the replaced element found',
  );
  const listed = (await inNamespace(rt, 'nft', ['list', 'map', ...map])).stdout;
  t.match(listed, /203\.0\.113\.10 comment "eip:e-vm1" : 10\.1\.0\.11/, 'the rendered element is back');
  t.equal((await curl(inet, `http://${IP.eip}/`)).stdout, IP.internet, 'and the EIP reaches its VM again');
  t.same((await daemon.client.checkDrift()).repaired, [], 'a second check finds nothing');
});

void t.test('drift: interval elements widened or repointed by hand (same count) are repaired', async (t) => {
  const nft = (...args: string[]) => inNamespace(rt, 'nft', args);
  const table = ['ip', 'vrouter_nat'];
  const closed = `${IP.forwards} . tcp . 2222`;
  await nft('delete', 'element', ...table, 'pf_allowed', `{ ${closed} . 198.51.100.0/24 }`);
  await nft('add', 'element', ...table, 'pf_allowed', `{ ${closed} . 0.0.0.0/0 }`);
  t.equal(
    (await client(inet, 'tcp', IP.forwards, '2222')).stdout,
    `6000 ${IP.internet}`,
    'with every source allowed by hand, pf-closed lets the internet in',
  );
  await nft('delete', 'element', ...table, 'snat_stats', '{ 10.1.0.0/24 }');
  await nft('add', 'element', ...table, 'snat_stats', '{ 10.1.0.0/23 }');
  const pub = ROUTER_NICS.public.ifname;
  // `snat` is a word of nft's grammar, not a set name to its command line: changed through JSON.
  const key = { concat: [pub, { prefix: { addr: '10.1.0.0', len: 24 } }] };
  const element = (elem: unknown) => ({
    element: { family: 'ip', table: 'vrouter_nat', name: 'snat', elem },
  });
  await nft(
    '-j',
    JSON.stringify({ nftables: [{ delete: element([key]) }, { add: element([[key, IP.snatB]]) }] }),
  );
  const { repaired } = await daemon.client.checkDrift();
  const findings = repaired.flatMap((r) => r.findings).join('\n');
  t.match(
    findings,
    /pf_allowed holds 1 element the config does not have, e\.g\. \{"from":\{"concat":\["203\.0\.113\.20",6,2222,"0\.0\.0\.0"\]\},"to":\{"concat":\["203\.0\.113\.20",6,2222,"255\.255\.255\.255"\]\}\}/,
    'the widened allowed source found (concatenation: first and last values)',
  );
  t.match(
    findings,
    /snat_stats holds 1 element the config does not have, e\.g\. \{"interval end":"10\.1\.2\.0"\}/,
    'the widened prefix found by its end',
  );
  t.match(findings, /set snat holds 1 element the config does not have/, "the SNAT's new address found");
  t.not(
    (await client(inet, 'tcp', IP.forwards, '2222', '1500')).code,
    0,
    'after the repair pf-closed refuses the internet again',
  );
  t.same((await daemon.client.checkDrift()).repaired, [], 'a second check finds nothing');
});

void t.test('a Patch right after the NAT table was deleted by hand succeeds: loaded whole', async (t) => {
  await inNamespace(rt, 'nft', ['delete', 'table', 'ip', 'vrouter_nat']);
  // No drift check runs in this lab on its own: the Patch's element changes meet a missing table.
  const eip = create(EipSchema, { id: 'e-vm2', vipId: 'v-new', privateIp: '10.1.0.12' });
  const response = await daemon.client.patch({ operations: [{ operation: { case: 'putEip', value: eip } }] });
  const nft = response.results.find((r) => r.step === 'nftables');
  t.match(
    nft?.message,
    /refused: tables loaded whole/,
    'the element change alone was refused, the whole load was not',
  );
  t.match(
    (await client(inet, 'tcp', IP.announced, '9000')).stdout,
    `9000 ${IP.internet}`,
    'the new EIP works',
  );
  t.equal((await curl(inet, `http://${IP.eip}/`)).stdout, IP.internet, 'and the EIP of before again');
  t.same((await daemon.client.checkDrift()).repaired, [], 'nothing left for the drift check');
  const nftables = (await daemon.client.getStatus()).services.find((s) => s.name === 'nftables');
  t.equal(nftables?.counters['whole_loads_after_refusal'], 1n, 'counted in GetStatus');
});

void t.test('vrouterctl shows VIPs, NAT with counters and routes', async (t) => {
  const ctl = (...args: string[]) => run(process.execPath, [VROUTERCTL, '--socket', daemon.socket, ...args]);
  // Counters start when the set was last loaded (the drift repair above reloaded the table).
  await client(inet, 'tcp', IP.forwards, '2222', '1000');
  const forwardPackets = async (id: string) => {
    const row = (await ctl('show', 'nat')).stdout.split('\n').find((l) => l.startsWith(`${id} `)) ?? '';
    return Number(/(\d+) pkts/.exec(row)?.[1] ?? Number.NaN);
  };
  const before = await forwardPackets('pf-udp');
  t.equal((await client(inet, 'udp', IP.forwards, '5353')).stdout, `5000 ${IP.internet}`, 'one exchange');
  t.equal(
    (await forwardPackets('pf-udp')) - before,
    2,
    'a forward counts both ways: the datagram to the VIP and the answer',
  );
  const vips = (await ctl('show', 'vips')).stdout;
  t.match(vips, /v-eip\s+203\.0\.113\.10\s+pub0\s+ens5\s+yes\s+eip:e-vm1/, 'show vips');
  t.match(
    vips,
    /v-system\s+203\.0\.113\.2\s.*nic address.*snat:s-a/,
    'the system VIP is a NIC address used by s-a',
  );
  const nat = (await ctl('show', 'nat')).stdout;
  const eipRow = nat.split('\n').find((l) => l.includes('e-vm1')) ?? '';
  t.match(eipRow, /203\.0\.113\.10\s+10\.1\.0\.11/, 'show nat lists the EIP');
  t.ok(Number(/(\d+) pkts/.exec(eipRow)?.[1] ?? 0) > 0, `the EIP counted traffic: ${eipRow}`);
  t.match(
    nat,
    /pf-range\s+203\.0\.113\.20\s+tcp 8000-8002\s+10\.1\.0\.12:9000-9002/,
    'show nat lists forwards',
  );
  t.match(nat, /refused \(source not allowed\): [1-9]/, 'the refused packets of pf-closed are counted');
  await client(inet, 'tcp', IP.forwards, '8001');
  // vm2 has an EIP by now (e-vm2): vm3's network is the one translated by SNAT.
  t.equal((await curl(vm3.ns, `http://${IP.internet}:8080/`)).stdout, IP.snatB, 'vm3 goes out by SNAT');
  const rows = (await ctl('show', 'nat')).stdout.split('\n');
  for (const id of ['pf-range', 's-b']) {
    const row = rows.find((l) => l.startsWith(`${id} `)) ?? '';
    t.ok(Number(/(\d+) pkts/.exec(row)?.[1] ?? 0) > 0, `${id} counted its traffic (an interval set): ${row}`);
  }
  const routes = (await ctl('show', 'routes')).stdout;
  t.match(routes, /r-behind-vm3\s+192\.168\.50\.0\/24\s+via 10\.2\.0\.13\s+yes/, 'show routes');
});

void t.test('nft list names the object each NAT element exists for', async (t) => {
  const table = (await inNamespace(rt, 'nft', ['list', 'table', 'ip', 'vrouter_nat'])).stdout;
  const eip = IP.eip.replaceAll('.', '\\.');
  t.match(table, new RegExp(`${eip} comment "eip:e-vm1" : 10\\.1\\.0\\.11`), 'EIP');
  for (const owner of ['port_forward:pf-range', 'port_forward:pf-closed', 'snat:s-a', 'network:net-a'])
    t.match(table, `comment "${owner}"`, owner);
});

void t.test('element changes of one EIP and of thirty go over netlink, one transaction each', async (t) => {
  // Thirty EIPs change 120 elements: sent from koffi's worker thread; one EIP's few from the event loop.
  const overNetlink = async () =>
    (await daemon.client.getStatus()).services.find((s) => s.name === 'nftables')?.counters[
      'element_transactions_over_netlink'
    ] ?? 0n;
  const eipDnat = async () =>
    (await inNamespace(rt, 'nft', ['list', 'map', 'ip', 'vrouter_nat', 'eip_dnat'])).stdout;
  const many = Array.from({ length: 30 }, (_, i) => ({
    vip: create(VipSchema, { id: `v-many-${i}`, ip: `203.0.113.${100 + i}`, nicId: 'pub0' }),
    eip: create(EipSchema, { id: `e-many-${i}`, vipId: `v-many-${i}`, privateIp: `10.1.0.${100 + i}` }),
  }));
  await daemon.client.patch({
    operations: many.map(({ vip }) => ({ operation: { case: 'putVip' as const, value: vip } })),
  });
  const before = await overNetlink();
  await daemon.client.patch({
    operations: many.map(({ eip }) => ({ operation: { case: 'putEip' as const, value: eip } })),
  });
  t.equal(await overNetlink(), before + 1n, 'thirty EIPs: one element transaction');
  t.match(
    await eipDnat(),
    /203\.0\.113\.129 comment "eip:e-many-29" : 10\.1\.0\.129/,
    'the last of them is in the kernel, named by its EIP (the comment went over netlink too)',
  );
  await daemon.client.patch({
    operations: [{ operation: { case: 'delete', value: { kind: ObjectKind.EIP, id: 'e-many-0' } } }],
  });
  t.equal(await overNetlink(), before + 2n, 'one EIP removed: one element transaction');
  const left = await eipDnat();
  t.notMatch(left, /203\.0\.113\.100 /, 'its element is gone');
  t.match(left, /203\.0\.113\.101 comment "eip:e-many-1" : 10\.1\.0\.101/, 'the others stay');
  await daemon.client.patch({
    operations: many.flatMap(({ vip, eip }) => [
      ...(eip.id === 'e-many-0'
        ? []
        : [{ operation: { case: 'delete' as const, value: { kind: ObjectKind.EIP, id: eip.id } } }]),
      { operation: { case: 'delete' as const, value: { kind: ObjectKind.VIP, id: vip.id } } },
    ]),
  });
  t.notMatch(await eipDnat(), /203\.0\.113\.1[0-2]\d /, 'all thirty removed again');
  t.same((await daemon.client.checkDrift()).repaired, [], 'the kernel holds exactly what was rendered');
});

void t.test('a restarted daemon restores the config from its snapshot and patch journal', async (t) => {
  const before = await daemon.client.getConfig();
  t.ok(before.generation > applied.generation + 2n, 'several Patches were journaled since the Apply');
  await daemon.stop();
  daemon = await LabDaemon.start(topology.router, {}, daemon.stateDir);
  const after = await daemon.client.getConfig();
  t.equal(after.generation, before.generation, 'the same generation');
  t.same(
    after.config?.vips.map((v) => v.id),
    before.config?.vips.map((v) => v.id),
    'the same VIPs, including the one added by Patch',
  );
  t.equal((await curl(inet, `http://${IP.eip}/`)).stdout, IP.internet, 'and the EIP works');
});

void t.test(
  'a restart keeps the tables the kernel still holds, counters too, unless they changed',
  async (t) => {
    const kept = async () =>
      (await daemon.client.getStatus()).services.find((s) => s.name === 'nftables')?.counters[
        'tables_kept_at_start'
      ];
    const eipPackets = async () =>
      (await daemon.client.getNatStatus()).eips.find((e) => e.eip?.id === 'e-vm1')?.counters?.packets ?? 0n;
    t.equal((await curl(inet, `http://${IP.eip}/`)).stdout, IP.internet, 'traffic through the EIP');
    // curl is gone before its connection's last packets (FIN, ACK) have crossed: read once they have.
    let counted = await eipPackets();
    for (let last = -1n; counted !== last; counted = await eipPackets()) {
      last = counted;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    t.ok(counted > 0n, `the EIP counted it: ${counted} packets`);
    await daemon.stop();
    daemon = await LabDaemon.start(topology.router, {}, daemon.stateDir);
    t.equal(await kept(), 1n, 'the tables were kept as the kernel held them');
    t.equal(await eipPackets(), counted, 'and so were their counters');
    t.equal((await curl(inet, `http://${IP.eip}/`)).stdout, IP.internet, 'the EIP works');

    await daemon.stop();
    await inNamespace(rt, 'nft', ['delete', 'element', 'ip', 'vrouter_nat', 'eip_dnat', `{ ${IP.eip} }`]);
    daemon = await LabDaemon.start(topology.router, {}, daemon.stateDir);
    t.equal(await kept(), 0n, 'an element deleted while the daemon was down: the tables were loaded whole');
    t.equal((await curl(inet, `http://${IP.eip}/`)).stdout, IP.internet, 'and the EIP works again');
    t.same((await daemon.client.checkDrift()).repaired, [], 'nothing left for the drift check');

    await daemon.stop();
    const allowed = ['ip', 'vrouter_nat', 'pf_allowed'];
    const closed = `${IP.forwards} . tcp . 2222`;
    await inNamespace(rt, 'nft', ['delete', 'element', ...allowed, `{ ${closed} . 198.51.100.0/24 }`]);
    await inNamespace(rt, 'nft', ['add', 'element', ...allowed, `{ ${closed} . 0.0.0.0/0 }`]);
    daemon = await LabDaemon.start(topology.router, {}, daemon.stateDir);
    t.equal(await kept(), 0n, 'an allowed source widened while the daemon was down: loaded whole');
    t.not((await client(inet, 'tcp', IP.forwards, '2222', '1500')).code, 0, 'pf-closed refuses again');
  },
);

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
