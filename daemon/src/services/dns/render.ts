// Rendering of the DNS server's tables from the config: where it listens (each DNS-enabled network's
// gateway, on that network's NIC), the local names (all networks' hosts and the router, forward and
// reverse), the zones it answers authoritatively, and how it forwards the rest. Pure: the NICs'
// kernel names come from the interface plan. Which network sees which names is described in
// proto/vrouter/v1/dns.proto.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import type { Network } from '../../gen/vrouter/v1/networks_pb.js';
import { parseIpv4Prefix, parseIpv6, parseIpv6Prefix } from '../../config/net.js';
import type { InterfacePlan } from '../interfaces/plan.js';
import {
  PRIVATE_REVERSE_ZONES,
  ipv4PtrName,
  ipv4ReverseZones,
  ipv6PtrName,
  ipv6ReverseZones,
} from './reverse.js';
import { type UpstreamAddress, parseUpstream } from './upstream-address.js';

export const DEFAULTS = {
  hostname: 'vrouter',
  cacheSize: 10_000,
  rateLimitQps: 1000,
  upstreamTimeoutMs: 1000,
  localTtl: 60,
} as const;

export type DnsRecordType = 'A' | 'AAAA' | 'PTR';

/** One local record; names are lower case, without the trailing dot. */
export interface DnsRecord {
  readonly name: string;
  readonly type: DnsRecordType;
  /** An address for A/AAAA (canonical text), a name for PTR. */
  readonly data: string;
}

/**
 * Local records as text, one `name TYPE data` per line, in config order without duplicates. Text and
 * not objects because a router has thousands: comparing two plans, and handing one to the DNS
 * thread, then costs a string compare and copy instead of walking tens of thousands of objects.
 */
export type DnsRecords = string;

export function parseRecords(text: DnsRecords): DnsRecord[] {
  if (text === '') return [];
  return text.split('\n').map((line) => {
    const [name = '', type = 'A', data = ''] = line.split(' ');
    return { name, type: type as DnsRecordType, data };
  });
}

/** Where the server listens: one network's gateway address, on that network's NIC only. */
export interface DnsListener {
  readonly networkId: string;
  readonly address: string;
  /** Kernel name of the network's NIC. */
  readonly device: string;
  /** Its link's index: what a socket bound to the device holds (the name may change under it). */
  readonly deviceIndex: number;
  /** Index into DnsPlan.views: what single-label names mean to clients here. */
  readonly view: number;
}

/** The names only one network's clients see: single labels for its hosts and for the router. */
export interface DnsView {
  readonly networkId: string;
  /** The network's domain (lower case, '' for none): whose SOA goes with its negative answers. */
  readonly domain: string;
  readonly records: DnsRecords;
}

/** A zone the server answers authoritatively (SOA and NS at its apex). */
export interface DnsZone {
  readonly name: string;
  /** The SOA MNAME and NS target: the router's name in a network domain, else the apex itself (RFC 6303). */
  readonly nameserver: string;
}

export interface DnsPlan {
  readonly listeners: readonly DnsListener[];
  readonly views: readonly DnsView[];
  /** Names every network sees: hosts and the router in each domain, and all PTR records. */
  readonly records: DnsRecords;
  readonly zones: readonly DnsZone[];
  readonly upstreams: readonly UpstreamAddress[];
  readonly cacheSize: number;
  readonly rateLimitQps: number;
  readonly upstreamTimeoutMs: number;
  readonly localTtl: number;
}

/** No DNS service: nothing listens. */
export const NO_DNS: DnsPlan = {
  listeners: [],
  views: [],
  records: '',
  zones: [],
  upstreams: [],
  cacheSize: DEFAULTS.cacheSize,
  rateLimitQps: DEFAULTS.rateLimitQps,
  upstreamTimeoutMs: DEFAULTS.upstreamTimeoutMs,
  localTtl: DEFAULTS.localTtl,
};

export function renderDns(config: RouterConfig, interfaces: InterfacePlan): DnsPlan {
  const served = config.networks.filter((n) => n.dns?.enabled === true);
  if (served.length === 0) return NO_DNS;
  const router = (config.hostname === '' ? DEFAULTS.hostname : config.hostname).toLowerCase();
  const links = new Map(interfaces.links.map((l) => [l.nicId, l]));

  const records = new RecordLines();
  const zones = new Map<string, DnsZone>();
  for (const zone of PRIVATE_REVERSE_ZONES) zones.set(zone, { name: zone, nameserver: zone });
  for (const network of config.networks) addNetwork(network, router, records, zones);

  const views: DnsView[] = [];
  const listeners: DnsListener[] = [];
  for (const network of served) {
    const link = links.get(network.nicId);
    if (link === undefined) continue;
    const view = views.length;
    views.push({
      networkId: network.id,
      domain: network.domain.toLowerCase(),
      records: viewRecords(network, router),
    });
    const on = { device: link.name, deviceIndex: link.index, view };
    listeners.push({ networkId: network.id, address: network.gateway, ...on });
    if (network.ipv6Gateway !== '')
      listeners.push({ networkId: network.id, address: canonicalIpv6(network.ipv6Gateway), ...on });
  }

  const dns = config.dns;
  return {
    listeners,
    views,
    records: records.text(),
    zones: [...zones.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    upstreams: (dns?.upstreamServers ?? []).flatMap((s) => parseUpstream(s) ?? []),
    cacheSize: orDefault(dns?.cacheSize, DEFAULTS.cacheSize),
    rateLimitQps: orDefault(dns?.rateLimitQps, DEFAULTS.rateLimitQps),
    upstreamTimeoutMs: orDefault(dns?.upstreamTimeoutMs, DEFAULTS.upstreamTimeoutMs),
    localTtl: orDefault(dns?.localTtlSeconds, DEFAULTS.localTtl),
  };
}

/** Forward names in the network's domain, PTR records for its hosts and gateways, its reverse zones. */
function addNetwork(
  network: Network,
  router: string,
  records: RecordLines,
  zones: Map<string, DnsZone>,
): void {
  const domain = network.domain.toLowerCase();
  const named = (label: string) => (domain === '' ? label : `${label}.${domain}`);
  const routerName = named(router);
  if (domain !== '') zones.set(domain, { name: domain, nameserver: routerName });

  const subnet = parseIpv4Prefix(network.cidr);
  if (subnet !== undefined)
    for (const zone of ipv4ReverseZones(subnet)) zones.set(zone, { name: zone, nameserver: zone });
  const subnet6 = network.ipv6Cidr === '' ? undefined : parseIpv6Prefix(network.ipv6Cidr);
  if (subnet6 !== undefined)
    for (const zone of ipv6ReverseZones(subnet6)) zones.set(zone, { name: zone, nameserver: zone });

  const entries: { label: string; ip: string; ipv6: string }[] = [
    { label: router, ip: network.gateway, ipv6: network.ipv6Gateway },
    ...network.hosts
      .filter((h) => h.hostname !== '')
      .map((h) => ({ label: h.hostname.toLowerCase(), ip: h.ip, ipv6: h.ipv6 })),
  ];
  for (const { label, ip, ipv6 } of entries) {
    const name = named(label);
    if (domain !== '') {
      records.add(name, 'A', ip);
      if (ipv6 !== '') records.add(name, 'AAAA', canonicalIpv6(ipv6));
    }
    records.add(ipv4PtrName(ip), 'PTR', name);
    const address6 = ipv6 === '' ? undefined : parseIpv6(ipv6);
    if (address6 !== undefined) records.add(ipv6PtrName(address6), 'PTR', name);
  }
}

/** Single labels: the network's hosts, and the router at this network's gateway. */
function viewRecords(network: Network, router: string): DnsRecords {
  const records = new RecordLines();
  records.add(router, 'A', network.gateway);
  if (network.ipv6Gateway !== '') records.add(router, 'AAAA', canonicalIpv6(network.ipv6Gateway));
  for (const host of network.hosts) {
    if (host.hostname === '') continue;
    const name = host.hostname.toLowerCase();
    records.add(name, 'A', host.ip);
    if (host.ipv6 !== '') records.add(name, 'AAAA', canonicalIpv6(host.ipv6));
  }
  return records.text();
}

/**
 * Record lines in the order added. Validation leaves no duplicates: names are unique per domain, and
 * addresses per router (networks do not overlap).
 */
class RecordLines {
  private readonly lines: string[] = [];

  add(name: string, type: DnsRecordType, data: string): void {
    this.lines.push(`${name} ${type} ${data}`);
  }

  text(): DnsRecords {
    return this.lines.join('\n');
  }
}

function canonicalIpv6(text: string): string {
  return parseIpv6(text)?.toString() ?? text;
}

function orDefault(value: number | undefined, fallback: number): number {
  return value === undefined || value === 0 ? fallback : value;
}
