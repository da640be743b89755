// vrouterctl's tables for people: every describe function on responses that reach each of its
// branches (missing NICs, a down upstream, an empty firewall, port ranges …) against a golden file,
// so a refactoring of the CLI cannot change what an operator reads.
import t from 'tap';
import { type JsonValue, fromJson } from '@bufbuild/protobuf';
import {
  ExplainFirewallResponseSchema,
  FirewallStatusSchema,
} from '../../daemon/src/gen/vrouter/v1/firewall_pb.js';
import {
  ApplyResponseSchema,
  GetDnsStatusResponseSchema,
  GetNatStatusResponseSchema,
  GetStatusResponseSchema,
  ListDhcpLeasesResponseSchema,
  ListRoutesResponseSchema,
  ListVipsResponseSchema,
  WatchResponseSchema,
} from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { describeExplanation } from '../../daemon/src/cli/commands/explain.js';
import { describeEvent } from '../../daemon/src/cli/commands/watch.js';
import { describeWrite } from '../../daemon/src/cli/commands/write.js';
import { describeLeases } from '../../daemon/src/cli/show/dhcp-leases.js';
import { describeDns } from '../../daemon/src/cli/show/dns.js';
import { describeFirewall } from '../../daemon/src/cli/show/firewall.js';
import { describeNat } from '../../daemon/src/cli/show/nat.js';
import { describeRoutes } from '../../daemon/src/cli/show/routes.js';
import { describeStatus } from '../../daemon/src/cli/show/status.js';
import { describeVips } from '../../daemon/src/cli/show/vips.js';
import { golden } from './golden.js';

const T0 = '2026-01-02T03:04:05Z';
const T1 = '2026-01-02T03:14:05.250Z';

const status = (json: JsonValue) => fromJson(GetStatusResponseSchema, json);
const dns = (json: JsonValue) => fromJson(GetDnsStatusResponseSchema, json);
const firewall = (json: JsonValue) => fromJson(FirewallStatusSchema, json);
const explanation = (json: JsonValue) => fromJson(ExplainFirewallResponseSchema, json);
const event = (json: JsonValue) => fromJson(WatchResponseSchema, json);
const write = (json: JsonValue) => {
  const response = fromJson(ApplyResponseSchema, json);
  return describeWrite(response.generation, response.results);
};

const RESULTS: JsonValue = [
  { step: 'interfaces', outcome: 'STEP_OUTCOME_UNCHANGED', durationUs: '120', message: '' },
  { step: 'ruleset', outcome: 'STEP_OUTCOME_APPLIED', durationUs: '15350', message: '3 tables' },
  { step: 'dhcp', outcome: 'STEP_OUTCOME_ROLLED_BACK', durationUs: '0', message: 'bind failed' },
];

const views: Record<string, string> = {
  write: write({ generation: '7', results: RESULTS }),
  'write, no steps': write({ generation: '0' }),
  'status, fresh': describeStatus(status({ version: '0.1.0', startedAt: T0 })),
  status: describeStatus(
    status({
      generation: '12',
      applyingGeneration: '13',
      appliedAt: T1,
      version: '0.1.0',
      startedAt: T0,
      drift: { checks: '40', repairs: '2', lastRepairAt: T1, intervalSeconds: 30 },
      lastError: 'dhcp: bind failed',
      services: [
        { name: 'interfaces', state: 'SERVICE_STATE_OK', counters: { applies: '12' } },
        {
          name: 'dhcp',
          state: 'SERVICE_STATE_DEGRADED',
          message: 'one NIC missing',
          counters: { applies: '11', failures: '1', repairs: '3' },
        },
      ],
      nics: [
        {
          id: 'pub0',
          mac: '52:54:00:00:00:05',
          name: 'ens5',
          role: 'NIC_ROLE_PUBLIC',
          present: true,
          up: true,
          carrier: true,
          mtu: 1500,
          addresses: ['203.0.113.2/24', '203.0.113.10/32'],
        },
        {
          id: 'a',
          mac: '52:54:00:00:00:03',
          name: 'ens3',
          role: 'NIC_ROLE_PRIVATE',
          present: true,
          mtu: 9000,
        },
        {
          id: 'b',
          mac: '52:54:00:00:00:04',
          name: 'ens4',
          role: 'NIC_ROLE_PRIVATE',
          present: true,
          up: true,
          mtu: 1450,
        },
        { id: 'mgmt', mac: '52:54:00:00:00:06', role: 'NIC_ROLE_MANAGEMENT' },
      ],
    }),
  ),
  'status, drift checks off': describeStatus(
    status({ generation: '1', appliedAt: T0, startedAt: T0, drift: { checks: '1' } }),
  ),
  'dns, not running': describeDns(dns({})),
  'dns, no upstreams': describeDns(
    dns({
      running: true,
      listeners: [{ networkId: 'net-a', address: '10.1.0.1', interface: 'ens3', listening: true }],
      counters: { queries: '5', udp_queries: '4', tcp_queries: '1', local_answers: '5' },
    }),
  ),
  dns: describeDns(
    dns({
      running: true,
      listeners: [
        { networkId: 'net-a', address: '10.1.0.1', interface: 'ens3', listening: true },
        { networkId: 'net-b', address: '10.2.0.1', interface: 'ens4' },
      ],
      cache: {
        entries: '10',
        capacity: '10000',
        hits: '30',
        misses: '12',
        hitRate: 0.7142857,
        evictions: '1',
      },
      upstreams: [
        { address: '192.0.2.53', up: true, queries: '12', rttMs: 1.234 },
        {
          address: '192.0.2.54',
          queries: '3',
          failures: '3',
          consecutiveFailures: '3',
          lastFailureAt: T1,
          lastError: 'timeout',
        },
      ],
      counters: {
        queries: '42',
        udp_queries: '40',
        tcp_queries: '2',
        local_answers: '7',
        cache_hits: '30',
        cache_misses: '12',
        servfail: '1',
        nxdomain: '2',
        refused: '3',
        malformed: '4',
        rate_limited: '5',
        dropped: '6',
        truncated: '7',
        upstream_failures: '3',
        tcp_connections: '40',
        tcp_refused: '8',
        tcp_evicted: '9',
      },
    }),
  ),
  'firewall, no rule sets': describeFirewall(firewall({})),
  firewall: describeFirewall(
    firewall({
      ruleSets: [
        {
          id: 'rs-web',
          description: 'web servers',
          attachedTo: ['a in', 'pub0 out'],
          rules: [
            {
              id: 'sys-established',
              priority: 1,
              system: true,
              action: 'FIREWALL_ACTION_ACCEPT',
              match: 'ct state established,related',
              packets: '100',
              bytes: '64000',
              description: 'replies',
            },
            {
              id: 'r-http',
              priority: 100,
              action: 'FIREWALL_ACTION_ACCEPT',
              match: 'tcp dport 80',
              packets: '3',
            },
            {
              id: 'r-ssh',
              priority: 200,
              action: 'FIREWALL_ACTION_REJECT',
              match: 'tcp dport 22',
              disabled: true,
            },
            { id: 'default', priority: 65535, system: true, action: 'FIREWALL_ACTION_DROP', match: 'any' },
          ],
        },
        { id: 'rs-spare', description: 'unused' },
      ],
    }),
  ),
  'explain, default verdict': describeExplanation(
    explanation({ verdict: 'FIREWALL_ACTION_DROP', reason: 'no rule matched: the default' }),
  ),
  explain: describeExplanation(
    explanation({
      ruleSetId: 'rs-web',
      verdict: 'FIREWALL_ACTION_ACCEPT',
      rule: { id: 'r-http', priority: 100, match: 'tcp dport 80' },
      reason: 'r-http matches first',
      toRouter: true,
    }),
  ),
  'explain, system rule': describeExplanation(
    explanation({
      ruleSetId: 'rs-web',
      verdict: 'FIREWALL_ACTION_REJECT',
      rule: { id: 'sys-x', priority: 1, system: true, match: 'any' },
      reason: 'system',
    }),
  ),
  vips: describeVips(
    fromJson(ListVipsResponseSchema, {
      vips: [
        {
          vip: { id: 'v-eip', ip: '203.0.113.10', nicId: 'pub0', description: 'EIP of vm1' },
          link: 'ens5',
          present: true,
          usedBy: ['eip e-vm1', 'snat s-a'],
        },
        {
          vip: { id: 'v-system', ip: '203.0.113.2', nicId: 'pub0' },
          link: 'ens5',
          present: true,
          nicAddress: true,
        },
        { vip: { id: 'v-gone', ip: '203.0.113.9', nicId: 'pub1' } },
      ],
    }),
  ),
  nat: describeNat(
    fromJson(GetNatStatusResponseSchema, {
      eips: [
        {
          eip: { id: 'e-vm1', vipId: 'v-eip', privateIp: '10.1.0.11', description: 'vm1' },
          vipIp: '203.0.113.10',
          counters: { packets: '5', bytes: '420' },
        },
        { eip: { id: 'e-vm2', vipId: 'v-eip2', privateIp: '10.1.0.12' }, vipIp: '203.0.113.11' },
      ],
      portForwards: [
        {
          portForward: {
            id: 'pf-range',
            vipId: 'v-pf',
            protocol: 'TRANSPORT_PROTOCOL_TCP',
            vipPorts: { start: 8000, end: 8002 },
            privateIp: '10.1.0.12',
            privatePorts: { start: 9000, end: 9002 },
            description: 'a range',
          },
          vipIp: '203.0.113.20',
          counters: { packets: '1', bytes: '60' },
        },
        {
          portForward: {
            id: 'pf-same',
            vipId: 'v-pf',
            protocol: 'TRANSPORT_PROTOCOL_TCP',
            vipPorts: { start: 7100, end: 7101 },
            privateIp: '10.1.0.12',
          },
          vipIp: '203.0.113.20',
        },
        {
          portForward: {
            id: 'pf-udp',
            vipId: 'v-pf',
            protocol: 'TRANSPORT_PROTOCOL_UDP',
            vipPorts: { start: 5353, end: 5353 },
            privateIp: '10.2.0.13',
            privatePorts: { start: 5000 },
            allowedSourceCidrs: ['198.51.100.0/24', '203.0.113.0/24'],
          },
          vipIp: '203.0.113.20',
        },
      ],
      snats: [
        {
          snat: { id: 's-a', networkId: 'net-a' },
          networkCidr: '10.1.0.0/24',
          vipIp: '203.0.113.2',
          counters: { packets: '9', bytes: '900' },
        },
      ],
      portForwardRefusedPackets: '4',
    }),
  ),
  'nat, empty': describeNat(fromJson(GetNatStatusResponseSchema, {})),
  routes: describeRoutes(
    fromJson(ListRoutesResponseSchema, {
      routes: [
        {
          route: { id: 'r-behind', destination: '192.168.50.0/24', nextHop: '10.2.0.13', description: 'vm3' },
          installed: true,
        },
        { route: { id: 'r-black', destination: '192.168.60.0/24', blackhole: true, metric: 20 } },
      ],
      kernelRoutes: [
        { destination: 'default', type: 'unicast', gateway: '203.0.113.1', link: 'ens5', protocol: 'static' },
        {
          destination: '10.1.0.0/24',
          type: 'unicast',
          link: 'ens3',
          protocol: 'kernel',
          metric: 100,
          source: '10.1.0.1',
        },
        { destination: '192.168.60.0/24', type: 'blackhole', protocol: 'static', metric: 20 },
      ],
    }),
  ),
  'dhcp leases': describeLeases(
    fromJson(ListDhcpLeasesResponseSchema, {
      leases: [
        {
          networkId: 'net-a',
          ip: '10.1.0.11',
          mac: '52:54:00:aa:00:11',
          hostname: 'vm1',
          kind: 'DHCP_LEASE_KIND_HOST',
          expiresAt: T1,
          hostId: 'vm1-nic',
        },
        {
          networkId: 'net-a',
          ip: '10.1.0.100',
          mac: '52:54:00:aa:00:99',
          clientId: '01:52:54:00:aa:00:99',
          kind: 'DHCP_LEASE_KIND_POOL',
        },
      ],
    }).leases,
    { offers: 3n, acks: 2n, drops: 1n },
  ),
  'dhcp leases, none': describeLeases([], {}),
  'event, applied': describeEvent(
    event({ time: T0, generation: '3', generationApplied: { cause: 'apply', results: RESULTS } }),
  ),
  'event, failed': describeEvent(
    event({
      time: T1,
      generation: '3',
      applyFailed: { failedGeneration: '4', step: 'dhcp', message: 'no NIC' },
    }),
  ),
  'event, drift': describeEvent(
    event({
      time: T1,
      generation: '3',
      driftRepaired: { step: 'ruleset', findings: ['table gone', 'set x'] },
    }),
  ),
  'event, service': describeEvent(
    event({
      generation: '3',
      serviceEvent: { service: 'dns', severity: 'warning', message: 'upstream down' },
    }),
  ),
  'event, unknown': describeEvent(event({ time: T0, generation: '3' })),
};

void t.test('the tables vrouterctl prints match the golden file', (t) => {
  const lines = Object.fromEntries(Object.entries(views).map(([name, text]) => [name, text.split('\n')]));
  const { actual, expected } = golden('cli-views.json', lines);
  t.equal(actual, expected, 'set UPDATE_GOLDEN=1 to accept a deliberate change');
  t.end();
});
