// Reading set elements back from nf_tables dumps: the answer's layout (built here byte by byte, as
// nf_tables.h lays it out), what an element is compared by, and that rendered elements pass through
// the same decoder unchanged (their description is the JSON they were rendered as). The lab proves
// the kernel's dumps agree: a drift check of a loaded config finds nothing, a replaced element is found.
import t from 'tap';
import fc from 'fast-check';
import {
  type DumpedElement,
  decodeListElements,
  describe,
  dumpRequest,
  identity,
  listedCount,
  parseDumpChunk,
  renderedIdentities,
} from '../../daemon/src/nft/element-dump.js';
import { encodeStoredElements } from '../../daemon/src/nft/element-wire.js';
import type { NftElement, NftSet } from '../../daemon/src/nft/model.js';
import { render } from '../../daemon/src/reconcile/rendered.js';
import { LAB_LINK_FACTS, natConfig } from '../lab/nat-helpers.js';

/** A netlink attribute (host order, little-endian here), padded to 4 bytes. */
function attr(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(4 + payload.length, 0);
  head.writeUInt16LE(type, 2);
  return Buffer.concat([head, payload, Buffer.alloc((4 - (payload.length % 4)) % 4)]);
}
const nest = (type: number, ...children: Buffer[]) => attr(type | 0x8000, Buffer.concat(children));
const be32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const be64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
const cstr = (s: string) => Buffer.from(`${s}\0`);
function message(type: number, seq: number, body: Buffer, flags = 2): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + body.length, 0);
  head.writeUInt16LE(type, 4);
  head.writeUInt16LE(flags, 6);
  head.writeUInt32LE(seq, 8);
  return Buffer.concat([head, body]);
}
const NEWSETELEM = (10 << 8) | 12;
const counterExpr = (packets: bigint, bytes: bigint) =>
  Buffer.concat([attr(1, cstr('counter')), nest(2, attr(1, be64(bytes)), attr(2, be64(packets)))]);
/** An element answer: nfgenmsg, table, set, and the elements. */
const elementsMessage = (seq: number, items: Buffer[], flags?: number) =>
  message(
    NEWSETELEM,
    seq,
    Buffer.concat([
      Buffer.from([2, 0, 0, 0]),
      attr(1, cstr('vrouter_nat')),
      attr(2, cstr('eip_stats')),
      nest(3, ...items),
    ]),
    flags,
  );

t.test(
  'a dump answer: keys, values, comments, counters, interval ends; other sequences skipped',
  async (t) => {
    const ip = (a: number, b: number, c: number, d: number) => nest(1, attr(1, Buffer.from([a, b, c, d])));
    const items = [
      // Counter as one expression (NFTA_SET_ELEM_EXPR), comment as libnftnl user data.
      nest(
        1,
        ip(203, 0, 113, 10),
        attr(6, Buffer.concat([Buffer.from([0, 10]), cstr('eip:e-vm1')])),
        nest(7, counterExpr(5n, 420n)),
      ),
      // Counter in a list of expressions (NFTA_SET_ELEM_EXPRESSIONS), the value a verdict.
      nest(
        1,
        ip(10, 1, 0, 0),
        nest(2, nest(2, attr(1, be32(-3 >>> 0)), attr(2, cstr('fw-in-ens3')))),
        nest(11, nest(1, counterExpr(7n, 900n))),
      ),
      // The end of an interval (NFTA_SET_ELEM_FLAGS, network order).
      nest(1, ip(10, 1, 1, 0), attr(3, be32(1))),
    ];
    const bytes = Buffer.concat([
      elementsMessage(41, [nest(1, ip(9, 9, 9, 9))]),
      elementsMessage(42, items),
      message(3, 42, Buffer.alloc(4)),
    ]);
    const chunk = parseDumpChunk(bytes, 42);
    t.equal(chunk.done, true, 'NLMSG_DONE ends the dump');
    t.equal(chunk.errno, undefined);
    t.equal(chunk.interrupted, false);
    const [eip, verdict, end, ...rest] = chunk.elements;
    t.same(rest, [], 'the element of sequence 41 is not part of this dump');
    t.match(eip, { comment: 'eip:e-vm1', counter: { packets: 5n, bytes: 420n }, intervalEnd: false });
    t.equal(eip?.key, Buffer.from([203, 0, 113, 10]).toString('latin1'));
    t.match(verdict, { value: { code: -3, chain: 'fw-in-ens3' }, counter: { packets: 7n, bytes: 900n } });
    t.match(end, { intervalEnd: true, comment: undefined, counter: undefined });
    t.equal(listedCount(chunk.elements), 2, 'an interval end is not an element of its own');
  },
);

t.test('a dump answer: errors, an interrupted dump, a chunk that does not end it', async (t) => {
  const error = Buffer.alloc(20);
  error.writeInt32LE(-2, 0);
  t.match(parseDumpChunk(message(2, 5, error), 5), { done: true, errno: 2 }, 'ENOENT: no such set');
  const interrupted = elementsMessage(6, [], 2 | 0x10);
  t.match(parseDumpChunk(interrupted, 6), { done: false, interrupted: true }, 'NLM_F_DUMP_INTR');
  t.match(parseDumpChunk(elementsMessage(7, []), 7), { done: false, interrupted: false, elements: [] });
  t.same(parseDumpChunk(Buffer.from([1, 2, 3]), 7).elements, [], 'a truncated read yields nothing');
});

t.test('the request names the family, table and set, and asks for a dump', async (t) => {
  const request = dumpRequest('ip', 'vrouter_nat', 'eip_dnat', 9);
  t.equal(request.readUInt32LE(0), request.length, 'length');
  t.equal(request.readUInt16LE(4), (10 << 8) | 13, 'NFT_MSG_GETSETELEM');
  t.equal(request.readUInt16LE(6), 0x301, 'NLM_F_REQUEST | NLM_F_DUMP');
  t.equal(request.readUInt32LE(8), 9, 'sequence');
  t.equal(request.readUInt8(16), 2, 'NFPROTO_IPV4');
  t.same(request.subarray(20), Buffer.concat([attr(1, cstr('vrouter_nat')), attr(2, cstr('eip_dnat'))]));
});

/** A rendered element as nft's JSON writes it, its comment left out. */
function withoutComment(set: NftSet, e: NftElement): string {
  const bare = (k: unknown) => {
    const inner = (k as { elem?: { val?: unknown } } | null)?.elem;
    return inner === undefined ? k : inner.val;
  };
  return JSON.stringify(set.map === undefined ? bare(e.key) : [bare(e.key), e.value]);
}

t.test('every set of the lab NAT config is compared element by element; hash sets decode back', async (t) => {
  const sets = render(natConfig(), LAB_LINK_FACTS).nft.tables.flatMap((table) => table.sets);
  let compared = 0;
  for (const set of sets) {
    const encoded = encodeStoredElements(set);
    if (set.flags?.includes('interval') === true) {
      // Their stored form is nft/interval-elements.ts's (its own tests); here: none is left to a count.
      t.ok((renderedIdentities(set)?.size ?? 0) >= set.elements.length, `${set.name}: stored elements known`);
      continue;
    }
    if (encoded === undefined) continue;
    const decoded = decodeListElements(encoded);
    t.same(
      decoded.map((e) => describe(set, e)),
      set.elements.map((e) => withoutComment(set, e)),
      set.name,
    );
    t.equal(renderedIdentities(set)?.size, set.elements.length, `${set.name}: one identity per element`);
    compared += set.elements.length;
  }
  t.ok(compared >= 10, `hash set elements compared: ${compared}`);
});

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));

t.test('property: EIP and forward elements round-trip, and another value is another identity', async (t) => {
  const eipDnat: Omit<NftSet, 'elements'> = { name: 'eip_dnat', type: 'ipv4_addr', map: 'ipv4_addr' };
  const forwardPort: Omit<NftSet, 'elements'> = {
    name: 'pf_dnat_port',
    type: ['ipv4_addr', 'inet_proto', 'inet_service'],
    map: 'inet_service',
  };
  const eipSnat: Omit<NftSet, 'elements'> = {
    name: 'eip_snat',
    type: ['ifname', 'ipv4_addr'],
    map: 'ipv4_addr',
  };
  const marks: Omit<NftSet, 'elements'> = { name: 'eip_mark', type: 'ipv4_addr', map: 'mark' };
  const cases = fc.oneof(
    fc
      .tuple(fc.constant(eipDnat), ipv4, ipv4, ipv4)
      .map(([s, k, v, w]) => ({ s, key: k, value: v, other: w })),
    fc
      .tuple(
        fc.constant(forwardPort),
        ipv4,
        fc.constantFrom(6, 17),
        fc.integer({ min: 1, max: 65535 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.integer({ min: 1, max: 65535 }),
      )
      .map(([s, a, p, port, v, w]) => ({ s, key: { concat: [a, p, port] }, value: v, other: w })),
    fc
      .tuple(fc.constant(eipSnat), fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/), ipv4, ipv4, ipv4)
      .map(([s, link, vm, v, w]) => ({ s, key: { concat: [link, vm] }, value: v, other: w })),
    fc
      .tuple(fc.constant(marks), ipv4, fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }))
      .map(([s, k, v, w]) => ({ s, key: k, value: v, other: w })),
  );
  fc.assert(
    fc.property(cases, ({ s, key, value, other }) => {
      const set: NftSet = { ...s, elements: [{ key: { elem: { val: key, comment: 'eip:x' } }, value }] };
      const [decoded] = decodeListElements(encodeStoredElements(set) ?? Buffer.alloc(0));
      if (decoded === undefined) return false;
      const roundTrip = describe(set, decoded) === JSON.stringify([key, value]);
      const changed: NftSet = { ...s, elements: [{ key, value: other }] };
      const [decodedOther] = decodeListElements(encodeStoredElements(changed) ?? Buffer.alloc(0));
      const distinct =
        decodedOther !== undefined && (identity(decoded) === identity(decodedOther)) === (value === other);
      return roundTrip && distinct && decoded.comment === undefined;
    }),
    { numRuns: 300 },
  );
  t.pass('300 random elements of four set types: fc.assert throws with the smallest counterexample');
});

t.test('a set the encoder does not speak has no identities: it is compared by count', async (t) => {
  const ranges: NftSet = {
    name: 'r',
    type: 'ipv6_addr',
    flags: ['interval'],
    elements: [{ key: { prefix: { addr: '2001:db8::', len: 32 } } }],
  };
  const ip6: NftSet = { name: 'v6', type: 'ipv6_addr', elements: [{ key: '2001:db8::1' }] };
  t.equal(renderedIdentities(ranges), undefined);
  t.equal(renderedIdentities(ip6), undefined);
  const plain: DumpedElement = {
    key: 'abcd',
    keyEnd: undefined,
    value: undefined,
    intervalEnd: false,
    comment: undefined,
    counter: undefined,
  };
  t.equal(identity(plain), 'abcd');
  t.equal(
    describe({ name: 's', type: 'ipv6_addr', elements: [] }, plain),
    '"61626364"',
    'an unknown type as hex',
  );
});
