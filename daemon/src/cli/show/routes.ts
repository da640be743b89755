// show routes: the static routes (installed or not) and the kernel's main table.
import { type ListRoutesResponse, ListRoutesResponseSchema } from '../../gen/vrouter/v1/service_pb.js';
import { type Command, printMessage } from '../command.js';
import { table } from '../table.js';

export const showRoutes: Command = async ({ client, json }) => {
  printMessage(ListRoutesResponseSchema, await client.listRoutes(), json, describeRoutes);
  return 0;
};

export function describeRoutes(r: ListRoutesResponse): string {
  return [
    'Static routes',
    table(
      ['ROUTE', 'DESTINATION', 'NEXT HOP', 'INSTALLED', 'METRIC', 'DESCRIPTION'],
      r.routes.map((s) => [
        s.route?.id ?? '',
        s.route?.destination ?? '',
        s.route?.blackhole === true ? 'blackhole' : `via ${s.route?.nextHop ?? ''}`,
        s.installed ? 'yes' : 'NO',
        String(s.route?.metric ?? 0),
        s.route?.description ?? '',
      ]),
    ),
    '',
    'Main table',
    table(
      ['DESTINATION', 'TYPE', 'GATEWAY', 'LINK', 'PROTOCOL', 'METRIC', 'SOURCE'],
      r.kernelRoutes.map((k) => [
        k.destination,
        k.type,
        k.gateway || '-',
        k.link || '-',
        k.protocol,
        String(k.metric),
        k.source || '-',
      ]),
    ),
  ].join('\n');
}
