// What `ListRoutes` answers: the config's static routes, whether the main table holds each, and the
// whole IPv4 main table for operators.
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { type ListRoutesResponse, ListRoutesResponseSchema } from '../../gen/vrouter/v1/service_pb.js';
import type { Netlink, RouteState } from '../../drivers/netlink.js';
import { ROUTE_PROTOCOL } from './plan.js';

const TYPES: Record<number, string> = {
  1: 'unicast',
  2: 'local',
  3: 'broadcast',
  6: 'blackhole',
  7: 'unreachable',
  8: 'prohibit',
};
const PROTOCOLS: Record<number, string> = {
  2: 'kernel',
  3: 'boot',
  4: 'static',
  16: 'dhcp',
  186: 'bgp',
  188: 'ospf',
  196: 'static(frr)',
  [ROUTE_PROTOCOL]: 'vrouterd',
};

export async function routeStatuses(config: RouterConfig, netlink: Netlink): Promise<ListRoutesResponse> {
  const [routes, links] = await Promise.all([netlink.routes(), netlink.links()]);
  const names = new Map(links.map((l) => [l.index, l.name]));
  const installed = (r: RouterConfig['routes'][number]) =>
    routes.some(
      (k: RouteState) =>
        k.protocol === ROUTE_PROTOCOL &&
        k.destination === r.destination &&
        k.metric === r.metric &&
        (r.blackhole ? k.type === 6 : k.gateway === r.nextHop),
    );
  return create(ListRoutesResponseSchema, {
    routes: config.routes.map((route) => ({ route, installed: installed(route) })),
    kernelRoutes: routes.map((k) => ({
      destination: k.destination,
      type: TYPES[k.type] ?? String(k.type),
      gateway: k.gateway,
      link: names.get(k.oif) ?? '',
      protocol: PROTOCOLS[k.protocol] ?? String(k.protocol),
      metric: k.metric,
      source: k.source,
    })),
  });
}
