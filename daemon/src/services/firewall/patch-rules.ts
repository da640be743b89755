// What Patch must know about the firewall beyond upserting objects by id: a NIC's inbound set exists
// without being listed (a rule can be put into it at once) and cannot be deleted while the NIC
// exists; system rules (ids `<set>/<name>`) cannot be deleted.
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { type FirewallRuleSet, FirewallRuleSetSchema } from '../../gen/vrouter/v1/firewall_pb.js';
import { isSystemRuleId, nicOfInboundSetId } from './model.js';

/** The rule sets, with the NIC's inbound set `id` added (empty) when it is meant but not listed yet. */
export function withInboundSet(config: RouterConfig, id: string): FirewallRuleSet[] {
  const sets = config.firewall?.ruleSets ?? [];
  const nicId = nicOfInboundSetId(id);
  if (sets.some((s) => s.id === id) || nicId === undefined || !config.nics.some((n) => n.id === nicId))
    return [...sets];
  return [...sets, create(FirewallRuleSetSchema, { id })];
}

/** Why deleting this rule set is refused, or undefined when it may go. */
export function refuseRuleSetDelete(config: RouterConfig, id: string): string | undefined {
  const nicId = nicOfInboundSetId(id);
  if (nicId !== undefined && config.nics.some((n) => n.id === nicId))
    return `"${id}" is the inbound rule set of NIC ${nicId} and cannot be deleted; delete its rules instead (or the NIC)`;
  return undefined;
}

/** Why deleting this rule is refused, or undefined when it may go. */
export function refuseRuleDelete(id: string): string | undefined {
  return isSystemRuleId(id)
    ? `"${id}" is a system rule; the daemon makes it from the rest of the config and it cannot be deleted`
    : undefined;
}
