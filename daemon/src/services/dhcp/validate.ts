// Validation of each network's DHCP settings: lease time, servers and domains handed out, MTU,
// classless routes (next hops inside the network) and pools (inside the network, not overlapping).
// Settings are checked whether or not DHCP is enabled, so enabling it later cannot fail on them.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { checkDomain, checkIpv4, checkRange, checkSubnet } from '../../config/fields.js';
import {
  type Ipv4Prefix,
  formatIpv4,
  formatPrefix,
  isNetworkOrBroadcast,
  prefixContains,
} from '../../config/net.js';
import type { Violations } from '../../config/violations.js';
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
    const subnet = valid?.path === `networks[${i}]` ? valid.subnet : undefined;

    checkRange(
      v,
      `${path}.lease_time_seconds`,
      dhcp.leaseTimeSeconds,
      LEASE_TIME_MIN,
      LEASE_TIME_MAX,
      'one day',
    );
    checkAddressList(v, `${path}.dns_servers`, dhcp.dnsServers);
    checkAddressList(v, `${path}.ntp_servers`, dhcp.ntpServers);
    if (dhcp.domainSearch.length > MAX_SEARCH_DOMAINS)
      v.add(`${path}.domain_search`, `at most ${MAX_SEARCH_DOMAINS} domains`);
    dhcp.domainSearch.forEach((d, j) => checkDomain(v, `${path}.domain_search[${j}]`, d));
    checkRange(v, `${path}.mtu`, dhcp.mtu, MTU_MIN, MTU_MAX, "the NIC's MTU");

    if (dhcp.classlessRoutes.length > MAX_ROUTES)
      v.add(`${path}.classless_routes`, `at most ${MAX_ROUTES} routes`);
    dhcp.classlessRoutes.forEach((route, j) => {
      const rpath = `${path}.classless_routes[${j}]`;
      checkSubnet(v, `${rpath}.destination`, route.destination);
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
    });
  });
}

function checkAddressList(v: Violations, path: string, list: readonly string[]): void {
  if (list.length > MAX_SERVERS) v.add(path, `at most ${MAX_SERVERS} addresses`);
  list.forEach((text, j) => checkIpv4(v, `${path}[${j}]`, text));
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
