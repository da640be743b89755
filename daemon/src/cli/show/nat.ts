// show nat: EIPs, port forwards and SNAT with their packet/byte counters.
import { TransportProtocol } from '../../gen/vrouter/v1/common_pb.js';
import {
  type GetNatStatusResponse,
  GetNatStatusResponseSchema,
  type NatCounters,
} from '../../gen/vrouter/v1/service_pb.js';
import { type Command, printMessage } from '../command.js';
import { table } from '../table.js';

export const showNat: Command = async ({ client, json }) => {
  printMessage(GetNatStatusResponseSchema, await client.getNatStatus(), json, describeNat);
  return 0;
};

export function describeNat(r: GetNatStatusResponse): string {
  const traffic = (c: NatCounters | undefined) => `${c?.packets ?? 0n} pkts, ${c?.bytes ?? 0n} bytes`;
  const range = (p: { start: number; end: number } | undefined) =>
    p === undefined || p.end === 0 || p.end === p.start ? String(p?.start ?? '') : `${p.start}-${p.end}`;
  return [
    'EIPs',
    table(
      ['EIP', 'VIP', 'PRIVATE IP', 'TRAFFIC', 'DESCRIPTION'],
      r.eips.map((e) => [
        e.eip?.id ?? '',
        e.vipIp,
        e.eip?.privateIp ?? '',
        traffic(e.counters),
        e.eip?.description ?? '',
      ]),
    ),
    '',
    'Port forwards',
    table(
      ['FORWARD', 'VIP', 'PORTS', 'TO', 'ALLOWED SOURCES', 'TRAFFIC', 'DESCRIPTION'],
      r.portForwards.map((f) => {
        const pf = f.portForward;
        const target = pf?.privatePorts?.start ? pf.privatePorts : pf?.vipPorts;
        return [
          pf?.id ?? '',
          f.vipIp,
          `${pf?.protocol === TransportProtocol.UDP ? 'udp' : 'tcp'} ${range(pf?.vipPorts)}`,
          `${pf?.privateIp ?? ''}:${range(target)}`,
          pf?.allowedSourceCidrs.join(' ') || 'any',
          traffic(f.counters),
          pf?.description ?? '',
        ];
      }),
    ),
    `port forward packets refused (source not allowed): ${r.portForwardRefusedPackets}`,
    '',
    'SNAT',
    table(
      ['SNAT', 'NETWORK', 'CIDR', 'SOURCE', 'TRAFFIC'],
      r.snats.map((s) => [
        s.snat?.id ?? '',
        s.snat?.networkId ?? '',
        s.networkCidr,
        s.vipIp,
        traffic(s.counters),
      ]),
    ),
  ].join('\n');
}
