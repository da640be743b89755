// Validation of each network's DHCP settings: lease time, servers and domains handed out, MTU,
// classless routes (one per destination, next hops inside the network) and pools (inside the network,
// not overlapping, each with an address to lease).
// Settings are checked whether or not DHCP is enabled, so enabling it later cannot fail on them.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { checkDomain, checkIpv4, checkRange, checkSubnet } from '../../config/fields.js';
import {
  type Ipv4Prefix,
  formatIpv4,
  formatPrefix,
  isNetworkOrBroadcast,
  parseIpv4,
  prefixContains,
} from '../../config/net.js';
import { UniqueKeys, type Violations } from '../../config/violations.js';
import { MTU_MAX, MTU_MIN } from '../interfaces/validate.js';
import type { NetworkLookup } from '../networks/validate.js';

export const LEASE_TIME_MIN = 60;
export const LEASE_TIME_MAX = 31_536_000;
export const LEASE_TIME_DEFAULT = 86_400;
const MAX_SERVERS = 16;
const MAX_SEARCH_DOMAINS = 32;
const MAX_ROUTES = 64;
const MAX_POOLS = 16;

export function validateDhcp(config: RouterConfig, networks: NetworkLookup, v: Violations): void {
  config.networks.forEach((network, i) => {
    const dhcp = network.dhcp;
    if (dhcp === undefined) return;
    const path = `networks[${i}].dhcp`;
    // The subnet is known only when the network itself is valid; its own errors are reported there.
    const valid = networks.get(network.id);
    const own = valid?.path === `networks[${i}]` ? valid : undefined;
    const subnet = own?.subnet;

    checkRange(
      v,
      `${path}.lease_time_seconds`,
      dhcp.leaseTimeSeconds,
      LEASE_TIME_MIN,
      LEASE_TIME_MAX,
      'one day',
    );
    checkAddressList(v, `${path}.dns_servers`, dhcp.dnsServers, subnet);
    checkAddressList(v, `${path}.ntp_servers`, dhcp.ntpServers, subnet);
    if (dhcp.domainSearch.length > MAX_SEARCH_DOMAINS)
      v.add(`${path}.domain_search`, `at most ${MAX_SEARCH_DOMAINS} domains`);
    dhcp.domainSearch.forEach((d, j) => checkDomain(v, `${path}.domain_search[${j}]`, d));
    checkRange(v, `${path}.mtu`, dhcp.mtu, MTU_MIN, MTU_MAX, "the NIC's MTU");

    if (dhcp.classlessRoutes.length > MAX_ROUTES)
      v.add(`${path}.classless_routes`, `at most ${MAX_ROUTES} routes`);
    // A client keeps one of two routes to the same destination; which one is not ours to say.
    const destinations = new UniqueKeys<string>(v, 'destination');
    dhcp.classlessRoutes.forEach((route, j) => {
      const rpath = `${path}.classless_routes[${j}]`;
      const destination = checkSubnet(v, `${rpath}.destination`, route.destination);
      if (destination !== undefined) {
        const text = formatPrefix(destination);
        destinations.claim(text, `${rpath}.destination`, text);
      }
      const hop = checkIpv4(v, `${rpath}.next_hop`, route.nextHop);
      if (hop !== undefined && subnet !== undefined && !usable(subnet, hop))
        v.add(`${rpath}.next_hop`, `${route.nextHop} is not a usable address of ${formatPrefix(subnet)}`);
    });

    if (dhcp.pools.length > MAX_POOLS) v.add(`${path}.pools`, `at most ${MAX_POOLS} pools`);
    const ranges: { start: number; end: number; path: string }[] = [];
    dhcp.pools.forEach((pool, j) => {
      const ppath = `${path}.pools[${j}]`;
      const start = checkPoolEnd(v, `${ppath}.start`, pool.start, subnet);
      const end = checkPoolEnd(v, `${ppath}.end`, pool.end, subnet);
      if (start === undefined || end === undefined) return;
      if (end < start) return v.add(`${ppath}.end`, `${pool.end} is below start ${pool.start}`);
      const clash = ranges.find((r) => start <= r.end && r.start <= end);
      if (clash !== undefined)
        v.add(
          ppath,
          `${pool.start}-${pool.end} overlaps ${formatIpv4(clash.start)}-${formatIpv4(clash.end)} of ${clash.path}`,
        );
      ranges.push({ start, end, path: ppath });
      if (own !== undefined && leasable(start, end, own.gateway, network.hosts) === 0)
        v.add(
          ppath,
          `${pool.start}-${pool.end} holds only the gateway and listed hosts' addresses: none to lease`,
        );
    });
  });
}

/** Servers a client is told to use: unicast addresses, not this network's own network or broadcast. */
function checkAddressList(
  v: Violations,
  path: string,
  list: readonly string[],
  subnet: Ipv4Prefix | undefined,
): void {
  if (list.length > MAX_SERVERS) v.add(path, `at most ${MAX_SERVERS} addresses`);
  list.forEach((text, j) => {
    const address = checkIpv4(v, `${path}[${j}]`, text);
    if (address === undefined) return;
    const unusable = notUnicast(address);
    if (unusable !== undefined) v.add(`${path}[${j}]`, `${text} is ${unusable}, not a server's address`);
    else if (subnet !== undefined && prefixContains(subnet, address) && isNetworkOrBroadcast(subnet, address))
      v.add(`${path}[${j}]`, `${text} is the network or broadcast address of ${formatPrefix(subnet)}`);
  });
}

/**
 * What kind of address `address` is when no single host can have it (RFC 6890), or every host has
 * it (loopback: each VM would ask itself).
 */
function notUnicast(address: number): string | undefined {
  const first = address >>> 24;
  if (first === 0) return 'in 0.0.0.0/8 ("this network")';
  if (first === 127) return "a loopback address (each VM's own)";
  if (first >= 224 && first < 240) return 'a multicast address';
  if (first >= 240) return 'reserved (240.0.0.0/4 or the limited broadcast)';
  return undefined;
}

/** How many addresses of start-end a pool can lease: those that are not the gateway or a host's. */
function leasable(start: number, end: number, gateway: number, hosts: readonly { ip: string }[]): number {
  const taken = new Set([gateway, ...hosts.map((h) => parseIpv4(h.ip))]);
  let n = end - start + 1;
  for (const ip of taken) if (ip !== undefined && ip >= start && ip <= end) n--;
  return n;
}

function checkPoolEnd(
  v: Violations,
  path: string,
  text: string,
  subnet: Ipv4Prefix | undefined,
): number | undefined {
  const address = checkIpv4(v, path, text);
  if (address === undefined || subnet === undefined || usable(subnet, address)) return address;
  v.add(path, `${text} is not a usable address of ${formatPrefix(subnet)}`);
  return undefined;
}

function usable(subnet: Ipv4Prefix, address: number): boolean {
  return prefixContains(subnet, address) && !isNetworkOrBroadcast(subnet, address);
}
