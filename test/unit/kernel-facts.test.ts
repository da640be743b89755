// The link facts are read from the kernel again only when a link change was announced, when an
// announcement may have been lost, or when the caller asks for a fresh read.
import t from 'tap';
import type { LinkState } from '../../daemon/src/drivers/netlink.js';
import { KernelFacts } from '../../daemon/src/reconcile/facts.js';

function kernel() {
  const state = { version: 0 as number | undefined, dumps: 0, links: [] as LinkState[] };
  const link = (index: number, name: string, mac: string): LinkState => ({
    index,
    name,
    mac,
    mtu: 1500,
    up: true,
    carrier: true,
  });
  state.links = [link(1, 'lo', '00:00:00:00:00:00'), link(3, 'ens3', '52:54:00:00:00:03')];
  const netlink = {
    links: async () => {
      state.dumps++;
      return state.links;
    },
  };
  const changes = {
    get version() {
      return state.version;
    },
  };
  return { state, link, facts: new KernelFacts(netlink, changes) };
}

t.test('no announced change: the links read before are reused', async (t) => {
  const { state, facts } = kernel();
  const first = await facts.links(false);
  t.same([...first], [['52:54:00:00:00:03', { index: 3, name: 'ens3' }]], 'by MAC, without the all-zero one');
  t.equal(await facts.links(false), first);
  t.equal(state.dumps, 1);
});

t.test('an announced change, a fresh read or lost announcements read the kernel', async (t) => {
  const { state, link, facts } = kernel();
  await facts.links(false);
  state.links = [link(3, 'wan0', '52:54:00:00:00:03')];
  state.version = 1;
  t.same([...(await facts.links(false))], [['52:54:00:00:00:03', { index: 3, name: 'wan0' }]]);
  t.equal(state.dumps, 2);
  await facts.links(true);
  t.equal(state.dumps, 3, 'fresh');
  state.version = undefined;
  await facts.links(false);
  await facts.links(false);
  t.equal(state.dumps, 5, 'every write reads the kernel once announcements cannot be trusted');
});

t.test('a bridge that copies a NIC MAC does not take its place', async (t) => {
  const { state, link, facts } = kernel();
  state.links = [link(7, 'br0', '52:54:00:00:00:03'), link(3, 'ens3', '52:54:00:00:00:03')];
  t.same([...(await facts.links(false))], [['52:54:00:00:00:03', { index: 3, name: 'ens3' }]]);
});
