// Validation of VIPs, SNAT, EIPs, port forwards and routes: every refusal names its field path; the
// incremental check of a Patch never accepts what the full check refuses.
import t from 'tap';
import fc from 'fast-check';
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import { PortRangeSchema, TransportProtocol } from '../../daemon/src/gen/vrouter/v1/common_pb.js';
import {
  EipSchema,
  PortForwardSchema,
  SnatSchema,
  VipSchema,
} from '../../daemon/src/gen/vrouter/v1/nat_pb.js';
import { RouteSchema } from '../../daemon/src/gen/vrouter/v1/routing_pb.js';
import {
  ObjectKind,
  type PatchOperation,
  PatchOperationSchema,
} from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { applyPatch } from '../../daemon/src/config/patch.js';
import { validateConfig } from '../../daemon/src/config/validate.js';
import { forgetValidated } from '../../daemon/src/services/nat/incremental.js';
import { natConfig } from '../lab/nat-helpers.js';

const fields = (config: RouterConfig) => validateConfig(config).map((v) => v.field);
/** A change of one object of a config, for the table of refusals. */
const change =
  <T extends object>(pick: (c: RouterConfig) => T | undefined, values: Partial<T>) =>
  (c: RouterConfig) => {
    const target = pick(c);
    if (target !== undefined) Object.assign(target, values);
  };

void t.test('the lab NAT config is valid', (t) => {
  t.same(validateConfig(natConfig()), []);
  t.end();
});

void t.test('refusals carry field paths', (t) => {
  const cases: [string, (c: RouterConfig) => void, string[]][] = [
    [
      'VIP outside the public CIDR',
      change((c) => c.vips[0], { ip: '198.51.100.7' }),
      ['vips[0].ip', 'eips[0].vip_id'],
    ],
    [
      'VIP on a host address',
      change((c) => c.vips[0], { ip: '10.1.0.11', nicId: 'priv-a' }),
      ['vips[0].ip', 'eips[0].vip_id'],
    ],
    [
      "VIP on a network's gateway (its DNS and DHCP ports are the router's)",
      change((c) => c.vips[1], { ip: '10.1.0.1', nicId: 'priv-a' }),
      ['vips[1].ip', ...[0, 1, 2, 3, 4].map((i) => `port_forwards[${i}].vip_id`)],
    ],
    [
      "VIP on another private NIC's gateway",
      change((c) => c.vips[2], { ip: '10.2.0.1', nicId: 'priv-b' }),
      ['vips[2].ip', 'snats[1].vip_id'],
    ],
    [
      "VIP on a network's broadcast address",
      change((c) => c.vips[2], { ip: '10.2.0.255', nicId: 'priv-b' }),
      ['vips[2].ip', 'snats[1].vip_id'],
    ],
    [
      'VIP on the management NIC',
      change((c) => c.vips[0], { nicId: 'mgmt0' }),
      ['vips[0].nic_id', 'eips[0].vip_id'],
    ],
    [
      'two VIPs, one address',
      change((c) => c.vips[1], { ip: '203.0.113.10' }),
      [
        'vips[1].ip',
        'port_forwards[0].vip_id',
        'port_forwards[1].vip_id',
        'port_forwards[2].vip_id',
        'port_forwards[3].vip_id',
        'port_forwards[4].vip_id',
      ],
    ],
    [
      'EIP outside every network',
      change((c) => c.eips[0], { privateIp: '10.9.9.9' }),
      ['eips[0].private_ip'],
    ],
    ['EIP on the gateway', change((c) => c.eips[0], { privateIp: '10.1.0.1' }), ['eips[0].private_ip']],
    ['EIP on the system VIP', change((c) => c.eips[0], { vipId: 'v-system' }), ['eips[0].vip_id']],
    [
      'port forward on an EIP VIP',
      change((c) => c.portForwards[0], { vipId: 'v-eip' }),
      ['port_forwards[0].vip_id'],
    ],
    ['SNAT on an EIP VIP', change((c) => c.snats[1], { vipId: 'v-eip' }), ['snats[1].vip_id']],
    [
      'overlapping forwards',
      change((c) => c.portForwards[1], { vipPorts: create(PortRangeSchema, { start: 8002, end: 8010 }) }),
      ['port_forwards[1].vip_ports'],
    ],
    [
      'private range of another length',
      change((c) => c.portForwards[0], { privatePorts: create(PortRangeSchema, { start: 9000, end: 9005 }) }),
      ['port_forwards[0].private_ports'],
    ],
    [
      'port out of range',
      change((c) => c.portForwards[2], { vipPorts: create(PortRangeSchema, { start: 70000, end: 0 }) }),
      ['port_forwards[2].vip_ports.start'],
    ],
    [
      'no protocol',
      change((c) => c.portForwards[2], { protocol: TransportProtocol.UNSPECIFIED }),
      ['port_forwards[2].protocol'],
    ],
    [
      'bad source CIDR',
      change((c) => c.portForwards[3], { allowedSourceCidrs: ['198.51.100.1/24'] }),
      ['port_forwards[3].allowed_source_cidrs[0]'],
    ],
    ['two SNATs for one network', change((c) => c.snats[1], { networkId: 'net-a' }), ['snats[1].network_id']],
    ['route next hop off-link', change((c) => c.routes[0], { nextHop: '192.0.2.1' }), ['routes[0].next_hop']],
    [
      'route next hop on a VIP',
      change((c) => c.routes[0], { nextHop: '203.0.113.20' }),
      ['routes[0].next_hop'],
    ],
    [
      'route next hop on a gateway',
      change((c) => c.routes[0], { nextHop: '10.2.0.1' }),
      ['routes[0].next_hop'],
    ],
    [
      "route next hop on a subnet's broadcast address",
      change((c) => c.routes[0], { nextHop: '10.1.0.255' }),
      ['routes[0].next_hop'],
    ],
    [
      "route next hop on a subnet's network address",
      change((c) => c.routes[0], { nextHop: '10.2.0.0' }),
      ['routes[0].next_hop'],
    ],
    ...['127.0.0.0/8', '127.1.0.0/16', '224.0.0.0/4', '239.1.2.0/24', '0.0.0.0/8', '255.255.255.255/32'].map(
      (destination): [string, (c: RouterConfig) => void, string[]] => [
        `route to ${destination}`,
        change((c) => c.routes[0], { destination }),
        ['routes[0].destination'],
      ],
    ),
    ['a default route', change((c) => c.routes[0], { destination: '0.0.0.0/0' }), []],
    [
      'blackhole with a next hop',
      change((c) => c.routes[1], { nextHop: '10.2.0.13' }),
      ['routes[1].next_hop'],
    ],
    [
      'route over a connected subnet',
      change((c) => c.routes[0], { destination: '10.1.0.0/24' }),
      ['routes[0].destination'],
    ],
    [
      'duplicate route',
      (c) =>
        c.routes.push(
          create(RouteSchema, { id: 'r3', destination: '192.168.50.0/24', nextHop: '10.2.0.14' }),
        ),
      ['routes[2].destination'],
    ],
  ];
  for (const [name, change, expected] of cases) {
    const config = natConfig();
    change(config);
    t.same(fields(config).sort(), [...expected].sort(), name);
  }
  t.end();
});

/** Random Patches over the NAT sections, valid or not. */
const operation = fc.oneof(
  fc
    .record({
      n: fc.integer({ min: 0, max: 6 }),
      host: fc.integer({ min: 2, max: 30 }),
      nic: fc.constantFrom('pub0', 'priv-a', 'mgmt0'),
    })
    .map(({ n, host, nic }) =>
      create(PatchOperationSchema, {
        operation: {
          case: 'putVip',
          value: create(VipSchema, {
            id: `v${n}`,
            ip: nic === 'priv-a' ? `10.1.0.${host + 100}` : `203.0.113.${host + 100}`,
            nicId: nic,
          }),
        },
      }),
    ),
  fc
    .record({
      n: fc.integer({ min: 0, max: 6 }),
      vip: fc.integer({ min: 0, max: 6 }),
      ip: fc.integer({ min: 20, max: 26 }),
    })
    .map(({ n, vip, ip }) =>
      create(PatchOperationSchema, {
        operation: {
          case: 'putEip',
          value: create(EipSchema, { id: `e${n}`, vipId: `v${vip}`, privateIp: `10.1.0.${ip}` }),
        },
      }),
    ),
  fc
    .record({
      n: fc.integer({ min: 0, max: 6 }),
      vip: fc.integer({ min: 0, max: 6 }),
      port: fc.integer({ min: 1, max: 8 }),
      len: fc.integer({ min: 0, max: 3 }),
    })
    .map(({ n, vip, port, len }) =>
      create(PatchOperationSchema, {
        operation: {
          case: 'putPortForward',
          value: create(PortForwardSchema, {
            id: `p${n}`,
            vipId: `v${vip}`,
            protocol: TransportProtocol.TCP,
            vipPorts: { start: port, end: port + len },
            privateIp: '10.1.0.30',
          }),
        },
      }),
    ),
  fc
    .record({
      kind: fc.constantFrom(ObjectKind.VIP, ObjectKind.EIP, ObjectKind.PORT_FORWARD),
      n: fc.integer({ min: 0, max: 6 }),
    })
    .map(({ kind, n }) =>
      create(PatchOperationSchema, {
        operation: {
          case: 'delete',
          value: { kind, id: `${kind === ObjectKind.VIP ? 'v' : kind === ObjectKind.EIP ? 'e' : 'p'}${n}` },
        },
      }),
    ),
);

void t.test('incremental validation agrees with a fresh full validation', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.array(operation, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 25 }),
      (patches) => {
        let config = natConfig();
        validateConfig(config);
        for (const ops of patches) {
          const patched = applyPatch(config, ops);
          if (Array.isArray(patched)) continue;
          const incremental = validateConfig(patched.config).length === 0;
          forgetValidated();
          const full = validateConfig(patched.config).length === 0;
          if (incremental !== full) return false;
          if (full) config = patched.config;
          else validateConfig(config);
        }
        return true;
      },
    ),
    { numRuns: 300 },
  );
  t.pass('300 random Patch sequences');
  t.end();
});

void t.test('a conflict between objects is reported at the one the Patch puts', (t) => {
  /** The fields a Patch of these operations on the lab NAT config is refused at. */
  const refusedAt = (...operations: PatchOperation['operation'][]) => {
    const patched = applyPatch(
      natConfig(),
      operations.map((operation) => create(PatchOperationSchema, { operation })),
    );
    if (Array.isArray(patched)) return patched.map((v) => v.field);
    return patched
      .relocate(validateConfig(patched.config))
      .map((v) => v.field)
      .sort();
  };
  t.same(
    refusedAt({
      case: 'putEip',
      value: create(EipSchema, { id: 'e-x', vipId: 'v-pf', privateIp: '10.1.0.20' }),
    }),
    ['operations[0].put_eip.vip_id'],
    "an EIP on the forwards' VIP: once, not at the five forwards",
  );
  t.same(
    refusedAt({
      case: 'putEip',
      value: create(EipSchema, { id: 'e-x', vipId: 'v-pf', privateIp: '10.1.0.11' }),
    }),
    ['operations[0].put_eip.private_ip'],
    "an EIP on e-vm1's VM: the EIP goes no further, so nothing lands at the forwards",
  );
  t.same(
    refusedAt({
      case: 'putPortForward',
      value: create(PortForwardSchema, {
        id: 'pf-x',
        vipId: 'v-eip',
        protocol: TransportProtocol.TCP,
        vipPorts: { start: 80 },
        privateIp: '10.1.0.12',
      }),
    }),
    ['operations[0].put_port_forward.vip_id'],
    "a forward on the EIP's VIP",
  );
  t.same(
    refusedAt({
      case: 'putPortForward',
      value: create(PortForwardSchema, {
        id: 'pf-range',
        vipId: 'v-pf',
        protocol: TransportProtocol.TCP,
        vipPorts: { start: 7100, end: 7102 },
        privateIp: '10.1.0.12',
      }),
    }),
    ['operations[0].put_port_forward.vip_ports'],
    'a forward replaced in place to overlap one listed after it',
  );
  t.same(
    refusedAt({ case: 'putSnat', value: create(SnatSchema, { id: 's-a', networkId: 'net-b' }) }),
    ['operations[0].put_snat.network_id'],
    'a SNAT replaced in place onto the network of one listed after it',
  );
  t.same(
    refusedAt({
      case: 'putEip',
      value: create(EipSchema, { id: 'e-x', vipId: 'v-snat-b', privateIp: '10.1.0.20' }),
    }),
    ['operations[0].put_eip.vip_id'],
    "an EIP on a SNAT's VIP",
  );
  t.same(
    refusedAt({ case: 'putVip', value: create(VipSchema, { id: 'v-x', ip: '10.1.0.1', nicId: 'priv-a' }) }),
    ['operations[0].put_vip.ip'],
    "a VIP on a network's gateway",
  );
  t.end();
});
