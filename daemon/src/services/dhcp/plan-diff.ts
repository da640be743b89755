// What changed between two DHCP plans, in words, for the apply step's result: which networks started
// or stopped being served, whose settings changed, how many hosts came, went or changed.
import type { DhcpNetworkPlan, DhcpPlan } from './render.js';

export function describePlanChanges(previous: DhcpPlan, next: DhcpPlan): string[] {
  const before = new Map(previous.networks.map((n) => [n.networkId, n]));
  const changes: string[] = [];
  for (const n of next.networks) {
    const p = before.get(n.networkId);
    before.delete(n.networkId);
    if (p === n) continue;
    if (p === undefined) {
      changes.push(`${n.networkId}: serving ${n.hosts.size} hosts, ${n.pools.length} pools on ${n.linkName}`);
      continue;
    }
    const parts: string[] = [];
    if (!sameSettings(p, n)) parts.push('settings changed');
    const hosts = hostChanges(p, n);
    if (hosts !== '') parts.push(hosts);
    if (parts.length > 0) changes.push(`${n.networkId}: ${parts.join(', ')}`);
  }
  for (const id of before.keys()) changes.push(`${id}: no longer served`);
  return changes;
}

function sameSettings(a: DhcpNetworkPlan, b: DhcpNetworkPlan): boolean {
  return (
    a.nicId === b.nicId &&
    a.linkName === b.linkName &&
    a.linkIndex === b.linkIndex &&
    a.serverId === b.serverId &&
    a.subnet.network === b.subnet.network &&
    a.subnet.prefix === b.subnet.prefix &&
    a.leaseTimeSeconds === b.leaseTimeSeconds &&
    a.maxMessage === b.maxMessage &&
    a.pools.length === b.pools.length &&
    a.pools.every((p, i) => {
      const q = b.pools[i];
      return q !== undefined && p.start === q.start && p.end === q.end;
    }) &&
    a.options.size === b.options.size &&
    [...a.options].every(([code, value]) => sameBytes(value, b.options.get(code)))
  );
}

function hostChanges(a: DhcpNetworkPlan, b: DhcpNetworkPlan): string {
  let added = 0;
  let changed = 0;
  for (const [mac, host] of b.hosts) {
    const old = a.hosts.get(mac);
    if (old === undefined) added++;
    else if (old.ip !== host.ip || old.hostname !== host.hostname || old.id !== host.id) changed++;
  }
  let removed = 0;
  for (const mac of a.hosts.keys()) if (!b.hosts.has(mac)) removed++;
  const parts = [
    ...(added > 0 ? [`${added} hosts added`] : []),
    ...(changed > 0 ? [`${changed} changed`] : []),
    ...(removed > 0 ? [`${removed} removed`] : []),
  ];
  return parts.join(', ');
}

function sameBytes(a: Uint8Array, b: Uint8Array | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}
