// Rendering of the DHCP plan: a golden file for the lab networks, and the defaults (DNS servers, MTU,
// the default route added to classless routes) one by one.
import t from 'tap';
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import { DnsSchema } from '../../daemon/src/gen/vrouter/v1/dns_pb.js';
import {
  ClasslessRouteSchema,
  DnsSettingsSchema,
  HostSchema,
} from '../../daemon/src/gen/vrouter/v1/networks_pb.js';
import { formatIpv4 } from '../../daemon/src/config/net.js';
import { OPTION } from '../../daemon/src/services/dhcp/codec.js';
import { describePlanChanges } from '../../daemon/src/services/dhcp/plan-diff.js';
import { type DhcpPlan, EMPTY_DHCP_PLAN, renderDhcp } from '../../daemon/src/services/dhcp/render.js';
import { planInterfaces } from '../../daemon/src/services/interfaces/plan.js';
import { golden } from './golden.js';
import { LINKS, dhcpConfig, networkPlan } from './dhcp-fixtures.js';

function readable(plan: DhcpPlan): unknown {
  return plan.networks.map((n) => ({
    ...n,
    serverId: formatIpv4(n.serverId),
    subnet: `${formatIpv4(n.subnet.network)}/${n.subnet.prefix}`,
    options: Object.fromEntries(
      [...n.options].map(([code, value]) => [code, Buffer.from(value).toString('hex')]),
    ),
    hosts: Object.fromEntries([...n.hosts].map(([mac, h]) => [mac, { ...h, ip: formatIpv4(h.ip) }])),
    pools: n.pools.map((p) => `${formatIpv4(p.start)}-${formatIpv4(p.end)}`),
    reserved: [...n.reserved].map(formatIpv4),
  }));
}

t.test('the lab networks render to the golden plan', async (t) => {
  const config = dhcpConfig();
  const { actual, expected } = golden(
    'dhcp-plan.json',
    readable(renderDhcp(config, planInterfaces(config, LINKS))),
  );
  t.equal(actual, expected);
});

t.test('only networks with DHCP enabled are served', async (t) => {
  const config = dhcpConfig((c) => {
    const b = c.networks[1]?.dhcp;
    if (b) b.enabled = false;
  });
  t.same(
    renderDhcp(config, planInterfaces(config, LINKS)).networks.map((n) => [n.networkId, n.linkName]),
    [['net-a', 'ens3']],
  );
});

const dnsOption = (config: RouterConfig, index = 1) => {
  const value = networkPlan(config, index).options.get(OPTION.DNS_SERVERS);
  return value === undefined ? undefined : [...value];
};

t.test('DNS servers: configured, else the gateway with DNS on, else port-53 IPv4 upstreams', async (t) => {
  t.same(dnsOption(dhcpConfig(), 0), [10, 1, 0, 53]);
  t.equal(dnsOption(dhcpConfig()), undefined, 'nothing to hand out');
  const withDns = dhcpConfig((c) => {
    const b = c.networks[1];
    if (b) b.dns = create(DnsSettingsSchema, { enabled: true });
    c.dns = create(DnsSchema, { upstreamServers: ['198.51.100.53'] });
  });
  t.same(dnsOption(withDns), [10, 2, 0, 1]);
  const upstreams = dhcpConfig((c) => {
    c.dns = create(DnsSchema, {
      upstreamServers: ['198.51.100.53', '198.51.100.54:5353', '2001:db8::53', '198.51.100.55:53'],
    });
  });
  t.same(dnsOption(upstreams), [198, 51, 100, 53, 198, 51, 100, 55]);
});

t.test("MTU: DHCP's own, else the NIC's, else none", async (t) => {
  t.same([...(networkPlan(dhcpConfig(), 0).options.get(OPTION.INTERFACE_MTU) ?? [])], [5, 120]);
  t.same(
    [...(networkPlan(dhcpConfig(), 1).options.get(OPTION.INTERFACE_MTU) ?? [])],
    [5, 170],
    'priv-b has 1450',
  );
  const none = dhcpConfig((c) => {
    const a = c.networks[0]?.dhcp;
    if (a) a.mtu = 0;
  });
  t.equal(networkPlan(none, 0).options.get(OPTION.INTERFACE_MTU), undefined);
  t.equal(networkPlan(dhcpConfig(), 1).maxMessage, 1422);
});

t.test(
  'classless routes get the default route unless they have one; none configured, no option',
  async (t) => {
    t.same(
      [...(networkPlan(dhcpConfig(), 0).options.get(OPTION.CLASSLESS_ROUTES) ?? [])],
      [24, 192, 168, 50, 10, 1, 0, 254, 0, 10, 1, 0, 1],
    );
    const ownDefault = dhcpConfig((c) => {
      c.networks[0]?.dhcp?.classlessRoutes.push(
        create(ClasslessRouteSchema, { destination: '0.0.0.0/0', nextHop: '10.1.0.254' }),
      );
    });
    t.same(
      [...(networkPlan(ownDefault, 0).options.get(OPTION.MS_CLASSLESS_ROUTES) ?? [])],
      [24, 192, 168, 50, 10, 1, 0, 254, 0, 10, 1, 0, 254],
    );
    t.notOk(networkPlan(dhcpConfig(), 1).options.has(OPTION.CLASSLESS_ROUTES));
  },
);

t.test('plan changes are described for the apply step result', async (t) => {
  const plan = (edit: (c: RouterConfig) => void = () => undefined) => {
    const config = dhcpConfig(edit);
    return renderDhcp(config, planInterfaces(config, LINKS));
  };
  t.same(describePlanChanges(EMPTY_DHCP_PLAN, plan()), [
    'net-a: serving 2 hosts, 1 pools on ens3',
    'net-b: serving 1 hosts, 0 pools on ens4',
  ]);
  t.same(describePlanChanges(plan(), plan()), []);
  const changed = plan((c) => {
    const [a, b] = c.networks;
    if (a?.dhcp) a.dhcp.leaseTimeSeconds = 600;
    a?.hosts.splice(0, 1);
    const host = b?.hosts[0];
    if (host) host.ip = '10.2.0.99';
    b?.hosts.push(create(HostSchema, { id: 'vm9', mac: '52:54:00:bb:00:99', ip: '10.2.0.9' }));
  });
  t.same(describePlanChanges(plan(), changed), [
    'net-a: settings changed, 1 removed',
    'net-b: 1 hosts added, 1 changed',
  ]);
  t.same(describePlanChanges(plan(), EMPTY_DHCP_PLAN), [
    'net-a: no longer served',
    'net-b: no longer served',
  ]);
});
