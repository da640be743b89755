// Which conntrack flows a NAT change clears: the SNAT mappings of the plan (a SNAT's VIP changed or
// removed, the system VIP moved) and the selector that finds a SNAT's flows among the dumped entries.
import t from 'tap';
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import { ObjectKind, PatchOperationSchema } from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { SnatSchema } from '../../daemon/src/gen/vrouter/v1/nat_pb.js';
import { applyPatch } from '../../daemon/src/config/patch.js';
import { type FlowSelector, type Tuple, matches } from '../../daemon/src/drivers/conntrack.js';
import { render } from '../../daemon/src/reconcile/rendered.js';
import { changedMappings } from '../../daemon/src/services/nat/step.js';
import { LAB_LINK_FACTS, natConfig } from '../lab/nat-helpers.js';

const facts = LAB_LINK_FACTS;

/** The targets of the mappings cleared when `before` becomes `after` (rendered in that order). */
function cleared(before: RouterConfig, after: RouterConfig) {
  const previous = render(before, facts).nat;
  return changedMappings(render(after, facts).nat, previous).map((m) => m.target);
}

function patched(
  config: RouterConfig,
  ...operations: ReturnType<typeof create<typeof PatchOperationSchema>>[]
) {
  const result = applyPatch(config, operations);
  if (Array.isArray(result)) throw new Error(JSON.stringify(result));
  return result.config;
}

const snatA = { vip: '203.0.113.2', destination: 'reply', source: '10.1.0.0/24' };

void t.test("a SNAT's flows are cleared when its VIP changes or it goes", (t) => {
  const config = natConfig();
  const moved = patched(
    config,
    create(PatchOperationSchema, {
      operation: {
        case: 'putSnat',
        value: create(SnatSchema, { id: 's-a', networkId: 'net-a', vipId: 'v-snat-b' }),
      },
    }),
  );
  t.same(cleared(config, moved), [snatA], "to another VIP: the old address's flows of net-a");
  const back = patched(
    moved,
    create(PatchOperationSchema, {
      operation: { case: 'putSnat', value: create(SnatSchema, { id: 's-a', networkId: 'net-a' }) },
    }),
  );
  t.same(
    cleared(moved, back),
    [{ ...snatA, vip: '203.0.113.30' }],
    'back to the system VIP (vip_id unset): the flows of the VIP it had',
  );
  const deleted = patched(
    config,
    create(PatchOperationSchema, {
      operation: { case: 'delete', value: { kind: ObjectKind.SNAT, id: 's-b' } },
    }),
  );
  t.same(
    cleared(config, deleted),
    [{ vip: '203.0.113.30', destination: 'reply', source: '10.2.0.0/24' }],
    'deleted: its flows',
  );
  t.same(cleared(config, patched(config)), [], 'nothing changed: nothing cleared');
  t.end();
});

void t.test('a new system VIP (the public NIC address) clears the flows SNATed to the old one', (t) => {
  const config = natConfig();
  const renumbered = natConfig();
  const pub = renumbered.nics.find((n) => n.id === 'pub0');
  if (pub === undefined) throw new Error('no pub0');
  pub.addresses = ['203.0.113.3/24'];
  renumbered.vips = renumbered.vips.filter((v) => v.id !== 'v-system');
  t.same(cleared(config, renumbered), [snatA]);
  t.end();
});

void t.test("a SNAT's selector takes flows from its network answered to its address, no others", (t) => {
  const tuple = (src: string, dst: string): Tuple => ({ src, dst, protocol: 6, dstPort: 80 });
  const flow = (src: string, replyDst: string) => ({
    orig: tuple(src, '198.51.100.7'),
    reply: tuple('198.51.100.7', replyDst),
  });
  const selector: FlowSelector = { ip: '203.0.113.2', destination: 'reply', source: '10.1.0.0/24' };
  t.ok(matches(flow('10.1.0.12', '203.0.113.2'), selector), 'a VM of the network, SNATed to the address');
  t.notOk(matches(flow('203.0.113.2', '203.0.113.2'), selector), "the router's own connection");
  t.notOk(matches(flow('10.2.0.13', '203.0.113.2'), selector), 'another network sharing the address');
  t.notOk(matches(flow('10.1.0.12', '203.0.113.30'), selector), 'SNATed to another address');
  const inbound = { orig: tuple('198.51.100.7', '203.0.113.2'), reply: tuple('10.1.0.12', '198.51.100.7') };
  t.notOk(matches(inbound, selector), 'sent to the address (a forward), not answered to it');
  t.ok(matches(inbound, { ip: '203.0.113.2', destination: 'original' }), 'which a forward selects');
  t.ok(matches(flow('10.1.0.11', '203.0.113.2'), { ip: '203.0.113.2', destination: 'either' }), 'as an EIP');
  t.end();
});
