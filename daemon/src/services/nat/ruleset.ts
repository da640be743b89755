// The NAT part of the ruleset: a fixed handful of rules in `ip vrouter_nat`, each looking up a set or
// map whose elements are the EIPs, port forwards and SNAT entries (services/nat/elements.ts). The
// rules exist whatever the config holds, so adding the first EIP, like the ten-thousandth, changes
// elements only.
//
//   prerouting  (nat, dstnat):   EIP DNAT; drop sources outside a forward's allowed CIDRs; port
//                                forward DNAT (single ports, then ranges)
//   postrouting (nat, srcnat):   hairpin masquerade (DNAT'ed flows end there); EIP SNAT; network SNAT
//   nat_stats   (filter, 110):   mark a new flow of an EIP, either way (see eipMark); count EIP
//                                traffic by that mark, a forward's traffic both ways by the flow's
//                                original VIP . protocol . port, SNAT traffic by its original source
//
// Every packet a chain of filter type sees costs the kernel a call of the rule engine, where a chain
// of nat type sees a flow's first packet only: so the source check sits in the nat chain (it judged
// first packets anyway) and all counting in one chain, which an EIP's packets leave at its first
// lookup (the marking rules before it stop at `ct state new` for all but a flow's first packet).
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import type { RulesetBuilder } from '../../nft/builder.js';
import type { NftRule } from '../../nft/model.js';
import type { InterfacePlan } from '../interfaces/plan.js';
import { NAT_TABLE } from '../ruleset/render.js';
import { SET } from './elements.js';
import { SET_NAMES, renderNat } from './render.js';

const ip = (field: string) => ({ payload: { protocol: 'ip', field } });
const th = (field: string) => ({ payload: { protocol: 'th', field } });
const meta = (key: string) => ({ meta: { key } });
const ct = (key: string, dir?: 'original' | 'reply') => ({ ct: dir === undefined ? { key } : { key, dir } });
const match = (left: unknown, right: unknown, op = '==') => ({ match: { op, left, right } });
const status = (flag: 'dnat' | 'snat') => match(ct('status'), flag, 'in');
const NEW = match(ct('state'), 'new', 'in');
const lookup = (left: unknown, set: string, op = '==') => match(left, `@${set}`, op);
const map = (key: unknown, set: string) => ({ map: { key, data: `@${set}` } });
const concat = (...parts: unknown[]) => ({ concat: parts });
/** Sets the flow's conntrack mark to the EIP's (see eipMark); a miss ends the rule. */
const markFlow = (key: unknown) => ({ mangle: { key: ct('mark'), value: map(key, SET.eipMark) } });

/** VIP . protocol . port of a packet going to a VIP (before DNAT). */
const FORWARD_KEY = concat(ip('daddr'), meta('l4proto'), th('dport'));
/**
 * The same key of any packet of a flow DNAT'ed by a forward, either way: the flow's original VIP and
 * port. nft types `ct original proto-dst` only once the rule has named the protocol, hence a rule each.
 */
const flowForwardKey = (protocol: 'tcp' | 'udp', set: string) => [
  match(meta('l4proto'), protocol),
  lookup(concat(ct('ip daddr', 'original'), meta('l4proto'), ct('proto-dst', 'original')), set),
];
const OUT_KEY = concat(meta('oifname'), ip('saddr'));

const rule = (comment: string, ...expr: unknown[]): NftRule => ({ expr, comment });

export const NAT_STATS_CHAIN = {
  name: 'nat_stats',
  hook: { type: 'filter', hook: 'postrouting', priority: 110, policy: 'accept' },
} as const;

/** The comment of the rule that drops sources outside a forward's allowed CIDRs (its counter: refused). */
export const REFUSED_SOURCES = 'nat:port-forward-sources';

export function natContribution(
  builder: RulesetBuilder,
  config: RouterConfig,
  interfaces: InterfacePlan,
): void {
  const { sets } = renderNat(config, interfaces);
  for (const name of SET_NAMES) {
    const set = sets.get(name);
    if (set !== undefined) builder.addSet(NAT_TABLE, set);
  }
  builder
    .append(NAT_TABLE, 'prerouting', [
      rule('nat:eip', { dnat: { family: 'ip', addr: map(ip('daddr'), SET.eipDnat) } }),
      // After the EIPs (a VIP with an EIP serves nothing else: their flows skip an interval lookup).
      rule(
        REFUSED_SOURCES,
        lookup(FORWARD_KEY, SET.forwardGuarded),
        lookup(concat(ip('daddr'), meta('l4proto'), th('dport'), ip('saddr')), SET.forwardAllowed, '!='),
        { counter: null },
        { drop: null },
      ),
      rule('nat:port-forward', {
        dnat: {
          family: 'ip',
          addr: map(FORWARD_KEY, SET.forwardAddr),
          port: map(FORWARD_KEY, SET.forwardPort),
        },
      }),
      rule('nat:port-forward', { dnat: { family: 'ip', addr: map(FORWARD_KEY, SET.forwardRange) } }),
    ])
    .append(NAT_TABLE, 'postrouting', [
      rule('nat:hairpin', status('dnat'), lookup(OUT_KEY, SET.hairpin), { masquerade: null }),
      // A DNAT'ed flow goes to a VM in a private network (validation): no EIP or network SNAT is for
      // it, and its first packet skips their lookups (an interval one among them).
      rule('nat:dnat', status('dnat'), { accept: null }),
      rule('nat:eip', { snat: { family: 'ip', addr: map(OUT_KEY, SET.eipSnat) } }),
      rule('nat:snat', { snat: { family: 'ip', addr: map(OUT_KEY, SET.snat) } }),
    ])
    .append(NAT_TABLE, NAT_STATS_CHAIN.name, [
      // After NAT, an EIP's VIP is the original destination of its inbound flows and the reply
      // destination of its outbound ones (a VIP with an EIP serves nothing else).
      rule('nat:eip-mark', NEW, markFlow(ct('ip daddr', 'original'))),
      rule('nat:eip-mark', NEW, markFlow(ct('ip daddr', 'reply'))),
      // Only an EIP's flows carry a mark: one lookup counts them both ways.
      rule('nat:eip', lookup(ct('mark'), SET.eipStats), { accept: null }),
      ...(['tcp', 'udp'] as const).flatMap((protocol) => [
        rule('nat:port-forward', status('dnat'), ...flowForwardKey(protocol, SET.forwardStats), {
          accept: null,
        }),
        rule('nat:port-forward', status('dnat'), ...flowForwardKey(protocol, SET.forwardRangeStats), {
          accept: null,
        }),
      ]),
      rule('nat:snat', status('snat'), lookup(ct('ip saddr', 'original'), SET.snatStats)),
    ]);
}
