// Validation of the DNS settings: upstream servers, limits, and, while some network has DNS enabled,
// names the server could not answer unambiguously (the same `hostname.domain` in two networks, a host
// named like the router, a network domain under .arpa).
import ipaddr from 'ipaddr.js';
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { checkRange } from '../../config/fields.js';
import { broadcastOf, formatIpv4, parseIpv6 } from '../../config/net.js';
import { UniqueKeys, type Violations } from '../../config/violations.js';
import type { NetworkLookup } from '../networks/validate.js';
import { DEFAULTS } from './render.js';
import { formatUpstream, parseUpstream } from './upstream-address.js';

const MAX_UPSTREAMS = 8;

export function validateDns(config: RouterConfig, networks: NetworkLookup, v: Violations): void {
  const dns = config.dns;
  if (dns !== undefined) {
    checkUpstreams(config, networks, dns.upstreamServers, v);
    checkRange(v, 'dns.cache_size', dns.cacheSize, 1, 1_000_000, `the default of ${DEFAULTS.cacheSize}`);
    checkRange(
      v,
      'dns.rate_limit_qps',
      dns.rateLimitQps,
      1,
      1_000_000,
      `the default of ${DEFAULTS.rateLimitQps}`,
    );
    checkRange(
      v,
      'dns.upstream_timeout_ms',
      dns.upstreamTimeoutMs,
      100,
      10_000,
      `the default of ${DEFAULTS.upstreamTimeoutMs}`,
    );
    checkRange(
      v,
      'dns.local_ttl_seconds',
      dns.localTtlSeconds,
      1,
      86_400,
      `the default of ${DEFAULTS.localTtl}`,
    );
  }
  if (config.networks.some((n) => n.dns?.enabled === true)) checkNames(config, networks, v);
}

function checkUpstreams(
  config: RouterConfig,
  networks: NetworkLookup,
  servers: readonly string[],
  v: Violations,
): void {
  if (servers.length > MAX_UPSTREAMS)
    v.add('dns.upstream_servers', `${servers.length} servers; at most ${MAX_UPSTREAMS}`);
  const routers = routerAddresses(config, networks);
  const seen = new UniqueKeys<string>(v, 'upstream server');
  servers.forEach((text, i) => {
    const path = `dns.upstream_servers[${i}]`;
    const upstream = parseUpstream(text);
    if (upstream === undefined)
      return v.add(
        path,
        `"${text}" is not an upstream server (like 198.51.100.53, 198.51.100.53:5353 or [2001:db8::53]:53)`,
      );
    const unusable = whyUnusable(upstream.address, routers);
    if (unusable !== undefined) return v.add(path, `${upstream.address} ${unusable}`);
    seen.claim(formatUpstream(upstream), path);
  });
}

/** Address ranges a query cannot be sent to and answered from. */
const NOT_A_SERVER: ReadonlySet<string> = new Set(['unspecified', 'broadcast', 'multicast']);

/**
 * The router's own addresses and its networks' edges (canonical form), each with why no upstream
 * can be there: the router would ask itself (nothing of it answers DNS there but the gateways,
 * which are its own server), or no host has that address.
 */
function routerAddresses(config: RouterConfig, networks: NetworkLookup): Map<string, string> {
  const why = new Map<string, string>();
  const itself = 'the router would forward to itself';
  for (const n of config.networks)
    for (const gateway of [n.gateway, parseIpv6(n.ipv6Gateway)?.toString() ?? ''])
      if (gateway !== '') why.set(gateway, `is a network's gateway: ${itself}`);
  // The subnets as network validation read them (a network whose CIDR is wrong is reported there).
  for (const { network, subnet } of networks.values())
    if (subnet.prefix < 31) {
      why.set(formatIpv4(subnet.network), `is the network address of network "${network.id}"`);
      why.set(formatIpv4(broadcastOf(subnet)), `is the broadcast address of network "${network.id}"`);
    }
  for (const nic of config.nics)
    for (const a of nic.addresses) {
      const address = a.slice(0, a.indexOf('/'));
      if (!why.has(address)) why.set(address, `is an address of NIC "${nic.id}": ${itself}`);
    }
  for (const vip of config.vips) if (!why.has(vip.ip)) why.set(vip.ip, `is VIP "${vip.id}": ${itself}`);
  return why;
}

/**
 * Why the router cannot forward to `address` (canonical form), whatever the port: one of its own
 * addresses or a network's edge (`routers`), not one host's address, or an IPv6 link-local address
 * (without a zone the router cannot tell on which link).
 */
function whyUnusable(address: string, routers: ReadonlyMap<string, string>): string | undefined {
  let parsed = ipaddr.parse(address);
  if (parsed instanceof ipaddr.IPv6 && parsed.isIPv4MappedAddress()) parsed = parsed.toIPv4Address();
  const known = routers.get(parsed.toString());
  if (known !== undefined) return known;
  const range = parsed.range();
  if (parsed.kind() === 'ipv6' && range === 'linkLocal')
    return 'is link-local: without a zone the router cannot tell on which link';
  return NOT_A_SERVER.has(range) ? `is not a server's address (${range})` : undefined;
}

function checkNames(config: RouterConfig, networks: NetworkLookup, v: Violations): void {
  const router = (config.hostname === '' ? DEFAULTS.hostname : config.hostname).toLowerCase();
  // Within one network, hostnames are already unique (networks/validate.ts); here: across networks.
  const names = new Map<string, { network: number; path: string }>();
  config.networks.forEach((network, i) => {
    const path = `networks[${i}]`;
    const domain = network.domain.toLowerCase();
    if (domain === 'arpa' || domain.endsWith('.arpa'))
      v.add(
        `${path}.domain`,
        `"${network.domain}" is a reverse-lookup domain; the DNS server answers those itself`,
      );
    if (!networks.has(network.id)) return;
    network.hosts.forEach((host, j) => {
      const hpath = `${path}.hosts[${j}].hostname`;
      const label = host.hostname.toLowerCase();
      if (label === '') return;
      if (label === router)
        return v.add(
          hpath,
          `"${host.hostname}" is the router's own name (hostname); DNS could not tell them apart`,
        );
      if (domain === '') return;
      const fqdn = `${label}.${domain}`;
      const first = names.get(fqdn);
      if (first === undefined) names.set(fqdn, { network: i, path: hpath });
      else if (first.network !== i)
        v.add(hpath, `"${fqdn}" is also ${first.path} (networks sharing a domain)`);
    });
  });
}
