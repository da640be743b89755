// The firewall's part of the `inet vrouter` table, compiled from the rule model:
// - one regular chain per rule set in force (`fws-<set id>`), its items in evaluation order; a rule's
//   accept is `return` (the packet leaves this set and meets the next one, e.g. the outbound set after
//   the inbound one, and then the base chain's accept policy), drop is `drop`, reject goes to
//   `fw-reject` (a TCP reset for TCP, ICMP port unreachable otherwise);
// - verdict maps `fw-in` / `fw-out` from interface name to the set's chain, looked up from the input
//   and forward base chains, so attaching or detaching a set changes one map element;
// - before them, in the base chains, every set's first rule (established and related packets
//   accepted) decided once for all sets: most packets a router sees belong to accepted connections,
//   and they then cost one rule instead of a map lookup and a jump per set;
// - a counting set per block of rules (see compile.ts), hash where every element is one value,
//   interval only where ranges need it.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import type { RulesetBuilder } from '../../nft/builder.js';
import type { NftRule, NftSet } from '../../nft/model.js';
import type { InterfacePlan } from '../interfaces/plan.js';
import { FILTER_TABLE, type RulesetInputs } from '../ruleset/render.js';
import { type Block, DIMS, type Dim, compileRuleSet } from './compile.js';
import { formatIpv4, maskOf } from '../../config/net.js';
import { addressJson, portJson } from './intervals.js';
import {
  type Interval,
  type ModelRule,
  type ModelRuleSet,
  type RuleMatch,
  type Verdict,
  isEstablishedRule,
} from './model.js';

export const REJECT_CHAIN = 'fw-reject';
export const INBOUND_MAP = 'fw-in';
export const OUTBOUND_MAP = 'fw-out';
export const RULE_COMMENT = 'fwrule:';
export const BLOCK_COMMENT = 'fwblock:';
export const BLOCK_PREFIX = 'fwb-';
/** The comment of the base chains' rule that stands for every set's `established` system rule. */
export const ESTABLISHED_COMMENT = 'fw:established';

export function ruleSetChain(id: string): string {
  return `fws-${id}`;
}

export function contributeFirewall(
  builder: RulesetBuilder,
  _config: RouterConfig,
  _interfaces: InterfacePlan,
  { firewall }: RulesetInputs,
): void {
  const t = FILTER_TABLE;
  builder.addChain(t, REJECT_CHAIN, [
    { expr: [match('==', meta('l4proto'), 6), { reject: { type: 'tcp reset' } }], comment: 'fw:reject' },
    { expr: [{ reject: { type: 'icmpx', expr: 'port-unreachable' } }], comment: 'fw:reject' },
  ]);
  const inUse = new Set(firewall.attachments.map((a) => a.ruleSetId));
  for (const set of firewall.ruleSets) {
    if (!inUse.has(set.id)) continue;
    const { rules, sets } = compiledChain(set);
    for (const s of sets) builder.addSet(t, s);
    builder.addChain(t, ruleSetChain(set.id), rules);
  }
  for (const [name, direction] of [
    [INBOUND_MAP, 'in'],
    [OUTBOUND_MAP, 'out'],
  ] as const)
    builder.addSet(t, {
      name,
      type: 'ifname',
      map: 'verdict',
      elements: firewall.attachments
        .filter((a) => a.direction === direction)
        .map((a) => ({ key: a.ifname, value: { jump: { target: ruleSetChain(a.ruleSetId) } } })),
    });
  const dispatch = (key: 'iifname' | 'oifname', map: string): NftRule => ({
    expr: [{ vmap: { key: meta(key), data: `@${map}` } }],
    comment: 'fw:dispatch',
  });
  const established: NftRule = {
    expr: [
      match('in', { ct: { key: 'state' } }, ['established', 'related']),
      { counter: null },
      { accept: null },
    ],
    comment: ESTABLISHED_COMMENT,
  };
  builder.append(t, 'input', [established, dispatch('iifname', INBOUND_MAP)]);
  builder.append(t, 'forward', [
    established,
    dispatch('iifname', INBOUND_MAP),
    dispatch('oifname', OUTBOUND_MAP),
  ]);
}

/**
 * A rule set's chain and block sets. Memoized by the model's rule set, which plan.ts reuses while
 * its rules are the same objects: a Patch of one rule set compiles that set only, and the planner
 * sees the other sets unchanged by identity. Pure all the same: the same input gives the same output.
 */
const compiled = new WeakMap<ModelRuleSet, { rules: NftRule[]; sets: NftSet[] }>();

function compiledChain(set: ModelRuleSet): { rules: NftRule[]; sets: NftSet[] } {
  const known = compiled.get(set);
  if (known !== undefined) return known;
  const rules: NftRule[] = [];
  const sets: NftSet[] = [];
  // Every set's `established` rule is decided before any set, in the base chains.
  for (const item of compileRuleSet({ ...set, rules: set.rules.filter((r) => !isEstablishedRule(r)) })) {
    if (item.kind === 'rule') rules.push(standaloneRule(item.rule));
    else {
      sets.push(blockSet(item));
      rules.push(blockRule(item));
    }
  }
  const result = { rules, sets };
  compiled.set(set, result);
  return result;
}

function standaloneRule(rule: ModelRule): NftRule {
  return {
    expr: [...matchExprs(rule.match), { counter: null }, verdict(rule.action)],
    comment: `${RULE_COMMENT}${rule.id}`,
  };
}

function blockRule(block: Block): NftRule {
  const keys = block.dims.map((d) => {
    const length = d === 'source' || d === 'destination' ? block.masks[d] : undefined;
    return length === undefined ? dimExpr(d) : { '&': [dimExpr(d), formatIpv4(maskOf(length))] };
  });
  const key = keys.length === 1 ? keys[0] : { concat: keys };
  return {
    expr: [
      ...(block.states === undefined ? [] : [match('in', { ct: { key: 'state' } }, [...block.states])]),
      match('==', key, `@${block.name}`),
      verdict(block.action),
    ],
    // Named after the set, not its rule count: a rule joining the block then adds one element and
    // changes no rule, so every counter in the chain keeps counting.
    comment: `${BLOCK_COMMENT}${block.name}`,
  };
}

/**
 * A block's set, reused while the block holds the very same rule objects (plan.ts keeps a rule's
 * model while its config object is unchanged): the planner then skips it by identity instead of
 * comparing thousands of elements when a Patch changes another rule of the set.
 */
const blockSets = new WeakMap<ModelRule, { name: string; rules: readonly ModelRule[]; set: NftSet }>();

function blockSet(block: Block): NftSet {
  const first = block.rules[0];
  const known = first === undefined ? undefined : blockSets.get(first);
  if (
    known?.name === block.name &&
    known.rules.length === block.rules.length &&
    known.rules.every((rule, i) => rule === block.rules[i])
  )
    return known.set;
  const set = renderBlockSet(block);
  if (first !== undefined) blockSets.set(first, { name: block.name, rules: block.rules, set });
  return set;
}

function renderBlockSet(block: Block): NftSet {
  const types = block.dims.map((d) => DIM_TYPE[d]);
  return {
    name: block.name,
    type: types.length === 1 ? (types[0] ?? '') : types,
    ...(block.interval && { flags: ['interval'] as const }),
    counter: true,
    elements: block.elements.map((e) => {
      const values = block.dims.map((d) => dimValue(block, d, e.box[DIMS.indexOf(d)] ?? [0, 0]));
      return {
        key: { elem: { val: values.length === 1 ? values[0] : { concat: values }, comment: e.ruleId } },
      };
    }),
  };
}

const DIM_TYPE: Record<Dim, string> = {
  protocol: 'inet_proto',
  source: 'ipv4_addr',
  destination: 'ipv4_addr',
  sourcePort: 'inet_service',
  destinationPort: 'inet_service',
};

function dimExpr(d: Dim): unknown {
  switch (d) {
    case 'protocol':
      return meta('l4proto');
    case 'source':
      return payload('ip', 'saddr');
    case 'destination':
      return payload('ip', 'daddr');
    case 'sourcePort':
      return payload('th', 'sport');
    case 'destinationPort':
      return payload('th', 'dport');
  }
}

function dimValue(block: Block, d: Dim, interval: Interval): unknown {
  if (d === 'protocol') return interval[0];
  if (d === 'sourcePort' || d === 'destinationPort') return portJson(interval);
  // A masked hash key holds the network address; an interval key the address, prefix or range.
  return block.masks[d] === undefined ? addressJson(interval) : formatIpv4(interval[0]);
}

function matchExprs(m: RuleMatch): unknown[] {
  const exprs: unknown[] = [];
  const oneOrSet = (values: readonly unknown[]) => (values.length === 1 ? values[0] : { set: [...values] });
  if (m.protocols !== undefined) exprs.push(match('==', meta('l4proto'), oneOrSet(m.protocols)));
  if (m.icmp !== undefined) {
    const family = m.protocols?.includes(58) === true ? 'icmpv6' : 'icmp';
    exprs.push(match('==', payload(family, 'type'), oneOrSet(m.icmp.types)));
    if (m.icmp.code !== undefined) exprs.push(match('==', payload(family, 'code'), m.icmp.code));
  }
  if (m.sources !== undefined)
    exprs.push(match('==', payload('ip', 'saddr'), oneOrSet(m.sources.map(addressJson))));
  if (m.destinations !== undefined)
    exprs.push(match('==', payload('ip', 'daddr'), oneOrSet(m.destinations.map(addressJson))));
  if (m.sourcePorts !== undefined)
    exprs.push(match('==', payload('th', 'sport'), oneOrSet(m.sourcePorts.map(portJson))));
  if (m.destinationPorts !== undefined)
    exprs.push(match('==', payload('th', 'dport'), oneOrSet(m.destinationPorts.map(portJson))));
  if (m.states !== undefined) exprs.push(match('in', { ct: { key: 'state' } }, [...m.states]));
  if (m.dnat === true) exprs.push(match('in', { ct: { key: 'status' } }, 'dnat'));
  if (m.toRouter === true) exprs.push(match('==', { fib: { result: 'type', flags: ['daddr'] } }, 'local'));
  if (m.ipsec === true) exprs.push(match('==', meta('secpath'), true));
  return exprs;
}

function verdict(action: Verdict): unknown {
  switch (action) {
    case 'accept':
      return { return: null };
    case 'drop':
      return { drop: null };
    case 'reject':
      return { goto: { target: REJECT_CHAIN } };
  }
}

function match(op: '==' | 'in', left: unknown, right: unknown): unknown {
  return { match: { op, left, right } };
}

function meta(key: string): unknown {
  return { meta: { key } };
}

function payload(protocol: string, field: string): unknown {
  return { payload: { protocol, field } };
}
