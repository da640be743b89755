// Rendering of the DHCP service: per private NIC with DHCP enabled, the kernel link to listen on, the
// network's addresses, its hosts by MAC, its pools and the option values already in wire format. Pure:
// the config and the interface plan in, the tables the server swaps in out.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import type { Network } from '../../gen/vrouter/v1/networks_pb.js';
import { broadcastOf, maskOf, normalizeMac, parseIpv4, parseIpv4Prefix } from '../../config/net.js';
import type { InterfacePlan } from '../interfaces/plan.js';
import { OPTION } from './codec.js';
import {
  type RouteValue,
  encodeAddresses,
  encodeClasslessRoutes,
  encodeDomainSearch,
  encodeText,
  encodeUint16,
  encodeUint32,
} from './option-values.js';
import { LEASE_TIME_DEFAULT } from './validate.js';

/** A listed host as DHCP serves it. */
export interface DhcpHost {
  readonly id: string;
  readonly ip: number;
  /** Empty when the host has no name. */
  readonly hostname: string;
}

export interface AddressRange {
  readonly start: number;
  readonly end: number;
}

export interface DhcpNetworkPlan {
  readonly networkId: string;
  readonly nicId: string;
  /** The kernel's name of the NIC's link: the socket is bound to it. */
  readonly linkName: string;
  /** The link's index: a link removed and plugged again has a new one, and needs a new socket. */
  readonly linkIndex: number;
  /** The gateway: the server identifier (option 54) and the default router. */
  readonly serverId: number;
  readonly subnet: { readonly network: number; readonly prefix: number };
  readonly leaseTimeSeconds: number;
  /** Largest DHCP message the link carries unfragmented (its MTU less IP and UDP headers). */
  readonly maxMessage: number;
  /** Option values every client of the network may get, by code, in wire format. */
  readonly options: ReadonlyMap<number, Uint8Array>;
  /** Listed hosts by MAC (lower case, colons). */
  readonly hosts: ReadonlyMap<string, DhcpHost>;
  readonly pools: readonly AddressRange[];
  /** Addresses never leased from a pool: the gateway and every listed host's. */
  readonly reserved: ReadonlySet<number>;
}

export interface DhcpPlan {
  readonly networks: readonly DhcpNetworkPlan[];
}

export const EMPTY_DHCP_PLAN: DhcpPlan = { networks: [] };

const DEFAULT_MTU = 1500;
const IP_UDP_HEADERS = 28;

export function renderDhcp(config: RouterConfig, interfaces: InterfacePlan): DhcpPlan {
  const networks: DhcpNetworkPlan[] = [];
  for (const network of config.networks) {
    if (network.dhcp?.enabled !== true) continue;
    const link = interfaces.links.find((l) => l.nicId === network.nicId);
    const nic = config.nics.find((n) => n.id === network.nicId);
    const subnet = parseIpv4Prefix(network.cidr);
    const gateway = parseIpv4(network.gateway);
    if (link === undefined || nic === undefined || subnet === undefined || gateway === undefined)
      throw new Error(`network ${network.id}: render called with an invalid config`);
    const hosts = new Map<string, DhcpHost>();
    const reserved = new Set<number>([gateway]);
    for (const host of network.hosts) {
      const ip = parseIpv4(host.ip) ?? 0;
      hosts.set(normalizeMac(host.mac) ?? host.mac, { id: host.id, ip, hostname: host.hostname });
      reserved.add(ip);
    }
    networks.push({
      networkId: network.id,
      nicId: network.nicId,
      linkName: link.name,
      linkIndex: link.index,
      serverId: gateway,
      subnet: { network: subnet.network, prefix: subnet.prefix },
      leaseTimeSeconds: network.dhcp.leaseTimeSeconds || LEASE_TIME_DEFAULT,
      maxMessage: (nic.mtu || DEFAULT_MTU) - IP_UDP_HEADERS,
      options: networkOptions(config, network, gateway, subnet, nic.mtu),
      hosts,
      pools: network.dhcp.pools.map((p) => ({ start: parseIpv4(p.start) ?? 0, end: parseIpv4(p.end) ?? 0 })),
      reserved,
    });
  }
  return { networks };
}

/** The option values of one network, by code, in wire format. */
export function networkOptions(
  config: RouterConfig,
  network: Network,
  gateway: number,
  subnet: { network: number; prefix: number },
  nicMtu: number,
): Map<number, Uint8Array> {
  const dhcp = network.dhcp;
  const options = new Map<number, Uint8Array>();
  options.set(OPTION.SERVER_ID, encodeAddresses([gateway]));
  const seconds = dhcp?.leaseTimeSeconds || LEASE_TIME_DEFAULT;
  options.set(OPTION.LEASE_TIME, encodeUint32(seconds));
  // T1 at half the lease, T2 at seven eighths (RFC 2131 §4.4.5).
  options.set(OPTION.RENEWAL_TIME, encodeUint32(Math.floor(seconds / 2)));
  options.set(OPTION.REBINDING_TIME, encodeUint32(Math.floor((seconds * 7) / 8)));
  options.set(OPTION.SUBNET_MASK, encodeAddresses([maskOf(subnet.prefix)]));
  options.set(OPTION.ROUTER, encodeAddresses([gateway]));
  const dns = dnsServers(config, network, gateway);
  if (dns.length > 0) options.set(OPTION.DNS_SERVERS, encodeAddresses(dns));
  if (network.domain !== '') options.set(OPTION.DOMAIN_NAME, encodeText(network.domain));
  const mtu = dhcp?.mtu || nicMtu;
  if (mtu !== 0) options.set(OPTION.INTERFACE_MTU, encodeUint16(mtu));
  options.set(OPTION.BROADCAST, encodeAddresses([broadcastOf(subnet)]));
  const ntp = (dhcp?.ntpServers ?? []).map((s) => parseIpv4(s) ?? 0);
  if (ntp.length > 0) options.set(OPTION.NTP_SERVERS, encodeAddresses(ntp));
  if ((dhcp?.domainSearch.length ?? 0) > 0)
    options.set(OPTION.DOMAIN_SEARCH, encodeDomainSearch(dhcp?.domainSearch ?? []));
  const routes = classlessRoutes(network, gateway);
  if (routes.length > 0) {
    const encoded = encodeClasslessRoutes(routes);
    options.set(OPTION.CLASSLESS_ROUTES, encoded);
    options.set(OPTION.MS_CLASSLESS_ROUTES, encoded);
  }
  return options;
}

/** The configured routes, plus the default route via the gateway: a client given option 121 ignores
 * the router option (RFC 3442), so without it the VM would lose its default route. */
function classlessRoutes(network: Network, gateway: number): RouteValue[] {
  const routes = (network.dhcp?.classlessRoutes ?? []).map((r) => {
    const p = parseIpv4Prefix(r.destination);
    return { network: p?.network ?? 0, prefix: p?.prefix ?? 0, nextHop: parseIpv4(r.nextHop) ?? 0 };
  });
  if (routes.length > 0 && !routes.some((r) => r.prefix === 0))
    routes.push({ network: 0, prefix: 0, nextHop: gateway });
  return routes;
}

/** Option 6: the configured servers; else the gateway when the network has DNS; else the router's
 * IPv4 upstreams that listen on port 53 (a VM cannot be told another port). */
function dnsServers(config: RouterConfig, network: Network, gateway: number): number[] {
  const configured = network.dhcp?.dnsServers ?? [];
  if (configured.length > 0) return configured.map((s) => parseIpv4(s) ?? 0);
  if (network.dns?.enabled === true) return [gateway];
  const upstreams: number[] = [];
  for (const server of config.dns?.upstreamServers ?? []) {
    const [host, port, extra] = server.split(':');
    const address = host === undefined || extra !== undefined ? undefined : parseIpv4(host);
    if (address !== undefined && (port === undefined || port === '53')) upstreams.push(address);
  }
  return upstreams;
}
