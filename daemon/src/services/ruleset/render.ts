// The daemon's own nftables tables, rendered whole from the config: the base chains every service
// hooks into. Later services (NAT, firewall) add their sets, maps and rules here. Other tables on the
// system are never touched.
import type { NftRuleset, NftTable } from '../../nft/model.js';

/** Filtering of the router's own traffic (input/output) and of routed traffic (forward). */
export const FILTER_TABLE = { family: 'inet', name: 'vrouter' } as const;
/** Address translation: DNAT before routing, SNAT after. */
export const NAT_TABLE = { family: 'ip', name: 'vrouter_nat' } as const;

export function renderRuleset(): NftRuleset {
  const filter: NftTable = {
    ...FILTER_TABLE,
    sets: [],
    chains: [
      { name: 'input', hook: { type: 'filter', hook: 'input', priority: 0, policy: 'accept' }, rules: [] },
      {
        name: 'forward',
        hook: { type: 'filter', hook: 'forward', priority: 0, policy: 'accept' },
        rules: [],
      },
      { name: 'output', hook: { type: 'filter', hook: 'output', priority: 0, policy: 'accept' }, rules: [] },
    ],
  };
  const nat: NftTable = {
    ...NAT_TABLE,
    sets: [],
    chains: [
      {
        name: 'prerouting',
        hook: { type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' },
        rules: [],
      },
      {
        name: 'postrouting',
        hook: { type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' },
        rules: [],
      },
    ],
  };
  return { tables: [filter, nat] };
}
