// Everything the renderers produce from one config: the artifacts the apply steps load. Pure data.
import type { RouterConfig } from '../gen/vrouter/v1/config_pb.js';
import type { NftRuleset } from '../nft/model.js';
import {
  EMPTY_INTERFACE_PLAN,
  type InterfacePlan,
  type LinkFacts,
  planInterfaces,
} from '../services/interfaces/plan.js';
import { EMPTY_NAT_PLAN, type NatPlan, renderNat } from '../services/nat/render.js';
import { EMPTY_ROUTE_PLAN, type RoutePlan, planRoutes } from '../services/routes/plan.js';
import { renderRuleset } from '../services/ruleset/render.js';

export interface Rendered {
  readonly interfaces: InterfacePlan;
  readonly nft: NftRuleset;
  /** EIP and port forward mappings, for clearing conntrack entries when they change. */
  readonly nat: NatPlan;
  readonly routes: RoutePlan;
}

/** What the kernel looks like where rendering needs to know: which link has which MAC. */
export interface Facts {
  readonly links: LinkFacts;
}

/** Pure: the same config and facts always give the same artifacts. */
export function render(config: RouterConfig, facts: Facts): Rendered {
  const links = planInterfaces(config, facts.links);
  const nat = renderNat(config, links);
  const interfaces = { ...links, vips: nat.vips };
  return {
    interfaces,
    nft: renderRuleset(config, interfaces),
    nat: nat.plan,
    routes: planRoutes(config),
  };
}

/** What the router holds before any config was applied: nothing of the daemon's. */
export const NOTHING_RENDERED: Rendered = {
  interfaces: EMPTY_INTERFACE_PLAN,
  nft: { tables: [] },
  nat: EMPTY_NAT_PLAN,
  routes: EMPTY_ROUTE_PLAN,
};
