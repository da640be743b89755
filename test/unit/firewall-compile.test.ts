// The compiled chain (blocks + rules of their own) decides every packet exactly as the rule model
// does, rule for rule: the property behind per-rule counters and ExplainFirewall agreeing with the
// kernel. Rules and packets are drawn from small domains so that they overlap and match often.
import t from 'tap';
import fc from 'fast-check';
import { create } from '@bufbuild/protobuf';
import {
  ConnectionState,
  FirewallAction,
  FirewallProtocol,
  FirewallRuleSchema,
} from '../../daemon/src/gen/vrouter/v1/firewall_pb.js';
import { BoxIndex } from '../../daemon/src/services/firewall/box-index.js';
import { type ChainItem, DIMS, compileRuleSet } from '../../daemon/src/services/firewall/compile.js';
import { type Packet, decide, matches } from '../../daemon/src/services/firewall/evaluate.js';
import type { ConnState, ModelRuleSet } from '../../daemon/src/services/firewall/model.js';
import { customRule } from '../../daemon/src/services/firewall/plan.js';
import { formatIpv4, parseIpv4 } from '../../daemon/src/config/net.js';

const BASE = parseIpv4('10.0.0.0') ?? 0;
const STATES: ConnState[] = ['new', 'established', 'related', 'invalid'];

const address = fc.oneof(
  fc.integer({ min: 0, max: 31 }).map((i) => formatIpv4(BASE + i)),
  fc.constantFrom('10.0.0.0/30', '10.0.0.4/30', '10.0.0.8/29', '10.0.0.0/28', '10.0.0.16/28'),
  fc
    .tuple(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 6 }))
    .map(([from, length]) => `${formatIpv4(BASE + from)}-${formatIpv4(BASE + Math.min(31, from + length))}`),
);
const port = fc.oneof(
  fc.integer({ min: 1, max: 12 }).map((start) => ({ start, end: 0 })),
  fc
    .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 4 }))
    .map(([start, n]) => ({ start, end: start + n })),
);

const rule = (i: number) =>
  fc
    .record({
      action: fc.constantFrom(
        FirewallAction.ACCEPT,
        FirewallAction.ACCEPT,
        FirewallAction.DROP,
        FirewallAction.REJECT,
      ),
      protocol: fc.constantFrom(
        FirewallProtocol.ALL,
        FirewallProtocol.TCP,
        FirewallProtocol.TCP,
        FirewallProtocol.UDP,
        FirewallProtocol.ICMP,
      ),
      sources: fc.array(address, { maxLength: 2 }),
      destinations: fc.array(address, { maxLength: 2 }),
      sourcePorts: fc.array(port, { maxLength: 1 }),
      destinationPorts: fc.array(port, { maxLength: 3 }),
      states: fc.oneof(
        fc.constant<ConnectionState[]>([]),
        fc.constant([ConnectionState.NEW]),
        fc.subarray([
          ConnectionState.NEW,
          ConnectionState.ESTABLISHED,
          ConnectionState.RELATED,
          ConnectionState.INVALID,
        ]),
      ),
      icmpType: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      disabled: fc.boolean().map((b) => b && i % 7 === 0),
    })
    .map((r) => {
      const ported = r.protocol === FirewallProtocol.TCP || r.protocol === FirewallProtocol.UDP;
      return customRule(
        create(FirewallRuleSchema, {
          id: `r${i}`,
          priority: 1001 + i,
          action: r.action,
          protocol: r.protocol,
          sourceAddresses: r.sources,
          destinationAddresses: r.destinations,
          sourcePorts: ported ? r.sourcePorts : [],
          destinationPorts: ported ? r.destinationPorts : [],
          states: [...r.states],
          ...(r.protocol === FirewallProtocol.ICMP && r.icmpType !== undefined && { icmpType: r.icmpType }),
          disabled: r.disabled,
        }),
      );
    });

const ruleSet = fc
  .integer({ min: 1, max: 60 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => rule(i))))
  .map((rules): ModelRuleSet => ({
    id: 's',
    description: '',
    kind: 'outbound',
    rules: [
      ...rules,
      {
        id: 's/default',
        priority: 9999,
        system: true,
        action: 'drop',
        match: {},
        disabled: false,
        description: '',
      },
    ],
  }));

const packet = fc.record({
  source: fc.integer({ min: 0, max: 33 }).map((i) => BASE + i),
  destination: fc.integer({ min: 0, max: 33 }).map((i) => BASE + i),
  protocol: fc.constantFrom(1, 6, 6, 17, 47),
  sourcePort: fc.integer({ min: 0, max: 14 }),
  destinationPort: fc.integer({ min: 0, max: 18 }),
  icmpType: fc.integer({ min: 0, max: 3 }),
  icmpCode: fc.constant(0),
  state: fc.constantFrom(...STATES),
  dnat: fc.boolean(),
  ipsec: fc.constant(false),
  toRouter: fc.boolean(),
});

/** What the rendered chain does with an IPv4 packet: set lookups for blocks, rules otherwise. */
function runChain(
  items: readonly ChainItem[],
  p: Packet,
): { action: string; ruleId: string } | 'overlap' | undefined {
  // `th` ports of a protocol without them (GRE here) cannot be loaded: such a lookup never matches.
  const key = [p.protocol, p.source, p.destination, p.sourcePort, p.destinationPort];
  for (const item of items) {
    if (item.kind === 'rule') {
      if (matches(item.rule.match, p) !== undefined)
        return { action: item.rule.action, ruleId: item.rule.id };
      continue;
    }
    if (item.states !== undefined && !item.states.includes(p.state)) continue;
    const ported = item.dims.includes('sourcePort') || item.dims.includes('destinationPort');
    if (ported && ![1, 6, 17].includes(p.protocol)) continue;
    const hits = item.elements.filter((e) =>
      item.dims.every((d) => {
        const i = DIMS.indexOf(d);
        const [from, to] = e.box[i] ?? [0, 0];
        const value = key[i] ?? -1;
        return value >= from && value <= to;
      }),
    );
    if (hits.length > 1) return 'overlap';
    const hit = hits[0];
    if (hit !== undefined) return { action: item.action, ruleId: hit.ruleId };
  }
  return undefined;
}

t.test('the compiled chain decides like the rule model, rule for rule', async () => {
  fc.assert(
    fc.property(ruleSet, fc.array(packet, { minLength: 20, maxLength: 20 }), (set, packets) => {
      const items = compileRuleSet(set);
      for (const p of packets) {
        const expected = decide(set, p);
        const actual = runChain(items, p);
        if (actual === 'overlap') return false;
        if (expected?.rule.id !== (actual === undefined ? undefined : actual.ruleId)) return false;
        if (expected?.rule.action !== actual?.action) return false;
      }
      return true;
    }),
    { numRuns: 400 },
  );
});

t.test('single values and same-length CIDRs become hash sets, ranges an interval set', async (t) => {
  const sources = ['198.51.100.0', '198.51.100.1', '198.51.100.2', '198.51.103.0/24', '198.51.104.0/24'];
  const rules = [...sources, '198.51.105.1-198.51.105.5', '198.51.106.1-198.51.106.9'].map((source, i) =>
    customRule(
      create(FirewallRuleSchema, {
        id: `a${i}`,
        priority: 1001 + i,
        action: FirewallAction.ACCEPT,
        protocol: FirewallProtocol.TCP,
        sourceAddresses: [source],
        destinationPorts: [{ start: 443 }],
      }),
    ),
  );
  const items = compileRuleSet({ id: 's', description: '', kind: 'outbound', rules });
  t.same(
    items.map((item) =>
      item.kind === 'block' ? [item.name, item.rules.length, item.interval] : item.rule.id,
    ),
    [
      ['fwb-a0-ps32D-h', 3, false],
      ['fwb-a3-ps24D-h', 2, false],
      ['fwb-a5-psD-i', 2, true],
    ],
  );
});

t.test('a rule never moves past one it overlaps with another action', async (t) => {
  const mk = (id: string, action: FirewallAction, source: string) =>
    customRule(
      create(FirewallRuleSchema, {
        id,
        priority: 1001,
        action,
        protocol: FirewallProtocol.TCP,
        sourceAddresses: [source],
      }),
    );
  const items = compileRuleSet({
    id: 's',
    description: '',
    kind: 'outbound',
    rules: [
      mk('a1', FirewallAction.ACCEPT, '198.51.100.1'),
      mk('a2', FirewallAction.ACCEPT, '198.51.100.2'),
      mk('d1', FirewallAction.DROP, '198.51.100.0/24'),
      mk('a3', FirewallAction.ACCEPT, '198.51.101.3'),
      mk('a4', FirewallAction.ACCEPT, '198.51.100.4'),
    ],
  });
  const order = items.map((item) =>
    item.kind === 'block' ? item.rules.map((r) => r.id).join('+') : item.rule.id,
  );
  t.same(order, ['a1+a2+a3', 'd1', 'a4'], 'a3 joins the first block (disjoint from d1), a4 stays behind d1');
});

t.test('the box index answers what comparing with every box answers', async () => {
  // Narrow and wide intervals in every dimension, so that buckets, wide lists and whole scans all answer.
  const interval = (max: number) =>
    fc
      .tuple(fc.nat(max), fc.oneof(fc.constant(0), fc.nat(16), fc.nat(max)))
      .map(([from, width]): [number, number] => [from, Math.min(max, from + width)]);
  const box = fc.tuple(
    fc.oneof(fc.constantFrom<[number, number]>([6, 6], [17, 17], [0, 255])),
    interval(0xffffffff),
    interval(0xffffffff),
    interval(65535),
    interval(65535),
  );
  const overlap = (a: readonly [number, number][], b: readonly [number, number][]) =>
    a.every(([from, to], d) => from <= (b[d]?.[1] ?? 0) && (b[d]?.[0] ?? 0) <= to);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(box, fc.nat(50)), { maxLength: 60 }),
      fc.array(box, { maxLength: 20 }),
      (added, queries) => {
        const index = new BoxIndex();
        for (const [b, tag] of added) index.add(b, tag);
        return queries.every(
          (q) =>
            index.highestOverlapping(q) ===
            added.reduce((found, [b, tag]) => (tag > found && overlap(b, q) ? tag : found), -1),
        );
      },
    ),
    { numRuns: 500 },
  );
});
