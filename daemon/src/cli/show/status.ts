// show status: generation, drift checks, the services and the NICs.
import { NicRole } from '../../gen/vrouter/v1/interfaces_pb.js';
import {
  type GetStatusResponse,
  GetStatusResponseSchema,
  ServiceState,
} from '../../gen/vrouter/v1/service_pb.js';
import { type Command, printMessage } from '../command.js';
import { time } from '../format.js';
import { table } from '../table.js';

export const showStatus: Command = async ({ client, json }) => {
  printMessage(GetStatusResponseSchema, await client.getStatus(), json, describeStatus);
  return 0;
};

export function describeStatus(s: GetStatusResponse): string {
  const lines = [
    `generation ${s.generation}${s.appliedAt ? ` applied ${time(s.appliedAt)}` : ' (no config applied yet)'}` +
      (s.applyingGeneration !== undefined ? `, applying ${s.applyingGeneration}` : ''),
    `vrouterd ${s.version}, up since ${time(s.startedAt)}`,
  ];
  if (s.drift) {
    const d = s.drift;
    lines.push(
      `drift checks: ${d.checks} (${d.intervalSeconds > 0 ? `every ${d.intervalSeconds} s` : 'periodic checks off'}), repairs: ${d.repairs}` +
        (d.lastRepairAt ? `, last ${time(d.lastRepairAt)}` : ''),
    );
  }
  if (s.lastError !== '') lines.push(`LAST ERROR: ${s.lastError}`);
  lines.push(
    '',
    table(
      ['SERVICE', 'STATE', 'APPLIES', 'FAILURES', 'REPAIRS', 'DETAIL'],
      s.services.map((svc) => [
        svc.name,
        ServiceState[svc.state],
        String(svc.counters['applies'] ?? 0n),
        String(svc.counters['failures'] ?? 0n),
        String(svc.counters['repairs'] ?? 0n),
        svc.message,
      ]),
    ),
    '',
    table(
      ['NIC', 'ROLE', 'MAC', 'LINK', 'STATE', 'MTU', 'ADDRESSES'],
      s.nics.map((n) => [
        n.id,
        NicRole[n.role].toLowerCase(),
        n.mac,
        n.present ? n.name : '-',
        !n.present ? 'MISSING' : !n.up ? 'down' : n.carrier ? 'up' : 'no-carrier',
        n.present ? String(n.mtu) : '-',
        n.addresses.join(' '),
      ]),
    ),
  );
  return lines.join('\n');
}
