// The NAT lab scenario's addresses and config (the lab config plus VIPs, SNAT, EIPs, port forwards
// and routes), also rendered by unit tests.
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import { TransportProtocol } from '../../daemon/src/gen/vrouter/v1/common_pb.js';
import {
  EipSchema,
  PortForwardSchema,
  SnatSchema,
  VipSchema,
} from '../../daemon/src/gen/vrouter/v1/nat_pb.js';
import { RouteSchema } from '../../daemon/src/gen/vrouter/v1/routing_pb.js';
import type { Facts } from '../../daemon/src/reconcile/rendered.js';
import { labConfig } from './lab-config.js';

export const IP = {
  systemVip: '203.0.113.2',
  eip: '203.0.113.10',
  forwards: '203.0.113.20',
  snatB: '203.0.113.30',
  announced: '203.0.113.40',
  internet: '203.0.113.1',
  behindVm3: '192.168.50.1',
} as const;

/** The lab router's NICs as the kernel names them (by MAC), for renders outside a lab. */
export const LAB_LINK_FACTS: Facts = {
  links: new Map([
    ['52:54:00:00:00:05', { index: 2, name: 'ens5' }],
    ['52:54:00:00:00:03', { index: 3, name: 'ens3' }],
    ['52:54:00:00:00:04', { index: 4, name: 'ens4' }],
    ['52:54:00:00:00:06', { index: 5, name: 'ens6' }],
  ]),
};

export function natConfig(): RouterConfig {
  const config = labConfig();
  config.vips = [
    create(VipSchema, { id: 'v-eip', ip: IP.eip, nicId: 'pub0', description: 'EIP of vm1' }),
    create(VipSchema, { id: 'v-pf', ip: IP.forwards, nicId: 'pub0' }),
    create(VipSchema, { id: 'v-snat-b', ip: IP.snatB, nicId: 'pub0' }),
    create(VipSchema, { id: 'v-system', ip: IP.systemVip, nicId: 'pub0', description: 'the system VIP' }),
  ];
  config.eips = [create(EipSchema, { id: 'e-vm1', vipId: 'v-eip', privateIp: '10.1.0.11' })];
  const tcp = TransportProtocol.TCP;
  config.portForwards = [
    create(PortForwardSchema, {
      id: 'pf-range',
      vipId: 'v-pf',
      protocol: tcp,
      vipPorts: { start: 8000, end: 8002 },
      privateIp: '10.1.0.12',
      privatePorts: { start: 9000, end: 9002 },
    }),
    create(PortForwardSchema, {
      id: 'pf-same',
      vipId: 'v-pf',
      protocol: tcp,
      vipPorts: { start: 7100, end: 7101 },
      privateIp: '10.1.0.12',
    }),
    create(PortForwardSchema, {
      id: 'pf-udp',
      vipId: 'v-pf',
      protocol: TransportProtocol.UDP,
      vipPorts: { start: 5353 },
      privateIp: '10.2.0.13',
      privatePorts: { start: 5000 },
    }),
    create(PortForwardSchema, {
      id: 'pf-closed',
      vipId: 'v-pf',
      protocol: tcp,
      vipPorts: { start: 2222 },
      privateIp: '10.2.0.13',
      privatePorts: { start: 6000 },
      allowedSourceCidrs: ['198.51.100.0/24'],
    }),
    create(PortForwardSchema, {
      id: 'pf-open',
      vipId: 'v-pf',
      protocol: tcp,
      vipPorts: { start: 2223 },
      privateIp: '10.2.0.13',
      privatePorts: { start: 6000 },
      allowedSourceCidrs: ['198.51.100.0/24', '203.0.113.0/24'],
    }),
  ];
  config.snats = [
    create(SnatSchema, { id: 's-a', networkId: 'net-a' }),
    create(SnatSchema, { id: 's-b', networkId: 'net-b', vipId: 'v-snat-b' }),
  ];
  config.routes = [
    create(RouteSchema, { id: 'r-behind-vm3', destination: '192.168.50.0/24', nextHop: '10.2.0.13' }),
    create(RouteSchema, { id: 'r-black', destination: '192.168.60.0/24', blackhole: true }),
  ];
  return config;
}
