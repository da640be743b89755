// How leases are written down: as JSON objects an operator can read, in the lease snapshot (one
// document) and in the journal (one change a line). Reading skips and counts what it does not
// understand rather than failing on it.
import { formatIpv4, normalizeMac, parseIpv4 } from '../../config/net.js';
import type { Lease, LeaseChange } from './leases.js';
import { isJsonObject } from '../../json-object.js';

export interface DeclinedAddress {
  readonly networkId: string;
  readonly ip: number;
  readonly until: number;
}

/** What the store holds: the leases by network and client, the declined addresses. */
export interface StoredLeases {
  readonly leases: Lease[];
  readonly declined: DeclinedAddress[];
  /** Records that were not understood and skipped. */
  readonly skipped: number;
}

interface LeaseRecord {
  network: string;
  ip: string;
  mac: string;
  clientId: string;
  hostname: string;
  hostId: string;
  /** Seconds since the epoch. */
  expires: number;
}

interface DeclinedRecord {
  network: string;
  ip: string;
  /** Seconds since the epoch. */
  until: number;
}

export function leaseRecord(l: Lease): string {
  const record: LeaseRecord = {
    network: l.networkId,
    ip: formatIpv4(l.ip),
    mac: l.mac,
    clientId: l.clientId,
    hostname: l.hostname,
    hostId: l.hostId,
    expires: Math.floor(l.expiresAt / 1000),
  };
  return JSON.stringify(record);
}

export function declinedRecord(d: DeclinedAddress): string {
  const record: DeclinedRecord = {
    network: d.networkId,
    ip: formatIpv4(d.ip),
    until: Math.floor(d.until / 1000),
  };
  return JSON.stringify(record);
}

/** One journal line (with its newline) for a change. */
export function journalLine(change: LeaseChange): string {
  switch (change.kind) {
    case 'put':
      return `{"put":${leaseRecord(change.lease)}}\n`;
    case 'remove':
      return `${JSON.stringify({ remove: { network: change.networkId, key: change.key } })}\n`;
    case 'decline':
      return `{"decline":${declinedRecord(change)}}\n`;
  }
}

/** The snapshot document around already formatted records. */
export function snapshotDocument(leases: readonly string[], declined: readonly string[]): string {
  return `{"version":1,\n"leases":[\n${leases.join(',\n')}\n],\n"declined":[\n${declined.join(',\n')}\n]}\n`;
}

/** Leases and declines as they are replayed: the snapshot first, then journal lines in order. */
export class LeaseState {
  private readonly leases = new Map<string, Lease>();
  private readonly declined = new Map<string, DeclinedAddress>();
  skipped = 0;

  /** Throws when the document is not a lease snapshot; skips records it does not understand. */
  readSnapshot(text: string): void {
    const doc = JSON.parse(text) as unknown;
    if (!isJsonObject(doc) || doc['version'] !== 1 || !Array.isArray(doc['leases']))
      throw new Error('not a version 1 DHCP lease file');
    for (const r of doc['leases'] as unknown[]) this.put(readLease(r));
    for (const r of Array.isArray(doc['declined']) ? (doc['declined'] as unknown[]) : [])
      this.decline(readDeclined(r));
  }

  /** Applies journal lines; a line cut short by a crash (the last) is skipped like any bad one. */
  readJournal(text: string): number {
    let lines = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      lines++;
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        this.skipped++;
        continue;
      }
      if (!isJsonObject(entry)) this.skipped++;
      else if ('put' in entry) this.put(readLease(entry['put']));
      else if ('decline' in entry) this.decline(readDeclined(entry['decline']));
      else if ('remove' in entry) this.remove(entry['remove']);
      else this.skipped++;
    }
    return lines;
  }

  result(): StoredLeases {
    return {
      leases: [...this.leases.values()],
      declined: [...this.declined.values()],
      skipped: this.skipped,
    };
  }

  private put(lease: Lease | undefined): void {
    if (lease === undefined) this.skipped++;
    else this.leases.set(`${lease.networkId}\n${lease.key}`, lease);
  }

  private decline(d: DeclinedAddress | undefined): void {
    if (d === undefined) this.skipped++;
    else this.declined.set(`${d.networkId}\n${d.ip}`, d);
  }

  private remove(r: unknown): void {
    if (!isJsonObject(r) || typeof r['network'] !== 'string' || typeof r['key'] !== 'string') this.skipped++;
    else this.leases.delete(`${r['network']}\n${r['key']}`);
  }
}

function readLease(r: unknown): Lease | undefined {
  if (!isJsonObject(r)) return undefined;
  const { network, ip, mac, clientId, hostname, hostId, expires } = r;
  if (
    typeof network !== 'string' ||
    typeof ip !== 'string' ||
    typeof mac !== 'string' ||
    typeof clientId !== 'string' ||
    typeof hostname !== 'string' ||
    typeof hostId !== 'string' ||
    typeof expires !== 'number' ||
    !/^(?:[0-9a-f]{2})*$/.test(clientId)
  )
    return undefined;
  const address = parseIpv4(ip);
  // Other hardware than Ethernet has other lengths; the chaddr is kept as the client sent it.
  const hardware =
    normalizeMac(mac) ?? (/^(?:[0-9a-f]{2}(?::[0-9a-f]{2}){0,15})?$/.test(mac) ? mac : undefined);
  if (address === undefined || hardware === undefined) return undefined;
  return {
    networkId: network,
    key: hostId !== '' || clientId === '' ? `hw:${hardware}` : `id:${clientId}`,
    mac: hardware,
    ip: address,
    clientId,
    hostname,
    hostId,
    expiresAt: expires * 1000,
    offered: false,
  };
}

function readDeclined(r: unknown): DeclinedAddress | undefined {
  if (
    !isJsonObject(r) ||
    typeof r['network'] !== 'string' ||
    typeof r['ip'] !== 'string' ||
    typeof r['until'] !== 'number'
  )
    return undefined;
  const ip = parseIpv4(r['ip']);
  return ip === undefined ? undefined : { networkId: r['network'], ip, until: r['until'] * 1000 };
}
