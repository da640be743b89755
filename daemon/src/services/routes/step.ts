// The `routes` apply step: the main table holds exactly the config's static routes among the routes
// marked with the daemon's protocol number; routes of anyone else are never touched.
import { type Netlink, type RouteSpec, type RouteState } from '../../drivers/netlink.js';
import type { Rendered } from '../../reconcile/rendered.js';
import type { ApplyStep, StepChange } from '../../reconcile/step.js';
import { ROUTE_PROTOCOL, type RoutePlan, describeRoute, routeKey } from './plan.js';

const RTN_BLACKHOLE = 6;

export class RoutesStep implements ApplyStep {
  readonly name = 'routes';

  constructor(private readonly netlink: Netlink) {}

  async apply(desired: Rendered, previous: Rendered): Promise<StepChange> {
    if (desired.routes === previous.routes) return { changed: false, summary: '' };
    return this.converge(desired.routes);
  }

  async rollback(previous: Rendered): Promise<StepChange> {
    return this.converge(previous.routes);
  }

  async repair(desired: Rendered): Promise<StepChange> {
    return this.converge(desired.routes);
  }

  async drift(desired: Rendered): Promise<string[]> {
    const { missing, extra } = await this.compare(desired.routes);
    return [
      ...missing.map((r) => `route ${describeRoute(r)} missing`),
      ...extra.map((r) => `route ${describeRoute(r)} not in the config`),
    ];
  }

  private async converge(plan: RoutePlan): Promise<StepChange> {
    const { missing, extra } = await this.compare(plan);
    const summary: string[] = [];
    for (const r of extra) {
      await this.netlink.deleteRoute(r);
      summary.push(`${describeRoute(r)} removed`);
    }
    for (const r of missing) {
      try {
        await this.netlink.replaceRoute(r);
      } catch (e) {
        throw new Error(`route ${describeRoute(r)}: ${e instanceof Error ? e.message : String(e)}`, {
          cause: e,
        });
      }
      summary.push(`${describeRoute(r)} added`);
    }
    return { changed: summary.length > 0, summary: summary.join('; ') };
  }

  /** The daemon's routes the kernel lacks, and those it holds that the plan does not have. */
  private async compare(plan: RoutePlan): Promise<{ missing: RouteSpec[]; extra: RouteSpec[] }> {
    const held = (await this.netlink.routes()).filter((r) => r.protocol === ROUTE_PROTOCOL).map(asSpec);
    const exact = (r: RouteSpec) => `${routeKey(r)} ${r.blackhole ? 'blackhole' : r.gateway}`;
    const wanted = new Set(plan.routes.map(exact));
    const present = new Set(held.map(exact));
    return {
      missing: plan.routes.filter((r) => !present.has(exact(r))),
      extra: held.filter((r) => !wanted.has(exact(r))),
    };
  }
}

function asSpec(r: RouteState): RouteSpec {
  return {
    destination: r.destination,
    gateway: r.gateway,
    blackhole: r.type === RTN_BLACKHOLE,
    metric: r.metric,
    protocol: r.protocol,
  };
}
