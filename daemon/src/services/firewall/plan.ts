// Builds the firewall's rule model from the config: each NIC's inbound set with the system rules of
// its role and the manager's custom rules, the outbound sets, and the attachments with kernel names.
// The system rules and why they exist are documented on `Firewall` in proto/vrouter/v1/firewall.proto.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import {
  ConnectionState,
  Direction,
  FirewallAction,
  FirewallProtocol,
  type FirewallRule,
  type FirewallRuleSet,
} from '../../gen/vrouter/v1/firewall_pb.js';
import { NicRole } from '../../gen/vrouter/v1/interfaces_pb.js';
import { parseIpv4, parseIpv4Prefix } from '../../config/net.js';
import type { InterfacePlan } from '../interfaces/plan.js';
import { mergeIntervals, parseAddressSpec, portInterval } from './intervals.js';
import {
  type Attachment,
  type ConnState,
  type FirewallPlan,
  IPPROTO,
  type Interval,
  type ModelRule,
  type ModelRuleSet,
  type RuleMatch,
  type Verdict,
  ESTABLISHED_RULE,
  inboundSetId,
  nicOfInboundSetId,
  systemRuleId,
} from './model.js';

/** Where the daemon's management API listens (its --listen flag), so the firewall keeps it open. */
export interface ManagementApi {
  /** An IPv4 address, or undefined for every address (0.0.0.0, ::, a name). */
  readonly address: number | undefined;
  readonly port: number;
}

/** `HOST:PORT` of --listen as the firewall needs it; undefined without a usable port. */
export function managementApiOf(listen: string | undefined): ManagementApi | undefined {
  const match = listen === undefined ? null : /^(.*):(\d+)$/.exec(listen);
  if (match === null) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  const address = parseIpv4(match[1] ?? '');
  return { address: address === 0 ? undefined : address, port };
}

type SystemRule = Omit<ModelRule, 'id' | 'system' | 'disabled'> & { readonly name: string };

const ESTABLISHED: SystemRule = {
  name: ESTABLISHED_RULE,
  priority: 1,
  action: 'accept',
  match: { states: ['established', 'related'] },
  description:
    "packets of connections already accepted: removing a rule never cuts them (decided once for all rule sets, before any: its counters are the whole router's)",
};
const NEIGHBOUR_DISCOVERY: SystemRule = {
  name: 'neighbour-discovery',
  priority: 2,
  action: 'accept',
  match: { protocols: [IPPROTO.icmpv6], icmp: { types: [133, 134, 135, 136] } },
  description: 'IPv6 neighbour and router discovery',
};
const DNAT: SystemRule = {
  name: 'dnat',
  priority: 4000,
  action: 'accept',
  match: { dnat: true },
  description: 'traffic of EIPs, port forwards and load balancers (translated by DNAT)',
};
const DHCP: SystemRule = {
  name: 'dhcp',
  priority: 4010,
  action: 'accept',
  match: { protocols: [IPPROTO.udp], destinationPorts: [[67, 67]] },
  description: "DHCP requests to the router's DHCP server",
};
const DNS: SystemRule = {
  name: 'dns',
  priority: 4020,
  action: 'accept',
  match: { protocols: [IPPROTO.udp, IPPROTO.tcp], destinationPorts: [[53, 53]], toRouter: true },
  description: "DNS queries to the router's DNS server",
};
const PING: SystemRule = {
  name: 'ping',
  priority: 4030,
  action: 'accept',
  match: { protocols: [IPPROTO.icmp], icmp: { types: [8] }, toRouter: true },
  description: 'ping of the router itself',
};
const SSH: SystemRule = {
  name: 'ssh',
  priority: 4040,
  action: 'accept',
  match: { protocols: [IPPROTO.tcp], destinationPorts: [[22, 22]], toRouter: true },
  description: 'SSH to the router from the management network',
};
const IPSEC: readonly SystemRule[] = [
  {
    name: 'ike',
    priority: 4100,
    action: 'accept',
    match: {
      protocols: [IPPROTO.udp],
      destinationPorts: [
        [500, 500],
        [4500, 4500],
      ],
      toRouter: true,
    },
    description: 'IKE and NAT-traversed ESP of IPsec connections',
  },
  {
    name: 'esp',
    priority: 4101,
    action: 'accept',
    match: { protocols: [IPPROTO.esp], toRouter: true },
    description: 'ESP of IPsec connections',
  },
  {
    name: 'ipsec-decrypted',
    priority: 4102,
    action: 'accept',
    match: { ipsec: true },
    description: 'traffic that came out of an IPsec tunnel',
  },
];
const OSPF: SystemRule = {
  name: 'ospf',
  priority: 4200,
  action: 'accept',
  match: { protocols: [IPPROTO.ospf] },
  description: 'OSPF on a NIC that runs it',
};
const TO_ROUTER_DROP: SystemRule = {
  name: 'to-router',
  priority: 9990,
  action: 'drop',
  match: { toRouter: true },
  description: 'anything else to the router itself from a private network',
};
const DEFAULT_DROP: SystemRule = {
  name: 'default',
  priority: 9999,
  action: 'drop',
  match: {},
  description: 'everything else',
};
const DEFAULT_ACCEPT: SystemRule = { ...DEFAULT_DROP, action: 'accept' };

function apiRule(api: ManagementApi): SystemRule {
  return {
    name: 'management-api',
    priority: 10,
    action: 'accept',
    match: {
      protocols: [IPPROTO.tcp],
      destinationPorts: [[api.port, api.port]],
      ...(api.address === undefined
        ? { toRouter: true }
        : { destinations: [[api.address, api.address] as Interval] }),
    },
    description: "the daemon's management API: before any custom rule, so the manager is never locked out",
  };
}

interface NicContext {
  readonly role: NicRole;
  readonly ipsec: boolean;
  readonly ospf: boolean;
  readonly api: ManagementApi | undefined;
}

function inboundSystemRules(nic: NicContext): SystemRule[] {
  const rules = [ESTABLISHED, NEIGHBOUR_DISCOVERY, DNAT, PING];
  if (nic.api !== undefined) rules.push(apiRule(nic.api));
  if (nic.ipsec) rules.push(...IPSEC);
  if (nic.ospf) rules.push(OSPF);
  switch (nic.role) {
    case NicRole.PRIVATE:
      rules.push(DHCP, DNS, TO_ROUTER_DROP, DEFAULT_ACCEPT);
      break;
    case NicRole.MANAGEMENT:
      rules.push(SSH, DEFAULT_DROP);
      break;
    default:
      rules.push(DEFAULT_DROP);
  }
  return rules;
}

export function planFirewall(
  config: RouterConfig,
  interfaces: InterfacePlan,
  api: ManagementApi | undefined,
): FirewallPlan {
  const listed = new Map((config.firewall?.ruleSets ?? []).map((s) => [s.id, s]));
  const hasManagementNic = config.nics.some((n) => n.role === NicRole.MANAGEMENT);
  const ipsecNics = new Set(
    config.ipsecConnections.flatMap((c) =>
      config.vips.filter((v) => v.id === c.localVipId).map((v) => v.nicId),
    ),
  );
  const ospfNics = new Set((config.ospf?.interfaces ?? []).map((i) => i.nicId));
  const unlisted = new Map<string, KnownModel>();

  const ruleSets: ModelRuleSet[] = config.nics.map((nic) => {
    const id = inboundSetId(nic.id);
    const set = listed.get(id);
    const system = inboundSystemRules({
      role: nic.role,
      ipsec: ipsecNics.has(nic.id),
      ospf: ospfNics.has(nic.id),
      api: !hasManagementNic || nic.role === NicRole.MANAGEMENT ? api : undefined,
    });
    const description = set?.description || `inbound of ${nic.id} (${NicRole[nic.role].toLowerCase()})`;
    const build = (): ModelRuleSet => ({
      id,
      description,
      kind: 'inbound',
      rules: ordered(id, system, set?.rules ?? []),
    });
    return set === undefined
      ? unlistedSet(id, JSON.stringify([description, system]), build, unlisted)
      : modelSet(set, system, build);
  });
  lastUnlisted = unlisted;
  for (const set of config.firewall?.ruleSets ?? [])
    if (nicOfInboundSetId(set.id) === undefined)
      ruleSets.push(
        modelSet(set, OUTBOUND_SYSTEM_RULES, () => ({
          id: set.id,
          description: set.description,
          kind: 'outbound',
          rules: ordered(set.id, OUTBOUND_SYSTEM_RULES, set.rules),
        })),
      );

  const ifnames = new Map(interfaces.links.map((l) => [l.nicId, l.name]));
  const attachments: Attachment[] = [];
  for (const nic of config.nics) {
    const ifname = ifnames.get(nic.id);
    if (ifname !== undefined)
      attachments.push({ nicId: nic.id, direction: 'in', ifname, ruleSetId: inboundSetId(nic.id) });
  }
  for (const a of config.firewall?.attachments ?? []) {
    const ifname = ifnames.get(a.nicId);
    if (a.direction === Direction.OUT && ifname !== undefined)
      attachments.push({ nicId: a.nicId, direction: 'out', ifname, ruleSetId: a.ruleSetId });
  }
  return { ruleSets, attachments, isRouterAddress: routerAddresses(config) };
}

const OUTBOUND_SYSTEM_RULES: readonly SystemRule[] = [ESTABLISHED, DEFAULT_ACCEPT];

/**
 * The model of a listed rule set, reused while the config's set is the same object (Patch copies
 * only what it changes) and its system rules are the same: the renderer memoizes its compiled chain
 * by this object, so a Patch of one set of 9999 rules does not recompile the others. (Configs are
 * never changed in place once validated: Patch copies what it changes.)
 */
const models = new WeakMap<FirewallRuleSet, KnownModel>();

interface KnownModel {
  readonly system: string;
  readonly model: ModelRuleSet;
}

function modelSet(
  set: FirewallRuleSet,
  system: readonly SystemRule[],
  build: () => ModelRuleSet,
): ModelRuleSet {
  const key = JSON.stringify(system);
  const known = models.get(set);
  if (known?.system === key) return known.model;
  const model = build();
  models.set(set, { system: key, model });
  return model;
}

/**
 * The inbound sets the config does not list (system rules only), by id, as the last plan made them:
 * reused while their description and system rules are the same (so the renderer's compiled chain is
 * too), and forgotten with their NIC.
 */
let lastUnlisted = new Map<string, KnownModel>();

function unlistedSet(
  id: string,
  key: string,
  build: () => ModelRuleSet,
  into: Map<string, KnownModel>,
): ModelRuleSet {
  const known = lastUnlisted.get(id);
  const model = known?.system === key ? known.model : build();
  into.set(id, { system: key, model });
  return model;
}

/** System and custom rules by priority; equal priorities keep the order listed (a stable sort). */
function ordered(setId: string, system: readonly SystemRule[], custom: readonly FirewallRule[]): ModelRule[] {
  const rules: ModelRule[] = [
    ...system.map(({ name, ...rule }) => ({
      ...rule,
      id: systemRuleId(setId, name),
      system: true,
      disabled: false,
    })),
    ...custom.map(modelOfRule),
  ];
  return rules.sort((a, b) => a.priority - b.priority);
}

const ACTIONS: Record<FirewallAction, Verdict> = {
  [FirewallAction.UNSPECIFIED]: 'drop',
  [FirewallAction.ACCEPT]: 'accept',
  [FirewallAction.DROP]: 'drop',
  [FirewallAction.REJECT]: 'reject',
};

const PROTOCOLS: Partial<Record<FirewallProtocol, number>> = {
  [FirewallProtocol.TCP]: IPPROTO.tcp,
  [FirewallProtocol.UDP]: IPPROTO.udp,
  [FirewallProtocol.ICMP]: IPPROTO.icmp,
};

export const STATES: Record<Exclude<ConnectionState, ConnectionState.UNSPECIFIED>, ConnState> = {
  [ConnectionState.NEW]: 'new',
  [ConnectionState.ESTABLISHED]: 'established',
  [ConnectionState.RELATED]: 'related',
  [ConnectionState.INVALID]: 'invalid',
};

/** Models of custom rules by their config object (unchanged by a Patch of another rule). */
const ruleModels = new WeakMap<FirewallRule, ModelRule>();

function modelOfRule(rule: FirewallRule): ModelRule {
  let model = ruleModels.get(rule);
  if (model === undefined) {
    model = customRule(rule);
    ruleModels.set(rule, model);
  }
  return model;
}

/** A validated custom rule in the model's terms. */
export function customRule(rule: FirewallRule): ModelRule {
  const protocol = PROTOCOLS[rule.protocol];
  const match: RuleMatch = {
    ...(protocol !== undefined && { protocols: [protocol] }),
    ...(rule.icmpType !== undefined && {
      icmp: { types: [rule.icmpType], ...(rule.icmpCode !== undefined && { code: rule.icmpCode }) },
    }),
    ...addresses('sources', rule.sourceAddresses),
    ...addresses('destinations', rule.destinationAddresses),
    ...(rule.sourcePorts.length > 0 && { sourcePorts: mergeIntervals(rule.sourcePorts.map(portInterval)) }),
    ...(rule.destinationPorts.length > 0 && {
      destinationPorts: mergeIntervals(rule.destinationPorts.map(portInterval)),
    }),
    ...(rule.states.length > 0 && {
      states: [...new Set(rule.states.map((s) => (s === ConnectionState.UNSPECIFIED ? 'new' : STATES[s])))],
    }),
  };
  return {
    id: rule.id,
    priority: rule.priority,
    system: false,
    action: ACTIONS[rule.action],
    match,
    disabled: rule.disabled,
    description: rule.description,
  };
}

function addresses(key: 'sources' | 'destinations', list: readonly string[]): Partial<RuleMatch> {
  if (list.length === 0) return {};
  const intervals = list.flatMap((text) => {
    const parsed = parseAddressSpec(text);
    return 'interval' in parsed ? [parsed.interval] : [];
  });
  return { [key]: mergeIntervals(intervals) };
}

function routerAddresses(config: RouterConfig): (address: number) => boolean {
  let known: ReadonlySet<number> | undefined;
  return (address) => (known ??= collectRouterAddresses(config)).has(address);
}

function collectRouterAddresses(config: RouterConfig): Set<number> {
  const all = new Set<number>();
  for (const nic of config.nics)
    for (const cidr of nic.addresses) {
      const p = parseIpv4Prefix(cidr);
      if (p !== undefined) all.add(p.address);
    }
  for (const text of [...config.networks.map((n) => n.gateway), ...config.vips.map((v) => v.ip)]) {
    const address = parseIpv4(text);
    if (address !== undefined) all.add(address);
  }
  return all;
}
