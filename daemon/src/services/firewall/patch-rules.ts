// What Patch must know about the firewall beyond upserting objects by id: a NIC's inbound set exists
// without being listed (a rule can be put into it at once), cannot be deleted while the NIC exists
// and goes with the NIC, as do the NIC's attachments; system rules (ids `<set>/<name>`) cannot be
// deleted.
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { type FirewallRuleSet, FirewallRuleSetSchema } from '../../gen/vrouter/v1/firewall_pb.js';
import { inboundSetId, isSystemRuleId, nicOfInboundSetId } from './model.js';

/** The rule sets, with the NIC's inbound set `id` added (empty) when it is meant but not listed yet. */
export function withInboundSet(config: RouterConfig, id: string): FirewallRuleSet[] {
  const sets = config.firewall?.ruleSets ?? [];
  const nicId = nicOfInboundSetId(id);
  if (sets.some((s) => s.id === id) || nicId === undefined || !config.nics.some((n) => n.id === nicId))
    return [...sets];
  return [...sets, create(FirewallRuleSetSchema, { id })];
}

/** The config after NIC `nicId` was deleted: its inbound set and its attachments go with it. */
export function withoutNicFirewall(config: RouterConfig, nicId: string): RouterConfig {
  const firewall = config.firewall;
  if (firewall === undefined) return config;
  const inbound = inboundSetId(nicId);
  if (
    !firewall.ruleSets.some((s) => s.id === inbound) &&
    !firewall.attachments.some((a) => a.nicId === nicId)
  )
    return config;
  return {
    ...config,
    firewall: {
      ...firewall,
      ruleSets: firewall.ruleSets.filter((s) => s.id !== inbound),
      attachments: firewall.attachments.filter((a) => a.nicId !== nicId),
    },
  };
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
