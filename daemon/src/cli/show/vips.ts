// show vips: each VIP, its NIC, whether the kernel holds it and what uses it.
import { type ListVipsResponse, ListVipsResponseSchema } from '../../gen/vrouter/v1/service_pb.js';
import { type Command, printMessage } from '../command.js';
import { table } from '../table.js';

export const showVips: Command = async ({ client, json }) => {
  printMessage(ListVipsResponseSchema, await client.listVips(), json, describeVips);
  return 0;
};

export function describeVips(r: ListVipsResponse): string {
  return table(
    ['VIP', 'IP', 'NIC', 'LINK', 'PRESENT', 'USED BY', 'DESCRIPTION'],
    r.vips.map((s) => [
      s.vip?.id ?? '',
      s.vip?.ip ?? '',
      s.vip?.nicId ?? '',
      s.link || '-',
      (s.present ? 'yes' : 'MISSING') + (s.nicAddress ? ' (nic address)' : ''),
      s.usedBy.join(' ') || '-',
      s.vip?.description ?? '',
    ]),
  );
}
