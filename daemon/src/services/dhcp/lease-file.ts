// The DHCP leases on disk (`<state dir>/dhcp-leases.json`): bound leases and declined addresses, one
// JSON object a line inside one document, so an operator can read it. Written whole and atomically
// (write, fsync, rename), at most once per `delayMs` however many leases changed in between, so a
// burst of thousands of clients costs a handful of writes. A crash loses at most the last `delayMs`
// of changes, which clients repair themselves: a renewing client whose lease is unknown but whose
// address is free in the pool gets it confirmed.
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { formatIpv4, normalizeMac, parseIpv4 } from '../../config/net.js';
import { writeFileAtomic } from '../../store/atomic-file.js';
import type { Lease } from './leases.js';

export interface DeclinedAddress {
  readonly networkId: string;
  readonly ip: number;
  readonly until: number;
}

export interface StoredLeases {
  readonly leases: Lease[];
  readonly declined: DeclinedAddress[];
  /** Records that were not understood and skipped. */
  readonly skipped: number;
}

export interface LeaseSnapshot {
  leases(): Iterable<Lease>;
  declined(): Iterable<DeclinedAddress>;
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
  until: number;
}

export interface LeaseFileLog {
  error(obj: object, msg: string): void;
}

export class LeaseFile {
  readonly path: string;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  /** Changes made, and how many of them are on disk. */
  private changes = 0;
  private saved = 0;
  writes = 0;
  failures = 0;

  constructor(
    private readonly dir: string,
    private readonly snapshot: LeaseSnapshot,
    private readonly log: LeaseFileLog,
    private readonly delayMs = 1000,
  ) {
    this.path = join(dir, 'dhcp-leases.json');
  }

  /** The stored leases; an unreadable file is moved aside (kept for a post-mortem) and reads as empty. */
  async load(): Promise<StoredLeases> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { leases: [], declined: [], skipped: 0 };
      throw e;
    }
    try {
      return parseLeaseFile(text);
    } catch (e) {
      const aside = `${this.path}.unreadable-${Date.now()}`;
      await rename(this.path, aside);
      this.log.error({ err: e, movedTo: aside }, 'DHCP lease file unreadable; starting without leases');
      return { leases: [], declined: [], skipped: 0 };
    }
  }

  /** Something changed: write within `delayMs`. */
  schedule(): void {
    this.changes++;
    this.arm();
  }

  /** Writes now if anything changed (at shutdown). */
  async flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    if (this.changes !== this.saved) await this.write();
  }

  private arm(): void {
    if (this.timer !== undefined || this.writing !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, this.delayMs);
    this.timer.unref();
  }

  private async write(): Promise<void> {
    const upTo = this.changes;
    const text = serializeLeases(this.snapshot);
    this.writing = mkdir(this.dir, { recursive: true, mode: 0o700 })
      .then(() => writeFileAtomic(this.path, text))
      .then(
        () => {
          this.saved = upTo;
          this.writes++;
        },
        (err: unknown) => {
          this.failures++;
          this.log.error({ err, path: this.path }, 'could not write the DHCP lease file; will retry');
        },
      );
    await this.writing;
    this.writing = undefined;
    if (this.changes !== this.saved) this.arm();
  }
}

export function serializeLeases(snapshot: LeaseSnapshot): string {
  const leases: string[] = [];
  for (const l of snapshot.leases()) {
    if (l.offered) continue;
    const record: LeaseRecord = {
      network: l.networkId,
      ip: formatIpv4(l.ip),
      mac: l.mac,
      clientId: l.clientId,
      hostname: l.hostname,
      hostId: l.hostId,
      expires: Math.floor(l.expiresAt / 1000),
    };
    leases.push(JSON.stringify(record));
  }
  const declined: string[] = [];
  for (const d of snapshot.declined()) {
    const record: DeclinedRecord = {
      network: d.networkId,
      ip: formatIpv4(d.ip),
      until: Math.floor(d.until / 1000),
    };
    declined.push(JSON.stringify(record));
  }
  return `{"version":1,\n"leases":[\n${leases.join(',\n')}\n],\n"declined":[\n${declined.join(',\n')}\n]}\n`;
}

/** Throws when the document is not a lease file; skips (and counts) records it does not understand. */
export function parseLeaseFile(text: string): StoredLeases {
  const doc = JSON.parse(text) as unknown;
  if (!isObject(doc) || doc['version'] !== 1 || !Array.isArray(doc['leases']))
    throw new Error('not a version 1 DHCP lease file');
  const leases: Lease[] = [];
  const declined: DeclinedAddress[] = [];
  let skipped = 0;
  for (const r of doc['leases'] as unknown[]) {
    const lease = readLease(r);
    if (lease === undefined) skipped++;
    else leases.push(lease);
  }
  for (const r of Array.isArray(doc['declined']) ? (doc['declined'] as unknown[]) : []) {
    const ip = isObject(r) && typeof r['ip'] === 'string' ? parseIpv4(r['ip']) : undefined;
    if (
      !isObject(r) ||
      ip === undefined ||
      typeof r['network'] !== 'string' ||
      typeof r['until'] !== 'number'
    )
      skipped++;
    else declined.push({ networkId: r['network'], ip, until: r['until'] * 1000 });
  }
  return { leases, declined, skipped };
}

function readLease(r: unknown): Lease | undefined {
  if (!isObject(r)) return undefined;
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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
