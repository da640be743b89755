// What the local zones answer: names in a view, authoritative answers, NXDOMAIN vs NODATA with the
// zone's SOA, private reverse zones kept local, everything else left to forward.
import t from 'tap';
import { TYPE } from '../../daemon/src/services/dns/wire.js';
import { ZoneTable, parentOf } from '../../daemon/src/services/dns/zones.js';
import type { DnsPlan } from '../../daemon/src/services/dns/render.js';
import { PRIVATE_REVERSE_ZONES } from '../../daemon/src/services/dns/reverse.js';

const plan: Pick<DnsPlan, 'records' | 'views' | 'zones'> = {
  records: [
    'vm1.a.test A 10.1.0.11',
    'vm1.a.test AAAA fd00:1::11',
    'rt.a.test A 10.1.0.1',
    '11.0.1.10.in-addr.arpa PTR vm1.a.test',
  ].join('\n'),
  views: [
    { networkId: 'a', domain: 'a.test', records: 'vm1 A 10.1.0.11\nrt A 10.1.0.1' },
    { networkId: 'b', domain: '', records: 'rt A 10.2.0.1' },
  ],
  zones: [
    { name: 'a.test', nameserver: 'rt.a.test' },
    { name: 'deep.x.test', nameserver: 'deep.x.test' },
    { name: '0.1.10.in-addr.arpa', nameserver: '0.1.10.in-addr.arpa' },
    ...PRIVATE_REVERSE_ZONES.map((name) => ({ name, nameserver: name })),
  ],
};
const zones = new ZoneTable(plan);

void t.test('names in the local zones', (t) => {
  const a = zones.lookup(0, 'vm1.a.test', TYPE.A);
  t.same(a, {
    rcode: 0,
    authoritative: true,
    answers: [{ name: 'vm1.a.test', type: TYPE.A, address: '10.1.0.11' }],
    authority: [],
  });
  t.equal(zones.lookup(1, 'vm1.a.test', TYPE.AAAA)?.answers.length, 1, 'other networks see it too');
  t.equal(zones.lookup(0, 'vm1.a.test', TYPE.ANY)?.answers.length, 2);
  const nodata = zones.lookup(0, 'rt.a.test', TYPE.AAAA);
  t.equal(nodata?.rcode, 0);
  t.equal(nodata?.answers.length, 0);
  t.equal(nodata?.authority[0]?.type, TYPE.SOA, 'NODATA carries the SOA');
  const nx = zones.lookup(0, 'nope.a.test', TYPE.A);
  t.equal(nx?.rcode, 3);
  t.equal(nx?.authority[0]?.name, 'a.test');
  t.equal(zones.lookup(0, 'sub.vm1.a.test', TYPE.A)?.rcode, 3, 'nothing below a host');
  t.equal(
    zones.lookup(0, 'x\\.vm1.a.test', TYPE.A)?.rcode,
    3,
    'an escaped dot is not a label boundary, still in the zone',
  );
  t.end();
});

void t.test('apex, empty non-terminals, and parents of local zones', (t) => {
  t.equal(zones.lookup(0, 'a.test', TYPE.SOA)?.answers[0]?.type, TYPE.SOA);
  t.same(zones.lookup(0, 'a.test', TYPE.NS)?.answers[0], {
    name: 'a.test',
    type: TYPE.NS,
    target: 'rt.a.test',
  });
  t.equal(zones.lookup(0, 'a.test', TYPE.A)?.rcode, 0, 'the apex exists: NODATA');
  t.equal(
    zones.lookup(0, '1.10.in-addr.arpa', TYPE.PTR)?.rcode,
    0,
    'an empty non-terminal of 10.in-addr.arpa: NODATA',
  );
  t.equal(zones.lookup(0, 'test', TYPE.SOA), undefined, 'the parent of a local zone is forwarded');
  t.equal(zones.lookup(0, 'x.test', TYPE.A), undefined, 'x.test is not local (only deep.x.test is)');
  t.end();
});

void t.test('reverse lookups', (t) => {
  t.same(zones.lookup(1, '11.0.1.10.in-addr.arpa', TYPE.PTR)?.answers, [
    { name: '11.0.1.10.in-addr.arpa', type: TYPE.PTR, target: 'vm1.a.test' },
  ]);
  t.equal(zones.lookup(0, '99.0.1.10.in-addr.arpa', TYPE.PTR)?.rcode, 3);
  t.equal(zones.lookup(0, '5.5.168.192.in-addr.arpa', TYPE.PTR)?.rcode, 3, 'private, never forwarded');
  t.equal(
    zones.lookup(0, '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa', TYPE.PTR)
      ?.rcode,
    3,
  );
  t.equal(zones.lookup(0, '8.8.8.8.in-addr.arpa', TYPE.PTR), undefined, 'public addresses are forwarded');
  t.end();
});

void t.test('single labels mean what the asking network says', (t) => {
  t.equal(zones.lookup(0, 'vm1', TYPE.A)?.answers.length, 1);
  t.equal(zones.lookup(1, 'vm1', TYPE.A)?.rcode, 3, 'network b has no bare vm1');
  t.same(zones.lookup(0, 'rt', TYPE.A)?.answers[0], { name: 'rt', type: TYPE.A, address: '10.1.0.1' });
  t.same(zones.lookup(1, 'rt', TYPE.A)?.answers[0], { name: 'rt', type: TYPE.A, address: '10.2.0.1' });
  t.equal(zones.lookup(0, 'vm1', 16)?.rcode, 0, 'a known bare name stays local for any type');
  t.equal(zones.lookup(0, 'unknown', TYPE.AAAA)?.rcode, 3, 'an unknown bare name never leaks');
  t.equal(zones.lookup(0, 'com', TYPE.NS), undefined, 'a top-level name for NS is forwarded');
  t.equal(zones.lookup(0, '', TYPE.NS), undefined, 'the root is forwarded');
  t.ok(zones.isViewName('rt'));
  t.end();
});

void t.test('single labels: authoritative, negative answers with the network domain SOA', (t) => {
  const soa = { name: 'a.test', type: TYPE.SOA, zone: plan.zones[0] };
  t.equal(zones.lookup(0, 'vm1', TYPE.A)?.authoritative, true);
  t.same(zones.lookup(0, 'rt', TYPE.AAAA), { rcode: 0, authoritative: true, answers: [], authority: [soa] });
  t.same(zones.lookup(0, 'vm1', 15), { rcode: 0, authoritative: true, answers: [], authority: [soa] });
  t.same(zones.lookup(0, 'nobody', TYPE.A), { rcode: 3, authoritative: true, answers: [], authority: [soa] });
  t.same(
    zones.lookup(1, 'rt', TYPE.AAAA),
    { rcode: 0, authoritative: true, answers: [], authority: [] },
    'a network without a domain has no zone and no SOA to give',
  );
  t.notOk(zones.isViewName('vm9'));
  t.end();
});

void t.test('parentOf', (t) => {
  t.equal(parentOf('a.b.c'), 'b.c');
  t.equal(parentOf('a\\.b.c'), 'c');
  t.equal(parentOf('c'), undefined);
  t.end();
});
