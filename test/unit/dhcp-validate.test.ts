// Validation of DHCP settings: every problem reported at its proto field path, nothing else refused.
import t from 'tap';
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import {
  AddressPoolSchema,
  ClasslessRouteSchema,
  HostSchema,
} from '../../daemon/src/gen/vrouter/v1/networks_pb.js';
import { validateConfig } from '../../daemon/src/config/validate.js';
import { unimplementedSections } from '../../daemon/src/config/sections.js';
import { labConfig } from '../lab/lab-config.js';
import { dhcpConfig } from './dhcp-fixtures.js';

function violations(edit: (c: RouterConfig) => void): Record<string, string> {
  return Object.fromEntries(validateConfig(dhcpConfig(edit)).map((v) => [v.field, v.description]));
}

function settingsOfA(c: RouterConfig) {
  const dhcp = c.networks[0]?.dhcp;
  if (dhcp === undefined) throw new Error('network A has DHCP settings');
  return dhcp;
}

t.test('the lab configs with DHCP are valid and DHCP is no longer refused as unimplemented', async (t) => {
  t.same(validateConfig(dhcpConfig()), []);
  t.same(validateConfig(labConfig()), []);
  t.same(unimplementedSections(dhcpConfig()), []);
});

t.test('numbers out of range', async (t) => {
  t.same(
    violations((c) => {
      settingsOfA(c).leaseTimeSeconds = 59;
      settingsOfA(c).mtu = 100;
    }),
    {
      'networks[0].dhcp.lease_time_seconds': '59 is out of range 60-31536000 (or 0 for one day)',
      'networks[0].dhcp.mtu': "100 is out of range 576-9216 (or 0 for the NIC's MTU)",
    },
  );
});

t.test('servers and search domains', async (t) => {
  t.same(
    violations((c) => {
      const d = settingsOfA(c);
      d.dnsServers = ['10.1.0.53', 'dns.example'];
      d.ntpServers = ['10.1.0.300'];
      d.domainSearch = ['ok.internal', 'bad_domain'];
    }),
    {
      'networks[0].dhcp.dns_servers[1]': '"dns.example" is not an IPv4 address',
      'networks[0].dhcp.ntp_servers[0]': '"10.1.0.300" is not an IPv4 address',
      'networks[0].dhcp.domain_search[1]':
        '"bad_domain" is not a domain name (dot-separated labels of letters, digits and -)',
    },
  );
  t.same(
    violations((c) => {
      settingsOfA(c).dnsServers = Array.from({ length: 17 }, (_, i) => `10.1.0.${i + 2}`);
    }),
    { 'networks[0].dhcp.dns_servers': 'at most 16 addresses' },
  );
});

t.test('classless routes: a canonical destination and a next hop inside the network', async (t) => {
  t.same(
    violations((c) => {
      settingsOfA(c).classlessRoutes = [
        create(ClasslessRouteSchema, { destination: '192.168.50.1/24', nextHop: '10.1.0.254' }),
        create(ClasslessRouteSchema, { destination: '0.0.0.0/0', nextHop: '10.2.0.1' }),
        create(ClasslessRouteSchema, { destination: '192.168.60.0/24', nextHop: '10.1.0.255' }),
      ];
    }),
    {
      'networks[0].dhcp.classless_routes[0].destination':
        '192.168.50.1/24 has host bits set; did you mean 192.168.50.0/24?',
      'networks[0].dhcp.classless_routes[1].next_hop': '10.2.0.1 is not a usable address of 10.1.0.0/24',
      'networks[0].dhcp.classless_routes[2].next_hop': '10.1.0.255 is not a usable address of 10.1.0.0/24',
    },
  );
});

t.test('pools: inside the network, ordered, not overlapping', async (t) => {
  t.same(
    violations((c) => {
      settingsOfA(c).pools = [
        create(AddressPoolSchema, { start: '10.1.0.100', end: '10.1.0.199' }),
        create(AddressPoolSchema, { start: '10.1.0.150', end: '10.1.0.250' }),
        create(AddressPoolSchema, { start: '10.1.0.20', end: '10.1.0.10' }),
        create(AddressPoolSchema, { start: '10.1.0.0', end: '10.1.1.5' }),
        create(AddressPoolSchema, { start: '', end: '10.1.0.5' }),
      ];
    }),
    {
      'networks[0].dhcp.pools[1]':
        '10.1.0.150-10.1.0.250 overlaps 10.1.0.100-10.1.0.199 of networks[0].dhcp.pools[0]',
      'networks[0].dhcp.pools[2].end': '10.1.0.10 is below start 10.1.0.20',
      'networks[0].dhcp.pools[3].start': '10.1.0.0 is not a usable address of 10.1.0.0/24',
      'networks[0].dhcp.pools[3].end': '10.1.1.5 is not a usable address of 10.1.0.0/24',
      'networks[0].dhcp.pools[4].start': 'required',
    },
  );
});

t.test('settings are checked even when DHCP is off; a pool may hold the gateway and hosts', async (t) => {
  t.same(
    violations((c) => {
      settingsOfA(c).enabled = false;
      settingsOfA(c).leaseTimeSeconds = 10;
    }),
    { 'networks[0].dhcp.lease_time_seconds': '10 is out of range 60-31536000 (or 0 for one day)' },
  );
  t.same(
    violations((c) => {
      settingsOfA(c).pools = [create(AddressPoolSchema, { start: '10.1.0.1', end: '10.1.0.254' })];
    }),
    {},
  );
});

t.test("a host's MAC is a single machine's: not multicast, broadcast or all zeros", async (t) => {
  const withHosts = (...macs: string[]) =>
    violations((c) => {
      c.networks[0]?.hosts.push(
        ...macs.map((mac, j) => create(HostSchema, { id: `x${j}`, mac, ip: `10.1.0.${200 + j}` })),
      );
    });
  const group = (mac: string) => `${mac} is a multicast or broadcast MAC (group bit set), not a machine's`;
  const n = dhcpConfig().networks[0]?.hosts.length ?? 0;
  t.same(withHosts('01:00:5e:00:00:01', '33:33:00:00:00:01', 'FF:FF:FF:FF:FF:FF', '00:00:00:00:00:00'), {
    [`networks[0].hosts[${n}].mac`]: group('01:00:5e:00:00:01'),
    [`networks[0].hosts[${n + 1}].mac`]: group('33:33:00:00:00:01'),
    [`networks[0].hosts[${n + 2}].mac`]: group('ff:ff:ff:ff:ff:ff'),
    [`networks[0].hosts[${n + 3}].mac`]: "00:00:00:00:00:00 is the all-zero MAC, not a machine's",
  });
  t.same(withHosts('02:00:5E:00:00:01'), {}, 'a locally administered unicast MAC is fine');
});

t.test('servers are unicast addresses, not the network’s own network or broadcast address', async (t) => {
  t.same(
    violations((c) => {
      const d = settingsOfA(c);
      d.dnsServers = ['0.0.0.0', '255.255.255.255', '224.0.0.1', '10.1.0.255', '10.1.0.0', '8.8.8.8'];
      d.ntpServers = ['0.0.0.0', '10.1.0.123', '127.0.0.1'];
    }),
    {
      'networks[0].dhcp.dns_servers[0]': '0.0.0.0 is in 0.0.0.0/8 ("this network"), not a server\'s address',
      'networks[0].dhcp.dns_servers[1]':
        "255.255.255.255 is reserved (240.0.0.0/4 or the limited broadcast), not a server's address",
      'networks[0].dhcp.dns_servers[2]': "224.0.0.1 is a multicast address, not a server's address",
      'networks[0].dhcp.dns_servers[3]': '10.1.0.255 is the network or broadcast address of 10.1.0.0/24',
      'networks[0].dhcp.dns_servers[4]': '10.1.0.0 is the network or broadcast address of 10.1.0.0/24',
      'networks[0].dhcp.ntp_servers[0]': '0.0.0.0 is in 0.0.0.0/8 ("this network"), not a server\'s address',
      'networks[0].dhcp.ntp_servers[2]':
        "127.0.0.1 is a loopback address (each VM's own), not a server's address",
    },
  );
});

t.test('classless routes: one per destination', async (t) => {
  t.same(
    violations((c) => {
      settingsOfA(c).classlessRoutes = [
        create(ClasslessRouteSchema, { destination: '192.168.50.0/24', nextHop: '10.1.0.254' }),
        create(ClasslessRouteSchema, { destination: '192.168.51.0/24', nextHop: '10.1.0.254' }),
        create(ClasslessRouteSchema, { destination: '192.168.50.0/24', nextHop: '10.1.0.253' }),
      ];
    }),
    {
      'networks[0].dhcp.classless_routes[2].destination':
        'duplicate destination 192.168.50.0/24 (also networks[0].dhcp.classless_routes[0].destination)',
    },
  );
});

t.test('a pool has an address to lease: not only the gateway and listed hosts', async (t) => {
  t.same(
    violations((c) => {
      settingsOfA(c).pools = [
        create(AddressPoolSchema, { start: '10.1.0.1', end: '10.1.0.1' }),
        create(AddressPoolSchema, { start: '10.1.0.11', end: '10.1.0.12' }),
        create(AddressPoolSchema, { start: '10.1.0.13', end: '10.1.0.13' }),
      ];
    }),
    {
      'networks[0].dhcp.pools[0]':
        "10.1.0.1-10.1.0.1 holds only the gateway and listed hosts' addresses: none to lease",
      'networks[0].dhcp.pools[1]':
        "10.1.0.11-10.1.0.12 holds only the gateway and listed hosts' addresses: none to lease",
    },
  );
});

t.test('the options must fit a 548-byte reply, overloading file and sname as the server does', async (t) => {
  const settingsOfB = (c: RouterConfig) => {
    const dhcp = c.networks[1]?.dhcp;
    if (dhcp === undefined) throw new Error('network B has DHCP settings');
    return dhcp;
  };
  const v = violations((c) => {
    const d = settingsOfB(c);
    d.classlessRoutes = Array.from({ length: 63 }, (_, i) =>
      create(ClasslessRouteSchema, { destination: `172.16.${i}.0/24`, nextHop: '10.2.0.254' }),
    );
    d.domainSearch = Array.from({ length: 32 }, (_, i) => `d${i}.search.example`);
    d.dnsServers = Array.from({ length: 16 }, (_, i) => `10.2.0.${i + 100}`);
    d.ntpServers = Array.from({ length: 16 }, (_, i) => `10.2.0.${i + 150}`);
  });
  t.same(Object.keys(v), ['networks[1].dhcp']);
  t.match(
    v['networks[1].dhcp'],
    /^the DHCP options need \d+ bytes, and a 548-byte reply \(what a client that sends no maximum message size accepts\) holds at most 494: option 121 would be left out; /,
  );
  // Search lists like network B's in the lab, which need file and sname (option 52) to fit.
  const searching = (n: number) =>
    violations((c) => {
      settingsOfB(c).domainSearch = Array.from(
        { length: n },
        (_, i) => `b${i}-search-domain-example.lab${i}`,
      );
    });
  t.same(searching(13), {}, 'the most that fit');
  t.same(
    searching(14),
    {
      'networks[1].dhcp':
        'the DHCP options need 516 bytes, and a 548-byte reply (what a client that sends no maximum message size accepts) holds at most 494: option 119 would be left out; hand out fewer classless routes, search domains or servers',
    },
    'one search domain too many',
  );
});
