// `GetNatStatus`'s counters: each object gets the counter of the element that names it (its
// ownership comment), whether the elements were read over netlink or from nft's JSON listing; an
// object without one shows zero. The lab checks the kernel's counters move with real traffic.
import t from 'tap';
import type { SetReader } from '../../daemon/src/drivers/nft-netlink.js';
import type { NftTransport } from '../../daemon/src/drivers/nftables.js';
import type { DumpedElement } from '../../daemon/src/nft/element-dump.js';
import { natStatus } from '../../daemon/src/services/nat/status.js';
import { natConfig } from '../lab/nat-helpers.js';

/** Counted elements by stats set: [owner comment, packets, bytes]; an element without a comment too. */
const COUNTED: Record<string, [string | undefined, number, number][]> = {
  eip_stats: [
    ['eip:e-vm1', 5, 420],
    [undefined, 99, 9900],
  ],
  pf_stats: [['port_forward:pf-udp', 2, 120]],
  pf_range_stats: [
    ['port_forward:pf-range', 8, 448],
    ['port_forward:gone', 1, 1],
  ],
  snat_stats: [['snat:s-b', 10, 751]],
};

const rules = [
  {
    rule: {
      table: 'vrouter_nat',
      chain: 'prerouting',
      comment: 'nat:port-forward-sources',
      expr: [{ counter: { packets: 3, bytes: 180 } }, { drop: null }],
    },
  },
  // The same comment in another table is not the daemon's rule.
  {
    rule: {
      table: 'other',
      chain: 'prerouting',
      comment: 'nat:port-forward-sources',
      expr: [{ counter: { packets: 50 } }],
    },
  },
];

const listings: NftTransport = {
  run: () => Promise.resolve(),
  listTable: () => Promise.resolve(undefined),
  list(what) {
    if (what === 'ruleset ip') return Promise.resolve(rules);
    const name = what.split(' ').at(-1) ?? '';
    const elem = (COUNTED[name] ?? []).map(([comment, packets, bytes], i) => ({
      elem: { val: `10.9.0.${i}`, counter: { packets, bytes }, ...(comment !== undefined && { comment }) },
    }));
    return Promise.resolve([{ set: { family: 'ip', table: 'vrouter_nat', name, elem } }]);
  },
  close() {},
};

const dumps: SetReader = {
  unavailable: undefined,
  readSet: (_family, _table, name) =>
    Promise.resolve(
      (COUNTED[name] ?? []).map(([comment, packets, bytes], i): DumpedElement => ({
        key: String(i),
        keyEnd: undefined,
        value: undefined,
        intervalEnd: false,
        comment,
        counter: { packets: BigInt(packets), bytes: BigInt(bytes) },
      })),
    ),
};

for (const [how, reader] of [
  ['from nft listings', undefined],
  ['over netlink', dumps],
  ['from nft listings when the channel is down', { ...dumps, unavailable: 'no CAP_NET_ADMIN' }],
] as const) {
  t.test(`counters by the object each element names, ${how}`, async (t) => {
    const status = await natStatus(natConfig(), listings, reader);
    const counted = (rows: { counters?: { packets: bigint; bytes: bigint } }[], id: (i: number) => string) =>
      Object.fromEntries(
        rows.map((r, i) => [id(i), `${r.counters?.packets ?? -1n}/${r.counters?.bytes ?? -1n}`]),
      );
    t.same(
      counted(status.eips, (i) => status.eips[i]?.eip?.id ?? ''),
      { 'e-vm1': '5/420' },
    );
    t.match(
      counted(status.portForwards, (i) => status.portForwards[i]?.portForward?.id ?? ''),
      { 'pf-udp': '2/120', 'pf-range': '8/448', 'pf-closed': '0/0' },
    );
    t.same(
      counted(status.snats, (i) => status.snats[i]?.snat?.id ?? ''),
      { 's-a': '0/0', 's-b': '10/751' },
    );
    t.equal(status.portForwardRefusedPackets, 3n, "the refused packets of the daemon's own rule");
  });
}
