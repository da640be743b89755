// Rendering of static routes into the routes the kernel's main table must hold (pure). The result is
// the same object while the config's route list is, so the routes step skips unchanged writes.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import type { RouteSpec } from '../../drivers/netlink.js';

/** The route protocol number that marks the daemon's routes (`proto 176` in `ip route`). */
export const ROUTE_PROTOCOL = 176;

export interface RoutePlan {
  readonly routes: readonly RouteSpec[];
}

export const EMPTY_ROUTE_PLAN: RoutePlan = { routes: [] };

let last: { readonly source: RouterConfig['routes']; readonly plan: RoutePlan } | undefined;

export function planRoutes(config: RouterConfig): RoutePlan {
  if (config.routes.length === 0) return EMPTY_ROUTE_PLAN;
  if (last?.source === config.routes) return last.plan;
  const plan: RoutePlan = {
    routes: config.routes.map((r) => ({
      destination: r.destination,
      gateway: r.blackhole ? '' : r.nextHop,
      blackhole: r.blackhole,
      metric: r.metric,
      protocol: ROUTE_PROTOCOL,
    })),
  };
  last = { source: config.routes, plan };
  return plan;
}

/** What identifies a route in the kernel and what it does, for comparisons. */
export function routeKey(r: Pick<RouteSpec, 'destination' | 'metric'>): string {
  return `${r.destination} metric ${r.metric}`;
}

export function describeRoute(r: RouteSpec): string {
  return `${r.destination} ${r.blackhole ? 'blackhole' : `via ${r.gateway}`}${r.metric === 0 ? '' : ` metric ${r.metric}`}`;
}
