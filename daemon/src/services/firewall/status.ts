// The firewall in GetStatus: every rule set in force with its rules in evaluation order and how many
// packets and bytes each decided. Counters come from the kernel: a rule of its own carries a counter
// (in the listing of the daemon's table), a rule compiled into a block set counts in its elements
// (each element names its rule in its comment; read over netlink, or from the listing), summed per rule.
// Every set's `established` rule is one rule of the base chains (render.ts): each shows its counters.
import { create } from '@bufbuild/protobuf';
import {
  FirewallAction,
  type FirewallRuleStatus,
  FirewallRuleStatusSchema,
  type FirewallStatus,
  FirewallStatusSchema,
} from '../../gen/vrouter/v1/firewall_pb.js';
import type { SetReader } from '../../drivers/nft-netlink.js';
import type { NftTransport } from '../../drivers/nftables.js';
import { FILTER_TABLE } from '../ruleset/render.js';
import { describeMatch } from './describe.js';
import { type FirewallPlan, type ModelRule, type Verdict, isEstablishedRule } from './model.js';
import { BLOCK_PREFIX, ESTABLISHED_COMMENT, RULE_COMMENT } from './render.js';
import { isJsonObject } from '../../json-object.js';
import { inTable, listedCounter, ownedCounters } from '../../nft/listed-elements.js';

export interface Counter {
  packets: bigint;
  bytes: bigint;
}

/** Counters by rule id; the base chains' established rules under ESTABLISHED_COMMENT (no rule's id). */
export type RuleCounters = ReadonlyMap<string, Counter>;

/** The counters of one rule of the model. */
export function ruleCounter(counters: RuleCounters, rule: ModelRule): Counter | undefined {
  return counters.get(isEstablishedRule(rule) ? ESTABLISHED_COMMENT : rule.id);
}

/**
 * Reads the counters of every firewall rule from the kernel. With `elements` (the netlink element
 * channel, when up) the rules come from the terse listing and the block sets' elements over netlink:
 * a big firewall's elements cost libnftables most of a second to list, and GetStatus asks every time.
 */
export async function readRuleCounters(nft: NftTransport, elements?: SetReader): Promise<RuleCounters> {
  const channel = elements?.unavailable === undefined ? elements : undefined;
  if (channel === undefined)
    return countersFromListing((await nft.listTable(FILTER_TABLE.family, FILTER_TABLE.name, false)) ?? []);
  const terse = ((await nft.list(`ruleset ${FILTER_TABLE.family}`, true)) ?? []).filter((o) =>
    inTable(o, FILTER_TABLE.name),
  );
  const counters = countersFromListing(terse);
  for (const o of terse) {
    const set = isJsonObject(o) ? o['set'] : undefined;
    if (!isJsonObject(set) || typeof set['name'] !== 'string' || !set['name'].startsWith(BLOCK_PREFIX))
      continue;
    for (const e of (await channel.readSet(FILTER_TABLE.family, FILTER_TABLE.name, set['name'])) ?? [])
      if (e.comment !== undefined && e.counter !== undefined) addCounter(counters, e.comment, e.counter);
  }
  return counters;
}

/** Per-rule counters out of `nft -j list table` output. */
export function countersFromListing(listing: readonly unknown[]): Map<string, Counter> {
  const counters = new Map<string, Counter>();
  const add = (id: string, c: unknown) => {
    const counter = listedCounter(c);
    if (counter !== undefined) addCounter(counters, id, counter);
  };
  for (const o of listing) {
    if (!isJsonObject(o)) continue;
    const rule = o['rule'];
    const comment = isJsonObject(rule) ? rule['comment'] : undefined;
    const id =
      typeof comment !== 'string'
        ? undefined
        : comment === ESTABLISHED_COMMENT
          ? comment
          : comment.startsWith(RULE_COMMENT)
            ? comment.slice(RULE_COMMENT.length)
            : undefined;
    if (isJsonObject(rule) && id !== undefined && Array.isArray(rule['expr']))
      for (const e of rule['expr'] as unknown[]) if (isJsonObject(e) && 'counter' in e) add(id, e['counter']);
    const set = o['set'];
    if (isJsonObject(set) && typeof set['name'] === 'string' && set['name'].startsWith(BLOCK_PREFIX))
      for (const { comment, counter } of ownedCounters(Array.isArray(set['elem']) ? set['elem'] : []))
        if (comment !== undefined && counter !== undefined) addCounter(counters, comment, counter);
  }
  return counters;
}

/** A rule's counter grows by `c` (a rule compiled into block sets counts in several elements). */
function addCounter(counters: Map<string, Counter>, id: string, c: Counter): void {
  const sum = counters.get(id) ?? { packets: 0n, bytes: 0n };
  sum.packets += c.packets;
  sum.bytes += c.bytes;
  counters.set(id, sum);
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
      rules: set.rules.map((rule) => ruleStatus(rule, ruleCounter(counters, rule))),
    })),
  });
}
