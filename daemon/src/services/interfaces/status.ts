// The NICs of the config as the kernel shows them, for GetStatus.
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { type NicStatus, NicStatusSchema } from '../../gen/vrouter/v1/service_pb.js';
import { normalizeMac } from '../../config/net.js';
import type { Netlink } from '../../drivers/netlink.js';

export async function nicStatuses(config: RouterConfig, netlink: Netlink): Promise<NicStatus[]> {
  const [links, addresses] = await Promise.all([netlink.links(), netlink.addresses()]);
  return config.nics.map((nic) => {
    const mac = normalizeMac(nic.mac) ?? nic.mac;
    const link = links.filter((l) => l.mac === mac).sort((a, b) => a.index - b.index)[0];
    if (link === undefined)
      return create(NicStatusSchema, { id: nic.id, mac, role: nic.role, present: false });
    return create(NicStatusSchema, {
      id: nic.id,
      mac,
      name: link.name,
      role: nic.role,
      present: true,
      up: link.up,
      carrier: link.carrier,
      mtu: link.mtu,
      addresses: addresses.filter((a) => a.index === link.index && a.global).map((a) => a.cidr),
    });
  });
}
