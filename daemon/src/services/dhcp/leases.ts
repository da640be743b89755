// The server's memory of who holds which address, per network: bound leases (persisted), offers (a
// short hold on an address between OFFER and REQUEST, never persisted) and declined addresses (kept
// out of pools for a while after a client found them in use). Lookups by client and by address are
// O(1); finding a free pool address walks a cursor, so handing out a whole pool is linear overall.
import type { AddressRange, DhcpNetworkPlan, DhcpPlan } from './render.js';

export interface Lease {
  readonly networkId: string;
  /** How the client is recognized: `hw:<mac>` (hosts, and clients without a client identifier) or
   * `id:<hex client identifier>`. */
  readonly key: string;
  /** Lower case, colon-separated; the chaddr as sent. */
  readonly mac: string;
  readonly ip: number;
  /** The client identifier (option 61) in hex; empty when the client sent none. */
  readonly clientId: string;
  readonly hostname: string;
  /** The listed host this lease is for; empty for a pool lease. */
  readonly hostId: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  /** An offer not yet requested. */
  readonly offered: boolean;
}

/** What the lease file must learn: a client's lease as it now is, its end, a declined address. */
export type LeaseChange =
  | { readonly kind: 'put'; readonly lease: Lease }
  | { readonly kind: 'remove'; readonly networkId: string; readonly key: string }
  | { readonly kind: 'decline'; readonly networkId: string; readonly ip: number; readonly until: number };

export class NetworkLeases {
  private readonly byKey = new Map<string, Lease>();
  private readonly byIp = new Map<number, Lease>();
  private readonly declinedUntil = new Map<number, number>();
  private cursor = 0;
  /** Set after a scan found no free pool address; cleared when an address may have come free. */
  private exhausted = false;

  constructor(
    private readonly networkId: string,
    private readonly changed: (change: LeaseChange) => void,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): Lease | undefined {
    return this.byKey.get(key);
  }

  holder(ip: number): Lease | undefined {
    return this.byIp.get(ip);
  }

  leases(): IterableIterator<Lease> {
    return this.byKey.values();
  }

  declined(): IterableIterator<[number, number]> {
    return this.declinedUntil.entries();
  }

  /** Records a lease or offer, replacing the client's previous one. */
  put(lease: Lease): void {
    const previous = this.byKey.get(lease.key);
    if (previous !== undefined && this.byIp.get(previous.ip) === previous) this.byIp.delete(previous.ip);
    const displaced = this.byIp.get(lease.ip);
    // Someone else's expired lease or offer on the address: it is over.
    if (displaced !== undefined && displaced.key !== lease.key) this.byKey.delete(displaced.key);
    this.byKey.set(lease.key, lease);
    this.byIp.set(lease.ip, lease);
    // Offers are not persisted; a bound lease an offer replaces or displaces is over.
    if (displaced !== undefined && displaced.key !== lease.key && !displaced.offered) this.removed(displaced);
    if (!lease.offered) this.changed({ kind: 'put', lease });
    else if (previous?.offered === false) this.removed(previous);
  }

  private removed(lease: Lease): void {
    this.changed({ kind: 'remove', networkId: this.networkId, key: lease.key });
  }

  remove(key: string): Lease | undefined {
    const lease = this.byKey.get(key);
    if (lease === undefined) return undefined;
    this.byKey.delete(key);
    if (this.byIp.get(lease.ip) === lease) this.byIp.delete(lease.ip);
    this.exhausted = false;
    if (!lease.offered) this.removed(lease);
    return lease;
  }

  decline(ip: number, until: number): void {
    this.declinedUntil.set(ip, until);
    this.changed({ kind: 'decline', networkId: this.networkId, ip, until });
  }

  /** Whether `ip` may be given to the client `key`: not reserved, not declined, held by no one else. */
  isFree(plan: DhcpNetworkPlan, ip: number, key: string, now: number): boolean {
    if (plan.reserved.has(ip)) return false;
    if ((this.declinedUntil.get(ip) ?? 0) > now) return false;
    const holder = this.byIp.get(ip);
    return holder === undefined || holder.key === key || holder.expiresAt <= now;
  }

  /** A free address of the network's pools for `key`, or undefined when they are all taken. */
  allocate(plan: DhcpNetworkPlan, key: string, now: number): number | undefined {
    if (this.exhausted) return undefined;
    const size = poolSize(plan.pools);
    for (let probe = 0; probe < size; probe++) {
      const ip = poolAddress(plan.pools, (this.cursor + probe) % size);
      if (ip !== undefined && this.isFree(plan, ip, key, now)) {
        this.cursor = (this.cursor + probe + 1) % size;
        return ip;
      }
    }
    this.exhausted = true;
    return undefined;
  }

  /** Removes leases and declines that ended before `now`; returns how many leases ended. */
  sweep(now: number): number {
    let ended = 0;
    for (const lease of [...this.byKey.values()])
      if (lease.expiresAt <= now) {
        this.remove(lease.key);
        ended++;
      }
    for (const [ip, until] of [...this.declinedUntil])
      // Declines that ended need no record: they are skipped when the file is read.
      if (until <= now) {
        this.declinedUntil.delete(ip);
        this.exhausted = false;
      }
    return ended;
  }

  /**
   * A new plan may have new pools or fewer reserved addresses, and may no longer honour some leases:
   * those are ended now (their renewals would be refused), so listings and the file hold none.
   */
  planChanged(plan: DhcpNetworkPlan): void {
    this.exhausted = false;
    this.cursor = 0;
    for (const lease of [...this.byKey.values()]) if (!honoured(plan, lease)) this.remove(lease.key);
  }
}

/** A host's lease: the host is still listed with that MAC and address. A pool lease: its client is
 * not a listed host now, and its address is still in a pool and not the gateway's or a host's. */
function honoured(plan: DhcpNetworkPlan, lease: Lease): boolean {
  const host = plan.hosts.get(lease.mac);
  if (lease.hostId !== '') return host?.id === lease.hostId && host.ip === lease.ip;
  return (
    host === undefined &&
    !plan.reserved.has(lease.ip) &&
    plan.pools.some((p) => lease.ip >= p.start && lease.ip <= p.end)
  );
}

function poolSize(pools: readonly AddressRange[]): number {
  return pools.reduce((n, p) => n + (p.end - p.start + 1), 0);
}

function poolAddress(pools: readonly AddressRange[], index: number): number | undefined {
  let i = index;
  for (const p of pools) {
    const size = p.end - p.start + 1;
    if (i < size) return p.start + i;
    i -= size;
  }
  return undefined;
}

/** Every network's leases; `changed` hears of everything to persist. */
export class LeaseTable {
  private readonly networks = new Map<string, NetworkLeases>();

  constructor(private readonly changed: (change: LeaseChange) => void) {}

  of(networkId: string): NetworkLeases {
    let leases = this.networks.get(networkId);
    if (leases === undefined) {
      leases = new NetworkLeases(networkId, this.changed);
      this.networks.set(networkId, leases);
    }
    return leases;
  }

  /** Every lease and offer, of every network. */
  *leases(): Generator<Lease> {
    for (const n of this.networks.values()) yield* n.leases();
  }

  *declined(): Generator<{ networkId: string; ip: number; until: number }> {
    for (const [networkId, n] of this.networks)
      for (const [ip, until] of n.declined()) yield { networkId, ip, until };
  }

  get size(): number {
    let n = 0;
    for (const leases of this.networks.values()) n += leases.size;
    return n;
  }

  sweep(now: number): number {
    let ended = 0;
    for (const n of this.networks.values()) ended += n.sweep(now);
    return ended;
  }

  /** Leases of networks no longer served are kept: serving them again honours them. */
  planChanged(plan: DhcpPlan): void {
    for (const network of plan.networks) this.networks.get(network.networkId)?.planChanged(network);
  }
}
