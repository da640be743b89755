// The daemon's own nftables tables, rendered whole from the config: the base chains every service
// hooks into, then each service's contribution (NAT maps, firewall chains …) in a fixed order. Other
// tables on the system are never touched.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { RulesetBuilder, type TableRef } from '../../nft/builder.js';
import type { NftRuleset } from '../../nft/model.js';
import type { InterfacePlan } from '../interfaces/plan.js';
import type { FirewallPlan } from '../firewall/model.js';
import { planFirewall } from '../firewall/plan.js';
import { contributeFirewall } from '../firewall/render.js';
import { NAT_STATS_CHAIN, natContribution } from '../nat/ruleset.js';

/** Filtering of the router's own traffic (input/output) and of routed traffic (forward). */
export const FILTER_TABLE: TableRef = { family: 'inet', name: 'vrouter' };
/** Address translation: DNAT before routing, SNAT after. */
export const NAT_TABLE: TableRef = { family: 'ip', name: 'vrouter_nat' };

/** Artifacts rendered before the ruleset that contributions compile (the firewall's rule model). */
export interface RulesetInputs {
  readonly firewall: FirewallPlan;
}

/** A service's part of the ruleset; it may use the NICs' kernel names from the interface plan. */
export type RulesetContribution = (
  builder: RulesetBuilder,
  config: RouterConfig,
  interfaces: InterfacePlan,
  inputs: RulesetInputs,
) => void;

/** Services that add to the ruleset, in the order their rules must appear. */
const CONTRIBUTIONS: readonly RulesetContribution[] = [natContribution, contributeFirewall];

export function renderRuleset(
  config: RouterConfig,
  interfaces: InterfacePlan,
  inputs: RulesetInputs = { firewall: planFirewall(config, interfaces, undefined) },
): NftRuleset {
  const builder = new RulesetBuilder()
    .table(FILTER_TABLE, [
      { name: 'input', hook: { type: 'filter', hook: 'input', priority: 0, policy: 'accept' } },
      { name: 'forward', hook: { type: 'filter', hook: 'forward', priority: 0, policy: 'accept' } },
      { name: 'output', hook: { type: 'filter', hook: 'output', priority: 0, policy: 'accept' } },
    ])
    .table(NAT_TABLE, [
      { name: 'prerouting', hook: { type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' } },
      { name: 'postrouting', hook: { type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' } },
      NAT_STATS_CHAIN,
    ]);
  for (const contribute of CONTRIBUTIONS) contribute(builder, config, interfaces, inputs);
  return builder.build();
}
