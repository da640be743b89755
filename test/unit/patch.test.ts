import t from 'tap';
import { create } from '@bufbuild/protobuf';
import { HostSchema, NetworkSchema } from '../../daemon/src/gen/vrouter/v1/networks_pb.js';
import {
  ObjectKind,
  PatchOperationSchema,
  type PatchOperation,
} from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { FirewallRuleSchema, FirewallRuleSetSchema } from '../../daemon/src/gen/vrouter/v1/firewall_pb.js';
import { applyPatch } from '../../daemon/src/config/patch.js';
import { validateConfig } from '../../daemon/src/config/validate.js';
import { labConfig } from '../lab/lab-config.js';

const op = (operation: PatchOperation['operation']) => create(PatchOperationSchema, { operation });
const host = (id: string, ip: string, mac: string) => create(HostSchema, { id, ip, mac, hostname: id });

t.test('put_host adds to its network and leaves the original config untouched', async (t) => {
  const original = labConfig();
  const result = applyPatch(original, [
    op({
      case: 'putHost',
      value: {
        $typeName: 'vrouter.v1.HostInNetwork',
        networkId: 'net-b',
        host: host('vm4', '10.2.0.14', '02:00:00:00:00:14'),
      },
    }),
  ]);
  if (Array.isArray(result)) throw new Error(JSON.stringify(result));
  t.equal(result.config.networks[1]?.hosts.length, 2);
  t.equal(original.networks[1]?.hosts.length, 1, 'copy on write');
  t.equal(result.config.networks[0], original.networks[0], 'untouched networks are shared, not copied');
});

t.test('put_host with an existing id replaces it, and moves it between networks', async (t) => {
  const result = applyPatch(labConfig(), [
    op({
      case: 'putHost',
      value: {
        $typeName: 'vrouter.v1.HostInNetwork',
        networkId: 'net-b',
        host: host('vm1-nic', '10.2.0.21', '52:54:00:aa:00:11'),
      },
    }),
  ]);
  if (Array.isArray(result)) throw new Error(JSON.stringify(result));
  t.same(
    result.config.networks[0]?.hosts.map((h) => h.id),
    ['vm2-nic'],
  );
  t.same(
    result.config.networks[1]?.hosts.map((h) => h.id),
    ['vm3-nic', 'vm1-nic'],
  );
  t.same(validateConfig(result.config), []);
});

t.test('delete is idempotent; an unknown parent is a field error', async (t) => {
  const twice = applyPatch(labConfig(), [
    op({
      case: 'delete',
      value: { $typeName: 'vrouter.v1.ObjectRef', kind: ObjectKind.HOST, id: 'vm2-nic' },
    }),
    op({
      case: 'delete',
      value: { $typeName: 'vrouter.v1.ObjectRef', kind: ObjectKind.HOST, id: 'vm2-nic' },
    }),
    op({
      case: 'delete',
      value: { $typeName: 'vrouter.v1.ObjectRef', kind: ObjectKind.EIP, id: 'never-existed' },
    }),
  ]);
  if (Array.isArray(twice)) throw new Error(JSON.stringify(twice));
  t.same(
    twice.config.networks[0]?.hosts.map((h) => h.id),
    ['vm1-nic'],
  );

  const bad = applyPatch(labConfig(), [
    op({
      case: 'putHost',
      value: {
        $typeName: 'vrouter.v1.HostInNetwork',
        networkId: 'nope',
        host: host('x', '10.1.0.50', '02:00:00:00:00:50'),
      },
    }),
    op({
      case: 'delete',
      value: { $typeName: 'vrouter.v1.ObjectRef', kind: ObjectKind.UNSPECIFIED, id: 'x' },
    }),
    op({
      case: 'delete',
      value: { $typeName: 'vrouter.v1.ObjectRef', kind: ObjectKind.FIREWALL_ATTACHMENT, id: 'pub0-in' },
    }),
    op({ case: undefined }),
  ]);
  t.same(bad, [
    { field: 'operations[0].put_host.network_id', description: 'no network "nope"' },
    { field: 'operations[1].delete.kind', description: 'required' },
    {
      field: 'operations[2].delete.id',
      description: '"pub0-in" is not an attachment id (<nic id>/in or <nic id>/out)',
    },
    { field: 'operations[3].operation', description: 'required: one of put_* or delete' },
  ]);
});

t.test('violations of the patched config are reported at the operation that caused them', async (t) => {
  const result = applyPatch(labConfig(), [
    op({
      case: 'delete',
      value: { $typeName: 'vrouter.v1.ObjectRef', kind: ObjectKind.HOST, id: 'vm1-nic' },
    }),
    op({
      case: 'putHost',
      value: {
        $typeName: 'vrouter.v1.HostInNetwork',
        networkId: 'net-a',
        host: host('vm9', '10.9.0.5', '02:00:00:00:00:99'),
      },
    }),
    op({
      case: 'putNetwork',
      value: create(NetworkSchema, {
        id: 'net-c',
        nicId: 'priv-a',
        cidr: '10.3.0.0/24',
        gateway: '10.3.0.1',
      }),
    }),
  ]);
  if (Array.isArray(result)) throw new Error(JSON.stringify(result));
  t.same(result.relocate(validateConfig(result.config)), [
    { field: 'operations[1].put_host.host.ip', description: '10.9.0.5 is outside 10.1.0.0/24' },
    {
      field: 'operations[2].put_network.nic_id',
      description: 'duplicate NIC "priv-a" (one network per NIC) (also networks[0].nic_id)',
    },
  ]);
});

t.test('a rule belongs to one set: putting it into another moves it', async (t) => {
  const rule = create(FirewallRuleSchema, { id: 'r1', priority: 1001 });
  const start = labConfig();
  start.firewall = {
    $typeName: 'vrouter.v1.Firewall',
    attachments: [],
    ruleSets: [
      create(FirewallRuleSetSchema, { id: 'a', rules: [rule] }),
      create(FirewallRuleSetSchema, { id: 'b' }),
    ],
  };
  const moved = applyPatch(start, [
    op({
      case: 'putFirewallRule',
      value: { $typeName: 'vrouter.v1.FirewallRuleInSet', ruleSetId: 'b', rule },
    }),
  ]);
  if (Array.isArray(moved)) throw new Error(JSON.stringify(moved));
  t.same(
    moved.config.firewall?.ruleSets.map((s) => [s.id, s.rules.map((r) => r.id)]),
    [
      ['a', []],
      ['b', ['r1']],
    ],
  );
});

t.test('deleting a NIC deletes its inbound set and its attachments: the rest stays valid', async (t) => {
  const config = labConfig();
  const nic = config.firewall?.attachments.find((a) => a.nicId !== 'priv-b')?.nicId ?? '';
  const result = applyPatch(config, [
    op({
      case: 'delete',
      value: { $typeName: 'vrouter.v1.ObjectRef', kind: ObjectKind.NETWORK, id: 'net-b' },
    }),
    op({ case: 'delete', value: { $typeName: 'vrouter.v1.ObjectRef', kind: ObjectKind.NIC, id: 'priv-b' } }),
  ]);
  if (Array.isArray(result)) throw new Error(JSON.stringify(result));
  t.notOk(
    result.config.firewall?.ruleSets.some((s) => s.id === 'priv-b.in'),
    'the listed priv-b.in went with its NIC',
  );
  t.same(validateConfig(result.config), [], 'no rule set or attachment is left naming the NIC');
  const attached = applyPatch(config, [
    op({ case: 'delete', value: { $typeName: 'vrouter.v1.ObjectRef', kind: ObjectKind.NIC, id: nic } }),
  ]);
  if (Array.isArray(attached)) throw new Error(JSON.stringify(attached));
  t.notOk(
    attached.config.firewall?.attachments.some((a) => a.nicId === nic),
    `${nic}'s attachments went with it`,
  );
  t.ok(
    config.firewall?.ruleSets.some((s) => s.id === 'priv-b.in'),
    'the original config is untouched',
  );
});
