// The hand-written DNS codec against dns2 as an independent implementation: queries dns2 encodes are
// read the same; whatever bytes arrive, the parser answers "usable" or a reason, never throws; names
// survive a round trip; message layouts point at the right TTLs.
import t from 'tap';
import fc from 'fast-check';
import dns2 from 'dns2';
import {
  HEADER_SIZE,
  MessageWriter,
  Query,
  TYPE,
  layoutOf,
  nameToWire,
  parseQuery,
  readName,
  sameQuestion,
  skipName,
} from '../../daemon/src/services/dns/wire.js';

const { Packet } = dns2;

const label = fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,20}[A-Za-z0-9])?$/);
const hostname = fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join('.'));
const qtype = fc.constantFrom(TYPE.A, TYPE.AAAA, TYPE.PTR, TYPE.SOA, TYPE.NS, 16, 15, 33, 65, 255);

function dns2Query(
  name: string,
  type: number,
  options: { edns?: { size: number; dnssecOk: boolean }; id: number; rd: boolean },
): Buffer {
  const packet = new Packet();
  packet.header.id = options.id;
  packet.header.rd = options.rd ? 1 : 0;
  packet.questions.push({ name, type, class: Packet.CLASS.IN } as dns2.Packet.Question);
  if (options.edns !== undefined)
    packet.additionals.push(
      Packet.Resource.EDNS([], {
        udpPayloadSize: options.edns.size,
        doFlag: options.edns.dnssecOk,
      }),
    );
  return packet.toBuffer();
}

void t.test('reads what dns2 writes: ID, RD, question, EDNS size and DO bit', (t) => {
  fc.assert(
    fc.property(
      hostname,
      qtype,
      fc.integer({ min: 0, max: 0xffff }),
      fc.boolean(),
      fc.option(fc.record({ size: fc.integer({ min: 1, max: 65535 }), dnssecOk: fc.boolean() })),
      (name, type, id, rd, edns) => {
        const wire = dns2Query(name, type, { id, rd, ...(edns !== null && { edns }) });
        const q = new Query();
        const scratch = Buffer.alloc(512);
        t.equal(parseQuery(wire, 0, wire.length, q, scratch), undefined);
        t.equal(q.id, id);
        t.equal((q.flags2 & 1) === 1, rd);
        t.equal(q.type, type);
        t.equal(q.klass, 1);
        t.equal(q.edns, edns !== null);
        t.equal(q.udpSize, edns === null ? 512 : Math.max(512, edns.size));
        t.equal(q.dnssecOk, edns?.dnssecOk ?? false);
        t.equal(readName(wire, HEADER_SIZE, wire.length), name.toLowerCase());
        const lowerWire = nameToWire(name.toLowerCase());
        t.equal(q.nameLength, lowerWire.length);
        t.equal(q.key.slice(0, lowerWire.length), lowerWire.toString('latin1'));
      },
    ),
    { numRuns: 300 },
  );
  t.end();
});

void t.test('the key ignores case but not the type, class or DO bit', (t) => {
  const key = (name: string, type: number, dnssecOk = false) => {
    const wire = dns2Query(name, type, { id: 1, rd: true, edns: { size: 1232, dnssecOk } });
    const q = new Query();
    t.equal(parseQuery(wire, 0, wire.length, q, Buffer.alloc(512)), undefined);
    return q.key;
  };
  t.equal(key('VM1.A.Lab.Internal', 1), key('vm1.a.lab.internal', 1));
  t.not(key('vm1.a.lab.internal', 1), key('vm1.a.lab.internal', 28));
  t.not(key('vm1.a.lab.internal', 1), key('vm1.a.lab.internal', 1, true));
  t.end();
});

void t.test('any bytes: a reason or a usable query, never an exception', (t) => {
  const q = new Query();
  const scratch = Buffer.alloc(512);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const msg = Buffer.from(bytes);
      const result = parseQuery(msg, 0, msg.length, q, scratch);
      if (result === undefined && q.opcode === 0) t.ok(q.questionEnd <= msg.length);
      t.doesNotThrow(() => layoutOf(msg));
      t.doesNotThrow(() => readName(msg, HEADER_SIZE, msg.length));
    }),
    { numRuns: 3000 },
  );
  t.end();
});

void t.test('mutated real queries: a reason or a usable query, never an exception', (t) => {
  const q = new Query();
  const scratch = Buffer.alloc(512);
  fc.assert(
    fc.property(
      hostname,
      qtype,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.nat(80),
      (name, type, flips, cut) => {
        const msg = dns2Query(name, type, { id: 7, rd: true, edns: { size: 4096, dnssecOk: true } });
        for (const [at, value] of flips) msg[at % msg.length] = value;
        const length = Math.max(0, msg.length - cut);
        t.doesNotThrow(() => parseQuery(msg, 0, length, q, scratch));
      },
    ),
    { numRuns: 3000 },
  );
  t.end();
});

void t.test('drops what is not a plain query', (t) => {
  const q = new Query();
  const scratch = Buffer.alloc(512);
  const good = dns2Query('vm1.a.lab.internal', 1, { id: 1, rd: true });
  const parse = (msg: Buffer) => parseQuery(msg, 0, msg.length, q, scratch);
  t.equal(parse(good), undefined);
  t.equal(parse(good.subarray(0, 11)), 'short');
  const response = Buffer.from(good);
  response[2] = (response[2] ?? 0) | 0x80;
  t.equal(parse(response), 'response');
  const twoQuestions = Buffer.from(good);
  twoQuestions.writeUInt16BE(2, 4);
  t.equal(parse(twoQuestions), 'counts');
  const pointer = Buffer.from(good);
  pointer[HEADER_SIZE] = 0xc0;
  t.equal(parse(pointer), 'name');
  t.equal(parse(Buffer.concat([good, Buffer.from([0])])), 'trailing');
  t.equal(parse(good.subarray(0, good.length - 2)), 'truncated');
  const twoOpts = dns2Query('x.test', 1, { id: 1, rd: true, edns: { size: 1232, dnssecOk: false } });
  const opt = twoOpts.subarray(twoOpts.length - 11);
  const doubled = Buffer.concat([twoOpts, opt]);
  doubled.writeUInt16BE(2, 10);
  t.equal(parse(doubled), 'opt');
  const notify = Buffer.from(good);
  notify[2] = 4 << 3;
  t.equal(parse(notify), undefined);
  t.equal(q.opcode, 4);
  t.end();
});

void t.test('names: escaped presentation form survives a round trip through the wire', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 63 }), { minLength: 0, maxLength: 3 }),
      (labels) => {
        const wire = Buffer.concat([
          ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
          Buffer.from([0]),
        ]);
        const name = readName(wire, 0, wire.length);
        if (name === undefined) return;
        const lowered = Buffer.from(wire.map((c, i) => (i > 0 && c >= 0x41 && c <= 0x5a ? c | 0x20 : c)));
        // Length octets are at most 63, below 'A': only label octets change.
        t.same(nameToWire(name), lowered);
      },
    ),
    { numRuns: 500 },
  );
  t.end();
});

void t.test('readName follows compression pointers backwards only', (t) => {
  const msg = Buffer.concat([Buffer.from([3, ...Buffer.from('abc'), 0]), Buffer.from([1, 0x78, 0xc0, 0])]);
  t.equal(readName(msg, 5, msg.length), 'x.abc');
  const loop = Buffer.from([0xc0, 0]);
  t.equal(readName(loop, 0, loop.length), undefined);
  const forward = Buffer.from([0xc0, 2, 1, 0x61, 0]);
  t.equal(readName(forward, 0, forward.length), undefined);
  t.equal(skipName(msg, 5, msg.length), 9);
  t.end();
});

void t.test('MessageWriter compresses names the way dns2 reads them', (t) => {
  const w = new MessageWriter().header(0x1234, 0x8180, [1, 2, 0, 0]);
  w.question('vm1.a.lab.internal', TYPE.A);
  w.record('vm1.a.lab.internal', TYPE.A, 60, (x) => x.bytes(Uint8Array.from([10, 1, 0, 11])));
  w.record('11.0.1.10.in-addr.arpa', TYPE.PTR, 60, (x) => x.name('vm1.a.lab.internal'));
  const bytes = w.finish();
  t.ok(bytes.includes(Buffer.from([0xc0, HEADER_SIZE])), 'the answer points at the question');
  const parsed = Packet.parse(bytes);
  t.same(parsed.errors, []);
  t.equal(parsed.answers[0]?.address, '10.1.0.11');
  t.equal(parsed.answers[1]?.domain, 'vm1.a.lab.internal');
  t.equal(parsed.answers[1]?.name, '11.0.1.10.in-addr.arpa');
  t.end();
});

void t.test('layoutOf finds every record and its TTL in what dns2 writes', (t) => {
  fc.assert(
    fc.property(
      hostname,
      fc.array(
        fc.record({ ttl: fc.integer({ min: 0, max: 0x7fffffff }), last: fc.integer({ min: 1, max: 254 }) }),
        { maxLength: 5 },
      ),
      fc.boolean(),
      (name, records, withSoa) => {
        const packet = new Packet();
        packet.header.qr = 1;
        packet.questions.push({ name, type: 1, class: 1 } as dns2.Packet.Question);
        for (const r of records)
          packet.answers.push({
            name,
            type: 1,
            class: 1,
            ttl: r.ttl,
            address: `192.0.2.${r.last}`,
          } as dns2.Packet.Resource);
        if (withSoa)
          packet.authorities.push({
            name,
            type: TYPE.SOA,
            class: 1,
            ttl: 300,
            primary: `ns.${name}`,
            admin: `hostmaster.${name}`,
            serial: 1,
            refresh: 2,
            retry: 3,
            expiration: 4,
            minimum: 120,
          } as dns2.Packet.Resource);
        const bytes = packet.toBuffer();
        const layout = layoutOf(bytes);
        if (layout === undefined) {
          t.fail('no layout');
          return;
        }
        t.equal(layout.records.length, records.length + (withSoa ? 1 : 0));
        records.forEach((r, i) => t.equal(bytes.readUInt32BE(layout.records[i]?.ttlOffset ?? 0), r.ttl));
        const soa = layout.records.find((r) => r.type === TYPE.SOA);
        if (withSoa) t.equal(bytes.readUInt32BE((soa?.rdataOffset ?? 0) + (soa?.rdlength ?? 0) - 4), 120);
        const question = Buffer.concat([nameToWire(name.toLowerCase()), Buffer.from([0, 1, 0, 1])]);
        t.ok(sameQuestion(bytes, layout.questionEnd, question));
        question[question.length - 3] = 28;
        t.notOk(sameQuestion(bytes, layout.questionEnd, question));
      },
    ),
    { numRuns: 200 },
  );
  t.end();
});
