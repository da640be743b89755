// Set elements as nft lists them against the rendered ones: what the drift check relies on to find an
// element replaced by hand. The listings are in nft 1.0.6's shape (`nft -j -p list`).
import t from 'tap';
import type { NftSet } from '../../daemon/src/nft/model.js';
import { listedElements, unrenderedElements } from '../../daemon/src/nft/listed-elements.js';

const owned = (comment: string, val: unknown) => ({ elem: { val, comment } });

const eipDnat: NftSet = {
  name: 'eip_dnat',
  type: 'ipv4_addr',
  map: 'ipv4_addr',
  elements: [
    { key: owned('eip:a', '203.0.113.10'), value: '10.1.0.11' },
    { key: owned('eip:b', '203.0.113.11'), value: '10.1.0.12' },
  ],
};

const forwardStats: NftSet = {
  name: 'pf_stats',
  type: ['ipv4_addr', 'inet_proto', 'inet_service'],
  counter: true,
  elements: [{ key: owned('port_forward:web', { concat: ['203.0.113.20', 6, 8080] }) }],
};

const listing = (name: string, elem: unknown[]) => [
  { metainfo: { version: '1.0.6' } },
  { map: { family: 'ip', name, table: 'vrouter_nat', type: 'ipv4_addr', map: 'ipv4_addr', elem } },
];

void t.test('a map as the kernel holds it: nothing unrendered, comments or not', (t) => {
  const listed = listedElements(
    listing('eip_dnat', [
      [{ elem: { val: '203.0.113.11', comment: 'eip:b' } }, '10.1.0.12'],
      ['203.0.113.10', '10.1.0.11'],
    ]),
  ).get('eip_dnat');
  t.equal(listed?.length, 2);
  t.same(unrenderedElements(eipDnat, listed ?? []), []);
  t.end();
});

void t.test('an element replaced by hand: same key, another value', (t) => {
  const replaced = [{ elem: { val: '203.0.113.10', comment: 'eip:a' } }, '10.1.0.99'];
  const listed = [replaced, [{ elem: { val: '203.0.113.11', comment: 'eip:b' } }, '10.1.0.12']];
  t.same(unrenderedElements(eipDnat, listed), [replaced]);
  const otherKey = ['203.0.113.99', '10.1.0.11'];
  t.same(unrenderedElements(eipDnat, [otherKey, listed[1]]), [otherKey], 'or another key');
  t.end();
});

void t.test('a counting set: counters and comments set aside, protocols as numbers', (t) => {
  const counted = {
    elem: {
      val: { concat: ['203.0.113.20', 6, 8080] },
      comment: 'port_forward:web',
      counter: { packets: 12, bytes: 800 },
    },
  };
  t.same(unrenderedElements(forwardStats, [counted]), []);
  const named = {
    elem: { val: { concat: ['203.0.113.20', 'tcp', 8080] }, counter: { packets: 0, bytes: 0 } },
  };
  t.same(unrenderedElements(forwardStats, [named]), [named], 'a listing with protocol names would not match');
  t.end();
});

void t.test('a set listed without elements has none', (t) => {
  const sets = listedElements([
    { set: { family: 'ip', name: 'empty', table: 'vrouter_nat', type: 'ipv4_addr' } },
    { chain: { family: 'ip', name: 'prerouting', table: 'vrouter_nat' } },
  ]);
  t.same([...sets], [['empty', []]]);
  t.end();
});
