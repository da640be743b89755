// Large, realistic custom rule sets for the firewall bench, and the same rules as linear iptables
// chains (the baseline). Deterministic (a seeded generator), so every run measures the same rules.
// The mix: mostly accepts with drops and rejects sprinkled in; TCP, UDP and some ICMP; single
// sources, /24s and short ranges from 198.18.0.0/15 (never the bench's own traffic); half with a
// destination VM; single ports, ranges and short port lists. Rule order = priority order.
import { create } from '@bufbuild/protobuf';
import {
  FirewallAction,
  FirewallProtocol,
  type FirewallRule,
  FirewallRuleSchema,
} from '../../daemon/src/gen/vrouter/v1/firewall_pb.js';
import { formatIpv4, parseIpv4 } from '../../daemon/src/config/net.js';

const BENCH_NET = parseIpv4('198.18.0.0') ?? 0;

function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** `count` custom rules with ascending priorities 1001-2999 (ties kept in order), ids `<prefix>-<i>`. */
export function benchRules(prefix: string, count: number, seed: number): FirewallRule[] {
  const random = generator(seed);
  const pick = <T>(choices: readonly (readonly [number, T])[]): T => {
    let r = random();
    for (const [weight, value] of choices) {
      if (r < weight) return value;
      r -= weight;
    }
    return (choices[choices.length - 1] as readonly [number, T])[1];
  };
  return Array.from({ length: count }, (_, i) => {
    const protocol = pick([
      [0.65, FirewallProtocol.TCP],
      [0.3, FirewallProtocol.UDP],
      [0.05, FirewallProtocol.ICMP],
    ] as const);
    const host = BENCH_NET + Math.floor(random() * 2 ** 17);
    const source = pick([
      [0.6, formatIpv4(host)],
      [0.3, `${formatIpv4((host & ~255) >>> 0)}/24`],
      [0.1, `${formatIpv4(host)}-${formatIpv4(host + 15)}`],
    ] as const);
    const port = 1 + Math.floor(random() * 60000);
    const ports =
      protocol === FirewallProtocol.ICMP
        ? []
        : pick([
            [0.7, [{ start: port }]],
            [0.2, [{ start: port, end: port + 99 }]],
            [0.1, [{ start: port }, { start: port + 7 }, { start: port + 1000 }]],
          ] as const);
    return create(FirewallRuleSchema, {
      id: `${prefix}-${i}`,
      priority: 1001 + Math.floor((i * 1998) / Math.max(1, count - 1)),
      action: pick([
        [0.9, FirewallAction.ACCEPT],
        [0.07, FirewallAction.DROP],
        [0.03, FirewallAction.REJECT],
      ] as const),
      protocol,
      sourceAddresses: [source],
      destinationAddresses:
        random() < 0.5 ? [formatIpv4((parseIpv4('10.1.0.0') ?? 0) + 2 + Math.floor(random() * 250))] : [],
      destinationPorts: ports.map((p) => ({ ...p })),
    });
  });
}

/** One rule as an iptables-restore line in `chain` (accept is RETURN: the packet leaves the set). */
export function iptablesLine(chain: string, rule: FirewallRule): string {
  const protocol = FirewallProtocol[rule.protocol].toLowerCase();
  const parts = [`-A ${chain}`, `-p ${protocol}`];
  const address = (flag: 's' | 'd', range: 'src' | 'dst', text: string) =>
    text.includes('-') ? `-m iprange --${range}-range ${text}` : `-${flag} ${text}`;
  for (const text of rule.sourceAddresses) parts.push(address('s', 'src', text));
  for (const text of rule.destinationAddresses) parts.push(address('d', 'dst', text));
  const port = (p: { start: number; end: number }) => (p.end === 0 ? `${p.start}` : `${p.start}:${p.end}`);
  if (rule.destinationPorts.length === 1)
    parts.push(`--dport ${port(rule.destinationPorts[0] ?? { start: 0, end: 0 })}`);
  else if (rule.destinationPorts.length > 1)
    parts.push(`-m multiport --dports ${rule.destinationPorts.map(port).join(',')}`);
  switch (rule.action) {
    case FirewallAction.ACCEPT:
      parts.push('-j RETURN');
      break;
    case FirewallAction.DROP:
      parts.push('-j DROP');
      break;
    default:
      parts.push(`-j REJECT --reject-with ${protocol === 'tcp' ? 'tcp-reset' : 'icmp-port-unreachable'}`);
  }
  return parts.join(' ');
}
