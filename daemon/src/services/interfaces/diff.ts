// What must change for the kernel's links to hold an InterfacePlan. Pure: the apply step observes
// the kernel, calls this, and carries the changes out; the drift check reports them instead.
import type { VipAddress, VipPlan } from '../nat/render.js';
import type { InterfacePlan } from './plan.js';

export interface ObservedLink {
  readonly index: number;
  readonly name: string;
  readonly mtu: number;
  readonly up: boolean;
  /** Global addresses (not IPv6 link-local), CIDR form as the kernel prints them. */
  readonly addresses: readonly string[];
}

export type LinkChange =
  | { readonly kind: 'up'; readonly index: number; readonly name: string }
  | {
      readonly kind: 'mtu';
      readonly index: number;
      readonly name: string;
      readonly from: number;
      readonly to: number;
    }
  | { readonly kind: 'add'; readonly index: number; readonly name: string; readonly cidr: string }
  | { readonly kind: 'delete'; readonly index: number; readonly name: string; readonly cidr: string };

export function diffInterfaces(
  desired: InterfacePlan,
  previous: InterfacePlan,
  observed: ReadonlyMap<number, ObservedLink>,
): LinkChange[] {
  const changes: LinkChange[] = [];
  const wanted = new Map<number, Set<string>>();
  const desiredVips = vipCidrs(desired);
  for (const link of desired.links) {
    const now = observed.get(link.index);
    if (now === undefined) continue;
    const { index, name } = link;
    const addresses = [...link.addresses, ...(desiredVips.get(index) ?? [])];
    wanted.set(index, new Set(addresses));
    if (!now.up) changes.push({ kind: 'up', index, name });
    if (link.mtu !== undefined && now.mtu !== link.mtu)
      changes.push({ kind: 'mtu', index, name, from: now.mtu, to: link.mtu });
    const present = new Set(now.addresses);
    for (const cidr of addresses) if (!present.has(cidr)) changes.push({ kind: 'add', index, name, cidr });
    if (link.exclusive) {
      const keep = new Set(addresses);
      for (const cidr of now.addresses)
        if (!keep.has(cidr)) changes.push({ kind: 'delete', index, name, cidr });
    }
  }
  // Addresses the daemon placed before on links it no longer manages (a NIC left the config).
  const previousVips = vipCidrs(previous);
  for (const link of previous.links) {
    const now = observed.get(link.index);
    if (now === undefined || !link.exclusive || wanted.has(link.index)) continue;
    const present = new Set(now.addresses);
    for (const cidr of [...link.addresses, ...(previousVips.get(link.index) ?? [])])
      if (present.has(cidr)) changes.push({ kind: 'delete', index: link.index, name: now.name, cidr });
  }
  return changes;
}

/** VIP addresses to add and remove for the kernel to go from one plan to the other. */
export type VipDelta = Pick<NonNullable<VipPlan['delta']>, 'added' | 'removed'>;

/** The VIP addresses that differ between two plans (by link and address): O(VIPs), no kernel read. */
export function diffVips(from: VipPlan, to: VipPlan): VipDelta {
  const key = (v: VipAddress) => `${v.index} ${v.ip}`;
  const [was, is] = [from.all(), to.all()];
  // The common case, the same VIPs in the same order, without building sets.
  if (was.length === is.length && was.every((v, i) => v.index === is[i]?.index && v.ip === is[i].ip))
    return { added: [], removed: [] };
  const before = new Set(was.map(key));
  const after = new Set(is.map(key));
  return {
    added: is.filter((v) => !before.has(key(v))),
    removed: was.filter((v) => !after.has(key(v))),
  };
}

/** VIP addresses of a plan by link index, in CIDR form. */
function vipCidrs(plan: InterfacePlan): Map<number, string[]> {
  const result = new Map<number, string[]>();
  for (const vip of plan.vips.all()) {
    const list = result.get(vip.index);
    if (list === undefined) result.set(vip.index, [`${vip.ip}/32`]);
    else list.push(`${vip.ip}/32`);
  }
  return result;
}

export function describeChange(c: LinkChange): string {
  switch (c.kind) {
    case 'up':
      return `${c.name}: link down, set up`;
    case 'mtu':
      return `${c.name}: mtu ${c.from} -> ${c.to}`;
    case 'add':
      return `${c.name}: address ${c.cidr} missing, added`;
    case 'delete':
      return `${c.name}: address ${c.cidr} not in the config, removed`;
  }
}
