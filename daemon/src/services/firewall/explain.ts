// ExplainFirewall: which rule of the rule model decides a packet crossing a NIC in a direction, and
// why. The model is the one the committed ruleset was compiled from (Rendered.firewall).
import { create } from '@bufbuild/protobuf';
import {
  ConnectionState,
  Direction,
  FirewallAction,
  FirewallProtocol,
  type ExplainFirewallRequest,
  type ExplainFirewallResponse,
  ExplainFirewallResponseSchema,
} from '../../gen/vrouter/v1/firewall_pb.js';
import { NicRole } from '../../gen/vrouter/v1/interfaces_pb.js';
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { checkIpv4 } from '../../config/fields.js';
import { type FieldViolation, Violations } from '../../config/violations.js';
import { type Packet, decide } from './evaluate.js';
import { type FirewallPlan, IPPROTO, attachmentOf, inboundSetId, ruleSetOf } from './model.js';
import { STATES } from './plan.js';
import { type RuleCounters, ruleCounter, ruleStatus } from './status.js';

const PROTOCOLS: Partial<Record<FirewallProtocol, number>> = {
  [FirewallProtocol.TCP]: IPPROTO.tcp,
  [FirewallProtocol.UDP]: IPPROTO.udp,
  [FirewallProtocol.ICMP]: IPPROTO.icmp,
};

export function explainFirewall(
  config: RouterConfig,
  plan: FirewallPlan,
  counters: RuleCounters,
  request: ExplainFirewallRequest,
): ExplainFirewallResponse | FieldViolation[] {
  const v = new Violations();
  const nic = config.nics.find((n) => n.id === request.nicId);
  if (request.nicId === '') v.add('nic_id', 'required');
  else if (nic === undefined) v.add('nic_id', `no NIC with id "${request.nicId}"`);
  const direction =
    request.direction === Direction.IN ? 'in' : request.direction === Direction.OUT ? 'out' : undefined;
  if (direction === undefined) v.add('direction', 'required: in or out');
  const packet = parsePacket(request, plan, v);
  if (!v.isEmpty || packet === undefined || direction === undefined || nic === undefined) return v.items;

  const setId = direction === 'in' ? inboundSetId(nic.id) : attachmentOf(plan, nic.id, 'out')?.ruleSetId;
  const set = setId === undefined ? undefined : ruleSetOf(plan, setId);
  if (set === undefined)
    return create(ExplainFirewallResponseSchema, {
      verdict: FirewallAction.ACCEPT,
      reason: `no outbound rule set is attached to ${nic.id} (${NicRole[nic.role].toLowerCase()}): nothing is filtered`,
      toRouter: packet.toRouter,
    });
  const decision = decide(set, packet);
  if (decision === undefined)
    return create(ExplainFirewallResponseSchema, {
      ruleSetId: set.id,
      verdict: FirewallAction.ACCEPT,
      reason: 'no rule matches; the packet passes',
      toRouter: packet.toRouter,
    });
  const rule = ruleStatus(decision.rule, ruleCounter(counters, decision.rule));
  return create(ExplainFirewallResponseSchema, {
    ruleSetId: set.id,
    verdict: rule.action,
    rule,
    reason: `${decision.rule.system ? 'system' : 'custom'} rule ${decision.rule.id} (priority ${decision.rule.priority}) matches: ${decision.reasons.join(', ')}`,
    toRouter: packet.toRouter,
  });
}

function parsePacket(request: ExplainFirewallRequest, plan: FirewallPlan, v: Violations): Packet | undefined {
  const p = request.packet;
  if (p === undefined) {
    v.add('packet', 'required');
    return undefined;
  }
  const source = checkIpv4(v, 'packet.source', p.source);
  const destination = checkIpv4(v, 'packet.destination', p.destination);
  const protocol = PROTOCOLS[p.protocol];
  if (protocol === undefined)
    v.add('packet.protocol', 'required: tcp, udp or icmp (a packet has one protocol)');
  const ported = protocol === IPPROTO.tcp || protocol === IPPROTO.udp;
  for (const [field, port] of [
    ['source_port', p.sourcePort],
    ['destination_port', p.destinationPort],
  ] as const)
    if (ported && (port < 1 || port > 65535)) v.add(`packet.${field}`, `${port} is out of range 1-65535`);
  if (p.icmpType !== undefined && p.icmpType > 255)
    v.add('packet.icmp_type', `${p.icmpType} is out of range 0-255`);
  if (p.icmpCode !== undefined && p.icmpCode > 255)
    v.add('packet.icmp_code', `${p.icmpCode} is out of range 0-255`);
  if (!(p.state in ConnectionState)) v.add('packet.state', `unknown state ${p.state}`);
  if (source === undefined || destination === undefined || protocol === undefined || !v.isEmpty)
    return undefined;
  return {
    source,
    destination,
    protocol,
    sourcePort: ported ? p.sourcePort : 0,
    destinationPort: ported ? p.destinationPort : 0,
    icmpType: p.icmpType ?? 8,
    icmpCode: p.icmpCode ?? 0,
    state: p.state === ConnectionState.UNSPECIFIED ? 'new' : STATES[p.state],
    dnat: p.dnat,
    ipsec: false,
    toRouter: plan.isRouterAddress(destination),
  };
}
