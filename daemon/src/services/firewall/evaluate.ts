// Evaluates the rule model for one packet, the way the kernel evaluates the rendered chain: rules in
// order, disabled ones skipped, the first whose every condition holds decides. Used by
// ExplainFirewall, and by the tests that check the compiled nftables form against it.
import { formatIpv4 } from '../../config/net.js';
import { formatAddressInterval, formatPortInterval, intervalsContain } from './intervals.js';
import { type ConnState, IPPROTO, type ModelRule, type ModelRuleSet, type RuleMatch } from './model.js';

/** An IPv4 packet as the forward or input hook sees it (after DNAT). */
export interface Packet {
  readonly source: number;
  readonly destination: number;
  readonly protocol: number;
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly icmpType: number;
  readonly icmpCode: number;
  readonly state: ConnState;
  readonly dnat: boolean;
  readonly ipsec: boolean;
  /** The destination is one of the router's own addresses. */
  readonly toRouter: boolean;
}

export interface Decision {
  readonly rule: ModelRule;
  /** Each condition of the rule and how the packet met it, e.g. `tcp dport 80 in 80-90`. */
  readonly reasons: readonly string[];
}

/** The first enabled rule of the set that matches; undefined only for a set without a final rule. */
export function decide(set: ModelRuleSet, packet: Packet): Decision | undefined {
  for (const rule of set.rules) {
    if (rule.disabled) continue;
    const reasons = matches(rule.match, packet);
    if (reasons !== undefined) return { rule, reasons };
  }
  return undefined;
}

/** The conditions met, or undefined when one is not. An empty match is met by every packet. */
export function matches(m: RuleMatch, p: Packet): string[] | undefined {
  const reasons: string[] = [];
  if (m.protocols !== undefined) {
    if (!m.protocols.includes(p.protocol)) return undefined;
    reasons.push(`protocol ${protocolName(p.protocol)}`);
  }
  if (m.icmp !== undefined) {
    if (p.protocol !== IPPROTO.icmp && p.protocol !== IPPROTO.icmpv6) return undefined;
    if (!m.icmp.types.includes(p.icmpType)) return undefined;
    if (m.icmp.code !== undefined && m.icmp.code !== p.icmpCode) return undefined;
    reasons.push(`icmp type ${p.icmpType}${m.icmp.code === undefined ? '' : ` code ${p.icmpCode}`}`);
  }
  const address = (label: string, list: RuleMatch['sources'], value: number) => {
    if (list === undefined) return true;
    const hit = intervalsContain(list, value);
    if (hit !== undefined) reasons.push(`${label} ${formatIpv4(value)} in ${formatAddressInterval(hit)}`);
    return hit !== undefined;
  };
  const port = (label: string, list: RuleMatch['sourcePorts'], value: number) => {
    if (list === undefined) return true;
    const hit = intervalsContain(list, value);
    if (hit !== undefined) reasons.push(`${label} ${value} in ${formatPortInterval(hit)}`);
    return hit !== undefined;
  };
  if (!address('source', m.sources, p.source)) return undefined;
  if (!address('destination', m.destinations, p.destination)) return undefined;
  if (!port('source port', m.sourcePorts, p.sourcePort)) return undefined;
  if (!port('destination port', m.destinationPorts, p.destinationPort)) return undefined;
  if (m.states !== undefined) {
    if (!m.states.includes(p.state)) return undefined;
    reasons.push(`state ${p.state}`);
  }
  if (m.dnat === true) {
    if (!p.dnat) return undefined;
    reasons.push('translated by DNAT');
  }
  if (m.toRouter === true) {
    if (!p.toRouter) return undefined;
    reasons.push('addressed to the router itself');
  }
  if (m.ipsec === true) {
    if (!p.ipsec) return undefined;
    reasons.push('came out of an IPsec tunnel');
  }
  if (reasons.length === 0) reasons.push('matches every packet');
  return reasons;
}

const NAMES = new Map<number, string>(Object.entries(IPPROTO).map(([name, n]) => [n, name]));

export function protocolName(protocol: number): string {
  return NAMES.get(protocol) ?? String(protocol);
}
