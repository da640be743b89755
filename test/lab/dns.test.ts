// The DNS server in the lab, with real clients: dig in the VMs, BIND's named and dnsmasq as upstream
// servers in the "internet" namespace (each with its query log), dnsperf as a flooding client.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { create } from '@bufbuild/protobuf';
import { DnsSchema } from '../../daemon/src/gen/vrouter/v1/dns_pb.js';
import { HostSchema } from '../../daemon/src/gen/vrouter/v1/networks_pb.js';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import { ObjectKind } from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { LabDaemon, VROUTERCTL } from './daemon.js';
import { UpstreamServer, answerData, dig } from './dns-tools.js';
import { inNamespace, ip, run, spawnInNamespace } from './exec.js';
import { labConfig } from './lab-config.js';
import { Topology } from './topology.js';

const FUZZER = fileURLToPath(new URL('./dns-fuzz.js', import.meta.url));
const TCP_CLIENTS = fileURLToPath(new URL('./dns-tcp-clients.js', import.meta.url));
const NAMED = '203.0.113.1';
const DNSMASQ = '203.0.113.3';

const topology = await Topology.create();
await ip('-n', topology.internet, 'addr', 'add', `${DNSMASQ}/24`, 'dev', 'eth0');
const named = await UpstreamServer.named(topology.internet, NAMED);
const dnsmasq = await UpstreamServer.dnsmasq(topology.internet, DNSMASQ);
const daemon = await LabDaemon.start(topology.router);
t.teardown(async () => {
  await named.stop();
  await dnsmasq.stop();
  await daemon.destroy();
  topology.destroySync();
});

const [vm1, vm2, vm3] = topology.vms.map((v) => v.ns);
if (vm1 === undefined || vm2 === undefined || vm3 === undefined) throw new Error('the lab has three VMs');

function config(change: (c: RouterConfig) => void = () => undefined): RouterConfig {
  const c = labConfig();
  c.dns = create(DnsSchema, { upstreamServers: [NAMED, DNSMASQ], upstreamTimeoutMs: 500 });
  const a = c.networks[0];
  if (a === undefined) throw new Error('no network A');
  a.ipv6Cidr = 'fd00:1::/64';
  a.ipv6Gateway = 'fd00:1::1';
  const host1 = a.hosts[0];
  if (host1 !== undefined) host1.ipv6 = 'fd00:1::11';
  change(c);
  return c;
}

async function counters(): Promise<Record<string, bigint>> {
  const status = await daemon.client.getStatus();
  return status.services.find((s) => s.name === 'dns')?.counters ?? {};
}

await daemon.client.apply({ config: config() });

void t.test('VMs resolve each other by name and address, in their network and the other', async (t) => {
  t.same(answerData(await dig(vm1, '10.1.0.1', 'vm2.a.lab.internal'), 'A'), ['10.1.0.12']);
  const ptr = await dig(vm1, '10.1.0.1', '12.0.1.10.in-addr.arpa', 'PTR');
  t.same(answerData(ptr, 'PTR'), ['vm2.a.lab.internal.']);
  t.ok(ptr.flags.includes('aa'), 'authoritative');
  t.same(answerData(await dig(vm3, '10.2.0.1', 'vm1.a.lab.internal'), 'A'), ['10.1.0.11'], 'B sees A');
  t.same(answerData(await dig(vm1, '10.1.0.1', 'vm3.b.lab.internal'), 'A'), ['10.2.0.13'], 'A sees B');
  t.same(answerData(await dig(vm3, '10.2.0.1', '-x', '10.1.0.11'), 'PTR'), ['vm1.a.lab.internal.']);
  t.same(answerData(await dig(vm1, '10.1.0.1', 'vm1.a.lab.internal', 'AAAA'), 'AAAA'), ['fd00:1::11']);
  t.same(
    answerData(await dig(vm1, '10.1.0.1', 'vm2.a.lab.internal', 'A', ['+tcp']), 'A'),
    ['10.1.0.12'],
    'TCP',
  );
  t.same(answerData(await dig(vm1, '10.1.0.1', 'vm2'), 'A'), ['10.1.0.12'], 'a bare name in its own network');
  t.equal((await dig(vm3, '10.2.0.1', 'vm2')).status, 'NXDOMAIN', 'not a bare name in the other network');
  t.same(answerData(await dig(vm1, '10.1.0.1', 'vrouter-lab'), 'A'), ['10.1.0.1'], 'the router, here');
  t.same(answerData(await dig(vm3, '10.2.0.1', 'vrouter-lab'), 'A'), ['10.2.0.1'], 'the router, there');
  t.same(answerData(await dig(vm3, '10.2.0.1', 'vrouter-lab.a.lab.internal'), 'A'), ['10.1.0.1']);

  const nodata = await dig(vm1, '10.1.0.1', 'vm2.a.lab.internal', 'AAAA');
  t.equal(nodata.status, 'NOERROR');
  t.same(nodata.answers, [], 'NODATA');
  t.match(nodata.authority[0] ?? '', /^a\.lab\.internal\. 60 IN SOA /);
  const nx = await dig(vm1, '10.1.0.1', 'nobody.a.lab.internal');
  t.equal(nx.status, 'NXDOMAIN');
  t.ok(nx.flags.includes('aa'));
  t.match(nx.authority[0] ?? '', /SOA/);
  for (const [ns, server, name, type, status, zone] of [
    [vm3, '10.2.0.1', 'vm3', 'AAAA', 'NOERROR', 'b'],
    [vm3, '10.2.0.1', 'vm3', 'MX', 'NOERROR', 'b'],
    [vm3, '10.2.0.1', 'vrouter-lab', 'AAAA', 'NOERROR', 'b'],
    [vm1, '10.1.0.1', 'nobody', 'A', 'NXDOMAIN', 'a'],
  ] as const) {
    const bare = await dig(ns, server, name, type);
    t.equal(bare.status, status, `bare ${name} ${type}`);
    t.ok(bare.flags.includes('aa'), `bare ${name} ${type}: authoritative`);
    t.match(bare.authority[0] ?? '', new RegExp(`^${zone}\\.lab\\.internal\\. 60 IN SOA `), 'with its SOA');
  }
  t.ok((await dig(vm1, '10.1.0.1', 'vm2')).flags.includes('aa'), 'a bare name answered: authoritative too');
  t.equal((await dig(vm1, '10.1.0.1', '99.0.1.10.in-addr.arpa', 'PTR')).status, 'NXDOMAIN');
  t.equal((await dig(vm1, '10.1.0.1', '5.5.168.192.in-addr.arpa', 'PTR')).status, 'NXDOMAIN', 'RFC 6303');
  for (const local of ['nobody.a.lab.internal', 'vm2', '168.192.in-addr.arpa', 'in-addr.arpa'])
    t.same(await named.queriesFor(local), [], `${local} never reached an upstream server`);
  t.same(await dnsmasq.queriesFor('nobody.a.lab.internal'), []);

  // Over IPv6 to the network's IPv6 gateway (the router binds it while duplicate address detection runs).
  await ip('-n', vm1, 'addr', 'add', 'fd00:1::11/64', 'dev', 'eth0', 'nodad');
  let v6 = await dig(vm1, 'fd00:1::1', 'vm2.a.lab.internal');
  for (let i = 0; i < 10 && v6.status !== 'NOERROR'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    v6 = await dig(vm1, 'fd00:1::1', 'vm2.a.lab.internal');
  }
  t.same(answerData(v6, 'A'), ['10.1.0.12'], 'over IPv6');
});

void t.test('names elsewhere: forwarded once, then answered from the cache', async (t) => {
  const first = await dig(vm1, '10.1.0.1', 'www.example.test');
  t.same(answerData(first, 'A'), ['198.51.100.7']);
  t.notOk(first.flags.includes('aa'), 'not authoritative');
  const hitsBefore = (await counters())['cache_hits'] ?? 0n;
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const second = await dig(vm2, '10.1.0.1', 'WWW.Example.Test');
  t.same(answerData(second, 'A'), ['198.51.100.7']);
  const ttl = Number(second.answers[0]?.split(' ')[1]);
  t.ok(ttl < 300 && ttl >= 290, `the TTL counts down (${ttl})`);
  t.equal((await named.queriesFor('www.example.test')).length, 1, 'named saw one query');
  t.equal((await counters())['cache_hits'], hitsBefore + 1n);

  const nx = await dig(vm1, '10.1.0.1', 'missing.example.test');
  t.equal(nx.status, 'NXDOMAIN');
  t.match(nx.authority[0] ?? '', /^example\.test\. 120 IN SOA /, 'the negative TTL (RFC 2308)');
  t.equal((await dig(vm3, '10.2.0.1', 'missing.example.test')).status, 'NXDOMAIN');
  t.equal((await named.queriesFor('missing.example.test')).length, 1, 'negative answer cached');

  const nodata = await dig(vm1, '10.1.0.1', 'other.example.test', 'AAAA');
  t.equal(nodata.status, 'NOERROR');
  await dig(vm1, '10.1.0.1', 'other.example.test', 'AAAA');
  t.equal((await named.queriesFor('other.example.test')).length, 1, 'NODATA cached');

  const sent = [
    ...(await named.queriesFor('www.example.test')),
    ...(await named.queriesFor('missing.example.test')),
    ...(await named.queriesFor('other.example.test')),
  ];
  const ports = sent.map((line) => /203\.0\.113\.2#(\d+)/.exec(line)?.[1]);
  t.equal(new Set(ports).size, 3, `a fresh source port per upstream query (${ports.join(', ')})`);
});

void t.test(
  'a large answer: the router asks its upstream over TCP, the client gets TC and uses TCP',
  async (t) => {
    const plain = await dig(vm1, '10.1.0.1', 'big.example.test', 'TXT', ['+noedns']);
    t.ok(plain.retriedOverTcp, 'dig got TC over UDP');
    t.equal(plain.transport, 'TCP');
    t.equal(plain.answers.length, 1);
    t.ok((plain.answers[0] ?? '').length > 1200);
    const queries = await named.queriesFor('big.example.test');
    t.equal(queries.length, 2, 'one query over UDP, one over TCP');
    t.ok(
      queries.some((q) => /IN TXT \+E\(0\)T/.test(q)),
      'named saw the TCP query',
    );
    const edns = await dig(vm2, '10.1.0.1', 'big.example.test', 'TXT');
    t.equal(edns.status, 'NOERROR');
    t.equal((await named.queriesFor('big.example.test')).length, 2, 'then from the cache');
  },
);

void t.test('the router is not an open resolver', async (t) => {
  const before = (await counters())['queries'] ?? 0n;
  const publicQuery = await dig(topology.internet, '203.0.113.2', 'vm1.a.lab.internal', 'A', ['+time=1']);
  t.equal(publicQuery.status, 'TIMEOUT', 'nothing on the public address');
  await ip('-n', topology.internet, 'route', 'add', '10.1.0.0/24', 'via', '203.0.113.2');
  const routed = await dig(topology.internet, '10.1.0.1', 'vm1.a.lab.internal', 'A', ['+time=1']);
  t.equal(routed.status, 'TIMEOUT', 'nor on a gateway address reached through the public NIC');
  const routedTcp = await dig(topology.internet, '10.1.0.1', 'vm1.a.lab.internal', 'A', ['+time=1', '+tcp']);
  t.equal(routedTcp.status, 'TIMEOUT', 'nor over TCP');
  await ip('-n', topology.internet, 'route', 'del', '10.1.0.0/24', 'via', '203.0.113.2');
  const management = await dig(topology.manager, '172.16.0.1', 'vm1.a.lab.internal', 'A', ['+time=1']);
  t.equal(management.status, 'TIMEOUT', 'nor on the management NIC');
  t.equal((await counters())['queries'], before, 'none of them reached the server');
});

void t.test('a Patch is answered at once', async (t) => {
  const vm4 = create(HostSchema, {
    id: 'vm4-nic',
    mac: '52:54:00:aa:00:14',
    ip: '10.1.0.14',
    hostname: 'vm4',
  });
  await daemon.client.patch({
    operations: [{ operation: { case: 'putHost', value: { networkId: 'net-a', host: vm4 } } }],
  });
  t.same(answerData(await dig(vm3, '10.2.0.1', 'vm4.a.lab.internal'), 'A'), ['10.1.0.14'], 'a new host');
  const renamed = create(HostSchema, {
    id: 'vm2-nic',
    mac: '52:54:00:aa:00:12',
    ip: '10.1.0.12',
    hostname: 'web',
  });
  await daemon.client.patch({
    operations: [{ operation: { case: 'putHost', value: { networkId: 'net-a', host: renamed } } }],
  });
  t.same(answerData(await dig(vm1, '10.1.0.1', 'web.a.lab.internal'), 'A'), ['10.1.0.12'], 'renamed');
  t.equal((await dig(vm1, '10.1.0.1', 'vm2.a.lab.internal')).status, 'NXDOMAIN', 'the old name is gone');
  t.same(answerData(await dig(vm1, '10.1.0.1', '-x', '10.1.0.12'), 'PTR'), ['web.a.lab.internal.']);
  await daemon.client.patch({
    operations: [{ operation: { case: 'delete', value: { kind: ObjectKind.HOST, id: 'vm4-nic' } } }],
  });
  t.equal((await dig(vm1, '10.1.0.1', 'vm4.a.lab.internal')).status, 'NXDOMAIN', 'a deleted host');
});

/** Service events of the DNS server seen on Watch, as `severity message`. */
function watchDnsEvents(): { seen: string[]; stop: () => Promise<void> } {
  const { events, cancel } = daemon.client.watch(false);
  const seen: string[] = [];
  const reading = (async () => {
    try {
      for await (const e of events)
        if (e.event.case === 'serviceEvent' && e.event.value.service === 'dns')
          seen.push(`${e.event.value.severity} ${e.event.value.message}`);
    } catch {
      // cancelled
    }
  })();
  return {
    seen,
    stop: () => {
      cancel();
      return reading;
    },
  };
}

async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 20 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return check();
}

void t.test('failover between upstream servers, and SERVFAIL quickly when all are down', async (t) => {
  const watch = watchDnsEvents();
  await new Promise((resolve) => setTimeout(resolve, 100));
  named.pause();
  const failover = await dig(vm1, '10.1.0.1', 'fo1.example.test', 'A', ['+time=4']);
  t.same(answerData(failover, 'A'), ['198.51.100.7'], 'answered by the second server');
  t.equal((await dnsmasq.queriesFor('fo1.example.test')).length, 1);
  let dns = await daemon.client.getDnsStatus();
  t.same(
    dns.upstreams.map((u) => [u.address, u.up]),
    [
      [`${NAMED}:53`, false],
      [`${DNSMASQ}:53`, true],
    ],
  );
  t.match(dns.upstreams[0]?.lastError ?? '', /timeout after 500 ms/);
  t.same(answerData(await dig(vm1, '10.1.0.1', 'fo2.example.test', 'A', ['+time=4']), 'A'), ['198.51.100.7']);
  t.equal((await named.queriesFor('fo2.example.test')).length, 0, 'a down server is no longer asked first');

  dnsmasq.pause();
  const down = await dig(vm1, '10.1.0.1', 'fo3.example.test', 'A', ['+time=4']);
  t.equal(down.status, 'SERVFAIL', 'all down: SERVFAIL within the client timeout, not a hang');
  named.resume();
  dnsmasq.resume();
  const back = await dig(vm1, '10.1.0.1', 'fo4.example.test', 'A', ['+time=4']);
  t.not(back.status, 'SERVFAIL', 'answered again once a server is back');
  dns = await daemon.client.getDnsStatus();
  t.ok(
    dns.upstreams.some((u) => u.up),
    'a server is up again',
  );
  const wentDown = new RegExp(
    `^warning upstream ${NAMED.replaceAll('.', '\\.')}:53 is down \\(timeout after 500 ms\\)`,
  );
  t.ok(
    await eventually(() => watch.seen.some((e) => wentDown.test(e))),
    'Watch told of the server going down',
  );
  t.ok(
    await eventually(() => watch.seen.some((e) => /^info upstream .* answers again$/.test(e))),
    'and of one coming back',
  );
  await watch.stop();
  t.ok((dns.counters['upstream_failures'] ?? 0n) >= 3n);
});

void t.test('per-client rate limiting', async (t) => {
  await daemon.client.apply({ config: config((c) => c.dns && (c.dns.rateLimitQps = 100)) });
  const before = (await counters())['rate_limited'] ?? 0n;
  const queries = join(daemon.stateDir, 'flood-queries');
  await writeFile(queries, 'vm1.a.lab.internal A\n');
  const flood = inNamespace(
    vm2,
    'dnsperf',
    ['-s', '10.1.0.1', '-l', '2', '-Q', '1000', '-q', '2000', '-t', '1', '-d', queries],
    {
      allowFailure: true,
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.same(
    answerData(await dig(vm1, '10.1.0.1', 'vm3.b.lab.internal'), 'A'),
    ['10.2.0.13'],
    'another client is served',
  );
  const report = await flood;
  const completed = Number(/Queries completed:\s+(\d+)/.exec(report.stdout)?.[1] ?? -1);
  t.equal(report.code, 0, report.stderr);
  t.ok(
    completed >= 150 && completed <= 450,
    `vm2 got about 100/s plus a burst of 100 (${completed} answers)`,
  );
  const sent = Number(/Queries sent:\s+(\d+)/.exec(report.stdout)?.[1] ?? -1);
  const limited = Number(((await counters())['rate_limited'] ?? 0n) - before);
  t.ok(sent > 1500, `dnsperf sent ${sent}`);
  t.equal(limited, sent - completed, 'the rest was dropped and counted');
  await daemon.client.apply({ config: config((c) => c.dns && (c.dns.rateLimitQps = 1_000_000)) });
});

void t.test('malformed packets (a fuzz run) leave it answering real clients', async (t) => {
  const before = await counters();
  const fuzz = await inNamespace(vm1, process.execPath, [FUZZER, '10.1.0.1', '20000', '7'], {
    timeoutMs: 120_000,
  });
  t.same(JSON.parse(fuzz.stdout), { udp: 20000, tcp: 20 });
  const after = await counters();
  t.ok(
    (after['malformed'] ?? 0n) - (before['malformed'] ?? 0n) > 10_000n,
    'dropped and counted as malformed',
  );
  t.equal(after['errors'] ?? 0n, 0n, 'the handler never threw');
  t.equal(after['worker_restarts'] ?? 0n, 0n, 'the server never died');
  t.same(answerData(await dig(vm2, '10.1.0.1', 'vm1.a.lab.internal'), 'A'), ['10.1.0.11']);
  t.same(answerData(await dig(vm2, '10.1.0.1', 'vm1.a.lab.internal', 'A', ['+tcp']), 'A'), ['10.1.0.11']);
});

/** The JSON line a dns-tcp-clients run prints first. */
async function reportOf(child: ChildProcess): Promise<unknown> {
  if (child.stdout === null) throw new Error('no stdout');
  child.stderr?.resume();
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return JSON.parse(line);
}

function counted(before: Record<string, bigint>, after: Record<string, bigint>, name: string): number {
  return Number((after[name] ?? 0n) - (before[name] ?? 0n));
}

void t.test('TCP: one client holding idle connections does not keep others out', async (t) => {
  const before = await counters();
  const greedy = spawnInNamespace(vm1, process.execPath, [TCP_CLIENTS, 'hold', '10.1.0.1', '300', '6000']);
  const exited = once(greedy, 'exit');
  t.same(await reportOf(greedy), { open: 16 }, 'vm1 may keep 16 connections, the others are closed');
  t.same(answerData(await dig(vm2, '10.1.0.1', 'vm1.a.lab.internal', 'A', ['+tcp']), 'A'), ['10.1.0.11']);
  const big = await dig(vm2, '10.1.0.1', 'big.example.test', 'TXT', ['+noedns']);
  t.ok(big.retriedOverTcp && big.transport === 'TCP' && big.answers.length === 1, 'TC, then TCP');
  await exited;
  t.equal(counted(before, await counters(), 'tcp_refused'), 284, 'the refused ones counted');
});

void t.test('TCP: with every connection taken, the one idle longest makes room', async (t) => {
  const sources = Array.from({ length: 20 }, (_, i) => `10.1.0.${200 + i}`);
  for (const address of sources) await ip('-n', vm1, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
  t.teardown(async () => {
    for (const address of sources) await ip('-n', vm1, 'addr', 'del', `${address}/24`, 'dev', 'eth0');
  });
  const before = await counters();
  const many = spawnInNamespace(vm1, process.execPath, [
    TCP_CLIENTS,
    'hold',
    '10.1.0.1',
    '320',
    '6000',
    ...sources,
  ]);
  const exited = once(many, 'exit');
  t.same(await reportOf(many), { open: 256 }, '20 clients of 16 connections, 256 at most');
  t.same(answerData(await dig(vm2, '10.1.0.1', 'vm1.a.lab.internal', 'A', ['+tcp']), 'A'), ['10.1.0.11']);
  await exited;
  t.equal(counted(before, await counters(), 'tcp_evicted'), 65, '64 for vm1 itself, one for vm2');
});

void t.test('TCP: a connection that carries what is not DNS is closed at once', async (t) => {
  const before = await counters();
  for (const [what, hex] of [
    ['5 octets of text', '000568656c6c6f'],
    ['an empty message', '0000'],
  ]) {
    const sent = await inNamespace(vm1, process.execPath, [TCP_CLIENTS, 'send', '10.1.0.1', hex ?? '']);
    const { closedAfterMs } = JSON.parse(sent.stdout) as { closedAfterMs: number };
    t.ok(closedAfterMs >= 0 && closedAfterMs < 1000, `${what}: closed after ${closedAfterMs} ms`);
  }
  t.equal(counted(before, await counters(), 'malformed'), 2, 'counted as malformed');
});

void t.test('counters in GetStatus and vrouterctl show dns', async (t) => {
  const c = await counters();
  for (const name of ['queries', 'local_answers', 'cache_hits', 'cache_misses', 'upstream_failures'])
    t.ok((c[name] ?? 0n) > 0n, `${name} = ${c[name]}`);
  const shown = await run(process.execPath, [VROUTERCTL, '--socket', daemon.socket, 'show', 'dns']);
  t.match(shown.stdout, /net-a\s+10\.1\.0\.1\s+ens3\s+listening/);
  t.match(shown.stdout, /net-a\s+fd00:1::1\s+ens3\s+listening/);
  t.match(shown.stdout, /net-b\s+10\.2\.0\.1\s+ens4\s+listening/);
  t.match(shown.stdout, /cache: \d+ of 10000 entries, hit rate [\d.]+%/);
  t.match(shown.stdout, new RegExp(`${NAMED.replaceAll('.', '\\.')}:53\\s+(up|DOWN)`));
  const json = JSON.parse(
    (await run(process.execPath, [VROUTERCTL, '--socket', daemon.socket, 'show', 'dns', '--json'])).stdout,
  ) as {
    running: boolean;
    cache: { hitRate: number };
  };
  t.equal(json.running, true);
  t.ok(json.cache.hitRate > 0);
});

void t.test('after a restart and after drift the server answers again', async (t) => {
  await ip('-n', topology.router, 'addr', 'flush', 'dev', 'ens3');
  await daemon.client.checkDrift();
  t.same(
    answerData(await dig(vm1, '10.1.0.1', 'vm1.a.lab.internal'), 'A'),
    ['10.1.0.11'],
    'after the address came back',
  );
  await daemon.stop();
  await daemon.launch();
  t.same(answerData(await dig(vm1, '10.1.0.1', 'vm3.b.lab.internal'), 'A'), ['10.2.0.13'], 'after a restart');
  t.same(answerData(await dig(vm3, '10.2.0.1', 'www.example.test'), 'A'), ['198.51.100.7']);
});

void t.test('DNS off: nothing listens any more; on again: it answers', async (t) => {
  const withDns = config();
  await daemon.client.apply({ config: config((c) => c.networks.forEach((n) => (n.dns = undefined))) });
  t.equal((await dig(vm1, '10.1.0.1', 'vm1.a.lab.internal', 'A', ['+time=1'])).status, 'TIMEOUT');
  t.equal((await daemon.client.getDnsStatus()).running, false);
  const sockets = (await inNamespace(topology.router, 'ss', ['-Htuln'])).stdout;
  t.notMatch(sockets, /:53\s/, 'no socket is left bound to port 53 (a stopped thread does not close them)');
  await daemon.client.apply({ config: withDns });
  t.same(answerData(await dig(vm1, '10.1.0.1', 'vm1.a.lab.internal'), 'A'), ['10.1.0.11'], 'DNS on again');
});
