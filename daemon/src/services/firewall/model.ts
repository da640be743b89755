// The firewall as one rule model: every rule set in force, its system and custom rules in evaluation
// order, and which NIC direction each filters. The nftables renderer compiles this model and
// ExplainFirewall evaluates it, so what the router does and what it says it does come from one source.
// Pure: built from the config, the kernel names of the NICs and the management API's address.

/** An inclusive range of numbers: IPv4 addresses as unsigned 32-bit integers, ports, protocols. */
export type Interval = readonly [number, number];

export type Verdict = 'accept' | 'drop' | 'reject';
export type ConnState = 'new' | 'established' | 'related' | 'invalid';

export const IPPROTO = { icmp: 1, tcp: 6, udp: 17, esp: 50, icmpv6: 58, ospf: 89 } as const;

/** What a rule matches; an absent field matches everything. Lists match when any item matches. */
export interface RuleMatch {
  /** IP protocol numbers. */
  readonly protocols?: readonly number[];
  /** ICMP (protocol 1) or ICMPv6 (58) types, and optionally the code. */
  readonly icmp?: { readonly types: readonly number[]; readonly code?: number };
  /** Sorted, non-overlapping, non-adjacent IPv4 intervals. */
  readonly sources?: readonly Interval[];
  readonly destinations?: readonly Interval[];
  /** Sorted, merged port intervals (TCP and UDP only). */
  readonly sourcePorts?: readonly Interval[];
  readonly destinationPorts?: readonly Interval[];
  readonly states?: readonly ConnState[];
  /** The connection was translated by DNAT (`ct status dnat`): EIPs, port forwards, load balancers. */
  readonly dnat?: true;
  /** The packet is addressed to the router itself (`fib daddr type local`). */
  readonly toRouter?: true;
  /** The packet came out of an IPsec tunnel (`meta ipsec exists`). */
  readonly ipsec?: true;
}

export interface ModelRule {
  /** The custom rule's id, or `<set id>/<name>` for a system rule. */
  readonly id: string;
  readonly priority: number;
  readonly system: boolean;
  readonly action: Verdict;
  readonly match: RuleMatch;
  readonly disabled: boolean;
  readonly description: string;
}

export interface ModelRuleSet {
  readonly id: string;
  readonly description: string;
  /** Inbound sets belong to one NIC; outbound sets are the manager's and may be shared. */
  readonly kind: 'inbound' | 'outbound';
  /** Evaluation order: by priority, equal priorities in the order listed. Disabled rules included. */
  readonly rules: readonly ModelRule[];
}

export interface Attachment {
  readonly nicId: string;
  readonly direction: 'in' | 'out';
  /** Kernel name of the NIC's link. */
  readonly ifname: string;
  readonly ruleSetId: string;
}

export interface FirewallPlan {
  readonly ruleSets: readonly ModelRuleSet[];
  readonly attachments: readonly Attachment[];
  /** Whether an IPv4 address is the router's own (a NIC address, a network gateway, a VIP), for
   * explain's `toRouter`. Built on first use: a Patch must not walk 10k VIPs for a question no one asked. */
  readonly isRouterAddress: (address: number) => boolean;
}

export const EMPTY_FIREWALL_PLAN: FirewallPlan = {
  ruleSets: [],
  attachments: [],
  isRouterAddress: () => false,
};

export const PRIORITY = {
  min: 1,
  max: 9999,
  customMin: 1001,
  customMax: 2999,
  reservedMin: 3000,
  reservedMax: 3999,
} as const;

/** Most rules a set may hold (custom rules as listed by the manager). */
export const MAX_RULES_PER_SET = 9999;

export function inboundSetId(nicId: string): string {
  return `${nicId}.in`;
}

/** The NIC id of an inbound set id, or undefined when the id does not have that form. */
export function nicOfInboundSetId(id: string): string | undefined {
  return id.endsWith('.in') && id.length > 3 ? id.slice(0, -3) : undefined;
}

export function systemRuleId(setId: string, name: string): string {
  return `${setId}/${name}`;
}

/**
 * The system rule every rule set starts with (established and related packets accepted). The base
 * chains decide it once, before any set (firewall/render.ts): one rule an established packet meets
 * instead of a lookup and a set's first rule per NIC it crosses.
 */
export const ESTABLISHED_RULE = 'established';

export function isEstablishedRule(rule: ModelRule): boolean {
  return rule.system && rule.id.endsWith(`/${ESTABLISHED_RULE}`);
}

export function isSystemRuleId(id: string): boolean {
  return id.includes('/');
}

export function ruleSetOf(plan: FirewallPlan, id: string): ModelRuleSet | undefined {
  return plan.ruleSets.find((s) => s.id === id);
}

export function attachmentOf(
  plan: FirewallPlan,
  nicId: string,
  direction: 'in' | 'out',
): Attachment | undefined {
  return plan.attachments.find((a) => a.nicId === nicId && a.direction === direction);
}
