// The nf_tables element batch encoder: what it speaks is laid out as the kernel reads it (checked
// byte by byte here; the lab proves the kernel agrees), and what it does not speak is left to
// libnftables (undefined, nothing half-encoded).
import t from 'tap';
import fc from 'fast-check';
import type { NftCommand } from '../../daemon/src/nft/commands.js';
import { encodeElementBatch } from '../../daemon/src/nft/element-wire.js';
import type { NftRuleset, NftSet } from '../../daemon/src/nft/model.js';

const sets: NftSet[] = [
  { name: 'eip_dnat', type: 'ipv4_addr', map: 'ipv4_addr', elements: [] },
  { name: 'eip_snat', type: ['ifname', 'ipv4_addr'], map: 'ipv4_addr', elements: [] },
  { name: 'eip_mark', type: 'ipv4_addr', map: 'mark', elements: [] },
  {
    name: 'pf_dnat_port',
    type: ['ipv4_addr', 'inet_proto', 'inet_service'],
    map: 'inet_service',
    elements: [],
  },
  { name: 'fw-in', type: 'ifname', map: 'verdict', elements: [] },
  { name: 'blocks', type: ['inet_proto', 'ipv4_addr', 'inet_service'], counter: true, elements: [] },
  { name: 'snat_stats', type: 'ipv4_addr', flags: ['interval'], elements: [] },
];
const ruleset: NftRuleset = { tables: [{ family: 'ip', name: 'vrouter_nat', chains: [], sets }] };
const add = (name: string, elem: unknown[]): NftCommand => ({
  add: { element: { family: 'ip', table: 'vrouter_nat', name, elem } },
});
const del = (name: string, elem: unknown[]): NftCommand => ({
  delete: { element: { family: 'ip', table: 'vrouter_nat', name, elem } },
});

/** The messages of a batch: [type, flags, seq, family, attributes]. */
function messages(
  bytes: Buffer,
): { type: number; flags: number; seq: number; family: number; body: Buffer }[] {
  const out = [];
  for (let o = 0; o < bytes.length;) {
    const length = bytes.readUInt32LE(o);
    out.push({
      type: bytes.readUInt16LE(o + 4),
      flags: bytes.readUInt16LE(o + 6),
      seq: bytes.readUInt32LE(o + 8),
      family: bytes.readUInt8(o + 16),
      body: bytes.subarray(o + 20, o + length),
    });
    o += length;
  }
  return out;
}

t.test('one EIP: a batch of begin, one NEWSETELEM with ACK requested, end', async (t) => {
  const batch = encodeElementBatch([add('eip_dnat', [['203.0.113.10', '10.1.0.11']])], ruleset, 7);
  if (batch === undefined) {
    t.fail('not encoded');
    return;
  }
  const [begin, elements, end, ...rest] = messages(batch.bytes);
  t.same(rest, []);
  t.match(begin, { type: 16, seq: 7 });
  t.equal(begin?.body.length, 0);
  t.match(end, { type: 17, seq: 9 });
  t.match(elements, { type: (10 << 8) | 12, flags: 0x1 | 0x4 | 0x400, seq: 8, family: 2 });
  t.same(batch.seqs, [8]);
  t.equal(batch.subjects.get(8), 'add to ip vrouter_nat eip_dnat');
  const body = elements?.body ?? Buffer.alloc(0);
  // table, set (NUL-terminated, padded), then the element list.
  t.equal(body.toString('latin1', 4, 16), 'vrouter_nat\0');
  t.equal(body.toString('latin1', 20, 29), 'eip_dnat\0');
  t.ok(body.includes(Buffer.from([203, 0, 113, 10])), 'the key in network order');
  t.ok(body.includes(Buffer.from([10, 1, 0, 11])), 'the value in network order');
});

t.test('concatenations pad each part to 4 bytes; ifname is 16; mark is host order', async (t) => {
  const snat = encodeElementBatch(
    [add('eip_snat', [[{ concat: ['ens5', '10.1.0.11'] }, '203.0.113.10']])],
    ruleset,
    1,
  );
  const key = Buffer.concat([Buffer.from('ens5'), Buffer.alloc(12), Buffer.from([10, 1, 0, 11])]);
  t.ok(snat?.bytes.includes(key), 'ifname . ipv4_addr: 20 bytes');
  const pf = encodeElementBatch(
    [add('pf_dnat_port', [[{ concat: ['203.0.113.20', 6, 8000] }, 9000]])],
    ruleset,
    1,
  );
  t.ok(
    pf?.bytes.includes(Buffer.from([203, 0, 113, 20, 6, 0, 0, 0, 0x1f, 0x40, 0, 0])),
    'ipv4 . proto . port: 12',
  );
  t.ok(
    pf?.bytes.includes(Buffer.from([6, 0, 1, 0, 0x23, 0x28, 0, 0])),
    'the port value: 2 bytes, padded attribute',
  );
  const mark = encodeElementBatch([add('eip_mark', [['203.0.113.10', 0xcb00710a]])], ruleset, 1);
  t.ok(mark?.bytes.includes(Buffer.from([0x0a, 0x71, 0x00, 0xcb])), 'mark: host (little-endian) order');
});

t.test('verdicts and comments', async (t) => {
  const vmap = encodeElementBatch(
    [add('fw-in', [['ens5', { jump: { target: 'fws-pub0.in' } }]])],
    ruleset,
    1,
  );
  t.ok(vmap?.bytes.includes(Buffer.from([0xff, 0xff, 0xff, 0xfd])), 'NFT_JUMP, network order');
  t.ok(vmap?.bytes.includes(Buffer.from('fws-pub0.in\0')), 'the chain');
  const commented = encodeElementBatch(
    [add('blocks', [{ elem: { val: { concat: [6, '198.51.100.1', 443] }, comment: 'allow-a' } }])],
    ruleset,
    1,
  );
  t.ok(
    commented?.bytes.includes(Buffer.from([0, 8, ...Buffer.from('allow-a\0')])),
    'comment as nftnl user data',
  );
  const utf8 = encodeElementBatch(
    [add('blocks', [{ elem: { val: { concat: [6, '198.51.100.1', 443] }, comment: 'règle-à' } }])],
    ruleset,
    1,
  );
  const bytes = Buffer.from('règle-à\0');
  t.equal(bytes.length, 10, 'two of its characters take two bytes');
  t.ok(
    utf8?.bytes.includes(Buffer.from([0, 10, ...bytes])),
    'a non-ASCII comment: UTF-8, its length in bytes',
  );
  const removed = encodeElementBatch(
    [del('blocks', [{ elem: { val: { concat: [6, '198.51.100.1', 443] }, comment: 'allow-a' } }])],
    ruleset,
    1,
  );
  t.notOk(removed?.bytes.includes(Buffer.from('allow-a')), 'a delete names the key only');
  t.match(messages(removed?.bytes ?? Buffer.alloc(0))[1], { type: (10 << 8) | 14, flags: 0x1 | 0x4 });
});

t.test('anything else is left to libnftables', async (t) => {
  const refused: [string, NftCommand[]][] = [
    ['an interval set', [add('snat_stats', [{ prefix: { addr: '10.1.0.0', len: 24 } }])]],
    ['a set the ruleset does not have', [add('nope', ['10.0.0.1'])]],
    ['a protocol by name', [add('pf_dnat_port', [[{ concat: ['203.0.113.20', 'tcp', 80] }, 80]])]],
    ['a bad address', [add('eip_dnat', [['203.0.113.300', '10.1.0.11']])]],
    ['a port out of range', [add('pf_dnat_port', [[{ concat: ['203.0.113.20', 6, 70000] }, 80]])]],
    [
      'an element with a timeout',
      [add('eip_dnat', [[{ elem: { val: '1.2.3.4', timeout: 30 } }, '10.0.0.1']])],
    ],
    ['an accept verdict', [add('fw-in', [['ens5', { accept: null }]])]],
    [
      'an interface name too long',
      [add('eip_snat', [[{ concat: ['x'.repeat(16), '10.1.0.1'] }, '1.2.3.4']])],
    ],
    ['a rule', [{ add: { rule: { family: 'ip', table: 'vrouter_nat', chain: 'pre', expr: [] } } }]],
    ['elements mixed with a flush', [add('eip_dnat', [['1.2.3.4', '10.0.0.1']]), { flush: { chain: {} } }]],
  ];
  for (const [what, commands] of refused) t.equal(encodeElementBatch(commands, ruleset, 1), undefined, what);
});

t.test('10k elements: each message keeps its element list under 64 KiB, all of them encoded', async (t) => {
  const elem = Array.from({ length: 10_000 }, (_, i) => [
    `100.64.${i >> 8}.${i & 255}`,
    `10.1.${i >> 8}.${i & 255}`,
  ]);
  const batch = encodeElementBatch([add('eip_dnat', elem)], ruleset, 1);
  if (batch === undefined) {
    t.fail('not encoded');
    return;
  }
  t.equal(batch.elements, 10_000);
  const parts = messages(batch.bytes).slice(1, -1);
  t.ok(parts.length > 1, `${parts.length} messages`);
  t.ok(parts.every((m) => m.body.length < 65_535));
  t.same(
    batch.seqs,
    parts.map((m) => m.seq),
  );
});

t.test('any valid EIP map element is encoded, its key and value in the bytes', async () => {
  const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
  fc.assert(
    fc.property(octets, octets, (vip, vm) => {
      const batch = encodeElementBatch([add('eip_dnat', [[vip, vm]])], ruleset, 1);
      const bytes = (ip: string) => Buffer.from(ip.split('.').map(Number));
      return batch !== undefined && batch.bytes.includes(bytes(vip)) && batch.bytes.includes(bytes(vm));
    }),
  );
});
