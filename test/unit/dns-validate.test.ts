// Validation of the DNS settings: every problem reported with its proto field path.
import t from 'tap';
import { create } from '@bufbuild/protobuf';
import { DnsSchema } from '../../daemon/src/gen/vrouter/v1/dns_pb.js';
import { HostSchema } from '../../daemon/src/gen/vrouter/v1/networks_pb.js';
import { validateConfig } from '../../daemon/src/config/validate.js';
import { parseUpstream } from '../../daemon/src/services/dns/upstream-address.js';
import { labConfig } from '../lab/lab-config.js';

function fields(config = labConfig()): Record<string, string> {
  return Object.fromEntries(validateConfig(config).map((v) => [v.field, v.description]));
}

void t.test('the lab config is valid', (t) => {
  t.same(fields(), {});
  t.end();
});

void t.test('upstream servers, limits: each bad field named', (t) => {
  const config = labConfig();
  const a = config.networks[0];
  if (a === undefined) throw new Error('no network A');
  a.ipv6Cidr = 'fd00:1::/64';
  a.ipv6Gateway = 'fd00:1::1';
  config.dns = create(DnsSchema, {
    upstreamServers: [
      '198.51.100.53',
      'resolver.example',
      '198.51.100.53:53',
      '10.1.0.1',
      '[2001:db8::53]:70000',
      '10.1.0.1:5353',
      '0.0.0.0',
      '255.255.255.255:53',
      '224.0.0.251',
      '[::]:53',
      'ff02::fb',
      '::ffff:10.2.0.1',
      '[fd00:1:0::1]:5353',
    ],
    cacheSize: 2_000_000,
    rateLimitQps: 0,
    upstreamTimeoutMs: 50,
    localTtlSeconds: 90_000,
  });
  const found = fields(config);
  t.match(found['dns.upstream_servers[1]'], /not an upstream server/);
  t.match(
    found['dns.upstream_servers[2]'],
    /duplicate upstream server 198\.51\.100\.53:53 \(also dns\.upstream_servers\[0\]\)/,
  );
  t.match(found['dns.upstream_servers[3]'], /gateway: the router would forward to itself/);
  t.match(found['dns.upstream_servers[4]'], /not an upstream server/);
  t.match(found['dns.upstream_servers[5]'], /10\.1\.0\.1 is a network's gateway/, 'on any port');
  t.match(found['dns.upstream_servers[6]'], /0\.0\.0\.0 is not a server's address \(unspecified\)/);
  t.match(found['dns.upstream_servers[7]'], /255\.255\.255\.255 is not a server's address \(broadcast\)/);
  t.match(found['dns.upstream_servers[8]'], /224\.0\.0\.251 is not a server's address \(multicast\)/);
  t.match(found['dns.upstream_servers[9]'], /^:: is not a server's address \(unspecified\)/);
  t.match(found['dns.upstream_servers[10]'], /ff02::fb is not a server's address \(multicast\)/);
  t.match(found['dns.upstream_servers[11]'], /gateway/, 'an IPv4 gateway written as IPv6');
  t.match(found['dns.upstream_servers[12]'], /fd00:1::1 is a network's gateway/);
  t.match(found['dns.cache_size'], /out of range 1-1000000/);
  t.notOk('dns.rate_limit_qps' in found, '0 means the default');
  t.match(found['dns.upstream_timeout_ms'], /out of range 100-10000/);
  t.match(found['dns.local_ttl_seconds'], /out of range 1-86400/);
  config.dns.upstreamServers = Array.from({ length: 9 }, (_, i) => `198.51.100.${i + 1}`);
  t.match(fields(config)['dns.upstream_servers'], /at most 8/);
  config.dns.upstreamServers = [
    '10.1.0.255',
    '10.2.0.0:53',
    '203.0.113.2',
    '203.0.113.10',
    'fe80::1',
    '127.0.0.1',
  ];
  const router = fields(config);
  t.match(router['dns.upstream_servers[0]'], /10\.1\.0\.255 is the broadcast address of network "net-a"/);
  t.match(router['dns.upstream_servers[1]'], /10\.2\.0\.0 is the network address of network "net-b"/);
  t.match(router['dns.upstream_servers[2]'], /203\.0\.113\.2 is an address of NIC "pub0": the router would/);
  t.match(router['dns.upstream_servers[3]'], /203\.0\.113\.10 is VIP "v-eip-vm1"/);
  t.match(router['dns.upstream_servers[4]'], /fe80::1 is link-local/);
  t.notOk('dns.upstream_servers[5]' in router, 'a resolver on the router itself (loopback) may be asked');
  t.end();
});

void t.test('names DNS could not answer unambiguously', (t) => {
  const config = labConfig();
  const [a, b] = config.networks;
  if (a === undefined || b === undefined) throw new Error('lab networks');
  b.domain = 'A.lab.internal';
  b.hosts.push(create(HostSchema, { id: 'h-b', mac: '02:00:00:00:0b:01', ip: '10.2.0.20', hostname: 'VM1' }));
  a.hosts.push(
    create(HostSchema, { id: 'h-r', mac: '02:00:00:00:0a:01', ip: '10.1.0.20', hostname: 'Vrouter-Lab' }),
  );
  a.domain = '1.10.in-addr.arpa';
  const found = fields(config);
  t.match(found['networks[0].domain'], /reverse-lookup domain/);
  t.match(found['networks[0].hosts[2].hostname'], /router's own name/);
  t.notOk('networks[1].hosts[1].hostname' in found, 'different domains once A is .arpa');
  a.domain = 'a.lab.internal';
  t.match(
    fields(config)['networks[1].hosts[1].hostname'],
    /"vm1\.a\.lab\.internal" is also networks\[0\]\.hosts\[0\]\.hostname/,
  );
  for (const n of config.networks) n.dns = undefined;
  t.same(fields(config), {}, 'without DNS in use, the names do not matter to it');
  t.end();
});

void t.test('upstream addresses as operators write them', (t) => {
  t.same(parseUpstream('198.51.100.53'), { address: '198.51.100.53', port: 53, family: 4 });
  t.same(parseUpstream('198.51.100.53:5353'), { address: '198.51.100.53', port: 5353, family: 4 });
  t.same(parseUpstream('2001:DB8::53'), { address: '2001:db8::53', port: 53, family: 6 });
  t.same(parseUpstream('[2001:db8:0::53]:5300'), { address: '2001:db8::53', port: 5300, family: 6 });
  for (const bad of ['', '198.51.100', '198.51.100.53:0', '[2001:db8::53', 'fe80::1%eth0', 'ns.example'])
    t.equal(parseUpstream(bad), undefined, bad);
  t.end();
});
