// Configs of the NAT benchmarks: the lab config with network A widened to a /16 and the public NIC
// given a second subnet (100.64.0.0/17) that holds thousands of VIPs: N EIPs on N VIPs, N port forwards
// on N/100 VIPs (100 single ports each, shifted to port 22 of a VM). The last EIP maps to vm1, the
// one real VM behind it, so traffic can go through it.
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import { TransportProtocol } from '../../daemon/src/gen/vrouter/v1/common_pb.js';
import { EipSchema, PortForwardSchema, VipSchema } from '../../daemon/src/gen/vrouter/v1/nat_pb.js';
import { formatIpv4, parseIpv4 } from '../../daemon/src/config/net.js';
import { labConfig } from '../lab/lab-config.js';

export const BENCH_SUBNET = '100.64.0.1/17';
export const INTERNET_IN_BENCH_SUBNET = '100.64.127.254/17';
const VIP_BASE = parseIpv4('100.64.1.0') ?? 0;
const FORWARD_VIP_BASE = parseIpv4('100.64.100.0') ?? 0;
const PRIVATE_BASE = parseIpv4('10.1.1.0') ?? 0;

export function eipVip(i: number): string {
  return formatIpv4(VIP_BASE + i);
}

/** The lab config with `vips` spare VIPs, `eips` EIPs and `forwards` port forwards. */
export function benchConfig(eips: number, forwards: number, spareVips = 0): RouterConfig {
  const config = labConfig();
  const pub = config.nics.find((n) => n.id === 'pub0');
  const netA = config.networks.find((n) => n.id === 'net-a');
  if (pub === undefined || netA === undefined) throw new Error('the lab config changed');
  pub.addresses = [...pub.addresses, BENCH_SUBNET];
  netA.cidr = '10.1.0.0/16';
  config.vips = [];
  config.eips = [];
  config.portForwards = [];
  config.snats = [];
  config.routes = [];
  for (let i = 0; i < eips + spareVips; i++)
    config.vips.push(create(VipSchema, { id: `v${i}`, ip: eipVip(i), nicId: 'pub0' }));
  for (let i = 0; i < eips; i++)
    config.eips.push(
      create(EipSchema, {
        id: `e${i}`,
        vipId: `v${i}`,
        privateIp: i === eips - 1 ? '10.1.0.11' : formatIpv4(PRIVATE_BASE + i),
      }),
    );
  for (let v = 0; v * 100 < forwards; v++)
    config.vips.push(
      create(VipSchema, { id: `vf${v}`, ip: formatIpv4(FORWARD_VIP_BASE + v), nicId: 'pub0' }),
    );
  for (let i = 0; i < forwards; i++)
    config.portForwards.push(
      create(PortForwardSchema, {
        id: `pf${i}`,
        vipId: `vf${Math.floor(i / 100)}`,
        protocol: TransportProtocol.TCP,
        vipPorts: { start: 10000 + (i % 100) },
        privateIp: formatIpv4(PRIVATE_BASE + 20000 + i),
        privatePorts: { start: 22 },
      }),
    );
  return config;
}
