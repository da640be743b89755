// The firewall in GetStatus: every rule set in force with its rules in evaluation order and how many
// packets and bytes each decided. Counters come from the kernel's listing of the daemon's table: a
// rule of its own carries a counter, a rule compiled into a block set counts in its elements (each
// element names its rule in its comment), summed per rule.
import { create } from '@bufbuild/protobuf';
import {
  FirewallAction,
  type FirewallRuleStatus,
  FirewallRuleStatusSchema,
  type FirewallStatus,
  FirewallStatusSchema,
} from '../../gen/vrouter/v1/firewall_pb.js';
import type { NftTransport } from '../../drivers/nftables.js';
import { FILTER_TABLE } from '../ruleset/render.js';
import { describeMatch } from './describe.js';
import type { FirewallPlan, ModelRule, Verdict } from './model.js';
import { BLOCK_PREFIX, RULE_COMMENT } from './render.js';
import { isJsonObject } from '../../json-object.js';

export interface Counter {
  packets: bigint;
  bytes: bigint;
}

export type RuleCounters = ReadonlyMap<string, Counter>;

/** Reads the counters of every firewall rule from the kernel. */
export async function readRuleCounters(nft: NftTransport): Promise<RuleCounters> {
  const listing = await nft.listTable(FILTER_TABLE.family, FILTER_TABLE.name, false);
  return countersFromListing(listing ?? []);
}

/** Per-rule counters out of `nft -j list table` output. */
export function countersFromListing(listing: readonly unknown[]): Map<string, Counter> {
  const counters = new Map<string, Counter>();
  const add = (id: string, c: unknown) => {
    if (!isJsonObject(c) || typeof c['packets'] !== 'number' || typeof c['bytes'] !== 'number') return;
    const sum = counters.get(id) ?? { packets: 0n, bytes: 0n };
    sum.packets += BigInt(c['packets']);
    sum.bytes += BigInt(c['bytes']);
    counters.set(id, sum);
  };
  for (const o of listing) {
    if (!isJsonObject(o)) continue;
    const rule = o['rule'];
    if (
      isJsonObject(rule) &&
      typeof rule['comment'] === 'string' &&
      rule['comment'].startsWith(RULE_COMMENT)
    ) {
      const expr = Array.isArray(rule['expr']) ? (rule['expr'] as unknown[]) : [];
      for (const e of expr)
        if (isJsonObject(e) && 'counter' in e) add(rule['comment'].slice(RULE_COMMENT.length), e['counter']);
    }
    const set = o['set'];
    if (isJsonObject(set) && typeof set['name'] === 'string' && set['name'].startsWith(BLOCK_PREFIX))
      for (const element of Array.isArray(set['elem']) ? (set['elem'] as unknown[]) : []) {
        const body = isJsonObject(element) ? element['elem'] : undefined;
        if (isJsonObject(body) && typeof body['comment'] === 'string') add(body['comment'], body['counter']);
      }
  }
  return counters;
}

const ACTIONS: Record<Verdict, FirewallAction> = {
  accept: FirewallAction.ACCEPT,
  drop: FirewallAction.DROP,
  reject: FirewallAction.REJECT,
};

export function ruleStatus(rule: ModelRule, counter: Counter | undefined): FirewallRuleStatus {
  return create(FirewallRuleStatusSchema, {
    id: rule.id,
    priority: rule.priority,
    system: rule.system,
    action: ACTIONS[rule.action],
    match: describeMatch(rule.match),
    disabled: rule.disabled,
    packets: counter?.packets ?? 0n,
    bytes: counter?.bytes ?? 0n,
    description: rule.description,
  });
}

export function firewallStatus(plan: FirewallPlan, counters: RuleCounters): FirewallStatus {
  return create(FirewallStatusSchema, {
    ruleSets: plan.ruleSets.map((set) => ({
      id: set.id,
      description: set.description,
      attachedTo: plan.attachments
        .filter((a) => a.ruleSetId === set.id)
        .map((a) => `${a.nicId}/${a.direction}`),
      rules: set.rules.map((rule) => ruleStatus(rule, counters.get(rule.id))),
    })),
  });
}
