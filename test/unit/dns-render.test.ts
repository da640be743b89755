// Rendering the DNS plan: the lab config against its golden file (UPDATE_GOLDEN=1 rewrites it), and
// the reverse-zone arithmetic for subnets on and off octet/nibble boundaries.
import t from 'tap';
import { create } from '@bufbuild/protobuf';
import { HostSchema } from '../../daemon/src/gen/vrouter/v1/networks_pb.js';
import { parseIpv4Prefix, parseIpv6, parseIpv6Prefix } from '../../daemon/src/config/net.js';
import { NO_DNS, parseRecords, renderDns } from '../../daemon/src/services/dns/render.js';
import {
  PRIVATE_REVERSE_ZONES,
  ipv4ReverseZones,
  ipv6PtrName,
  ipv6ReverseZones,
} from '../../daemon/src/services/dns/reverse.js';
import { EMPTY_INTERFACE_PLAN, type InterfacePlan } from '../../daemon/src/services/interfaces/plan.js';
import { labConfig } from '../lab/lab-config.js';
import { golden } from './golden.js';

const interfaces: InterfacePlan = {
  ...EMPTY_INTERFACE_PLAN,
  links: [
    { nicId: 'pub0', name: 'ens5' },
    { nicId: 'priv-a', name: 'ens3' },
    { nicId: 'priv-b', name: 'ens4' },
    { nicId: 'mgmt0', name: 'ens6' },
  ].map((l, i) => ({ ...l, mac: '', index: i + 2, mtu: undefined, addresses: [], exclusive: true })),
};

void t.test('the lab config renders as its golden file', (t) => {
  const config = labConfig();
  const network = config.networks[0];
  if (network === undefined) throw new Error('no network A');
  network.ipv6Cidr = 'fd00:1::/64';
  network.ipv6Gateway = 'fd00:1::1';
  network.hosts.push(
    create(HostSchema, {
      id: 'vm9',
      mac: '02:00:00:00:00:09',
      ip: '10.1.0.19',
      hostname: 'VM9',
      ipv6: 'fd00:1:0:0::19',
    }),
  );
  const plan = renderDns(config, interfaces);
  const readable = {
    ...plan,
    records: plan.records.split('\n'),
    views: plan.views.map((v) => ({ ...v, records: v.records.split('\n') })),
    zones: plan.zones.filter((z) => !PRIVATE_REVERSE_ZONES.includes(z.name)),
  };
  const { actual, expected } = golden('dns-lab.json', readable);
  t.equal(actual, expected);
  t.equal(
    plan.zones.filter((z) => PRIVATE_REVERSE_ZONES.includes(z.name)).length,
    PRIVATE_REVERSE_ZONES.length,
    'every private reverse zone is local',
  );
  t.end();
});

void t.test('no network with DNS: nothing listens, whatever the dns section says', (t) => {
  const config = labConfig();
  for (const n of config.networks) n.dns = undefined;
  t.same(renderDns(config, interfaces), NO_DNS);
  t.end();
});

void t.test('a network without a domain: bare names in its own view, PTR to the bare name', (t) => {
  const config = labConfig();
  const b = config.networks[1];
  if (b === undefined) throw new Error('no network B');
  b.domain = '';
  const plan = renderDns(config, interfaces);
  t.notOk(
    parseRecords(plan.records).some((r) => r.name.startsWith('vm3.')),
    'no vm3.<domain>',
  );
  t.ok(parseRecords(plan.records).some((r) => r.name === '13.0.2.10.in-addr.arpa' && r.data === 'vm3'));
  t.ok(parseRecords(plan.views[1]?.records ?? '').some((r) => r.name === 'vm3' && r.data === '10.2.0.13'));
  t.notOk(
    parseRecords(plan.views[0]?.records ?? '').some((r) => r.name === 'vm3'),
    'network A does not see bare vm3',
  );
  t.end();
});

void t.test('reverse zones cover exactly the subnet', (t) => {
  const zones4 = (cidr: string) => {
    const p = parseIpv4Prefix(cidr);
    if (p === undefined) throw new Error(cidr);
    return ipv4ReverseZones(p);
  };
  t.same(zones4('10.1.0.0/24'), ['0.1.10.in-addr.arpa']);
  t.same(zones4('10.1.0.0/16'), ['1.10.in-addr.arpa']);
  t.same(zones4('10.1.2.0/23'), ['2.1.10.in-addr.arpa', '3.1.10.in-addr.arpa']);
  t.same(zones4('192.168.1.64/30'), [
    '64.1.168.192.in-addr.arpa',
    '65.1.168.192.in-addr.arpa',
    '66.1.168.192.in-addr.arpa',
    '67.1.168.192.in-addr.arpa',
  ]);
  t.equal(zones4('172.16.0.0/12').length, 16);
  const zones6 = (cidr: string) => {
    const p = parseIpv6Prefix(cidr);
    if (p === undefined) throw new Error(cidr);
    return ipv6ReverseZones(p);
  };
  t.same(zones6('fd00:1::/64'), ['0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa']);
  t.same(zones6('fd00:1::/63'), [
    '0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa',
    '1.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa',
  ]);
  t.same(zones6('2001:db8:ff00::/40'), ['f.f.8.b.d.0.1.0.0.2.ip6.arpa']);
  t.same(zones6('2001:db8:f0::/46').length, 4);
  const address = parseIpv6('fd00:1::11');
  if (address === undefined) throw new Error('fd00:1::11');
  t.equal(ipv6PtrName(address), '1.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa');
  t.end();
});
