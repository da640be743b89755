// The local names as the server looks them up: what a name means to a client of one network (its
// view), answered authoritatively inside the local zones, NXDOMAIN/NODATA done as RFC 2308 wants
// (the zone's SOA in the authority section), and `undefined` for names to forward.
import { TYPE } from './wire.js';
import type { DnsPlan, DnsRecordType, DnsRecords, DnsZone } from './render.js';

/** The records of one name; a type it has none of stays undefined (thousands of names, few types). */
interface NameData {
  a?: string[];
  aaaa?: string[];
  ptr?: string[];
}

/** One record of an answer, in presentation form. */
export type LocalRecord =
  | { readonly name: string; readonly type: typeof TYPE.A | typeof TYPE.AAAA; readonly address: string }
  | { readonly name: string; readonly type: typeof TYPE.PTR | typeof TYPE.NS; readonly target: string }
  | { readonly name: string; readonly type: typeof TYPE.SOA; readonly zone: DnsZone };

export interface LocalAnswer {
  readonly rcode: 0 | 3;
  /** Whether the answer is authoritative: inside a local zone, or a single label answered locally. */
  readonly authoritative: boolean;
  readonly answers: readonly LocalRecord[];
  readonly authority: readonly LocalRecord[];
}

/** Address queries for unknown single-label names get NXDOMAIN rather than leaving the router. */
const SINGLE_LABEL_TYPES: ReadonlySet<number> = new Set([TYPE.A, TYPE.AAAA, TYPE.ANY]);

export class ZoneTable {
  private readonly names = new Map<string, NameData>();
  private readonly views: Map<string, NameData>[];
  /** Per view, the zone of its network's domain: the SOA of its single labels' negative answers. */
  private readonly viewZones: (DnsZone | undefined)[];
  private readonly zones = new Map<string, DnsZone>();
  /** Every owner name and zone apex with all their ancestors: names that exist (NODATA, not NXDOMAIN). */
  private readonly existing = new Set<string>();
  /** Single labels some view knows. */
  private readonly viewNames = new Set<string>();

  constructor(plan: Pick<DnsPlan, 'records' | 'views' | 'zones'>) {
    fill(this.names, plan.records);
    this.views = plan.views.map((view) => fill(new Map(), view.records));
    for (const view of this.views) for (const name of view.keys()) this.viewNames.add(name);
    for (const zone of plan.zones) this.zones.set(zone.name, zone);
    this.viewZones = plan.views.map((view) => this.zones.get(view.domain));
    for (const name of [...this.names.keys(), ...this.zones.keys()])
      for (let n: string | undefined = name; n !== undefined; n = parentOf(n)) {
        if (this.existing.has(n)) break;
        this.existing.add(n);
      }
  }

  get size(): number {
    return this.names.size;
  }

  /** Whether `name` is a single label that some network's clients resolve locally. */
  isViewName(name: string): boolean {
    return this.viewNames.has(name);
  }

  /** The answer for `name` (lower case, presentation form) and `type` asked in `view`; undefined: forward. */
  lookup(view: number, name: string, type: number): LocalAnswer | undefined {
    if (name !== '' && parentOf(name) === undefined && !this.zones.has(name)) {
      // A single label: a name of the client's network (any type stays local), or, for an address
      // query, NXDOMAIN; other types (`com NS`, `com DS`) are real top-level names to forward. Both
      // as authoritative as `name.domain`, negative ones with the domain's SOA so they can be cached.
      const data = this.views[view]?.get(name);
      const answers = data === undefined ? [] : recordsOf(name, data, type);
      if (answers.length > 0) return { rcode: 0, authoritative: true, answers, authority: [] };
      if (data !== undefined) return negative(0, this.viewZones[view]);
      return SINGLE_LABEL_TYPES.has(type) ? negative(3, this.viewZones[view]) : undefined;
    }
    const zone = this.zoneOf(name);
    if (zone === undefined) return undefined;
    const data = this.names.get(name);
    const answers = data === undefined ? [] : recordsOf(name, data, type);
    if (name === zone.name) {
      if (type === TYPE.SOA || type === TYPE.ANY) answers.push({ name, type: TYPE.SOA, zone });
      if (type === TYPE.NS || type === TYPE.ANY)
        answers.push({ name, type: TYPE.NS, target: zone.nameserver });
    }
    if (answers.length > 0) return { rcode: 0, authoritative: true, answers, authority: [] };
    return negative(this.existing.has(name) ? 0 : 3, zone);
  }

  /** The longest local zone `name` is in (at a label boundary), if any. */
  private zoneOf(name: string): DnsZone | undefined {
    for (let n: string | undefined = name; n !== undefined; n = parentOf(n)) {
      const zone = this.zones.get(n);
      if (zone !== undefined) return zone;
    }
    return undefined;
  }
}

/** NODATA (0) or NXDOMAIN (3) with the zone's SOA for negative caching (RFC 2308), if there is one. */
function negative(rcode: 0 | 3, zone: DnsZone | undefined): LocalAnswer {
  const authority: LocalRecord[] = zone === undefined ? [] : [{ name: zone.name, type: TYPE.SOA, zone }];
  return { rcode, authoritative: true, answers: [], authority };
}

/** Reads `name TYPE data` lines (render.ts) straight into the map. */
function fill(map: Map<string, NameData>, records: DnsRecords): Map<string, NameData> {
  if (records === '') return map;
  for (const line of records.split('\n')) {
    const first = line.indexOf(' ');
    const second = line.indexOf(' ', first + 1);
    const name = line.slice(0, first);
    const type = line.slice(first + 1, second) as DnsRecordType;
    const value = line.slice(second + 1);
    let data = map.get(name);
    if (data === undefined) {
      data = {};
      map.set(name, data);
    }
    const field = type === 'A' ? 'a' : type === 'AAAA' ? 'aaaa' : 'ptr';
    (data[field] ??= []).push(value);
  }
  return map;
}

function recordsOf(name: string, data: NameData, type: number): LocalRecord[] {
  const records: LocalRecord[] = [];
  if (type === TYPE.A || type === TYPE.ANY)
    for (const a of data.a ?? []) records.push({ name, type: TYPE.A, address: a });
  if (type === TYPE.AAAA || type === TYPE.ANY)
    for (const a of data.aaaa ?? []) records.push({ name, type: TYPE.AAAA, address: a });
  if (type === TYPE.PTR || type === TYPE.ANY)
    for (const t of data.ptr ?? []) records.push({ name, type: TYPE.PTR, target: t });
  return records;
}

/**
 * `b.c` for `a.b.c`, undefined for a single label. Dots escaped as `\.` (inside a label, as readName
 * writes them) are not boundaries.
 */
export function parentOf(name: string): string | undefined {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x2e) return name.slice(i + 1);
  }
  return undefined;
}
