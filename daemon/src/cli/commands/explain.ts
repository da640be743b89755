// explain: which firewall rule decides a packet described on the command line, and why.
import { create, toJsonString } from '@bufbuild/protobuf';
import {
  ConnectionState,
  Direction,
  ExplainFirewallRequestSchema,
  type ExplainFirewallResponse,
  ExplainFirewallResponseSchema,
  FirewallAction,
  FirewallProtocol,
} from '../../gen/vrouter/v1/firewall_pb.js';
import { type Command, UsageError, print } from '../command.js';

export const explain: Command = async ({ client, options, json }) => {
  const response = await client.explainFirewall(explainRequest(options));
  print(json ? toJsonString(ExplainFirewallResponseSchema, response) : describeExplanation(response));
  return 0;
};

function explainRequest(values: Record<string, string | boolean | undefined>) {
  const text = (name: string) => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const number = (name: string) => {
    const value = text(name);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new UsageError(`--${name} ${value}: expected a number`);
    return Number(value);
  };
  const choice = <V extends number>(name: string, e: Record<string, string | V>, unset: V): V => {
    const value = text(name);
    if (value === undefined) return unset;
    const found = e[value.toUpperCase()];
    if (typeof found !== 'number') throw new UsageError(`--${name} ${value}: unknown`);
    return found;
  };
  const nicId = text('nic');
  if (nicId === undefined) throw new UsageError('explain needs --nic');
  const icmpType = number('icmp-type');
  const icmpCode = number('icmp-code');
  const protocol = choice('protocol', FirewallProtocol, FirewallProtocol.UNSPECIFIED);
  const ports = { sourcePort: number('sport'), destinationPort: number('dport') };
  const withPorts = protocol === FirewallProtocol.TCP || protocol === FirewallProtocol.UDP;
  if (withPorts && (ports.sourcePort === undefined || ports.destinationPort === undefined))
    throw new UsageError(`explain --protocol ${text('protocol') ?? ''} needs --sport and --dport`);
  if (!withPorts && (ports.sourcePort !== undefined || ports.destinationPort !== undefined))
    throw new UsageError('--sport and --dport are for --protocol tcp or udp');
  return create(ExplainFirewallRequestSchema, {
    nicId,
    direction: choice('direction', Direction, Direction.UNSPECIFIED),
    packet: {
      source: text('source') ?? '',
      destination: text('destination') ?? '',
      protocol,
      sourcePort: ports.sourcePort ?? 0,
      destinationPort: ports.destinationPort ?? 0,
      ...(icmpType !== undefined && { icmpType }),
      ...(icmpCode !== undefined && { icmpCode }),
      state: choice('state', ConnectionState, ConnectionState.UNSPECIFIED),
      dnat: values['dnat'] === true,
    },
  });
}

export function describeExplanation(e: ExplainFirewallResponse): string {
  const lines = [`verdict: ${FirewallAction[e.verdict].toLowerCase()}`];
  if (e.ruleSetId !== '') lines.push(`rule set: ${e.ruleSetId}`);
  if (e.rule !== undefined)
    lines.push(
      `rule: ${e.rule.id} (priority ${e.rule.priority}, ${e.rule.system ? 'system' : 'custom'}) ${e.rule.match}`,
    );
  lines.push(`why: ${e.reason}`);
  if (e.toRouter) lines.push('the packet is addressed to the router itself');
  return lines.join('\n');
}
