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
import { type DnsPlan, NO_DNS, renderDns } from '../services/dns/render.js';
import { EMPTY_FIREWALL_PLAN, type FirewallPlan } from '../services/firewall/model.js';
import { type ManagementApi, planFirewall } from '../services/firewall/plan.js';
import { type DhcpPlan, EMPTY_DHCP_PLAN, renderDhcp } from '../services/dhcp/render.js';

export interface Rendered {
  readonly interfaces: InterfacePlan;
  readonly nft: NftRuleset;
  readonly dns: DnsPlan;
  readonly dhcp: DhcpPlan;
  /** The firewall's rule model: compiled into `nft`, evaluated by ExplainFirewall. */
  readonly firewall: FirewallPlan;
  /** EIP and port forward mappings, for clearing conntrack entries when they change. */
  readonly nat: NatPlan;
  readonly routes: RoutePlan;
}

/** What the kernel looks like where rendering needs to know: which link has which MAC. */
export interface Facts {
  readonly links: LinkFacts;
  /** Where the management API listens (--listen): the firewall keeps it open. */
  readonly managementApi?: ManagementApi;
}

/** Pure: the same config and facts always give the same artifacts. */
export function render(config: RouterConfig, facts: Facts): Rendered {
  const links = planInterfaces(config, facts.links);
  const nat = renderNat(config, links);
  const interfaces = { ...links, vips: nat.vips };
  const firewall = planFirewall(config, interfaces, facts.managementApi);
  return {
    interfaces,
    firewall,
    nft: renderRuleset(config, interfaces, { firewall }),
    dns: renderDns(config, interfaces),
    dhcp: renderDhcp(config, interfaces),
    nat: nat.plan,
    routes: planRoutes(config),
  };
}

/** What the router holds before any config was applied: nothing of the daemon's. */
export const NOTHING_RENDERED: Rendered = {
  interfaces: EMPTY_INTERFACE_PLAN,
  nft: { tables: [] },
  dns: NO_DNS,
  dhcp: EMPTY_DHCP_PLAN,
  firewall: EMPTY_FIREWALL_PLAN,
  nat: EMPTY_NAT_PLAN,
  routes: EMPTY_ROUTE_PLAN,
};
