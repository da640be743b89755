// Validation of static routes: a canonical destination, a next hop on one of the router's connected
// subnets (or a blackhole), no two routes for the same destination and metric, and no route that
// would replace a connected subnet's own route.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { checkId, checkIpv4, checkSubnet, checkText } from '../../config/fields.js';
import { type Ipv4Prefix, formatPrefix, prefixContains } from '../../config/net.js';
import { UniqueKeys, type Violations } from '../../config/violations.js';
import type { NicLookup } from '../interfaces/validate.js';
import type { NetworkLookup } from '../networks/validate.js';

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

  const ids = new UniqueKeys<string>(v, 'id');
  const destinations = new UniqueKeys<string>(v, 'destination');
  config.routes.forEach((route, i) => {
    const path = `routes[${i}]`;
    if (checkId(v, `${path}.id`, route.id)) ids.claim(route.id, `${path}.id`, `"${route.id}"`);
    checkText(v, `${path}.description`, route.description);
    const destination = checkSubnet(v, `${path}.destination`, route.destination);
    if (destination !== undefined) {
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
    if (!connected.some((c) => prefixContains(c.subnet, hop)))
      v.add(
        `${path}.next_hop`,
        `${route.nextHop} is not inside any connected subnet (${connected.map((c) => formatPrefix(c.subnet)).join(', ') || 'none'})`,
      );
  });
}
