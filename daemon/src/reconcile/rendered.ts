// Everything the renderers produce from one config: the artifacts the apply steps load. Pure data.
import type { RouterConfig } from '../gen/vrouter/v1/config_pb.js';
import type { NftRuleset } from '../nft/model.js';
import {
  EMPTY_INTERFACE_PLAN,
  type InterfacePlan,
  type LinkFacts,
  planInterfaces,
} from '../services/interfaces/plan.js';
import { renderRuleset } from '../services/ruleset/render.js';
import { type DhcpPlan, EMPTY_DHCP_PLAN, renderDhcp } from '../services/dhcp/render.js';

export interface Rendered {
  readonly interfaces: InterfacePlan;
  readonly nft: NftRuleset;
  readonly dhcp: DhcpPlan;
}

/** What the kernel looks like where rendering needs to know: which link has which MAC. */
export interface Facts {
  readonly links: LinkFacts;
}

/** Pure: the same config and facts always give the same artifacts. */
export function render(config: RouterConfig, facts: Facts): Rendered {
  const interfaces = planInterfaces(config, facts.links);
  return { interfaces, nft: renderRuleset(config, interfaces), dhcp: renderDhcp(config, interfaces) };
}

/** What the router holds before any config was applied: nothing of the daemon's. */
export const NOTHING_RENDERED: Rendered = {
  interfaces: EMPTY_INTERFACE_PLAN,
  nft: { tables: [] },
  dhcp: EMPTY_DHCP_PLAN,
};
