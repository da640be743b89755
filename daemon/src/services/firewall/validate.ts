// Validation of the VPC firewall: rule sets and their custom rules (priority bands, matches that make
// sense together), and attachments (one set per NIC direction, inbound always the NIC's own set).
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import {
  ConnectionState,
  Direction,
  FirewallAction,
  FirewallProtocol,
  type FirewallRule,
  type FirewallRuleSet,
} from '../../gen/vrouter/v1/firewall_pb.js';
import type { PortRange } from '../../gen/vrouter/v1/common_pb.js';
import { checkId, checkText } from '../../config/fields.js';
import { UniqueKeys, type Violations } from '../../config/violations.js';
import type { NicLookup } from '../interfaces/validate.js';
import { parseAddressSpec } from './intervals.js';
import { MAX_RULES_PER_SET, PRIORITY, inboundSetId, isSystemRuleId, nicOfInboundSetId } from './model.js';

/** Longest address or port list of one rule: beyond that, use several rules. */
const MAX_LIST = 1024;

export function validateFirewall(config: RouterConfig, nics: NicLookup, v: Violations): void {
  const firewall = config.firewall;
  if (firewall === undefined) return;
  const setIds = new UniqueKeys<string>(v, 'rule set id');
  const ruleIds = new Map<string, number>();
  const known = new Set<string>();
  firewall.ruleSets.forEach((set, i) => {
    const path = `firewall.rule_sets[${i}]`;
    if (checkRuleSetId(set, `${path}.id`, nics, v) && setIds.claim(set.id, `${path}.id`, `"${set.id}"`))
      known.add(set.id);
    checkText(v, `${path}.description`, set.description);
    if (set.rules.length > MAX_RULES_PER_SET)
      v.add(
        `${path}.rules[${MAX_RULES_PER_SET}]`,
        `a rule set holds at most ${MAX_RULES_PER_SET} rules; this one has ${set.rules.length}`,
      );
    set.rules.forEach((rule, j) => {
      if (!validRules.has(rule) && !checkRule(rule, rulePath(i, j), v)) return;
      // Where each id was first seen, as a number: 20k path strings per Patch would be garbage.
      const first = ruleIds.get(rule.id);
      if (first === undefined) ruleIds.set(rule.id, i * RULES_PER_CODE + j);
      else
        v.add(
          `${rulePath(i, j)}.id`,
          `duplicate rule id "${rule.id}" (also ${rulePath(Math.floor(first / RULES_PER_CODE), first % RULES_PER_CODE)}.id)`,
        );
    });
  });
  for (const id of nics.keys()) known.add(inboundSetId(id));
  checkAttachments(config, nics, known, v);
}

function checkRuleSetId(set: FirewallRuleSet, path: string, nics: NicLookup, v: Violations): boolean {
  if (!checkId(v, path, set.id)) return false;
  const nicId = nicOfInboundSetId(set.id);
  if (nicId !== undefined && !nics.has(nicId)) {
    v.add(path, `ids ending in .in name NICs' inbound sets, and there is no NIC "${nicId}"`);
    return false;
  }
  return true;
}

const RULES_PER_CODE = 2 ** 26;

function rulePath(set: number, rule: number): string {
  return `firewall.rule_sets[${set}].rules[${rule}]`;
}

/**
 * Custom rules found valid on their own (everything but the uniqueness of their id), by object: a
 * Patch of one rule among sets of 9999 checks that rule again, not all of them. Configs are never
 * changed in place once validated (Patch copies what it changes).
 */
const validRules = new WeakSet<FirewallRule>();

/** Checks what a rule must be on its own; whether its id may be claimed (well-formed, not a system one). */
function checkRule(rule: FirewallRule, path: string, v: Violations): boolean {
  const before = v.items.length;
  let claimable = false;
  if (isSystemRuleId(rule.id))
    v.add(
      `${path}.id`,
      `"${rule.id}" names a system rule (<set>/<name>); system rules cannot be added or changed`,
    );
  else claimable = checkId(v, `${path}.id`, rule.id);
  checkPriority(rule.priority, `${path}.priority`, v);
  if (rule.action === FirewallAction.UNSPECIFIED) v.add(`${path}.action`, 'required: accept, drop or reject');
  else if (!(rule.action in FirewallAction)) v.add(`${path}.action`, `unknown action ${rule.action}`);
  if (!(rule.protocol in FirewallProtocol)) v.add(`${path}.protocol`, `unknown protocol ${rule.protocol}`);
  checkIcmp(rule, path, v);
  checkAddresses(rule.sourceAddresses, `${path}.source_addresses`, v);
  checkAddresses(rule.destinationAddresses, `${path}.destination_addresses`, v);
  const ported = rule.protocol === FirewallProtocol.TCP || rule.protocol === FirewallProtocol.UDP;
  checkPorts(rule.sourcePorts, `${path}.source_ports`, ported, v);
  checkPorts(rule.destinationPorts, `${path}.destination_ports`, ported, v);
  rule.states.forEach((state, k) => {
    if (state === ConnectionState.UNSPECIFIED)
      v.add(`${path}.states[${k}]`, 'required: new, established, related or invalid');
    else if (!(state in ConnectionState)) v.add(`${path}.states[${k}]`, `unknown state ${state}`);
  });
  checkText(v, `${path}.description`, rule.description);
  if (v.items.length === before) validRules.add(rule);
  return claimable;
}

function checkPriority(priority: number, path: string, v: Violations): void {
  const custom = `custom rules use ${PRIORITY.customMin}-${PRIORITY.customMax}`;
  if (priority === 0) v.add(path, `required; ${custom}`);
  else if (priority >= PRIORITY.customMin && priority <= PRIORITY.customMax) return;
  else if (priority >= PRIORITY.reservedMin && priority <= PRIORITY.reservedMax)
    v.add(
      path,
      `${priority} is in the reserved band ${PRIORITY.reservedMin}-${PRIORITY.reservedMax}; ${custom}`,
    );
  else if (priority <= PRIORITY.max)
    v.add(
      path,
      `${priority} belongs to the system rules (1-1000 and 4000-9999), which only the daemon makes; ${custom}`,
    );
  else v.add(path, `${priority} is out of range ${PRIORITY.min}-${PRIORITY.max}; ${custom}`);
}

function checkIcmp(rule: FirewallRule, path: string, v: Violations): void {
  const icmp = rule.protocol === FirewallProtocol.ICMP;
  if (rule.icmpType !== undefined) {
    if (!icmp) v.add(`${path}.icmp_type`, 'only with protocol ICMP');
    else if (rule.icmpType > 255) v.add(`${path}.icmp_type`, `${rule.icmpType} is out of range 0-255`);
  }
  if (rule.icmpCode !== undefined) {
    if (rule.icmpType === undefined) v.add(`${path}.icmp_code`, 'only with icmp_type');
    else if (rule.icmpCode > 255) v.add(`${path}.icmp_code`, `${rule.icmpCode} is out of range 0-255`);
  }
}

function checkAddresses(list: readonly string[], path: string, v: Violations): void {
  if (list.length > MAX_LIST) v.add(path, `at most ${MAX_LIST} entries; split the rule`);
  list.forEach((text, k) => {
    const parsed = parseAddressSpec(text);
    if ('error' in parsed) v.add(`${path}[${k}]`, parsed.error);
  });
}

function checkPorts(list: readonly PortRange[], path: string, ported: boolean, v: Violations): void {
  if (list.length === 0) return;
  if (!ported) return v.add(path, 'ports need protocol TCP or UDP');
  if (list.length > MAX_LIST) v.add(path, `at most ${MAX_LIST} entries; split the rule`);
  list.forEach((port, k) => {
    if (port.start < 1 || port.start > 65535)
      v.add(`${path}[${k}].start`, `${port.start} is out of range 1-65535`);
    if (port.end !== 0 && (port.end < port.start || port.end > 65535))
      v.add(`${path}[${k}].end`, `${port.end} must be 0 (one port) or ${port.start}-65535`);
  });
}

function checkAttachments(
  config: RouterConfig,
  nics: NicLookup,
  sets: ReadonlySet<string>,
  v: Violations,
): void {
  const taken = new UniqueKeys<string>(v, 'attachment for');
  config.firewall?.attachments.forEach((a, i) => {
    const path = `firewall.attachments[${i}]`;
    const nicOk = a.nicId !== '' && nics.has(a.nicId);
    if (a.nicId === '') v.add(`${path}.nic_id`, 'required');
    else if (!nicOk) v.add(`${path}.nic_id`, `no NIC with id "${a.nicId}"`);
    if (a.direction === Direction.UNSPECIFIED) v.add(`${path}.direction`, 'required: in or out');
    else if (!(a.direction in Direction)) v.add(`${path}.direction`, `unknown direction ${a.direction}`);
    else if (nicOk) taken.claim(`${a.nicId}/${Direction[a.direction].toLowerCase()}`, path);
    if (a.ruleSetId === '') return v.add(`${path}.rule_set_id`, 'required');
    if (a.direction === Direction.IN && a.ruleSetId !== inboundSetId(a.nicId))
      return v.add(
        `${path}.rule_set_id`,
        `a NIC's inbound set is always its own "${inboundSetId(a.nicId)}"; add rules to that set instead`,
      );
    if (a.direction === Direction.OUT && nicOfInboundSetId(a.ruleSetId) !== undefined)
      return v.add(
        `${path}.rule_set_id`,
        `"${a.ruleSetId}" is a NIC's inbound set; attach an outbound set (one you created) instead`,
      );
    if (!sets.has(a.ruleSetId)) v.add(`${path}.rule_set_id`, `no rule set "${a.ruleSetId}"`);
  });
}
