#!/usr/bin/env node
// vrouterctl: the operator's console tool. Talks to vrouterd over its unix socket (or the management
// address with mTLS). Tables for people, --json for scripts.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type ServiceError, status } from '@grpc/grpc-js';
import { type JsonValue, create, fromJson, toJson, toJsonString } from '@bufbuild/protobuf';
import { type Timestamp, timestampDate } from '@bufbuild/protobuf/wkt';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { RouterConfigSchema } from '../gen/vrouter/v1/config_pb.js';
import { NicRole } from '../gen/vrouter/v1/interfaces_pb.js';
import { TransportProtocol } from '../gen/vrouter/v1/common_pb.js';
import {
  ApplyResponseSchema,
  type GetDnsStatusResponse,
  GetDnsStatusResponseSchema,
  type GetStatusResponse,
  GetStatusResponseSchema,
  type GetNatStatusResponse,
  GetNatStatusResponseSchema,
  type ListRoutesResponse,
  ListRoutesResponseSchema,
  type ListVipsResponse,
  ListVipsResponseSchema,
  type NatCounters,
  type DhcpLease,
  DhcpLeaseKind,
  ListDhcpLeasesResponseSchema,
  PatchRequestSchema,
  PatchResponseSchema,
  ServiceState,
  StepOutcome,
  type StepResult,
  type WatchResponse,
  WatchResponseSchema,
} from '../gen/vrouter/v1/service_pb.js';
import {
  ConnectionState,
  Direction,
  ExplainFirewallRequestSchema,
  type ExplainFirewallResponse,
  ExplainFirewallResponseSchema,
  FirewallAction,
  FirewallProtocol,
  type FirewallStatus,
  FirewallStatusSchema,
} from '../gen/vrouter/v1/firewall_pb.js';
import { readErrorDetails } from '../api/status-details.js';
import { RouterClient } from './client.js';
import { table } from './table.js';

const USAGE = `usage: vrouterctl [connection] COMMAND [--json]

commands:
  apply -f FILE [--expected-generation N] [--validate-only]
                       replace the whole config with FILE (RouterConfig, proto3 JSON or YAML)
  patch -f FILE [--expected-generation N] [--validate-only]
                       apply {operations: [...]} from FILE (PatchRequest, JSON or YAML)
  show config          the config the router holds (YAML; --json for proto3 JSON)
  show status          generation, services, NICs, drift checks
  show dns             DNS server: listeners, counters, cache size and hit rate, upstream health
  show firewall        rule sets, their rules in evaluation order and per-rule counters
  explain --nic ID --direction in|out --protocol tcp|udp|icmp --source IP --destination IP
          [--sport N] [--dport N] [--icmp-type N] [--icmp-code N] [--state new|established|related|invalid] [--dnat]
                       which firewall rule decides such a packet, and why
  show vips            VIPs: NIC, whether the kernel holds them, what uses them
  show nat             EIPs, port forwards and SNAT with packet/byte counters
  show routes          static routes (installed or not) and the kernel's main table
  show dhcp leases [--network ID]
                       the DHCP leases the router holds (hosts and pool clients)
  watch                stream events (applied generations, drift repaired) until Ctrl-C
  check-drift          compare the kernel with the config now and repair differences

connection (default: the console socket):
  --socket PATH        vrouterd's unix socket (default $VROUTERCTL_SOCKET or /run/vrouterd/control.sock)
  --server HOST:PORT   the management API instead; with --tls-cert/--tls-key/--tls-ca for mTLS`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      socket: { type: 'string' },
      server: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      file: { type: 'string', short: 'f' },
      'expected-generation': { type: 'string' },
      'validate-only': { type: 'boolean', default: false },
      network: { type: 'string' },
      json: { type: 'boolean', default: false },
      nic: { type: 'string' },
      direction: { type: 'string' },
      protocol: { type: 'string' },
      source: { type: 'string' },
      destination: { type: 'string' },
      sport: { type: 'string' },
      dport: { type: 'string' },
      'icmp-type': { type: 'string' },
      'icmp-code': { type: 'string' },
      state: { type: 'string' },
      dnat: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const tlsFiles = [values['tls-cert'], values['tls-key'], values['tls-ca']];
  const tls = tlsFiles.every((f) => f !== undefined)
    ? {
        cert: await readFile(tlsFiles[0] ?? ''),
        key: await readFile(tlsFiles[1] ?? ''),
        ca: await readFile(tlsFiles[2] ?? ''),
      }
    : undefined;
  const client = new RouterClient({
    socket: values.socket ?? process.env['VROUTERCTL_SOCKET'] ?? '/run/vrouterd/control.sock',
    ...(values.server !== undefined && { server: values.server }),
    ...(tls !== undefined && { tls }),
  });
  const json = values.json;
  const expected =
    values['expected-generation'] === undefined ? undefined : BigInt(values['expected-generation']);
  try {
    switch (positionals.join(' ')) {
      case 'apply': {
        const config = fromJson(RouterConfigSchema, await readDocument(values.file));
        const response = await client.apply({
          config,
          validateOnly: values['validate-only'],
          ...(expected !== undefined && { expectedGeneration: expected }),
        });
        print(
          json
            ? toJsonString(ApplyResponseSchema, response)
            : describeWrite(response.generation, response.results),
        );
        return 0;
      }
      case 'patch': {
        const request = fromJson(PatchRequestSchema, await readDocument(values.file));
        if (expected !== undefined) request.expectedGeneration = expected;
        request.validateOnly ||= values['validate-only'];
        const response = await client.patch(request);
        print(
          json
            ? toJsonString(PatchResponseSchema, response)
            : describeWrite(response.generation, response.results),
        );
        return 0;
      }
      case 'show config': {
        const response = await client.getConfig();
        const config = toJson(RouterConfigSchema, response.config ?? fromJson(RouterConfigSchema, {}));
        const document = { generation: response.generation.toString(), config };
        print(json ? JSON.stringify(document, null, 2) : toYaml(document).trimEnd());
        return 0;
      }
      case 'show status': {
        const response = await client.getStatus();
        print(
          json
            ? toJsonString(GetStatusResponseSchema, response, { prettySpaces: 2 })
            : describeStatus(response),
        );
        return 0;
      }
      case 'show dns': {
        const response = await client.getDnsStatus();
        print(
          json
            ? toJsonString(GetDnsStatusResponseSchema, response, { prettySpaces: 2 })
            : describeDns(response),
        );
        return 0;
      }
      case 'show firewall': {
        const response = await client.getStatus();
        const firewall = response.firewall ?? create(FirewallStatusSchema);
        print(
          json
            ? toJsonString(FirewallStatusSchema, firewall, { prettySpaces: 2 })
            : describeFirewall(firewall),
        );
        return 0;
      }
      case 'explain': {
        const response = await client.explainFirewall(explainRequest(values));
        print(json ? toJsonString(ExplainFirewallResponseSchema, response) : describeExplanation(response));
        return 0;
      }
      case 'show vips': {
        const response = await client.listVips();
        print(
          json ? toJsonString(ListVipsResponseSchema, response, { prettySpaces: 2 }) : describeVips(response),
        );
        return 0;
      }
      case 'show nat': {
        const response = await client.getNatStatus();
        print(
          json
            ? toJsonString(GetNatStatusResponseSchema, response, { prettySpaces: 2 })
            : describeNat(response),
        );
        return 0;
      }
      case 'show routes': {
        const response = await client.listRoutes();
        print(
          json
            ? toJsonString(ListRoutesResponseSchema, response, { prettySpaces: 2 })
            : describeRoutes(response),
        );
        return 0;
      }
      case 'show dhcp leases': {
        const response = await client.listDhcpLeases(values.network ?? '');
        if (json) print(toJsonString(ListDhcpLeasesResponseSchema, response, { prettySpaces: 2 }));
        else {
          const status = await client.getStatus();
          const counters = status.services.find((s) => s.name === 'dhcp')?.counters ?? {};
          print(describeLeases(response.leases, counters));
        }
        return 0;
      }
      case 'watch':
        return await watch(client, json);
      case 'check-drift': {
        const response = await client.checkDrift();
        if (json)
          print(
            JSON.stringify({
              repaired: response.repaired.map((r) => ({ step: r.step, findings: r.findings })),
            }),
          );
        else if (response.repaired.length === 0) print('no drift: the kernel holds the applied config');
        else
          for (const r of response.repaired)
            print(`${r.step}: repaired\n${r.findings.map((f) => `  ${f}`).join('\n')}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${positionals.join(' ')}"`);
    }
  } finally {
    client.close();
  }
}

async function readDocument(file: string | undefined): Promise<JsonValue> {
  if (file === undefined) throw new UsageError('-f FILE is required');
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  try {
    return (/\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text)) as JsonValue;
  } catch (e) {
    throw new UsageError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function watch(client: RouterClient, json: boolean): Promise<number> {
  const { events, cancel } = client.watch(true);
  process.once('SIGINT', cancel);
  try {
    for await (const event of events)
      print(json ? toJsonString(WatchResponseSchema, event) : describeEvent(event));
  } catch (e) {
    if ((e as ServiceError).code !== status.CANCELLED) throw e;
  }
  return 0;
}

function describeWrite(generation: bigint, results: readonly StepResult[]): string {
  const rows = results.map((r) => [
    r.step,
    outcomeName(r.outcome),
    `${(Number(r.durationUs) / 1000).toFixed(1)} ms`,
    r.message,
  ]);
  return `generation ${generation}\n${table(['STEP', 'OUTCOME', 'TIME', 'DETAIL'], rows)}`;
}

function describeStatus(s: GetStatusResponse): string {
  const lines = [
    `generation ${s.generation}${s.appliedAt ? ` applied ${time(s.appliedAt)}` : ' (no config applied yet)'}` +
      (s.applyingGeneration !== undefined ? `, applying ${s.applyingGeneration}` : ''),
    `vrouterd ${s.version}, up since ${time(s.startedAt)}`,
  ];
  if (s.drift) {
    const d = s.drift;
    lines.push(
      `drift checks: ${d.checks} (${d.intervalSeconds > 0 ? `every ${d.intervalSeconds} s` : 'periodic checks off'}), repairs: ${d.repairs}` +
        (d.lastRepairAt ? `, last ${time(d.lastRepairAt)}` : ''),
    );
  }
  if (s.lastError !== '') lines.push(`LAST ERROR: ${s.lastError}`);
  lines.push(
    '',
    table(
      ['SERVICE', 'STATE', 'APPLIES', 'FAILURES', 'REPAIRS', 'DETAIL'],
      s.services.map((svc) => [
        svc.name,
        ServiceState[svc.state],
        String(svc.counters['applies'] ?? 0n),
        String(svc.counters['failures'] ?? 0n),
        String(svc.counters['repairs'] ?? 0n),
        svc.message,
      ]),
    ),
    '',
    table(
      ['NIC', 'ROLE', 'MAC', 'LINK', 'STATE', 'MTU', 'ADDRESSES'],
      s.nics.map((n) => [
        n.id,
        NicRole[n.role].toLowerCase(),
        n.mac,
        n.present ? n.name : '-',
        !n.present ? 'MISSING' : !n.up ? 'down' : n.carrier ? 'up' : 'no-carrier',
        n.present ? String(n.mtu) : '-',
        n.addresses.join(' '),
      ]),
    ),
  );
  return lines.join('\n');
}

function describeDns(s: GetDnsStatusResponse): string {
  if (!s.running) return 'DNS server not running (no network has DNS enabled)';
  const c = (name: string) => String(s.counters[name] ?? 0n);
  const cache = s.cache;
  const lines = [
    `queries ${c('queries')} (UDP ${c('udp_queries')}, TCP ${c('tcp_queries')}): local answers ${c('local_answers')}, ` +
      `cache hits ${c('cache_hits')}, forwarded ${c('cache_misses')}, SERVFAIL ${c('servfail')}, ` +
      `NXDOMAIN ${c('nxdomain')}, refused ${c('refused')}`,
    `dropped: malformed ${c('malformed')}, rate limited ${c('rate_limited')}, overload ${c('dropped')}; ` +
      `truncated (TC) ${c('truncated')}, upstream failures ${c('upstream_failures')}`,
    cache === undefined
      ? 'cache: -'
      : `cache: ${cache.entries} of ${cache.capacity} entries, hit rate ${(cache.hitRate * 100).toFixed(1)}% ` +
        `(${cache.hits} hits, ${cache.misses} misses), ${cache.evictions} evictions`,
    '',
    table(
      ['NETWORK', 'ADDRESS', 'INTERFACE', 'STATE'],
      s.listeners.map((l) => [
        l.networkId,
        l.address,
        l.interface,
        l.listening ? 'listening' : 'NOT LISTENING',
      ]),
    ),
  ];
  if (s.upstreams.length === 0)
    lines.push('', 'no upstream servers: names outside the local zones are refused');
  else
    lines.push(
      '',
      table(
        ['UPSTREAM', 'STATE', 'QUERIES', 'FAILURES', 'RTT', 'LAST FAILURE'],
        s.upstreams.map((u) => [
          u.address,
          u.up ? 'up' : `DOWN (${u.consecutiveFailures} failures in a row)`,
          String(u.queries),
          String(u.failures),
          u.rttMs > 0 ? `${u.rttMs.toFixed(1)} ms` : '-',
          u.lastFailureAt ? `${time(u.lastFailureAt)} ${u.lastError}` : '-',
        ]),
      ),
    );
  return lines.join('\n');
}

function describeFirewall(f: FirewallStatus): string {
  if (f.ruleSets.length === 0) return 'no rule sets (no NICs configured)';
  return f.ruleSets
    .map((set) => {
      const attached =
        set.attachedTo.length === 0 ? 'not attached' : `attached to ${set.attachedTo.join(', ')}`;
      const rows = set.rules.map((r) => [
        String(r.priority),
        r.id,
        r.disabled ? 'disabled' : FirewallAction[r.action].toLowerCase(),
        r.match,
        String(r.packets),
        String(r.bytes),
        `${r.system ? '(system) ' : ''}${r.description}`,
      ]);
      return `rule set ${set.id}: ${set.description} (${attached})\n${table(
        ['PRIO', 'RULE', 'ACTION', 'MATCH', 'PACKETS', 'BYTES', 'DESCRIPTION'],
        rows,
      )}`;
    })
    .join('\n\n');
}

function explainRequest(values: Record<string, string | boolean | undefined>) {
  const text = (name: string) => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const number = (name: string) => {
    const value = text(name);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new UsageError(`--${name} ${value}: expected a number`);
    return Number(value);
  };
  const choice = <V extends number>(name: string, e: Record<string, string | V>, unset: V): V => {
    const value = text(name);
    if (value === undefined) return unset;
    const found = e[value.toUpperCase()];
    if (typeof found !== 'number') throw new UsageError(`--${name} ${value}: unknown`);
    return found;
  };
  const nicId = text('nic');
  if (nicId === undefined) throw new UsageError('explain needs --nic');
  const icmpType = number('icmp-type');
  const icmpCode = number('icmp-code');
  return create(ExplainFirewallRequestSchema, {
    nicId,
    direction: choice('direction', Direction, Direction.UNSPECIFIED),
    packet: {
      source: text('source') ?? '',
      destination: text('destination') ?? '',
      protocol: choice('protocol', FirewallProtocol, FirewallProtocol.UNSPECIFIED),
      sourcePort: number('sport') ?? 0,
      destinationPort: number('dport') ?? 0,
      ...(icmpType !== undefined && { icmpType }),
      ...(icmpCode !== undefined && { icmpCode }),
      state: choice('state', ConnectionState, ConnectionState.UNSPECIFIED),
      dnat: values['dnat'] === true,
    },
  });
}

function describeExplanation(e: ExplainFirewallResponse): string {
  const lines = [`verdict: ${FirewallAction[e.verdict].toLowerCase()}`];
  if (e.ruleSetId !== '') lines.push(`rule set: ${e.ruleSetId}`);
  if (e.rule !== undefined)
    lines.push(
      `rule: ${e.rule.id} (priority ${e.rule.priority}, ${e.rule.system ? 'system' : 'custom'}) ${e.rule.match}`,
    );
  lines.push(`why: ${e.reason}`);
  if (e.toRouter) lines.push('the packet is addressed to the router itself');
  return lines.join('\n');
}

function describeVips(r: ListVipsResponse): string {
  return table(
    ['VIP', 'IP', 'NIC', 'LINK', 'PRESENT', 'USED BY', 'DESCRIPTION'],
    r.vips.map((s) => [
      s.vip?.id ?? '',
      s.vip?.ip ?? '',
      s.vip?.nicId ?? '',
      s.link || '-',
      (s.present ? 'yes' : 'MISSING') + (s.nicAddress ? ' (nic address)' : ''),
      s.usedBy.join(' ') || '-',
      s.vip?.description ?? '',
    ]),
  );
}

function describeNat(r: GetNatStatusResponse): string {
  const traffic = (c: NatCounters | undefined) => `${c?.packets ?? 0n} pkts, ${c?.bytes ?? 0n} bytes`;
  const range = (p: { start: number; end: number } | undefined) =>
    p === undefined || p.end === 0 || p.end === p.start ? String(p?.start ?? '') : `${p.start}-${p.end}`;
  return [
    'EIPs',
    table(
      ['EIP', 'VIP', 'PRIVATE IP', 'TRAFFIC', 'DESCRIPTION'],
      r.eips.map((e) => [
        e.eip?.id ?? '',
        e.vipIp,
        e.eip?.privateIp ?? '',
        traffic(e.counters),
        e.eip?.description ?? '',
      ]),
    ),
    '',
    'Port forwards',
    table(
      ['FORWARD', 'VIP', 'PORTS', 'TO', 'ALLOWED SOURCES', 'TRAFFIC', 'DESCRIPTION'],
      r.portForwards.map((f) => {
        const pf = f.portForward;
        const target = pf?.privatePorts?.start ? pf.privatePorts : pf?.vipPorts;
        return [
          pf?.id ?? '',
          f.vipIp,
          `${pf?.protocol === TransportProtocol.UDP ? 'udp' : 'tcp'} ${range(pf?.vipPorts)}`,
          `${pf?.privateIp ?? ''}:${range(target)}`,
          pf?.allowedSourceCidrs.join(' ') || 'any',
          traffic(f.counters),
          pf?.description ?? '',
        ];
      }),
    ),
    `port forward packets refused (source not allowed): ${r.portForwardRefusedPackets}`,
    '',
    'SNAT',
    table(
      ['SNAT', 'NETWORK', 'CIDR', 'SOURCE', 'TRAFFIC'],
      r.snats.map((s) => [
        s.snat?.id ?? '',
        s.snat?.networkId ?? '',
        s.networkCidr,
        s.vipIp,
        traffic(s.counters),
      ]),
    ),
  ].join('\n');
}

function describeRoutes(r: ListRoutesResponse): string {
  return [
    'Static routes',
    table(
      ['ROUTE', 'DESTINATION', 'NEXT HOP', 'INSTALLED', 'METRIC', 'DESCRIPTION'],
      r.routes.map((s) => [
        s.route?.id ?? '',
        s.route?.destination ?? '',
        s.route?.blackhole === true ? 'blackhole' : `via ${s.route?.nextHop ?? ''}`,
        s.installed ? 'yes' : 'NO',
        String(s.route?.metric ?? 0),
        s.route?.description ?? '',
      ]),
    ),
    '',
    'Main table',
    table(
      ['DESTINATION', 'TYPE', 'GATEWAY', 'LINK', 'PROTOCOL', 'METRIC', 'SOURCE'],
      r.kernelRoutes.map((k) => [
        k.destination,
        k.type,
        k.gateway || '-',
        k.link || '-',
        k.protocol,
        String(k.metric),
        k.source || '-',
      ]),
    ),
  ].join('\n');
}

/** The leases, after a line of the server's counters since it started. */
function describeLeases(leases: readonly DhcpLease[], counters: Record<string, bigint>): string {
  const count = (name: string) => String(counters[name] ?? 0n);
  const totals = ['offers', 'acks', 'naks', 'releases', 'declines', 'drops'].map((n) => `${n} ${count(n)}`);
  const rows = leases.map((l) => [
    l.networkId,
    l.ip,
    l.mac,
    l.hostname || '-',
    DhcpLeaseKind[l.kind].toLowerCase(),
    time(l.expiresAt),
    l.clientId || '-',
  ]);
  return `${leases.length} leases; since start: ${totals.join(', ')}\n${table(['NETWORK', 'IP', 'MAC', 'HOSTNAME', 'KIND', 'EXPIRES', 'CLIENT ID'], rows)}`;
}

function describeEvent(e: WatchResponse): string {
  const head = `${e.time ? time(e.time) : ''} generation ${e.generation}`;
  switch (e.event.case) {
    case 'generationApplied':
      return `${head} applied (${e.event.value.cause})${e.event.value.results.map((r) => ` ${r.step}=${outcomeName(r.outcome)}`).join('')}`;
    case 'applyFailed':
      return `${head} FAILED generation ${e.event.value.failedGeneration} at ${e.event.value.step}: ${e.event.value.message}`;
    case 'driftRepaired':
      return `${head} drift repaired by ${e.event.value.step}: ${e.event.value.findings.join('; ')}`;
    case 'serviceEvent':
      return `${head} ${e.event.value.service} ${e.event.value.severity}: ${e.event.value.message}`;
    case undefined:
      return `${head} (unknown event)`;
  }
}

function outcomeName(outcome: StepOutcome): string {
  return StepOutcome[outcome];
}

function time(t: Timestamp | undefined): string {
  return t === undefined ? '-' : timestampDate(t).toISOString();
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`vrouterctl: ${e.message}\n\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    const err = e as Partial<ServiceError>;
    if (typeof err.code === 'number') {
      const details = readErrorDetails(err.metadata);
      process.stderr.write(`vrouterctl: ${status[err.code]}: ${err.details ?? ''}\n`);
      for (const v of details.violations) process.stderr.write(`  ${v.field}: ${v.description}\n`);
      if (details.reason !== undefined)
        process.stderr.write(
          `  reason ${details.reason}${Object.entries(details.info)
            .map(([k, v]) => ` ${k}=${v}`)
            .join('')}\n`,
        );
    } else process.stderr.write(`vrouterctl: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
