import t from 'tap';
import { diffInterfaces, diffVips, type ObservedLink } from '../../daemon/src/services/interfaces/diff.js';
import {
  EMPTY_INTERFACE_PLAN,
  type LinkFacts,
  linkDrift,
  missingLinks,
  planInterfaces,
} from '../../daemon/src/services/interfaces/plan.js';
import { labConfig } from '../lab/lab-config.js';

const links: LinkFacts = new Map([
  ['52:54:00:00:00:05', { index: 5, name: 'ens5' }],
  ['52:54:00:00:00:03', { index: 3, name: 'ens3' }],
  ['52:54:00:00:00:04', { index: 4, name: 'ens4' }],
  ['52:54:00:00:00:06', { index: 6, name: 'ens6' }],
]);

const observed = (overrides: Partial<Record<number, Partial<ObservedLink>>> = {}) =>
  new Map(
    [...links.values()].map((l) => [
      l.index,
      { index: l.index, name: l.name, mtu: 1500, up: true, addresses: [], ...overrides[l.index] },
    ]),
  );

t.test("the plan finds links by MAC and gives private NICs their networks' gateways", async (t) => {
  const plan = planInterfaces(labConfig(), links);
  t.same(
    plan.links.map((l) => [l.nicId, l.name, l.mtu, l.addresses, l.exclusive]),
    [
      ['pub0', 'ens5', undefined, ['203.0.113.2/24'], true],
      ['priv-a', 'ens3', undefined, ['10.1.0.1/24'], true],
      ['priv-b', 'ens4', 1450, ['10.2.0.1/24'], true],
      ['mgmt0', 'ens6', undefined, ['172.16.0.1/24'], false],
    ],
  );
});

t.test('a NIC whose MAC no link has is reported by path', async (t) => {
  const config = labConfig();
  if (config.nics[2]) config.nics[2].mac = '52:54:00:00:00:99';
  t.same(missingLinks(config, links), [{ field: 'nics[2].mac', mac: '52:54:00:00:00:99' }]);
});

t.test('links renamed, replaced or gone since the plan was rendered are told apart', async (t) => {
  const plan = planInterfaces(labConfig(), links);
  t.same(linkDrift(plan, links), { moved: [], gone: [] });
  const now = new Map(links);
  now.set('52:54:00:00:00:04', { index: 4, name: 'lan-b' });
  now.set('52:54:00:00:00:03', { index: 9, name: 'ens3' });
  now.delete('52:54:00:00:00:06');
  t.same(linkDrift(plan, now), {
    moved: [
      'nic priv-a: link ens3 (index 3) is now ens3 (index 9)',
      'nic priv-b: link ens4 (index 4) is now lan-b (index 4)',
    ],
    gone: ['nic mgmt0: no link has MAC 52:54:00:00:00:06 any more (was ens6)'],
  });
});

t.test('from a bare kernel: up, MTU, addresses', async (t) => {
  const plan = planInterfaces(labConfig(), links);
  const changes = diffInterfaces(plan, EMPTY_INTERFACE_PLAN, observed({ 3: { up: false } }));
  t.same(changes, [
    { kind: 'add', index: 5, name: 'ens5', cidr: '203.0.113.2/24' },
    { kind: 'up', index: 3, name: 'ens3' },
    { kind: 'add', index: 3, name: 'ens3', cidr: '10.1.0.1/24' },
    { kind: 'mtu', index: 4, name: 'ens4', from: 1500, to: 1450 },
    { kind: 'add', index: 4, name: 'ens4', cidr: '10.2.0.1/24' },
    { kind: 'add', index: 6, name: 'ens6', cidr: '172.16.0.1/24' },
  ]);
});

t.test('owned NICs lose addresses not in the config; the management NIC keeps its own', async (t) => {
  const plan = planInterfaces(labConfig(), links);
  const changes = diffInterfaces(
    plan,
    plan,
    observed({
      5: { addresses: ['203.0.113.2/24', '198.51.100.7/24'] },
      3: { addresses: ['10.1.0.1/24'] },
      4: { addresses: ['10.2.0.1/24'], mtu: 1450 },
      6: { addresses: ['172.16.0.1/24', '192.0.2.9/24'] },
    }),
  );
  t.same(changes, [{ kind: 'delete', index: 5, name: 'ens5', cidr: '198.51.100.7/24' }]);
});

t.test('a NIC that left the config loses the addresses the daemon had put there', async (t) => {
  const before = planInterfaces(labConfig(), links);
  const config = labConfig();
  config.networks.splice(1, 1);
  config.nics.splice(2, 1);
  const after = planInterfaces(config, links);
  const changes = diffInterfaces(
    after,
    before,
    observed({
      4: { addresses: ['10.2.0.1/24', '10.2.0.77/24'] },
      5: { addresses: ['203.0.113.2/24'] },
      3: { addresses: ['10.1.0.1/24'] },
      6: { addresses: ['172.16.0.1/24'] },
    }),
  );
  t.same(
    changes,
    [{ kind: 'delete', index: 4, name: 'ens4', cidr: '10.2.0.1/24' }],
    'only what the daemon placed, not 10.2.0.77',
  );
});

t.test(
  'VIPs of two plans compared without the kernel: only those that differ by link or address',
  async (t) => {
    const vip = (vipId: string, ip: string, index: number) => ({
      vipId,
      ip,
      index,
      link: `ens${index}`,
      mac: '',
    });
    const plan = (...vips: ReturnType<typeof vip>[]) => ({ all: () => vips });
    const kept = vip('v1', '203.0.113.10', 5);
    const delta = diffVips(
      plan(kept, vip('v2', '203.0.113.11', 5), vip('v3', '10.1.0.50', 3)),
      plan(vip('v1-renamed', '203.0.113.10', 5), vip('v3', '10.1.0.50', 4), vip('v4', '203.0.113.12', 5)),
    );
    t.same(
      delta.added.map((v) => `${v.ip}@${v.index}`),
      ['10.1.0.50@4', '203.0.113.12@5'],
      'a VIP moved to another link is added there',
    );
    t.same(
      delta.removed.map((v) => `${v.ip}@${v.index}`),
      ['203.0.113.11@5', '10.1.0.50@3'],
      'and removed from the old one; an address kept under another id is left alone',
    );
    t.same(diffVips(plan(kept), plan(kept)), { added: [], removed: [] }, 'the same VIPs: nothing to do');
  },
);
