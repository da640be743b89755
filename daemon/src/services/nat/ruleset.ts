// The NAT part of the ruleset: a fixed handful of rules in `ip vrouter_nat`, each looking up a set or
// map whose elements are the EIPs, port forwards and SNAT entries (services/nat/elements.ts). The
// rules exist whatever the config holds, so adding the first EIP, like the ten-thousandth, changes
// elements only.
//
//   prerouting  (nat, dstnat):   EIP DNAT; port forward DNAT (single ports, then ranges)
//   pf_filter   (filter, -110):  drop sources outside a forward's allowed CIDRs; count forward traffic
//                                (client → VIP, before DNAT; replies and EIP flows pass by)
//   postrouting (nat, srcnat):   EIP SNAT; network SNAT; hairpin masquerade
//   nat_stats   (filter, 110):   mark a new flow of an EIP, either way (see eipMark); count EIP
//                                traffic, forward replies and SNAT traffic (after NAT)
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
/** A flow marked as an EIP's (nat_stats marks them on their first packet). */
const EIP_FLOW = match(ct('mark'), 0, '!=');
const lookup = (left: unknown, set: string, op = '==') => match(left, `@${set}`, op);
const map = (key: unknown, set: string) => ({ map: { key, data: `@${set}` } });
const concat = (...parts: unknown[]) => ({ concat: parts });
/** Sets the flow's conntrack mark to the EIP's (see eipMark); a miss ends the rule. */
const markFlow = (key: unknown) => ({ mangle: { key: ct('mark'), value: map(key, SET.eipMark) } });

/** VIP . protocol . port of a packet going to a VIP (before DNAT). */
const FORWARD_KEY = concat(ip('daddr'), meta('l4proto'), th('dport'));
/** The same key seen on a reply leaving the VIP (after the reverse DNAT). */
const REPLY_KEY = concat(ip('saddr'), meta('l4proto'), th('sport'));
const OUT_KEY = concat(meta('oifname'), ip('saddr'));

const rule = (comment: string, ...expr: unknown[]): NftRule => ({ expr, comment });

export const NAT_CHAINS = {
  forwardFilter: {
    name: 'pf_filter',
    hook: { type: 'filter', hook: 'prerouting', priority: -110, policy: 'accept' },
  },
  stats: {
    name: 'nat_stats',
    hook: { type: 'filter', hook: 'postrouting', priority: 110, policy: 'accept' },
  },
} as const;

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
      rule('nat:port-forward', {
        dnat: {
          family: 'ip',
          addr: map(FORWARD_KEY, SET.forwardAddr),
          port: map(FORWARD_KEY, SET.forwardPort),
        },
      }),
      rule('nat:port-forward', { dnat: { family: 'ip', addr: map(FORWARD_KEY, SET.forwardRange) } }),
    ])
    .append(NAT_TABLE, NAT_CHAINS.forwardFilter.name, [
      // Sources are judged on a flow's first packets only (one interval lookup less for every packet
      // after): changing a forward's allowed sources clears its flows (its mapping's signature).
      rule(
        'nat:port-forward-sources',
        NEW,
        lookup(FORWARD_KEY, SET.forwardGuarded),
        lookup(concat(ip('daddr'), meta('l4proto'), th('dport'), ip('saddr')), SET.forwardAllowed, '!='),
        { counter: null },
        { drop: null },
      ),
      // What follows counts a forward's client → VIP packets (its replies are counted after NAT), two
      // lookups a packet: the replies of every flow and the packets of EIP flows (marked) skip them.
      rule('nat:port-forward', match(ct('direction'), 'reply'), { accept: null }),
      rule('nat:eip', EIP_FLOW, { accept: null }),
      rule('nat:port-forward', lookup(FORWARD_KEY, SET.forwardStats), { accept: null }),
      rule('nat:port-forward', lookup(FORWARD_KEY, SET.forwardRangeStats)),
    ])
    .append(NAT_TABLE, 'postrouting', [
      rule('nat:eip', { snat: { family: 'ip', addr: map(OUT_KEY, SET.eipSnat) } }),
      rule('nat:snat', { snat: { family: 'ip', addr: map(OUT_KEY, SET.snat) } }),
      rule('nat:hairpin', status('dnat'), lookup(OUT_KEY, SET.hairpin), { masquerade: null }),
    ])
    .append(NAT_TABLE, NAT_CHAINS.stats.name, [
      // After NAT, an EIP's VIP is the original destination of its inbound flows and the reply
      // destination of its outbound ones (a VIP with an EIP serves nothing else).
      rule('nat:eip-mark', NEW, markFlow(ct('ip daddr', 'original'))),
      rule('nat:eip-mark', NEW, markFlow(ct('ip daddr', 'reply'))),
      // Only an EIP's flows are marked: the others (SNAT, forwards) skip both lookups.
      rule('nat:eip', EIP_FLOW, lookup(ct('ip daddr', 'original'), SET.eipStats), { accept: null }),
      rule('nat:eip', EIP_FLOW, lookup(ct('ip daddr', 'reply'), SET.eipStats), { accept: null }),
      rule(
        'nat:port-forward',
        status('dnat'),
        match(ct('direction'), 'reply'),
        lookup(REPLY_KEY, SET.forwardStats),
        {
          accept: null,
        },
      ),
      rule(
        'nat:port-forward',
        status('dnat'),
        match(ct('direction'), 'reply'),
        lookup(REPLY_KEY, SET.forwardRangeStats),
        {
          accept: null,
        },
      ),
      rule('nat:snat', status('snat'), lookup(ct('ip saddr', 'original'), SET.snatStats)),
    ]);
}
