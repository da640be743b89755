// show dhcp leases: the leases the router holds (hosts and pool clients), after the DHCP server's
// counters.
import { toJsonString } from '@bufbuild/protobuf';
import {
  type DhcpLease,
  DhcpLeaseKind,
  ListDhcpLeasesResponseSchema,
} from '../../gen/vrouter/v1/service_pb.js';
import { type Command, print } from '../command.js';
import { time } from '../format.js';
import { table } from '../table.js';

export const showDhcpLeases: Command = async ({ client, options, json }) => {
  const response = await client.listDhcpLeases(options.network ?? '');
  if (json) print(toJsonString(ListDhcpLeasesResponseSchema, response, { prettySpaces: 2 }));
  else {
    const status = await client.getStatus();
    const counters = status.services.find((s) => s.name === 'dhcp')?.counters ?? {};
    print(describeLeases(response.leases, counters));
  }
  return 0;
};

/** The leases, after a line of the server's counters since it started. */
export function describeLeases(leases: readonly DhcpLease[], counters: Record<string, bigint>): string {
  const count = (name: string) => String(counters[name] ?? 0n);
  const totals = ['offers', 'acks', 'naks', 'releases', 'declines', 'drops'].map((n) => `${n} ${count(n)}`);
  const rows = leases.map((l) => [
    l.networkId,
    l.ip,
    l.mac,
    l.hostname || '-',
    DhcpLeaseKind[l.kind].toLowerCase(),
    time(l.expiresAt),
    l.clientId || '-',
  ]);
  return `${leases.length} leases; since start: ${totals.join(', ')}\n${table(['NETWORK', 'IP', 'MAC', 'HOSTNAME', 'KIND', 'EXPIRES', 'CLIENT ID'], rows)}`;
}
