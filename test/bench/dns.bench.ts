// The DNS server under dnsperf, beside dnsmasq serving the same 1,000 names on the same topology:
// vrouterd on the router's gateway 10.1.0.1, dnsmasq in vm2 (10.1.0.12), dnsperf in vm1, so both are
// one bridge away. Local names, and a forwarded name answered from each server's cache (the upstream
// is BIND's named in the "internet" namespace). Runs alternate between the two servers and the
// median is kept, because the machine is shared. Also the server's CPU time per answer, which the
// neighbours disturb less than the rate, and the cost of the hand-written codec against dns2.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dns2 from 'dns2';
import { create } from '@bufbuild/protobuf';
import { DnsSchema } from '../../daemon/src/gen/vrouter/v1/dns_pb.js';
import { DnsSettingsSchema } from '../../daemon/src/gen/vrouter/v1/networks_pb.js';
import { parseRecords, renderDns } from '../../daemon/src/services/dns/render.js';
import { EMPTY_INTERFACE_PLAN } from '../../daemon/src/services/interfaces/plan.js';
import { type Arrival, Resolver } from '../../daemon/src/services/dns/resolver.js';
import { UpstreamServer, dig } from '../lab/dns-tools.js';
import { LabDaemon } from '../lab/daemon.js';
import { inNamespace, ip, spawnInNamespace } from '../lab/exec.js';
import { Topology } from '../lab/topology.js';
import { configWithHosts } from './apply.bench.js';
import { type BenchModule, type BenchRow, median, percentile, processCpuMs } from './harness.js';

const NAMES = 1000;
const ROUNDS = 5;
const SECONDS = 4;
const LATENCY_SECONDS = 3;
const DNSPERF = ['-c', '10', '-q', '100'];

interface Run {
  readonly qps: number;
  /** Server CPU milliseconds per 1000 answers. */
  readonly cpuPer1000: number;
}

async function dnsperf(ns: string, server: string, queries: string, pid: number): Promise<Run> {
  const before = processCpuMs(pid);
  const result = await inNamespace(
    ns,
    'dnsperf',
    ['-s', server, '-d', queries, ...DNSPERF, '-l', String(SECONDS)],
    {
      timeoutMs: 60_000,
    },
  );
  const cpuMs = processCpuMs(pid) - before;
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(result.stdout)?.[1]);
  const completed = Number(/Queries completed:\s+(\d+)/.exec(result.stdout)?.[1]);
  if (!(qps > 0)) throw new Error(`dnsperf against ${server}: ${result.stdout}`);
  const run = { qps, cpuPer1000: (cpuMs / completed) * 1000 };
  process.stderr.write(
    `  ${server} ${queries.split('/').pop() ?? ''}: ${qps.toFixed(0)} qps, ${run.cpuPer1000.toFixed(2)} ms CPU per 1000\n`,
  );
  return run;
}

/** p50 and p99 latency (ms) from dnsperf -v, which prints every answer with its latency. */
async function latencies(ns: string, server: string, queries: string): Promise<{ p50: number; p99: number }> {
  const result = await inNamespace(
    ns,
    'dnsperf',
    ['-s', server, '-d', queries, ...DNSPERF, '-l', String(LATENCY_SECONDS), '-v'],
    { timeoutMs: 60_000 },
  );
  const values = [...result.stdout.matchAll(/^> NOERROR .* ([\d.]+)$/gm)]
    .map((m) => Number(m[1]) * 1000)
    .sort((a, b) => a - b);
  return { p50: percentile(values, 50), p99: percentile(values, 99) };
}

/** Nanoseconds per query: the resolver's fast path against dns2 parsing and encoding the same. */
function codecCost(): { ours: number; dns2: number } {
  const config = configWithHosts(NAMES, 0);
  for (const n of config.networks) n.dns = create(DnsSettingsSchema, { enabled: true });
  config.dns = create(DnsSchema, { rateLimitQps: 1_000_000 });
  const plan = renderDns(config, {
    ...EMPTY_INTERFACE_PLAN,
    links: config.nics.map((n, i) => ({
      nicId: n.id,
      name: `eth${i}`,
      mac: '',
      index: i,
      mtu: undefined,
      addresses: [],
      exclusive: true,
    })),
  });
  const resolver = new Resolver(() => undefined);
  resolver.configure(plan);
  const { Packet } = dns2;
  const queries = Array.from({ length: NAMES }, (_, i) => {
    const p = new Packet();
    p.header.id = i;
    p.header.rd = 1;
    p.questions.push({ name: `vm-${i}-0.a.lab.internal`, type: 1, class: 1 } as dns2.Packet.Question);
    return p.toBuffer();
  });
  const addresses = new Map(
    parseRecords(plan.records)
      .filter((r) => r.type === 'A')
      .map((r) => [r.name, r.data]),
  );
  const out = Buffer.alloc(2048);
  const arrival: Arrival = {
    view: 0,
    client: 1,
    transport: 'udp',
    now: 0,
    channel: { deferReply: () => () => undefined },
  };
  const time = (round: (q: Buffer) => void, rounds: number) => {
    for (const q of queries) round(q);
    const started = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) for (const q of queries) round(q);
    return Number(process.hrtime.bigint() - started) / (rounds * queries.length);
  };
  const ours = time((q) => {
    arrival.now += 0.001;
    resolver.answer(q, 0, q.length, arrival, out, 0);
  }, 200);
  const viaDns2 = time((q) => {
    const query = Packet.parse(q);
    const question = query.questions[0];
    const response = new Packet(query);
    response.header.qr = 1;
    response.header.aa = 1;
    response.header.ra = 1;
    if (question !== undefined)
      response.answers.push({
        name: question.name,
        type: 1,
        class: 1,
        ttl: 60,
        address: addresses.get(question.name.toLowerCase()) ?? '0.0.0.0',
      } as dns2.Packet.Resource);
    response.toBuffer();
  }, 5);
  return { ours, dns2: viaDns2 };
}

const bench: BenchModule = {
  name: 'dns',
  async run() {
    const topology = await Topology.create();
    const work = await mkdtemp(join(tmpdir(), 'vrouterd-dns-bench-'));
    const upstream = await UpstreamServer.named(topology.internet, '203.0.113.1');
    const daemon = await LabDaemon.start(topology.router);
    const [vm1, vm2] = topology.vms;
    if (vm1 === undefined || vm2 === undefined) throw new Error('the lab has VMs');
    const config = configWithHosts(NAMES, 0);
    const network = config.networks[0];
    if (network === undefined) throw new Error('no network A');
    network.dns = create(DnsSettingsSchema, { enabled: true });
    config.dns = create(DnsSchema, { upstreamServers: ['203.0.113.1'], rateLimitQps: 1_000_000 });
    const names = network.hosts.map((h) => ({ name: `${h.hostname}.${network.domain}`, ip: h.ip }));
    await writeFile(join(work, 'hosts'), names.map((n) => `${n.ip} ${n.name}\n`).join(''));
    await writeFile(join(work, 'local'), names.map((n) => `${n.name} A\n`).join(''));
    await writeFile(join(work, 'forwarded'), 'www.example.test A\n');
    const baseline = spawnInNamespace(vm2.ns, 'dnsmasq', [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      `--addn-hosts=${join(work, 'hosts')}`,
      '--server=203.0.113.1',
      '--bind-interfaces',
      `--listen-address=${vm2.ip}`,
      '--cache-size=10000',
      '--log-facility=/dev/null',
      '--user=root',
    ]);
    baseline.stdout?.resume();
    baseline.stderr?.resume();
    try {
      await daemon.client.apply({ config });
      // dnsmasq in vm2 reaches named through the router; named answers it back the same way.
      await ip('-n', topology.internet, 'route', 'add', '10.1.0.0/16', 'via', '203.0.113.2');
      for (const server of ['10.1.0.1', vm2.ip]) {
        for (let i = 0; i < 50; i++) {
          const probe = await dig(vm1.ns, server, 'www.example.test');
          if (probe.status === 'NOERROR') break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const local = await dig(vm1.ns, server, names[NAMES - 1]?.name ?? '');
        if (local.status !== 'NOERROR') throw new Error(`${server} does not answer the local names`);
      }
      const servers = [
        { name: 'vrouterd', address: '10.1.0.1', pid: daemon.pid ?? 0 },
        { name: 'dnsmasq', address: vm2.ip, pid: baseline.pid ?? 0 },
      ];
      const rows: BenchRow[] = [];
      for (const workload of ['local', 'forwarded'] as const) {
        const runs = new Map<string, Run[]>(servers.map((s) => [s.name, []]));
        for (let round = 0; round < ROUNDS; round++)
          for (const s of round % 2 === 0 ? servers : [...servers].reverse())
            runs.get(s.name)?.push(await dnsperf(vm1.ns, s.address, join(work, workload), s.pid));
        const lat = new Map<string, { p50: number; p99: number }>();
        for (const s of servers) lat.set(s.name, await latencies(vm1.ns, s.address, join(work, workload)));
        const of = (name: string, pick: (r: Run) => number) => median((runs.get(name) ?? []).map(pick));
        const what =
          workload === 'local' ? `local names (${NAMES} hosts)` : 'a forwarded name answered from the cache';
        const note = `dnsperf ${DNSPERF.join(' ')} from vm1, one bridge away from both servers`;
        const base = (value: number) => ({ name: 'dnsmasq 2.90, same names, same path', value });
        rows.push(
          {
            measurement: `DNS, ${what}: queries per second (median of ${ROUNDS} × ${SECONDS} s)`,
            unit: 'qps',
            vrouterd: of('vrouterd', (r) => r.qps),
            baseline: base(of('dnsmasq', (r) => r.qps)),
            better: 'higher',
            note,
          },
          {
            measurement: `DNS, ${what}: server CPU per 1000 answers`,
            unit: 'ms',
            vrouterd: of('vrouterd', (r) => r.cpuPer1000),
            baseline: base(of('dnsmasq', (r) => r.cpuPer1000)),
            better: 'lower',
            note: 'user + system time of the whole server process (vrouterd: all threads)',
          },
          ...(['p50', 'p99'] as const).map((p): BenchRow => ({
            measurement: `DNS, ${what}: ${p} latency under that load`,
            unit: 'ms',
            vrouterd: lat.get('vrouterd')?.[p] ?? Number.NaN,
            baseline: base(lat.get('dnsmasq')?.[p] ?? Number.NaN),
            better: 'lower',
            note: `dnsperf -v, ${LATENCY_SECONDS} s`,
          })),
        );
      }
      const codec = codecCost();
      rows.push({
        measurement: 'DNS codec: read a query and write its local answer, in process',
        unit: 'ns',
        vrouterd: codec.ours,
        baseline: { name: 'dns2 3.1.1 Packet.parse + toBuffer', value: codec.dns2 },
        better: 'lower',
        note: 'why the hot path is hand-written (services/dns/wire.ts)',
      });
      return rows;
    } finally {
      baseline.kill('SIGKILL');
      await upstream.stop();
      await daemon.destroy();
      topology.destroySync();
      await rm(work, { recursive: true, force: true });
    }
  },
};
export default bench;
