// The VPC firewall with real TCP connections through the router namespace:
// - custom drop / reject rules on a port-forwarded VM port (time out / refused at once), removal
//   restoring access, a connection opened before a drop rule kept alive;
// - an accept rule letting traffic in, whose removal does not cut the connection it let in;
// - an outbound set shared by two NICs, then detached from one;
// - the router's own input: the management API only from the management NIC;
// - refusals with field paths (bands, system rules, the inbound set, a 10000th rule), nothing changed;
// - for every probe, ExplainFirewall's verdict predicts the kernel's outcome and the counter of the
//   rule it names moves.
// The port forward is a real one: 203.0.113.2:8080 (the public NIC's own address as a VIP) → vm1:80.
import t from 'tap';
import type { ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { readErrorDetails } from '../../daemon/src/api/status-details.js';
import {
  ConnectionState,
  Direction,
  FirewallAction,
  type FirewallPacketSchema,
  FirewallProtocol,
  type FirewallRuleSchema,
} from '../../daemon/src/gen/vrouter/v1/firewall_pb.js';
import { ObjectKind, type PatchRequestSchema } from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { inNamespace, ip, run } from './exec.js';
import { LabDaemon, VROUTERCTL } from './daemon.js';
import { TransportProtocol } from '../../daemon/src/gen/vrouter/v1/common_pb.js';
import { type Crossing, verifyExplained } from './firewall-tools.js';
import { HeldConnection, connect, serve } from './traffic.js';
import { labConfig } from './lab-config.js';
import { Topology } from './topology.js';

const PUBLIC = '203.0.113.2';
const INTERNET = '203.0.113.1';
const VM1 = '10.1.0.11';
const VM3 = '10.2.0.13';

const topology = await Topology.create();
const daemon = await LabDaemon.start(topology.router, { listen: '172.16.0.1:7800' });
t.teardown(async () => {
  await daemon.destroy();
  topology.destroySync();
});
const client = daemon.client;
const [vm1, , vm3] = topology.vms;
if (vm1 === undefined || vm3 === undefined) throw new Error('the lab has no vm1/vm3');

type Rule = MessageInitShape<typeof FirewallRuleSchema>;
const patch = (operations: MessageInitShape<typeof PatchRequestSchema>['operations']) =>
  client.patch({ operations });
const putRule = (ruleSetId: string, rule: Rule) =>
  patch([{ operation: { case: 'putFirewallRule', value: { ruleSetId, rule } } }]);
const deleteRule = (id: string) =>
  patch([{ operation: { case: 'delete', value: { kind: ObjectKind.FIREWALL_RULE, id } } }]);

/** A PortForward 203.0.113.2:8080 → vm1:80 on the public NIC's own address. */
async function forwardPort(): Promise<void> {
  await patch([
    { operation: { case: 'putVip', value: { id: 'v-system', ip: PUBLIC, nicId: 'pub0' } } },
    {
      operation: {
        case: 'putPortForward',
        value: {
          id: 'pf-web',
          vipId: 'v-system',
          protocol: TransportProtocol.TCP,
          vipPorts: { start: 8080 },
          privateIp: VM1,
          privatePorts: { start: 80 },
        },
      },
    },
  ]);
}

const fromInternetToVm1: MessageInitShape<typeof FirewallPacketSchema> = {
  source: INTERNET,
  destination: VM1,
  protocol: FirewallProtocol.TCP,
  sourcePort: 40000,
  destinationPort: 80,
  dnat: true,
};
const PUBLIC_IN: Crossing[] = [{ nicId: 'pub0', direction: 'in' }];

await client.apply({ config: labConfig() });
await serve(vm1.ns, 'serve-lines', 80);
await serve(vm3.ns, 'serve-lines', 80);
await forwardPort();

t.test('port forward: a custom drop times out, reject fails at once, removal restores access', async (t) => {
  const viaForward = () => connect(topology.internet, PUBLIC, 8080);
  await verifyExplained(t, client, 'no custom rule', PUBLIC_IN, fromInternetToVm1, viaForward);

  const before = await HeldConnection.open(topology.internet, PUBLIC, 8080);
  t.ok(await before.echo(), 'a connection opened before the drop rule works');

  const deny: Rule = {
    id: 'deny-web',
    priority: 1500,
    action: FirewallAction.DROP,
    protocol: FirewallProtocol.TCP,
    destinationAddresses: [VM1],
    destinationPorts: [{ start: 80 }],
    description: 'no web for vm1',
  };
  await putRule('pub0.in', deny);
  const dropped = await verifyExplained(t, client, 'drop rule', PUBLIC_IN, fromInternetToVm1, viaForward);
  t.equal(dropped.explanations[0]?.rule?.id, 'deny-web');
  t.ok(await before.echo(), 'the connection opened before the drop rule keeps working');

  await putRule('pub0.in', { ...deny, action: FirewallAction.REJECT });
  const rejected = await verifyExplained(t, client, 'reject rule', PUBLIC_IN, fromInternetToVm1, viaForward);
  t.equal(rejected.explanations[0]?.rule?.id, 'deny-web');

  await deleteRule('deny-web');
  const back = await verifyExplained(t, client, 'rule removed', PUBLIC_IN, fromInternetToVm1, viaForward);
  t.equal(back.explanations[0]?.rule?.id, 'pub0.in/dnat');
  t.ok(await before.echo(), 'the early connection still works');
  before.close();
});

t.test('removing an accept rule does not cut the connection it let in', async (t) => {
  // The internet routes network A through the router, so vm1 is reachable without NAT, if allowed.
  await ip('-n', topology.internet, 'route', 'add', '10.1.0.0/24', 'via', PUBLIC);
  const routed = { ...fromInternetToVm1, dnat: false };
  const direct = () => connect(topology.internet, VM1, 80);
  const closed = await verifyExplained(t, client, 'routed, no rule', PUBLIC_IN, routed, direct);
  t.equal(
    closed.explanations[0]?.rule?.id,
    'pub0.in/default',
    'a VM without EIP cannot be reached from outside',
  );

  await putRule('pub0.in', {
    id: 'allow-web',
    priority: 1200,
    action: FirewallAction.ACCEPT,
    protocol: FirewallProtocol.TCP,
    sourceAddresses: [`${INTERNET}/32`],
    destinationAddresses: ['10.1.0.0/24'],
    destinationPorts: [{ start: 80, end: 81 }],
    states: [ConnectionState.NEW],
  });
  await verifyExplained(t, client, 'accept rule', PUBLIC_IN, routed, direct);
  const held = await HeldConnection.open(topology.internet, VM1, 80);
  await deleteRule('allow-web');
  t.ok(await held.echo(), 'the connection let in by the removed rule keeps working');
  await verifyExplained(t, client, 'accept rule removed', PUBLIC_IN, routed, direct);
  held.close();
});

t.test(
  'an outbound set shared by two NICs filters both; detaching it from one leaves the other',
  async (t) => {
    await patch([
      {
        operation: {
          case: 'putFirewallRuleSet',
          value: {
            id: 'no-web',
            description: 'tenants may not reach each other on port 80',
            rules: [
              {
                id: 'no-web-80',
                priority: 1100,
                action: FirewallAction.DROP,
                protocol: FirewallProtocol.TCP,
                destinationPorts: [{ start: 80 }],
              },
            ],
          },
        },
      },
      {
        operation: {
          case: 'putFirewallAttachment',
          value: { nicId: 'priv-a', direction: Direction.OUT, ruleSetId: 'no-web' },
        },
      },
      {
        operation: {
          case: 'putFirewallAttachment',
          value: { nicId: 'priv-b', direction: Direction.OUT, ruleSetId: 'no-web' },
        },
      },
    ]);
    const aToB = {
      source: VM1,
      destination: VM3,
      protocol: FirewallProtocol.TCP,
      sourcePort: 40000,
      destinationPort: 80,
    };
    const bToA = { ...aToB, source: VM3, destination: VM1 };
    const AB: Crossing[] = [
      { nicId: 'priv-a', direction: 'in' },
      { nicId: 'priv-b', direction: 'out' },
    ];
    const BA: Crossing[] = [
      { nicId: 'priv-b', direction: 'in' },
      { nicId: 'priv-a', direction: 'out' },
    ];
    const ab = await verifyExplained(t, client, 'vm1 -> vm3 (out of priv-b)', AB, aToB, () =>
      connect(vm1.ns, VM3, 80),
    );
    t.equal(ab.explanations[1]?.rule?.id, 'no-web-80');
    const ba = await verifyExplained(t, client, 'vm3 -> vm1 (out of priv-a)', BA, bToA, () =>
      connect(vm3.ns, VM1, 80),
    );
    t.equal(ba.explanations[1]?.rule?.id, 'no-web-80');

    await patch([
      { operation: { case: 'delete', value: { kind: ObjectKind.FIREWALL_ATTACHMENT, id: 'priv-b/out' } } },
    ]);
    const open = await verifyExplained(t, client, 'vm1 -> vm3 after detaching', AB, aToB, () =>
      connect(vm1.ns, VM3, 80),
    );
    t.equal(open.explanations[1]?.ruleSetId, '', 'priv-b has no outbound set any more');
    await verifyExplained(t, client, 'vm3 -> vm1 still filtered', BA, bToA, () => connect(vm3.ns, VM1, 80));
  },
);

t.test("the router's own input: the management API only on the management NIC", async (t) => {
  const api = { protocol: FirewallProtocol.TCP, sourcePort: 40000, destinationPort: 7800 };
  await verifyExplained(
    t,
    client,
    'manager -> API',
    [{ nicId: 'mgmt0', direction: 'in' }],
    { ...api, source: '172.16.0.2', destination: '172.16.0.1' },
    () => connect(topology.manager, '172.16.0.1', 7800),
  );
  await verifyExplained(
    t,
    client,
    'vm1 -> API port on its gateway',
    [{ nicId: 'priv-a', direction: 'in' }],
    { ...api, source: VM1, destination: '10.1.0.1' },
    () => connect(vm1.ns, '10.1.0.1', 7800),
  );
  const ping = await inNamespace(vm1.ns, 'ping', ['-c', '1', '-W', '2', '10.1.0.1'], { allowFailure: true });
  t.equal(ping.code, 0, 'VMs can ping their gateway');
});

t.test('refusals name the field and change nothing', async (t) => {
  const { generation } = await client.getConfig();
  const nftBefore = (
    await inNamespace(topology.router, 'nft', ['-s', '-t', 'list', 'table', 'inet', 'vrouter'])
  ).stdout;
  const refused = async (
    label: string,
    operations: MessageInitShape<typeof PatchRequestSchema>['operations'],
    field: string,
  ) => {
    try {
      await patch(operations);
      t.fail(`${label}: accepted`);
    } catch (e) {
      const err = e as ServiceError;
      t.equal(err.code, status.INVALID_ARGUMENT, `${label}: INVALID_ARGUMENT`);
      const fields = readErrorDetails(err.metadata).violations.map((v) => v.field);
      t.ok(fields.includes(field), `${label}: violation at ${field} (got ${fields.join(', ')})`);
    }
  };
  const rule = (priority: number): Rule => ({ id: `p${priority}`, priority, action: FirewallAction.DROP });
  const put = (r: Rule) => [
    { operation: { case: 'putFirewallRule' as const, value: { ruleSetId: 'pub0.in', rule: r } } },
  ];
  const priority = 'operations[0].put_firewall_rule.rule.priority';
  await refused('system band 1-1000', put(rule(500)), priority);
  await refused('reserved band', put(rule(3500)), priority);
  await refused('system band 4000-9999', put(rule(5000)), priority);
  await refused(
    'changing a system rule',
    put({ ...rule(1500), id: 'pub0.in/default' }),
    'operations[0].put_firewall_rule.rule.id',
  );
  await refused(
    'deleting a system rule',
    [{ operation: { case: 'delete', value: { kind: ObjectKind.FIREWALL_RULE, id: 'pub0.in/default' } } }],
    'operations[0].delete.id',
  );
  await refused(
    'deleting an inbound set',
    [{ operation: { case: 'delete', value: { kind: ObjectKind.FIREWALL_RULE_SET, id: 'pub0.in' } } }],
    'operations[0].delete.id',
  );
  const full = Array.from({ length: 10000 }, (_, i): Rule => ({
    id: `many-${i}`,
    priority: 1001 + (i % 1999),
    action: FirewallAction.ACCEPT,
    protocol: FirewallProtocol.TCP,
    // Every third rule has a port range, so interval sets are loaded (and checked for drift) too.
    destinationPorts: [{ start: 1 + i, end: i % 3 === 0 ? 2 + i : 0 }],
  }));
  await refused(
    'a 10000th rule',
    [{ operation: { case: 'putFirewallRuleSet', value: { id: 'many', rules: full } } }],
    'operations[0].put_firewall_rule_set.rules[9999]',
  );
  t.equal((await client.getConfig()).generation, generation, 'the generation did not move');
  const nftAfter = (
    await inNamespace(topology.router, 'nft', ['-s', '-t', 'list', 'table', 'inet', 'vrouter'])
  ).stdout;
  t.equal(nftAfter, nftBefore, 'the kernel holds the same firewall');

  await patch([
    { operation: { case: 'putFirewallRuleSet', value: { id: 'many', rules: full.slice(0, 9999) } } },
    {
      operation: {
        case: 'putFirewallAttachment',
        value: { nicId: 'pub0', direction: Direction.OUT, ruleSetId: 'many' },
      },
    },
  ]);
  await refused(
    'the 10000th rule put alone',
    [{ operation: { case: 'putFirewallRule', value: { ruleSetId: 'many', rule: full[9999] } } }],
    'operations[0].put_firewall_rule.rule',
  );
  const listing = (
    await inNamespace(topology.router, 'nft', ['-t', 'list', 'chain', 'inet', 'vrouter', 'fws-many'])
  ).stdout;
  const rules = listing.split('\n').filter((line) => line.includes('comment "fwrule:')).length;
  t.ok(rules > 0 && rules < 100, `the 9999 rules load as ${rules} set lookups and rules`);
  const sets = (await inNamespace(topology.router, 'nft', ['-t', 'list', 'sets', 'inet'])).stdout;
  t.match(sets, /set fwb-many-\S+-h \{/, 'hash sets for single ports');
  t.match(
    sets,
    /set fwb-many-\S+-i \{\s+type inet_proto \. inet_service\s+flags interval/,
    'interval sets for ranges',
  );
  const drift = await client.checkDrift();
  t.same(drift.repaired, [], 'no drift reported with a set of 9999 rules loaded');
});

t.test('vrouterctl shows the rule sets with counters and explains a packet', async (t) => {
  await connect(topology.internet, PUBLIC, 8080);
  const ctl = (...args: string[]) =>
    run(process.execPath, [VROUTERCTL, '--socket', daemon.socket, ...args]).then((r) => r.stdout);
  const shown = await ctl('show', 'firewall');
  const dnat = shown.split('\n').find((line) => line.includes('pub0.in/dnat'));
  t.match(
    dnat,
    /^4000\s+pub0\.in\/dnat\s+accept\s+dnat\s+[1-9]\d*\s+[1-9]\d*/,
    'the DNAT rule with its counters',
  );
  // Decided once, in the base chains, for every set: each set's row shows the router's counters.
  const established = shown.split('\n').filter((line) => /^1\s+\S+\/established\s/.test(line));
  t.ok(established.length >= 4, 'every inbound set lists its established rule');
  const counters = established.map(
    (line) => /accept\s+state established,related\s+(\d+\s+\d+)/.exec(line)?.[1] ?? 'unreadable',
  );
  t.same(new Set(counters), new Set([counters[0]]), `with the same counters: ${counters.join(', ')}`);
  t.not(counters[0], 'unreadable', 'read from each row');
  t.match(established[0], /established,related\s+[1-9]\d*\s+[1-9]\d*/, 'which counted the connection');
  t.match(
    shown,
    /rule set no-web: .*attached to priv-a\/out\)/,
    'the shared set, now attached to priv-a only',
  );
  const explained = await ctl(
    'explain',
    ...['--nic', 'pub0', '--direction', 'in', '--protocol', 'tcp', '--source', INTERNET],
    ...['--destination', VM1, '--sport', '40000', '--dport', '80', '--dnat'],
  );
  t.match(explained, /verdict: accept\nrule set: pub0\.in\nrule: pub0\.in\/dnat/);
});
