// The cache of upstream responses: bounded, keyed by the question (and the DO/CD bits), each response
// kept as a template (templates.ts) whose TTLs count down as it ages. Positive responses live as long
// as their smallest TTL (at most a day); NXDOMAIN and NODATA as long as their SOA says (RFC 2308 §5:
// the smaller of the SOA's TTL and MINIMUM, at most an hour); responses that say nothing about their
// lifetime are not kept. When full, the oldest entry not hit since it was last considered goes
// (second-chance FIFO: O(1), no reordering on hits).
import { RCODE, TYPE, type MessageLayout } from './wire.js';

const MAX_POSITIVE_TTL = 86_400;
const MAX_NEGATIVE_TTL = 3_600;

/** An upstream response ready to answer from: a template and where its TTLs are. */
export interface CachedResponse {
  readonly template: Buffer;
  readonly ttlOffsets: readonly number[];
  /** TTLs as received. */
  readonly ttls: readonly number[];
  /** Seconds it may be answered from (0: not cacheable). */
  readonly lifetime: number;
  readonly negative: boolean;
}

interface Entry {
  readonly response: CachedResponse;
  readonly storedAt: number;
  readonly expiresAt: number;
  /** Age (seconds) the template's TTLs were last written for. */
  agedTo: number;
  /** Hit since the eviction scan last passed it. */
  referenced: boolean;
}

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(private capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  get limit(): number {
    return this.capacity;
  }

  resize(capacity: number): void {
    this.capacity = capacity;
    while (this.entries.size > this.capacity) this.evictOne();
  }

  clear(): void {
    this.entries.clear();
  }

  /** The template to answer `key` with at `now` (seconds), its TTLs aged; undefined on a miss. */
  get(key: string, now: number): Buffer | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    entry.referenced = true;
    const age = now - entry.storedAt;
    if (age !== entry.agedTo) {
      const { template, ttlOffsets, ttls } = entry.response;
      for (let i = 0; i < ttlOffsets.length; i++)
        template.writeUInt32BE(Math.max(0, (ttls[i] ?? 0) - age), ttlOffsets[i] ?? 0);
      entry.agedTo = age;
    }
    return entry.response.template;
  }

  /** Keeps a response (if it says how long) under `key` from `now` (seconds). */
  put(key: string, response: CachedResponse, now: number): void {
    if (response.lifetime <= 0 || this.capacity <= 0) return;
    this.entries.delete(key);
    while (this.entries.size >= this.capacity) this.evictOne();
    this.entries.set(key, {
      response,
      storedAt: now,
      expiresAt: now + response.lifetime,
      agedTo: 0,
      referenced: false,
    });
  }

  /** Drops expired entries (a periodic sweep, so memory follows the TTLs and not only the capacity). */
  sweep(now: number): void {
    for (const [key, entry] of this.entries) if (now >= entry.expiresAt) this.entries.delete(key);
  }

  private evictOne(): void {
    for (const [key, entry] of this.entries) {
      this.entries.delete(key);
      if (entry.referenced && this.entries.size > 0) {
        entry.referenced = false;
        this.entries.set(key, entry);
        continue;
      }
      this.evictions++;
      return;
    }
  }
}

/**
 * Turns a validated upstream response (`msg` with `layout`) into a template: OPT records removed (the
 * client gets our own), ID 0, AA and TC cleared, TTLs as clients may use them (one with the top bit
 * set is zero, RFC 2181 §8; a negative answer's SOA lives as long as the negative answer, RFC 2308
 * §5), and how long it may be cached.
 */
export function toCachedResponse(msg: Buffer, layout: MessageLayout): CachedResponse {
  const kept = layout.records.filter((r) => r.type !== TYPE.OPT);
  const parts: Buffer[] = [msg.subarray(0, layout.questionEnd)];
  const ttlOffsets: number[] = [];
  const ttls: number[] = [];
  let at = layout.questionEnd;
  let positiveTtl = MAX_POSITIVE_TTL;
  let negativeTtl: number | undefined;
  let soa: number | undefined;
  for (const r of kept) {
    const ttl = ttlOf(msg.readUInt32BE(r.ttlOffset));
    ttlOffsets.push(at + (r.ttlOffset - r.start));
    ttls.push(ttl);
    parts.push(msg.subarray(r.start, r.end));
    at += r.end - r.start;
    positiveTtl = Math.min(positiveTtl, ttl);
    if (r.section === 'authority' && r.type === TYPE.SOA && r.rdlength >= 20) {
      const minimum = ttlOf(msg.readUInt32BE(r.rdataOffset + r.rdlength - 4));
      negativeTtl = Math.min(ttl, minimum, MAX_NEGATIVE_TTL);
      soa = ttls.length - 1;
    }
  }
  const template = Buffer.concat(parts);
  template.writeUInt16BE(0, 0);
  template[2] = (template[2] ?? 0) & ~0x06; // AA, TC
  template.writeUInt16BE(kept.filter((r) => r.section === 'additional').length, 10);
  const answers = kept.some((r) => r.section === 'answer');
  const negative = layout.rcode === RCODE.NXDOMAIN || (layout.rcode === RCODE.NOERROR && !answers);
  const lifetime = negative ? (negativeTtl ?? 0) : kept.length === 0 ? 0 : positiveTtl;
  if (negative && soa !== undefined) ttls[soa] = lifetime;
  for (let i = 0; i < ttls.length; i++) template.writeUInt32BE(ttls[i] ?? 0, ttlOffsets[i] ?? 0);
  return { template, ttlOffsets, ttls, lifetime, negative };
}

/** RFC 2181 §8: a TTL with the top bit set means zero. */
function ttlOf(value: number): number {
  return value > 0x7fffffff ? 0 : value;
}
