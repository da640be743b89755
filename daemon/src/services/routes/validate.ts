// Validation of static routes: a canonical destination, a next hop on one of the router's connected
// subnets (or a blackhole) that is a neighbour's address (not the router's own, nor a subnet's network
// or broadcast address), a destination the kernel forwards to, no two routes for the same destination
// and metric, and no route that would replace a connected subnet's own route.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { checkId, checkIpv4, checkSubnet, checkText } from '../../config/fields.js';
import {
  type Ipv4Prefix,
  formatPrefix,
  isNetworkOrBroadcast,
  parseIpv4,
  parseIpv4Prefix,
  prefixContains,
} from '../../config/net.js';
import { UniqueKeys, type Violations } from '../../config/violations.js';
import type { NicLookup } from '../interfaces/validate.js';
import type { NetworkLookup } from '../networks/validate.js';

/** Destinations no route may lie in: this network, loopback, multicast, the limited broadcast. */
const UNROUTABLE = ['0.0.0.0/8', '127.0.0.0/8', '224.0.0.0/4', '255.255.255.255/32'].map((cidr) => {
  const prefix = parseIpv4Prefix(cidr);
  if (prefix === undefined) throw new Error(`bad constant ${cidr}`);
  return prefix;
});

interface Connected {
  readonly subnet: Ipv4Prefix;
  /** Where the subnet comes from, for messages: `NIC "pub0"`, `network "net-a"`. */
  readonly owner: string;
}

export function validateRoutes(
  config: RouterConfig,
  nics: NicLookup,
  networks: NetworkLookup,
  v: Violations,
): void {
  if (config.routes.length === 0) return;
  const connected: Connected[] = [];
  const own = new Set<number>();
  for (const [id, nic] of nics)
    for (const a of nic.addresses) {
      connected.push({ subnet: a, owner: `NIC "${id}"` });
      own.add(a.address);
    }
  for (const [id, n] of networks) {
    connected.push({ subnet: n.subnet, owner: `network "${id}"` });
    own.add(n.gateway);
  }
  for (const vip of config.vips) {
    const address = parseIpv4(vip.ip);
    if (address !== undefined) own.add(address);
  }

  const ids = new UniqueKeys<string>(v, 'id');
  const destinations = new UniqueKeys<string>(v, 'destination');
  config.routes.forEach((route, i) => {
    const path = `routes[${i}]`;
    if (checkId(v, `${path}.id`, route.id)) ids.claim(route.id, `${path}.id`, `"${route.id}"`);
    checkText(v, `${path}.description`, route.description);
    const destination = checkSubnet(v, `${path}.destination`, route.destination);
    // Inside one, not merely overlapping: 0.0.0.0/0 (the default route) and 0.0.0.0/1 stay allowed.
    const reserved =
      destination &&
      UNROUTABLE.find((r) => r.prefix <= destination.prefix && prefixContains(r, destination.network));
    if (reserved !== undefined)
      v.add(
        `${path}.destination`,
        `${route.destination} lies in ${formatPrefix(reserved)}, which is not routed`,
      );
    else if (destination !== undefined) {
      const same = connected.find(
        (c) => c.subnet.prefix === destination.prefix && c.subnet.network === destination.network,
      );
      if (same !== undefined)
        v.add(
          `${path}.destination`,
          `${route.destination} is the connected subnet of ${same.owner}; the kernel routes it already`,
        );
      else
        destinations.claim(
          `${route.destination} metric ${route.metric}`,
          `${path}.destination`,
          `${route.destination} with metric ${route.metric}`,
        );
    }
    if (route.blackhole) {
      if (route.nextHop !== '') v.add(`${path}.next_hop`, 'must be empty for a blackhole route');
      return;
    }
    if (route.nextHop === '') return v.add(`${path}.next_hop`, 'required unless blackhole is set');
    const hop = checkIpv4(v, `${path}.next_hop`, route.nextHop);
    if (hop === undefined) return;
    if (own.has(hop))
      return v.add(`${path}.next_hop`, `${route.nextHop} is one of the router's own addresses`);
    const homes = connected.filter((c) => prefixContains(c.subnet, hop));
    if (homes.length === 0)
      return v.add(
        `${path}.next_hop`,
        `${route.nextHop} is not inside any connected subnet (${connected.map((c) => formatPrefix(c.subnet)).join(', ') || 'none'})`,
      );
    const edge = homes.find((c) => isNetworkOrBroadcast(c.subnet, hop));
    if (edge !== undefined)
      v.add(
        `${path}.next_hop`,
        `${route.nextHop} is the network or broadcast address of ${formatPrefix(edge.subnet)} (${edge.owner})`,
      );
  });
}
