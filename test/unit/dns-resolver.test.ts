// The resolver without sockets: queries in, responses out, decoded by dns2. Local answers with the
// client's ID, case and EDNS; TC when a response does not fit; REFUSED, NOTIMP, BADVERS; malformed
// and rate-limited queries dropped and counted; the cache ageing TTLs and keeping negative answers
// as long as their SOA says.
import t from 'tap';
import dns2 from 'dns2';
import { ResponseCache, toCachedResponse } from '../../daemon/src/services/dns/cache.js';
import { renderDns } from '../../daemon/src/services/dns/render.js';
import {
  type Arrival,
  type DeferredReply,
  NOT_A_QUERY,
  Resolver,
} from '../../daemon/src/services/dns/resolver.js';
import { type MessageLayout, TYPE, layoutOf } from '../../daemon/src/services/dns/wire.js';
import { EMPTY_INTERFACE_PLAN, type InterfacePlan } from '../../daemon/src/services/interfaces/plan.js';
import { labConfig } from '../lab/lab-config.js';

const { Packet } = dns2;

const interfaces: InterfacePlan = {
  ...EMPTY_INTERFACE_PLAN,
  links: ['priv-a', 'priv-b'].map((nicId, i) => ({
    nicId,
    name: `ens${i + 3}`,
    mac: '',
    index: i + 3,
    mtu: undefined,
    addresses: [],
    exclusive: true,
  })),
};

function resolver(configure: (c: ReturnType<typeof labConfig>) => void = () => undefined): Resolver {
  const config = labConfig();
  configure(config);
  const r = new Resolver(() => undefined);
  r.configure(renderDns(config, interfaces));
  return r;
}

interface Ask {
  name: string;
  type?: number;
  klass?: number;
  edns?: { size?: number; version?: number; dnssecOk?: boolean };
  view?: number;
  client?: number;
  now?: number;
  opcode?: number;
  transport?: 'udp' | 'tcp';
}

function query(ask: Ask): Buffer {
  const packet = new Packet();
  packet.header.id = 0xbeef;
  packet.header.rd = 1;
  packet.header.opcode = ask.opcode ?? 0;
  packet.questions.push({
    name: ask.name,
    type: ask.type ?? TYPE.A,
    class: ask.klass ?? 1,
  } as dns2.Packet.Question);
  if (ask.edns !== undefined)
    packet.additionals.push(
      Packet.Resource.EDNS([], {
        udpPayloadSize: ask.edns.size ?? 1232,
        version: ask.edns.version ?? 0,
        doFlag: ask.edns.dnssecOk ?? false,
      }),
    );
  return packet.toBuffer();
}

function answer(
  r: Resolver,
  ask: Ask,
  msg = query(ask),
): { response: dns2.Packet | undefined; size: number; deferred: number } {
  let deferred = 0;
  const arrival: Arrival = {
    view: ask.view ?? 0,
    client: ask.client ?? 1,
    transport: ask.transport ?? 'udp',
    now: ask.now ?? 1000,
    channel: { deferReply: (): DeferredReply => (deferred++, () => undefined) },
  };
  const out = Buffer.alloc(70_000);
  const size = r.answer(msg, 0, msg.length, arrival, out, 0);
  return { response: size > 0 ? Packet.parse(out.subarray(0, size)) : undefined, size, deferred };
}

void t.test('a local answer: authoritative, the client ID, its spelling, its EDNS', (t) => {
  const r = resolver();
  const { response } = answer(r, { name: 'VM2.a.Lab.Internal', edns: { dnssecOk: true } });
  t.equal(response?.header.id, 0xbeef);
  t.equal(response?.header.aa, 1);
  t.equal(response?.header.rd, 1);
  t.equal(response?.header.ra, 1);
  t.equal(response?.questions[0]?.name, 'VM2.a.Lab.Internal', 'the question as the client spelled it');
  t.equal(response?.answers[0]?.address, '10.1.0.12');
  t.equal(response?.answers[0]?.ttl, 60);
  const opt = response?.additionals.find((a) => a.type === TYPE.OPT);
  t.equal(opt?.class, 1232);
  t.equal(opt?.doFlag, true);
  const again = answer(r, { name: 'vm2.a.lab.internal' }).response;
  t.equal(again?.additionals.length, 0, 'no OPT for a client without EDNS');
  t.equal(r.counters.local_answers, 2);
  t.end();
});

void t.test('PTR, the router by name, NXDOMAIN with the SOA', (t) => {
  const r = resolver();
  t.equal(
    answer(r, { name: '13.0.2.10.in-addr.arpa', type: TYPE.PTR }).response?.answers[0]?.domain,
    'vm3.b.lab.internal',
  );
  t.equal(answer(r, { name: 'vrouter-lab', view: 1 }).response?.answers[0]?.address, '10.2.0.1');
  t.equal(
    answer(r, { name: 'vrouter-lab.a.lab.internal', view: 1 }).response?.answers[0]?.address,
    '10.1.0.1',
  );
  const nx = answer(r, { name: 'nope.a.lab.internal' }).response;
  t.equal(nx?.header.rcode, 3);
  t.equal(nx?.authorities[0]?.type, TYPE.SOA);
  t.equal(nx?.authorities[0]?.minimum, 60);
  t.equal(r.counters.nxdomain, 1);
  t.end();
});

void t.test('what is refused, not implemented or malformed', (t) => {
  const r = resolver();
  t.equal(
    answer(r, { name: 'version.bind', type: 16, klass: 3 }).response?.header.rcode,
    5,
    'CHAOS: REFUSED',
  );
  t.equal(answer(r, { name: 'a.lab.internal', type: TYPE.AXFR }).response?.header.rcode, 5, 'AXFR: REFUSED');
  t.equal(
    answer(r, { name: 'x.a.lab.internal', opcode: 2 }).response?.header.rcode,
    4,
    'STATUS opcode: NOTIMP',
  );
  const badvers = answer(r, { name: 'vm1.a.lab.internal', edns: { version: 1 } }).response;
  t.equal(badvers?.header.rcode, 16, 'EDNS version 1: BADVERS (extended RCODE in the OPT record)');
  const before = r.counters.malformed;
  const garbage = Buffer.from('this is not DNS at all, just bytes');
  t.equal(answer(r, { name: 'x' }, garbage).size, NOT_A_QUERY, 'no reply (and a TCP connection closed)');
  t.equal(r.counters.malformed, before + 1);
  t.end();
});

void t.test('a whole question with broken records after it: FORMERR without OPT, counted', (t) => {
  const r = resolver();
  const good = query({ name: 'vm1.a.lab.internal', edns: {} });
  const twoOpts = Buffer.concat([good, good.subarray(good.length - 11)]);
  twoOpts.writeUInt16BE(2, 10);
  const trailing = Buffer.concat([good, Buffer.from('garbage')]);
  for (const [what, msg] of [
    ['two OPT records (RFC 6891 §6.1.1)', twoOpts],
    ['octets after the records', trailing],
  ] as const) {
    const { response } = answer(r, { name: 'vm1.a.lab.internal' }, msg);
    t.equal(response?.header.rcode, 1, `${what}: FORMERR`);
    t.equal(response?.header.id, 0xbeef);
    t.equal(response?.questions[0]?.name, 'vm1.a.lab.internal', 'the question echoed');
    t.same(response?.answers, []);
    t.same(response?.additionals, [], 'no OPT');
  }
  t.equal(r.counters.malformed, 2);
  t.equal(r.counters.queries, 0);
  t.end();
});

void t.test('names outside the local zones: forwarded, or REFUSED without upstream servers', (t) => {
  const forwarding = resolver();
  t.equal(forwarding.forwarder.servers.length, 1);
  const local = resolver((c) => {
    c.dns = undefined;
  });
  t.equal(answer(local, { name: 'www.example.test' }).response?.header.rcode, 5);
  t.equal(answer(local, { name: '8.8.8.8.in-addr.arpa', type: TYPE.PTR }).response?.header.rcode, 5);
  t.equal(
    answer(local, { name: '5.5.168.192.in-addr.arpa', type: TYPE.PTR }).response?.header.rcode,
    3,
    'private reverse: local NXDOMAIN',
  );
  t.end();
});

void t.test('each client gets its rate, not more', (t) => {
  const r = resolver((c) => {
    if (c.dns !== undefined) c.dns.rateLimitQps = 10;
  });
  const answered = (client: number, now: number) =>
    answer(r, { name: 'vm1.a.lab.internal', client, now }).size > 0;
  let first = 0;
  for (let i = 0; i < 30; i++) if (answered(1, 1000)) first++;
  t.equal(first, 10, 'a burst of one second at 10 qps');
  t.ok(answered(2, 1000), 'another client is not affected');
  t.ok(answered(1, 1100), 'a token back after 100 ms');
  t.notOk(answered(1, 1100));
  t.equal(r.counters.rate_limited, 21);
  t.end();
});

function upstreamResponse(
  name: string,
  rcode: number,
  answers: { ttl: number; address: string }[],
  soa?: { ttl: number; minimum: number },
  alter: (bytes: Buffer, layout: MessageLayout) => void = () => undefined,
) {
  const packet = new Packet();
  packet.header.qr = 1;
  packet.header.rcode = rcode;
  packet.questions.push({ name, type: 1, class: 1 } as dns2.Packet.Question);
  for (const a of answers) packet.answers.push({ name, type: 1, class: 1, ...a } as dns2.Packet.Resource);
  if (soa !== undefined)
    packet.authorities.push({
      name: 'example.test',
      type: TYPE.SOA,
      class: 1,
      ttl: soa.ttl,
      primary: 'ns.example.test',
      admin: 'hostmaster.example.test',
      serial: 1,
      refresh: 3600,
      retry: 600,
      expiration: 86400,
      minimum: soa.minimum,
    } as dns2.Packet.Resource);
  packet.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: 4096 }));
  const bytes = packet.toBuffer();
  const layout = layoutOf(bytes);
  if (layout === undefined) throw new Error('bad test response');
  alter(bytes, layout);
  return toCachedResponse(bytes, layout);
}

void t.test('cached responses: lifetimes from TTLs and SOAs, TTLs counting down', (t) => {
  const positive = upstreamResponse('www.example.test', 0, [
    { ttl: 300, address: '198.51.100.7' },
    { ttl: 100, address: '198.51.100.8' },
  ]);
  t.equal(positive.lifetime, 100, 'the smallest TTL');
  t.notOk(positive.negative);
  t.equal(Packet.parse(positive.template).additionals.length, 0, 'the upstream OPT record is gone');
  t.equal(
    upstreamResponse('nx.example.test', 3, [], { ttl: 300, minimum: 120 }).lifetime,
    120,
    'NXDOMAIN: SOA minimum',
  );
  t.equal(
    upstreamResponse('nx.example.test', 3, [], { ttl: 30, minimum: 120 }).lifetime,
    30,
    'NXDOMAIN: SOA TTL',
  );
  t.equal(
    upstreamResponse('nodata.example.test', 0, [], { ttl: 300, minimum: 7200 }).lifetime,
    300,
    'NODATA too',
  );
  t.equal(
    upstreamResponse('nx.example.test', 3, [], { ttl: 90000, minimum: 90000 }).lifetime,
    3600,
    'at most an hour',
  );
  t.equal(upstreamResponse('nx.example.test', 3, []).lifetime, 0, 'no SOA: not cached');
  const topBit = upstreamResponse(
    'ttl.example.test',
    0,
    [{ ttl: 300, address: '198.51.100.9' }],
    undefined,
    (bytes, layout) => {
      // dns2 cannot write a TTL with the top bit set: written over the encoded one.
      bytes.writeUInt32BE(0xffffffff, layout.records[0]?.ttlOffset ?? 0);
    },
  );
  t.same(
    Packet.parse(topBit.template).answers.map((a) => a.ttl),
    [0],
    'a TTL with the top bit set reaches the client as 0 (RFC 2181 §8), not as 4294967295',
  );
  const nx = upstreamResponse('nx.example.test', 3, [], { ttl: 3600, minimum: 5 });
  t.same(
    Packet.parse(nx.template).authorities.map((a) => a.ttl),
    [5],
    "a negative answer's SOA at the negative TTL (RFC 2308 §5), not its own 3600",
  );

  const cache = new ResponseCache(2);
  cache.put('k1', positive, 50);
  const later = cache.get('k1', 60);
  t.same(later && Packet.parse(later).answers.map((a) => a.ttl), [290, 90]);
  t.equal(cache.get('k1', 150), undefined, 'gone when the smallest TTL ran out');
  cache.put('a', positive, 0);
  cache.put('b', positive, 0);
  cache.get('a', 1);
  cache.put('c', positive, 1);
  t.ok(cache.get('a', 2), 'a recently hit entry survives');
  t.equal(cache.get('b', 2), undefined, 'the oldest unused one is evicted');
  t.equal(cache.evictions, 1);
  t.end();
});

void t.test('a cached response too big for the client: TC, then whole over TCP', (t) => {
  const r = resolver();
  const many = Array.from({ length: 40 }, (_, i) => ({ ttl: 300, address: `198.51.100.${i + 1}` }));
  const big = upstreamResponse('many.example.test', 0, many);
  // The cache key: the lower-case question as on the wire, then the DO/CD octet.
  const key = `${query({ name: 'many.example.test' }).subarray(12).toString('latin1')}\u0000`;
  r.cache.put(key, big, 1);
  const udp = answer(r, { name: 'many.example.test' });
  t.equal(udp.response?.header.tc, 1, 'over 512 octets without EDNS: truncated');
  t.equal(udp.response?.answers.length, 0);
  const tcp = answer(r, { name: 'many.example.test', transport: 'tcp' });
  t.equal(tcp.response?.answers.length, 40);
  const edns = answer(r, { name: 'Many.Example.Test', edns: { size: 4096 } });
  t.equal(edns.response?.answers.length, 40, 'fits 1232 octets with EDNS');
  t.equal(edns.response?.questions[0]?.name, 'Many.Example.Test');
  t.equal(r.counters.cache_hits, 3);
  t.equal(r.counters.truncated, 1);
  t.end();
});
