// The DHCP codec: round trips of arbitrary messages (long options split, overload into file/sname),
// hand-made packets in the shapes real clients and attackers send, and random bytes that must never
// make it throw.
import t from 'tap';
import fc from 'fast-check';
import {
  BOOTREPLY,
  type DhcpMessage,
  MAGIC_COOKIE,
  MIN_MAX_MESSAGE,
  OPTION,
  decodeMessage,
  encodeMessage,
  optionRoom,
  optionsSize,
} from '../../daemon/src/services/dhcp/codec.js';
import { clientMessage } from './dhcp-fixtures.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
/** Any option code but PAD, END and OVERLOAD (which the encoder owns). */
const code = fc.integer({ min: 1, max: 254 }).filter((c) => c !== OPTION.OVERLOAD);
const options = fc.uniqueArray(fc.tuple(code, fc.uint8Array({ maxLength: 600 })), {
  selector: ([c]) => c,
  maxLength: 12,
});
const zeroOrRandom = (length: number) => fc.oneof(fc.constant(new Uint8Array(length)), bytes(length));

const message = fc.record({
  op: fc.integer({ min: 0, max: 255 }),
  htype: fc.integer({ min: 0, max: 255 }),
  hlen: fc.integer({ min: 0, max: 16 }),
  hops: fc.integer({ min: 0, max: 255 }),
  xid: u32,
  secs: fc.integer({ min: 0, max: 0xffff }),
  flags: fc.integer({ min: 0, max: 0xffff }),
  ciaddr: u32,
  yiaddr: u32,
  siaddr: u32,
  giaddr: u32,
  chaddr: bytes(16),
  sname: zeroOrRandom(64),
  file: zeroOrRandom(128),
  options: options.map((list) => new Map(list)),
});
const maxLength = fc.integer({ min: 0, max: 1500 });

t.test('encode then decode gives the message back, less only options reported as omitted', async (t) => {
  fc.assert(
    fc.property(message, maxLength, (m, max) => {
      const { bytes: wire, omitted } = encodeMessage(m, max);
      if (wire.length > Math.max(max, MIN_MAX_MESSAGE) || wire.length < 300) return false;
      const decoded = decodeMessage(wire);
      if (!decoded.ok) return false;
      const d = decoded.message;
      const expected = [...m.options].filter(([c]) => !omitted.includes(c));
      const overloaded = wire[240] === OPTION.OVERLOAD;
      t.same([...d.options], expected);
      t.same(
        { ...d, options: undefined, sname: undefined, file: undefined },
        { ...m, options: undefined, sname: undefined, file: undefined },
      );
      // sname and file come back as sent unless they carried options (then they were all zero).
      if (!overloaded || m.sname.some((b) => b !== 0)) t.same(d.sname, m.sname);
      if (!overloaded || m.file.some((b) => b !== 0)) t.same(d.file, m.file);
      return true;
    }),
    { numRuns: 300 },
  );
});

t.test('options that fit are never omitted, and what is omitted would not have fit', async (t) => {
  fc.assert(
    fc.property(message, (m) => {
      const plain = { ...m, sname: new Uint8Array(64), file: new Uint8Array(128) };
      const { omitted } = encodeMessage(plain, 1500);
      const size = [...m.options].reduce(
        (n, [, d]) => n + d.length + 2 * Math.max(1, Math.ceil(d.length / 255)),
        0,
      );
      // What fits in the options field of a 1500-byte message (240 header, 1 END) needs no overload.
      if (size <= 1259) return omitted.length === 0;
      return true;
    }),
  );
  t.pass('checked');
});

t.test('a long option is split into instances of at most 255 bytes, in order', async (t) => {
  const data = Uint8Array.from({ length: 600 }, (_, i) => i & 255);
  const m = clientMessage({ type: 1, options: [[OPTION.DOMAIN_SEARCH, data]] });
  const { bytes: wire } = encodeMessage(m, 1500);
  // 53 first, then 119 as 255 + 255 + 90.
  t.same([...wire.subarray(240, 243)], [OPTION.MESSAGE_TYPE, 1, 1]);
  t.same([wire[243], wire[244]], [OPTION.DOMAIN_SEARCH, 255]);
  t.same([wire[243 + 257], wire[244 + 257]], [OPTION.DOMAIN_SEARCH, 255]);
  t.same([wire[243 + 514], wire[244 + 514]], [OPTION.DOMAIN_SEARCH, 90]);
  t.same(mustDecode(wire).options.get(OPTION.DOMAIN_SEARCH), data);
});

t.test('options beyond the options field go to file then sname with option 52', async (t) => {
  const big = new Uint8Array(460).fill(7);
  const m = clientMessage({ type: 2, options: [[OPTION.DOMAIN_SEARCH, big]] });
  const { bytes: wire, omitted } = encodeMessage(m, MIN_MAX_MESSAGE);
  t.same(omitted, []);
  t.equal(wire.length, MIN_MAX_MESSAGE);
  t.same([...wire.subarray(240, 243)], [OPTION.OVERLOAD, 1, 3], 'both file and sname carry options');
  t.equal(wire[108], OPTION.DOMAIN_SEARCH, 'file starts with the rest of option 119');
  t.equal(wire[44], OPTION.DOMAIN_SEARCH, 'sname continues it');
  const decoded = mustDecode(wire);
  t.same(decoded.options.get(OPTION.DOMAIN_SEARCH), big);
  t.same(decoded.file, new Uint8Array(128));
});

t.test('an option that fits nowhere is left out whole; later smaller ones still go in', async (t) => {
  const m = clientMessage({
    type: 2,
    options: [
      [OPTION.DOMAIN_SEARCH, new Uint8Array(1000)],
      [OPTION.ROUTER, [10, 1, 0, 1]],
    ],
  });
  const { bytes: wire, omitted } = encodeMessage(m, MIN_MAX_MESSAGE);
  t.same(omitted, [OPTION.DOMAIN_SEARCH]);
  t.same([...mustDecode(wire).options.keys()], [OPTION.MESSAGE_TYPE, OPTION.ROUTER]);
  t.same(
    [...wire.subarray(240, 244)],
    [0, 0, 0, OPTION.MESSAGE_TYPE],
    'no option 52 (pads) when nothing spilled',
  );
});

t.test('when not everything fits, the options named first are placed first', async (t) => {
  const m = clientMessage({
    type: 2,
    options: [
      [OPTION.DOMAIN_SEARCH, new Uint8Array(300).fill(1)],
      [OPTION.CLASSLESS_ROUTES, new Uint8Array(300).fill(2)],
      [OPTION.NTP_SERVERS, [10, 1, 0, 123]],
    ],
  });
  t.same(encodeMessage(m, MIN_MAX_MESSAGE).omitted, [OPTION.CLASSLESS_ROUTES], 'in message order by default');
  const { bytes: wire, omitted } = encodeMessage(
    m,
    MIN_MAX_MESSAGE,
    new Set([OPTION.MESSAGE_TYPE, OPTION.CLASSLESS_ROUTES]),
  );
  t.same(omitted, [OPTION.DOMAIN_SEARCH]);
  const decoded = mustDecode(wire);
  t.same(decoded.options.get(OPTION.CLASSLESS_ROUTES), new Uint8Array(300).fill(2));
  t.same([...(decoded.options.get(OPTION.NTP_SERVERS) ?? [])], [10, 1, 0, 123]);
  const fitting = encodeMessage(clientMessage({ type: 2, options: [[OPTION.NTP_SERVERS, [1, 2, 3, 4]]] }));
  t.same(
    [...mustDecode(fitting.bytes).options.keys()],
    [OPTION.MESSAGE_TYPE, OPTION.NTP_SERVERS],
    'what fits keeps its order',
  );
});

t.test('option room: the options field, file and sname less END bytes and option 52', async (t) => {
  t.equal(optionRoom(MIN_MAX_MESSAGE), 494);
  t.equal(optionsSize(new Map([[OPTION.DOMAIN_SEARCH, new Uint8Array(300)]])), 304, 'split in two');
  t.equal(optionsSize(new Map([[OPTION.ROUTER, new Uint8Array(4)]])), 6);
});

t.test('replies are at least 300 bytes (RFC 1542) and end with END', async (t) => {
  const { bytes: wire } = encodeMessage({ ...clientMessage({ type: 5 }), op: BOOTREPLY });
  t.equal(wire.length, 300);
  t.equal(wire[243], OPTION.END);
});

function mustDecode(wire: Uint8Array): DhcpMessage {
  const decoded = decodeMessage(wire);
  if (!decoded.ok) throw new Error(`decoding failed: ${decoded.reason}`);
  return decoded.message;
}

/** A minimal valid packet with `tail` as its options field. */
function packet(tail: readonly number[], overrides: { sname?: number[]; file?: number[] } = {}): Uint8Array {
  const wire = new Uint8Array(240 + tail.length);
  wire[0] = 1;
  wire[1] = 1;
  wire[2] = 6;
  new DataView(wire.buffer).setUint32(236, MAGIC_COOKIE);
  wire.set(overrides.sname ?? [], 44);
  wire.set(overrides.file ?? [], 108);
  wire.set(tail, 240);
  return wire;
}

t.test('malformed packets are refused with the reason, never thrown', async (t) => {
  const valid = packet([53, 1, 1, 255]);
  t.ok(decodeMessage(valid).ok);
  t.same(decodeMessage(valid.subarray(0, 239)), { ok: false, reason: 'truncated' });
  t.same(decodeMessage(new Uint8Array(0)), { ok: false, reason: 'truncated' });
  const badCookie = valid.slice();
  badCookie[239] = 0;
  t.same(decodeMessage(badCookie), { ok: false, reason: 'bad_cookie' });
  const longHlen = valid.slice();
  longHlen[2] = 17;
  t.same(decodeMessage(longHlen), { ok: false, reason: 'bad_header' });
  t.same(decodeMessage(packet([53, 1, 1, 12, 200, 1, 2])), { ok: false, reason: 'option_overrun' });
  t.same(decodeMessage(packet([53, 1, 1, 12])), { ok: false, reason: 'option_overrun' });
  t.same(decodeMessage(packet([53, 1, 1, 52, 1, 4])), { ok: false, reason: 'bad_overload' });
  t.same(decodeMessage(packet([53, 1, 1, 52, 2, 1, 1])), { ok: false, reason: 'bad_overload' });
  t.same(decodeMessage(packet([53, 1, 1, 52, 1, 1], { file: [12, 200] })), {
    ok: false,
    reason: 'option_overrun',
  });
});

t.test('pads are skipped one byte at a time, END stops, a missing END is accepted', async (t) => {
  const decoded = mustDecode(packet([0, 0, 53, 1, 3, 0, 12, 2, 104, 105, 255, 6, 4, 1, 2, 3, 4]));
  t.same([...decoded.options.keys()], [53, 12], 'nothing after END is read');
  t.same(decodeMessage(packet([53, 1, 3, 12, 1, 104])).ok, true);
});

t.test('split options are concatenated across the options field, file and sname (RFC 3396)', async (t) => {
  const decoded = mustDecode(
    packet([53, 1, 3, 52, 1, 3, 119, 2, 1, 2, 255], {
      file: [119, 1, 3, 255],
      sname: [119, 2, 4, 5, 52, 1, 1, 255],
    }),
  );
  t.same([...(decoded.options.get(119) ?? [])], [1, 2, 3, 4, 5]);
  t.notOk(decoded.options.has(OPTION.OVERLOAD), 'option 52 inside sname is ignored');
});

t.test('a packet of thousands of tiny options is read in one pass', async (t) => {
  const tail = [53, 1, 1];
  for (let i = 0; i < 20000; i++) tail.push(224 + (i % 30), 0);
  t.equal(mustDecode(packet(tail)).options.size, 31);
});

t.test('random bytes never throw', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1600 }), (raw) => {
      decodeMessage(raw);
      return true;
    }),
    { numRuns: 2000 },
  );
  // Random tails after a valid header reach the option parser rather than the length checks.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1200 }), bytes(64), bytes(128), (tail, sname, file) => {
      const wire = packet([...tail], { sname: [...sname], file: [...file] });
      const decoded = decodeMessage(wire);
      if (decoded.ok) encodeMessage(decoded.message, 1500);
      return true;
    }),
    { numRuns: 2000 },
  );
  t.pass('no throw');
});
