// Interval sets' elements as the kernel stores them: the expectations are what nft 1.0.6 loaded for
// the same sets (`nft --debug=netlink list set`), less nft's leading end element at zero.
import t from 'tap';
import { isLeadingGap, storedIntervalElements } from '../../daemon/src/nft/interval-elements.js';
import { decodeListElements, identity } from '../../daemon/src/nft/element-dump.js';
import { encodeStoredElements } from '../../daemon/src/nft/element-wire.js';
import type { NftSet } from '../../daemon/src/nft/model.js';

const prefix = (addr: string, len: number) => ({ prefix: { addr, len } });

t.test('a single field: a start per interval, an end one past its last value', async (t) => {
  const addresses: NftSet = {
    name: 'a',
    type: 'ipv4_addr',
    flags: ['interval'],
    elements: [
      { key: { elem: { val: prefix('10.1.0.0', 16), comment: 'network:a' } } },
      { key: prefix('10.2.0.0', 16) },
      { key: '192.168.0.5' },
      { key: { range: ['192.168.1.0', '255.255.255.255'] } },
    ],
  };
  t.same(storedIntervalElements(addresses), [
    { key: '10.1.0.0', value: undefined },
    { key: '10.2.0.0', intervalEnd: true },
    { key: '10.2.0.0', value: undefined },
    { key: '10.3.0.0', intervalEnd: true },
    { key: '192.168.0.5', value: undefined },
    { key: '192.168.0.6', intervalEnd: true },
    { key: '192.168.1.0', value: undefined },
  ]);
  const ports: NftSet = {
    name: 'p',
    type: 'inet_service',
    flags: ['interval'],
    elements: [{ key: 22 }, { key: { range: [1000, 2000] } }, { key: { range: [65000, 65535] } }],
  };
  t.same(
    storedIntervalElements(ports)?.map((e) => `${String(e.key)}${e.intervalEnd === true ? ' end' : ''}`),
    ['22', '23 end', '1000', '2001 end', '65000'],
    'no end after the largest port',
  );
  t.same(
    storedIntervalElements({ ...addresses, elements: [{ key: prefix('0.0.0.0', 0) }] }),
    [{ key: '0.0.0.0', value: undefined }],
    '0.0.0.0/0 is a start alone',
  );
});

t.test("a map's value rides on the start element", async (t) => {
  const map: NftSet = {
    name: 'm',
    type: 'ipv4_addr',
    map: 'ipv4_addr',
    flags: ['interval'],
    elements: [{ key: prefix('10.1.0.0', 16), value: '1.1.1.1' }],
  };
  t.same(storedIntervalElements(map), [
    { key: '10.1.0.0', value: '1.1.1.1' },
    { key: '10.2.0.0', intervalEnd: true },
  ]);
});

t.test("a concatenation: one element, every field's first and last values", async (t) => {
  const allowed: NftSet = {
    name: 'pf_allowed',
    type: ['ipv4_addr', 'inet_proto', 'inet_service', 'ipv4_addr'],
    flags: ['interval'],
    elements: [{ key: { concat: ['203.0.113.31', 6, { range: [2222, 2230] }, prefix('203.0.113.0', 28)] } }],
  };
  t.same(storedIntervalElements(allowed), [
    {
      key: { concat: ['203.0.113.31', 6, 2222, '203.0.113.0'] },
      keyEnd: { concat: ['203.0.113.31', 6, 2230, '203.0.113.15'] },
      value: undefined,
    },
  ]);
  const snat: NftSet = {
    name: 'snat',
    type: ['ifname', 'ipv4_addr'],
    map: 'ipv4_addr',
    flags: ['interval'],
    elements: [{ key: { concat: ['ens5', prefix('10.1.0.7', 24)] }, value: '203.0.113.2' }],
  };
  t.same(
    storedIntervalElements(snat),
    [
      {
        key: { concat: ['ens5', '10.1.0.0'] },
        keyEnd: { concat: ['ens5', '10.1.0.255'] },
        value: '203.0.113.2',
      },
    ],
    'a prefix is read as its network, whatever host bits it was written with',
  );
});

t.test('shapes it does not read leave the set to be compared by count', async (t) => {
  const base = { name: 's', flags: ['interval'] as const };
  t.equal(
    storedIntervalElements({ ...base, type: 'ipv4_addr', elements: [{ key: prefix('10.0.0.0', 33) }] }),
    undefined,
  );
  t.equal(storedIntervalElements({ ...base, type: 'inet_service', elements: [{ key: 70000 }] }), undefined);
  t.equal(
    storedIntervalElements({ ...base, type: 'ipv6_addr', elements: [{ key: '2001:db8::1' }] }),
    undefined,
  );
  t.equal(
    storedIntervalElements({ ...base, type: ['ipv4_addr', 'inet_service'], elements: [{ key: '10.0.0.1' }] }),
    undefined,
  );
});

t.test('encoded and decoded, the stored elements keep start, end and bounds apart', async (t) => {
  const set: NftSet = {
    name: 'a',
    type: 'ipv4_addr',
    flags: ['interval'],
    elements: [{ key: prefix('10.1.0.0', 16) }, { key: prefix('10.2.0.0', 16) }],
  };
  const decoded = decodeListElements(encodeStoredElements(set) ?? Buffer.alloc(0));
  const ids = decoded.map(identity);
  t.equal(new Set(ids).size, 4, "10.2.0.0 as the first range's end and the second's start: two elements");
  t.same(
    decoded.map((e) => e.intervalEnd),
    [false, true, false, true],
  );
  const concat: NftSet = {
    name: 'c',
    type: ['ipv4_addr', 'ipv4_addr'],
    flags: ['interval'],
    elements: [{ key: { concat: ['10.0.0.1', prefix('10.1.0.0', 24)] } }],
  };
  const [element] = decodeListElements(encodeStoredElements(concat) ?? Buffer.alloc(0));
  if (element === undefined) throw new Error('nothing encoded');
  t.not(element.keyEnd, undefined, 'a concatenation carries its key end');
  const widened = decodeListElements(
    encodeStoredElements({
      ...concat,
      elements: [{ key: { concat: ['10.0.0.1', prefix('10.1.0.0', 23)] } }],
    }) ?? Buffer.alloc(0),
  );
  t.not(identity(widened[0] ?? element), identity(element), 'a wider prefix is another element');
});

t.test("nft's end element at zero is the only one left out", async (t) => {
  t.ok(isLeadingGap(true, '\0\0\0\0'));
  t.notOk(isLeadingGap(false, '\0\0\0\0'), 'a start at zero counts');
  t.notOk(isLeadingGap(true, '\0\0\0\x01'));
});
