// The firewall's pure parts: validation (bands, ids, matches, attachments, the 9999 limit), Patch
// rules for inbound sets and system rules, the rule model per NIC role, the rendered chains
// (golden), ExplainFirewall, and reading per-rule counters from nft's listing.
import t from 'tap';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { type MessageInitShape, create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import {
  ConnectionState,
  Direction,
  FirewallAction,
  FirewallProtocol,
  FirewallAttachmentSchema,
  FirewallRuleSchema,
  FirewallRuleSetSchema,
  FirewallSchema,
} from '../../daemon/src/gen/vrouter/v1/firewall_pb.js';
import { NicRole } from '../../daemon/src/gen/vrouter/v1/interfaces_pb.js';
import { ObjectKind } from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { validateConfig } from '../../daemon/src/config/validate.js';
import { applyPatch } from '../../daemon/src/config/patch.js';
import { parseIpv4 } from '../../daemon/src/config/net.js';
import { planTransaction } from '../../daemon/src/nft/commands.js';
import { renderRuleset } from '../../daemon/src/services/ruleset/render.js';
import { planInterfaces } from '../../daemon/src/services/interfaces/plan.js';
import { managementApiOf, planFirewall } from '../../daemon/src/services/firewall/plan.js';
import { explainFirewall } from '../../daemon/src/services/firewall/explain.js';
import {
  countersFromListing,
  firewallStatus,
  readRuleCounters,
} from '../../daemon/src/services/firewall/status.js';
import type { SetReader } from '../../daemon/src/drivers/nft-netlink.js';
import type { NftTransport } from '../../daemon/src/drivers/nftables.js';
import type { DumpedElement } from '../../daemon/src/nft/element-dump.js';
import { parseAddressSpec } from '../../daemon/src/services/firewall/intervals.js';
import { labConfig } from '../lab/lab-config.js';
import { golden } from './golden.js';

const LINKS = new Map([
  ['52:54:00:00:00:05', { index: 5, name: 'ens5' }],
  ['52:54:00:00:00:03', { index: 3, name: 'ens3' }],
  ['52:54:00:00:00:04', { index: 4, name: 'ens4' }],
  ['52:54:00:00:00:06', { index: 6, name: 'ens6' }],
]);

function withFirewall(
  rules: MessageInitShape<typeof FirewallRuleSchema>[],
  extra: (c: RouterConfig) => void = () => undefined,
) {
  const config = labConfig();
  config.firewall = create(FirewallSchema, {
    ruleSets: [
      {
        id: 'pub0.in',
        rules: rules.map((r, i) =>
          create(FirewallRuleSchema, { id: `r${i}`, priority: 1500, action: FirewallAction.DROP, ...r }),
        ),
      },
      { id: 'web-out', description: 'outbound', rules: [] },
    ],
    attachments: [{ nicId: 'priv-a', direction: Direction.OUT, ruleSetId: 'web-out' }],
  });
  extra(config);
  return config;
}

function violations(config: RouterConfig): Record<string, string> {
  return Object.fromEntries(validateConfig(config).map((v) => [v.field, v.description]));
}

t.test('a valid firewall passes', async (t) => {
  const config = withFirewall([
    {
      protocol: FirewallProtocol.TCP,
      sourceAddresses: ['198.51.100.7', '198.51.100.0/24', '198.51.100.7-198.51.100.20'],
      destinationPorts: [{ start: 80 }, { start: 8000, end: 8080 }],
      states: [ConnectionState.NEW],
    },
    { protocol: FirewallProtocol.ICMP, icmpType: 8, icmpCode: 0, priority: 1500 },
  ]);
  t.same(validateConfig(config), []);
});

t.test('priorities outside the custom band are refused with the band named', async (t) => {
  const v = violations(
    withFirewall([
      { priority: 500 },
      { priority: 3500 },
      { priority: 5000 },
      { priority: 0 },
      { priority: 10000 },
    ]),
  );
  t.match(v['firewall.rule_sets[0].rules[0].priority'], /system rules .* custom rules use 1001-2999/);
  t.match(v['firewall.rule_sets[0].rules[1].priority'], /reserved band 3000-3999/);
  t.match(v['firewall.rule_sets[0].rules[2].priority'], /system rules/);
  t.match(v['firewall.rule_sets[0].rules[3].priority'], /required/);
  t.match(v['firewall.rule_sets[0].rules[4].priority'], /out of range/);
});

t.test('matches that make no sense together are refused field by field', async (t) => {
  const v = violations(
    withFirewall([
      {
        protocol: FirewallProtocol.UDP,
        icmpType: 3,
        destinationPorts: [{ start: 0 }, { start: 10, end: 5 }],
      },
      { protocol: FirewallProtocol.ALL, sourcePorts: [{ start: 22 }] },
      {
        sourceAddresses: ['10.0.0.5/24', 'fd00::1', '10.0.0.9-10.0.0.1', 'nonsense'],
        action: FirewallAction.UNSPECIFIED,
      },
      { protocol: FirewallProtocol.ICMP, icmpCode: 1, states: [ConnectionState.UNSPECIFIED] },
      { id: 'pub0.in/default' },
      { id: 'r0' },
    ]),
  );
  t.same(v, {
    'firewall.rule_sets[0].rules[0].icmp_type': 'only with protocol ICMP',
    'firewall.rule_sets[0].rules[0].destination_ports[0].start': '0 is out of range 1-65535',
    'firewall.rule_sets[0].rules[0].destination_ports[1].end': '5 must be 0 (one port) or 10-65535',
    'firewall.rule_sets[0].rules[1].source_ports': 'ports need protocol TCP or UDP',
    'firewall.rule_sets[0].rules[2].action': 'required: accept, drop or reject',
    'firewall.rule_sets[0].rules[2].source_addresses[0]':
      '10.0.0.5/24 has host bits set; did you mean 10.0.0.0/24?',
    'firewall.rule_sets[0].rules[2].source_addresses[1]':
      'fd00::1: IPv6 addresses are not supported in firewall rules',
    'firewall.rule_sets[0].rules[2].source_addresses[2]': 'range 10.0.0.9-10.0.0.1 ends before it starts',
    'firewall.rule_sets[0].rules[2].source_addresses[3]': '"nonsense" is not an IPv4 address, CIDR or range',
    'firewall.rule_sets[0].rules[3].icmp_code': 'only with icmp_type',
    'firewall.rule_sets[0].rules[3].states[0]': 'required: new, established, related or invalid',
    'firewall.rule_sets[0].rules[4].id':
      '"pub0.in/default" names a system rule (<set>/<name>); system rules cannot be added or changed',
    'firewall.rule_sets[0].rules[5].id': 'duplicate rule id "r0" (also firewall.rule_sets[0].rules[0].id)',
  });
});

t.test('a set holds at most 9999 rules; equal priorities are fine', async (t) => {
  const rules = Array.from({ length: 10000 }, (_, i) => ({ id: `x${i}`, priority: 1001 + (i % 7) }));
  t.same(violations(withFirewall(rules)), {
    'firewall.rule_sets[0].rules[9999]': 'a rule set holds at most 9999 rules; this one has 10000',
  });
  t.same(violations(withFirewall(rules.slice(0, 9999))), {});
});

t.test('attachments: inbound is always the NIC own set, outbound a set of the manager', async (t) => {
  const v = violations(
    withFirewall([], (c) => {
      c.firewall?.ruleSets.push(create(FirewallRuleSetSchema, { id: 'ghost.in' }));
      c.firewall?.attachments.push(
        create(FirewallAttachmentSchema, { nicId: 'pub0', direction: Direction.IN, ruleSetId: 'web-out' }),
        create(FirewallAttachmentSchema, { nicId: 'pub0', direction: Direction.OUT, ruleSetId: 'priv-a.in' }),
        create(FirewallAttachmentSchema, { nicId: 'priv-a', direction: Direction.OUT, ruleSetId: 'web-out' }),
        create(FirewallAttachmentSchema, { nicId: 'nope', direction: Direction.OUT, ruleSetId: 'missing' }),
      );
    }),
  );
  t.same(v, {
    'firewall.rule_sets[2].id': 'ids ending in .in name NICs\' inbound sets, and there is no NIC "ghost"',
    'firewall.attachments[1].rule_set_id':
      'a NIC\'s inbound set is always its own "pub0.in"; add rules to that set instead',
    'firewall.attachments[2].rule_set_id':
      '"priv-a.in" is a NIC\'s inbound set; attach an outbound set (one you created) instead',
    'firewall.attachments[3]': 'duplicate attachment for priv-a/out (also firewall.attachments[0])',
    'firewall.attachments[4].nic_id': 'no NIC with id "nope"',
    'firewall.attachments[4].rule_set_id': 'no rule set "missing"',
  });
});

t.test('Patch: a rule goes into an unlisted inbound set; inbound sets and system rules stay', async (t) => {
  const start = labConfig();
  delete start.firewall;
  const put = applyPatch(start, [
    {
      $typeName: 'vrouter.v1.PatchOperation',
      operation: {
        case: 'putFirewallRule',
        value: {
          $typeName: 'vrouter.v1.FirewallRuleInSet',
          ruleSetId: 'pub0.in',
          rule: create(FirewallRuleSchema, { id: 'a', priority: 1001, action: FirewallAction.DROP }),
        },
      },
    },
  ]);
  if (Array.isArray(put)) {
    t.fail(JSON.stringify(put));
    return;
  }
  t.same(
    put.config.firewall?.ruleSets.map((s) => [s.id, s.rules.map((r) => r.id)]),
    [['pub0.in', ['a']]],
  );
  const refused = (kind: ObjectKind, id: string) =>
    applyPatch(put.config, [
      {
        $typeName: 'vrouter.v1.PatchOperation',
        operation: { case: 'delete', value: { $typeName: 'vrouter.v1.ObjectRef', kind, id } },
      },
    ]);
  t.match(refused(ObjectKind.FIREWALL_RULE_SET, 'pub0.in'), [
    { field: 'operations[0].delete.id', description: /cannot be deleted/ },
  ]);
  t.match(refused(ObjectKind.FIREWALL_RULE, 'pub0.in/default'), [
    { field: 'operations[0].delete.id', description: /system rule/ },
  ]);
  t.match(refused(ObjectKind.FIREWALL_ATTACHMENT, 'pub0/in'), [
    { field: 'operations[0].delete.id', description: /always attached/ },
  ]);
  const gone = refused(ObjectKind.FIREWALL_RULE, 'a');
  t.notOk(Array.isArray(gone), 'a custom rule can be deleted');
});

t.test(
  'the rendered ruleset for the lab config with custom rules and an outbound set (golden)',
  async (t) => {
    const config = withFirewall([
      {
        id: 'deny-ssh',
        protocol: FirewallProtocol.TCP,
        destinationPorts: [{ start: 22 }],
        action: FirewallAction.REJECT,
      },
      {
        id: 'allow-a',
        protocol: FirewallProtocol.TCP,
        sourceAddresses: ['198.51.100.1'],
        destinationPorts: [{ start: 443 }],
        action: FirewallAction.ACCEPT,
      },
      {
        id: 'allow-b',
        protocol: FirewallProtocol.TCP,
        sourceAddresses: ['198.51.100.2'],
        destinationPorts: [{ start: 443 }],
        action: FirewallAction.ACCEPT,
      },
      {
        id: 'allow-c',
        protocol: FirewallProtocol.UDP,
        sourceAddresses: ['198.51.101.0/24'],
        destinationPorts: [{ start: 53 }],
        action: FirewallAction.ACCEPT,
      },
      {
        id: 'allow-d',
        protocol: FirewallProtocol.UDP,
        sourceAddresses: ['198.51.102.0/24'],
        destinationPorts: [{ start: 53 }],
        action: FirewallAction.ACCEPT,
      },
      { id: 'off', disabled: true },
    ]);
    t.same(validateConfig(config), []);
    const interfaces = planInterfaces(config, LINKS);
    const firewall = planFirewall(config, interfaces, managementApiOf('172.16.0.1:7800'));
    const plan = planTransaction(renderRuleset(config, interfaces, { firewall }), { tables: [] }, 'diff');
    const { actual, expected } = golden('firewall-ruleset-load.json', { nftables: plan.commands });
    t.equal(actual, expected);
  },
);

t.test('explain names the deciding rule and why, per NIC role', async (t) => {
  const config = withFirewall([
    {
      id: 'deny-web',
      protocol: FirewallProtocol.TCP,
      destinationAddresses: ['10.1.0.11'],
      destinationPorts: [{ start: 80 }],
    },
  ]);
  const firewall = planFirewall(config, planInterfaces(config, LINKS), managementApiOf('172.16.0.1:7800'));
  const explain = (nicId: string, direction: Direction, packet: Record<string, unknown>) => {
    const r = explainFirewall(config, firewall, new Map(), {
      $typeName: 'vrouter.v1.ExplainFirewallRequest',
      nicId,
      direction,
      packet: {
        $typeName: 'vrouter.v1.FirewallPacket',
        source: '',
        destination: '',
        protocol: FirewallProtocol.TCP,
        sourcePort: 40000,
        destinationPort: 0,
        state: ConnectionState.UNSPECIFIED,
        dnat: false,
        ...packet,
      },
    });
    return Array.isArray(r)
      ? r
      : {
          set: r.ruleSetId,
          verdict: FirewallAction[r.verdict],
          rule: r.rule?.id,
          toRouter: r.toRouter,
          reason: r.reason,
        };
  };
  t.match(
    explain('pub0', Direction.IN, {
      source: '203.0.113.1',
      destination: '10.1.0.11',
      destinationPort: 80,
      dnat: true,
    }),
    {
      set: 'pub0.in',
      verdict: 'DROP',
      rule: 'deny-web',
      reason:
        /custom rule deny-web \(priority 1500\) matches: protocol tcp, destination 10.1.0.11 in 10.1.0.11, destination port 80 in 80/,
    },
  );
  t.match(
    explain('pub0', Direction.IN, {
      source: '203.0.113.1',
      destination: '10.1.0.12',
      destinationPort: 80,
      dnat: true,
    }),
    { verdict: 'ACCEPT', rule: 'pub0.in/dnat' },
  );
  t.match(
    explain('pub0', Direction.IN, {
      source: '203.0.113.1',
      destination: '10.1.0.12',
      destinationPort: 80,
      state: ConnectionState.ESTABLISHED,
    }),
    { verdict: 'ACCEPT', rule: 'pub0.in/established' },
  );
  t.match(
    explain('priv-a', Direction.IN, { source: '10.1.0.11', destination: '10.1.0.1', destinationPort: 7800 }),
    { verdict: 'DROP', rule: 'priv-a.in/to-router', toRouter: true },
  );
  t.match(
    explain('priv-a', Direction.IN, {
      source: '10.1.0.11',
      destination: '10.1.0.1',
      protocol: FirewallProtocol.UDP,
      destinationPort: 53,
    }),
    { verdict: 'ACCEPT', rule: 'priv-a.in/dns' },
  );
  t.match(
    explain('mgmt0', Direction.IN, {
      source: '172.16.0.2',
      destination: '172.16.0.1',
      destinationPort: 7800,
    }),
    { verdict: 'ACCEPT', rule: 'mgmt0.in/management-api' },
  );
  t.match(
    explain('mgmt0', Direction.IN, { source: '172.16.0.2', destination: '10.1.0.11', destinationPort: 80 }),
    { verdict: 'DROP', rule: 'mgmt0.in/default' },
  );
  t.match(
    explain('priv-a', Direction.OUT, { source: '10.2.0.13', destination: '10.1.0.11', destinationPort: 80 }),
    { set: 'web-out', verdict: 'ACCEPT', rule: 'web-out/default' },
  );
  t.match(
    explain('priv-b', Direction.OUT, { source: '10.1.0.11', destination: '10.2.0.13', destinationPort: 80 }),
    { set: '', verdict: 'ACCEPT', reason: /no outbound rule set/ },
  );
  t.match(explain('nope', Direction.UNSPECIFIED, { source: 'x', protocol: FirewallProtocol.ALL }), [
    { field: 'nic_id' },
    { field: 'direction' },
    { field: 'packet.source' },
    { field: 'packet.destination' },
    { field: 'packet.protocol' },
  ]);
});

t.test('without a management NIC the API rule is on every NIC', async (t) => {
  const config = labConfig();
  delete config.firewall;
  config.nics = config.nics.filter((n) => n.id !== 'mgmt0');
  const firewall = planFirewall(config, planInterfaces(config, LINKS), managementApiOf('0.0.0.0:7800'));
  t.same(
    firewall.ruleSets.map((s) =>
      s.rules.filter((r) => r.id.endsWith('/management-api')).map((r) => [r.id, r.match]),
    ),
    [
      [['pub0.in/management-api', { protocols: [6], destinationPorts: [[7800, 7800]], toRouter: true }]],
      [['priv-a.in/management-api', { protocols: [6], destinationPorts: [[7800, 7800]], toRouter: true }]],
      [['priv-b.in/management-api', { protocols: [6], destinationPorts: [[7800, 7800]], toRouter: true }]],
    ],
  );
  t.equal(managementApiOf(undefined), undefined);
  t.same(managementApiOf('[::]:7800'), { address: undefined, port: 7800 });
});

t.test('per-rule counters sum a rule of its own and its elements in block sets', async (t) => {
  const counters = countersFromListing([
    { metainfo: {} },
    {
      rule: {
        comment: 'fwrule:pub0.in/dnat',
        expr: [{ counter: { packets: 3, bytes: 180 } }, { return: null }],
      },
    },
    { rule: { comment: 'fwblock:fwb-a-ps32D-h', expr: [{ match: {} }, { return: null }] } },
    {
      set: {
        name: 'fwb-a-ps32D-h',
        elem: [
          { elem: { val: 1, counter: { packets: 1, bytes: 60 }, comment: 'a' } },
          { elem: { val: 2, counter: { packets: 2, bytes: 120 }, comment: 'b' } },
          { elem: { val: 3, counter: { packets: 4, bytes: 240 }, comment: 'a' } },
        ],
      },
    },
    { set: { name: 'fw-in', elem: [['ens5', { jump: { target: 'x' } }]] } },
  ]);
  t.same(Object.fromEntries(counters), {
    'pub0.in/dnat': { packets: 3n, bytes: 180n },
    a: { packets: 5n, bytes: 300n },
    b: { packets: 2n, bytes: 120n },
  });
});

t.test("every set's established rule shows the base chains' established counters", async (t) => {
  const config = labConfig();
  const plan = planFirewall(config, planInterfaces(config, LINKS), undefined);
  const counters = countersFromListing([
    { rule: { chain: 'input', comment: 'fw:established', expr: [{ counter: { packets: 2, bytes: 100 } }] } },
    {
      rule: { chain: 'forward', comment: 'fw:established', expr: [{ counter: { packets: 5, bytes: 900 } }] },
    },
    { rule: { comment: 'fwrule:pub0.in/dnat', expr: [{ counter: { packets: 3, bytes: 180 } }] } },
  ]);
  const rules = firewallStatus(plan, counters).ruleSets.flatMap((set) => set.rules);
  const established = rules.filter((r) => r.id.endsWith('/established'));
  t.ok(established.length >= 4, 'every NIC inbound set has one');
  for (const r of established) t.match(r, { packets: 7n, bytes: 1000n }, r.id);
  t.match(
    rules.find((r) => r.id === 'pub0.in/dnat'),
    { packets: 3n, bytes: 180n },
    'a rule of its own keeps its own',
  );
  t.match(
    rules.find((r) => r.id === 'pub0.in/default'),
    { packets: 0n, bytes: 0n },
    'and another none',
  );
  // The rule sets' chains no longer hold it: the base chains decide it before any set.
  const ruleset = renderRuleset(config, planInterfaces(config, LINKS), { firewall: plan });
  const chains = ruleset.tables.flatMap((table) => table.chains);
  for (const chain of chains.filter((c) => c.name.startsWith('fws-')))
    t.notOk(
      chain.rules.some((r) => r.comment.endsWith('/established')),
      `${chain.name} has no established rule`,
    );
  t.same(
    chains.filter((c) => c.rules[0]?.comment === 'fw:established').map((c) => c.name),
    ['input', 'forward'],
    'the input and forward base chains decide it first',
  );
});

t.test('per-rule counters with block set elements read over netlink: the same sums', async (t) => {
  // The terse listing has no elements; the rules of another table with the same comment do not count.
  const terse = [
    { metainfo: {} },
    {
      rule: {
        table: 'vrouter',
        comment: 'fwrule:pub0.in/dnat',
        expr: [{ counter: { packets: 3, bytes: 180 } }],
      },
    },
    {
      rule: {
        table: 'other',
        comment: 'fwrule:pub0.in/dnat',
        expr: [{ counter: { packets: 50, bytes: 1 } }],
      },
    },
    { set: { table: 'vrouter', name: 'fwb-a-ps32D-h' } },
    { set: { table: 'other', name: 'fwb-elsewhere' } },
  ];
  const nft: NftTransport = {
    run: () => Promise.resolve(),
    listTable: () => Promise.reject(new Error('the full listing is not read when the channel is up')),
    list: (what, isTerse) => Promise.resolve(what === 'ruleset inet' && isTerse ? terse : []),
    close() {},
  };
  const element = (comment: string | undefined, packets: bigint, intervalEnd = false): DumpedElement => ({
    key: '',
    keyEnd: undefined,
    value: undefined,
    intervalEnd,
    comment,
    counter: comment === undefined ? undefined : { packets, bytes: packets * 60n },
  });
  const read: string[] = [];
  const reader: SetReader = {
    unavailable: undefined,
    readSet: (_family, _table, name) => {
      read.push(name);
      return Promise.resolve([
        element('a', 1n),
        element('b', 2n),
        element(undefined, 0n, true),
        element('a', 4n),
      ]);
    },
  };
  t.same(Object.fromEntries(await readRuleCounters(nft, reader)), {
    'pub0.in/dnat': { packets: 3n, bytes: 180n },
    a: { packets: 5n, bytes: 300n },
    b: { packets: 2n, bytes: 120n },
  });
  t.same(read, ['fwb-a-ps32D-h'], "only the daemon's block sets are read");
});

t.test('address specs: parsing agrees with ipaddr.js, intervals are exact', async () => {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  fc.assert(
    fc.property(fc.string({ maxLength: 20 }), (s) => {
      const ours = parseIpv4(s);
      const theirs = ipaddr.IPv4.isValidFourPartDecimal(s) ? ipaddr.IPv4.parse(s).toByteArray() : undefined;
      return ours === (theirs === undefined ? undefined : theirs.reduce((n, b) => n * 256 + b, 0));
    }),
  );
  fc.assert(
    fc.property(u32, fc.integer({ min: 0, max: 32 }), (a, p) => {
      const size = 2 ** (32 - p);
      const network = a - (a % size);
      const text = `${[network >>> 24, (network >>> 16) & 255, (network >>> 8) & 255, network & 255].join('.')}/${p}`;
      const parsed = parseAddressSpec(text);
      return (
        'interval' in parsed && parsed.interval[0] === network && parsed.interval[1] === network + size - 1
      );
    }),
  );
});

t.test('a Patch adding a rule that joins a block sends one element and keeps every counter', async (t) => {
  const allow = (i: number) => ({
    id: `a${i}`,
    priority: 1500,
    action: FirewallAction.ACCEPT,
    protocol: FirewallProtocol.TCP,
    sourceAddresses: [`198.51.${100 + (i >> 8)}.${i & 255}`],
    destinationPorts: [{ start: 443 }],
  });
  const config = withFirewall(Array.from({ length: 300 }, (_, i) => allow(i)));
  const render = (c: RouterConfig) => {
    const interfaces = planInterfaces(c, LINKS);
    return renderRuleset(c, interfaces, { firewall: planFirewall(c, interfaces, undefined) });
  };
  const before = render(config);
  const patched = applyPatch(config, [
    {
      $typeName: 'vrouter.v1.PatchOperation',
      operation: {
        case: 'putFirewallRule',
        value: {
          $typeName: 'vrouter.v1.FirewallRuleInSet',
          ruleSetId: 'pub0.in',
          rule: create(FirewallRuleSchema, allow(300)),
        },
      },
    },
  ]);
  if (Array.isArray(patched)) {
    t.fail(JSON.stringify(patched));
    return;
  }
  const plan = planTransaction(render(patched.config), before, 'diff');
  t.same(plan, {
    structural: false,
    commands: [
      {
        add: {
          element: {
            family: 'inet',
            table: 'vrouter',
            name: 'fwb-a0-ps32D-h',
            elem: [{ elem: { val: { concat: [6, '198.51.101.44', 443] }, comment: 'a300' } }],
          },
        },
      },
    ],
  });
});

t.test(
  'an inbound set the config does not list is reused while its system rules stay the same',
  async (t) => {
    const config = labConfig();
    const interfaces = planInterfaces(config, LINKS);
    const byId = (c: RouterConfig) =>
      new Map(planFirewall(c, planInterfaces(c, LINKS), undefined).ruleSets.map((s) => [s.id, s]));
    const first = byId(config);
    t.notOk(
      config.firewall?.ruleSets.some((s) => s.id === 'pub0.in'),
      'pub0.in is not listed',
    );
    const again = byId(config);
    for (const [id, set] of first) t.equal(again.get(id), set, `${id}: the same model (compiled once)`);
    const api = new Map(
      planFirewall(config, interfaces, managementApiOf('0.0.0.0:7800')).ruleSets.map((s) => [s.id, s]),
    );
    t.not(api.get('mgmt0.in'), again.get('mgmt0.in'), 'a new system rule (the API) makes a new model');
    t.ok(
      api.get('mgmt0.in')?.rules.some((r) => r.id.endsWith('/management-api')),
      'holding that rule',
    );
    t.equal(api.get('pub0.in'), again.get('pub0.in'), 'the other NICs keep theirs');
    const changed = structuredClone(config);
    const pub = changed.nics.find((n) => n.id === 'pub0');
    if (pub === undefined) throw new Error('the lab config changed');
    pub.role = NicRole.PRIVATE;
    const asPrivate = byId(changed).get('pub0.in');
    t.not(asPrivate, again.get('pub0.in'), 'a NIC that changes role gets its role’s rules');
    t.ok(asPrivate?.rules.some((r) => r.id.endsWith('/dhcp')));
  },
);
