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
import { reusingLast } from './reuse.js';

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

/**
 * The renderers whose inputs most changes leave alone, with every value each reads (the config
 * sections, the interface plan's parts): reused while those are the same (reconcile/reuse.ts).
 * The NAT and the ruleset read the EIPs and forwards that most Patches change: always rendered.
 */
export const REUSED_RENDERERS = {
  interfaces: {
    inputs: (c: RouterConfig, links: LinkFacts) => [c.nics, c.networks, links],
    render: planInterfaces,
  },
  // isRouterAddress reads nics, networks and vips later, when a rule is explained.
  firewall: {
    inputs: (c: RouterConfig, i: InterfacePlan, api: ManagementApi | undefined) => [
      c.firewall,
      c.nics,
      c.networks,
      c.vips,
      c.ipsecConnections,
      c.ospf,
      i.links,
      api,
    ],
    render: planFirewall,
  },
  dns: {
    inputs: (c: RouterConfig, i: InterfacePlan) => [c.networks, c.hostname, c.dns, i.links],
    render: renderDns,
  },
  dhcp: {
    inputs: (c: RouterConfig, i: InterfacePlan) => [c.networks, c.nics, c.dns, i.links],
    render: renderDhcp,
  },
} as const;

const planInterfacesAgain = reusingLast(REUSED_RENDERERS.interfaces.inputs, planInterfaces);
const planFirewallAgain = reusingLast(REUSED_RENDERERS.firewall.inputs, planFirewall);
const renderDnsAgain = reusingLast(REUSED_RENDERERS.dns.inputs, renderDns);
const renderDhcpAgain = reusingLast(REUSED_RENDERERS.dhcp.inputs, renderDhcp);

/** Pure: the same config and facts always give the same artifacts. */
export function render(config: RouterConfig, facts: Facts): Rendered {
  const links = planInterfacesAgain(config, facts.links);
  const nat = renderNat(config, links);
  const interfaces = { ...links, vips: nat.vips };
  const firewall = planFirewallAgain(config, interfaces, facts.managementApi);
  return {
    interfaces,
    firewall,
    nft: renderRuleset(config, interfaces, { firewall }),
    dns: renderDnsAgain(config, interfaces),
    dhcp: renderDhcpAgain(config, interfaces),
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
