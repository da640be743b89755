// What `nft -j list` shows, picked apart (pure): a listing's objects by table, set elements by set
// (drift checks, the NAT and firewall counters), read for the object each names and its counter,
// and compared with the rendered ones, which is how a drift check tells that an element was
// replaced by hand (deleted and added again with another value) when the count still matches.
// Listings are read with protocols as numbers (drivers/nftables.ts), so a hash set's keys and values
// come back exactly as the renderers write them; comments and counters are set aside. Interval sets
// are not compared: nft lists their ranges and prefixes in shapes of its own.
import type { NftSet } from './model.js';
import { isJsonObject } from '../json-object.js';

/** Each listed set's (or map's) elements by name, as nft lists them. */
export function listedElements(listing: readonly unknown[]): Map<string, readonly unknown[]> {
  const sets = new Map<string, readonly unknown[]>();
  for (const o of listing) {
    if (!isJsonObject(o)) continue;
    const body = o['set'] ?? o['map'];
    if (!isJsonObject(body) || typeof body['name'] !== 'string') continue;
    sets.set(body['name'], Array.isArray(body['elem']) ? body['elem'] : []);
  }
  return sets;
}

/** Whether a listed object is the table `name` or lies in it (the family is the listing's). */
export function inTable(o: unknown, name: string): boolean {
  if (!isJsonObject(o)) return false;
  const body = Object.values(o)[0];
  if (!isJsonObject(body)) return false;
  return 'table' in o ? body['name'] === name : body['table'] === name;
}

/** Listed elements as the object each names (its ownership comment) and its counter, when it has them. */
export function ownedCounters(
  elements: readonly unknown[],
): { comment: string | undefined; counter: ListedCounter | undefined }[] {
  return elements.map((item) => {
    const body = isJsonObject(item) ? item['elem'] : undefined;
    if (!isJsonObject(body)) return { comment: undefined, counter: undefined };
    const comment = body['comment'];
    return {
      comment: typeof comment === 'string' ? comment : undefined,
      counter: listedCounter(body['counter']),
    };
  });
}

export interface ListedCounter {
  readonly packets: bigint;
  readonly bytes: bigint;
}

/** A listed `counter` (of a rule or an element); undefined unless it has packets and bytes. */
export function listedCounter(c: unknown): ListedCounter | undefined {
  if (!isJsonObject(c) || typeof c['packets'] !== 'number' || typeof c['bytes'] !== 'number')
    return undefined;
  return { packets: BigInt(c['packets']), bytes: BigInt(c['bytes']) };
}

/** The listed elements of a hash set that the render does not have (key, or key and value). */
export function unrenderedElements(set: NftSet, listed: readonly unknown[]): unknown[] {
  const text = (key: unknown, value: unknown) =>
    JSON.stringify(set.map === undefined ? valueOf(key) : [valueOf(key), value]);
  const rendered = new Set(set.elements.map((e) => text(e.key, e.value)));
  return listed.filter((item) => {
    const pair: readonly unknown[] = Array.isArray(item) ? item : [];
    return !rendered.has(set.map === undefined ? text(item, undefined) : text(pair[0], pair[1]));
  });
}

/** The key itself, without the `{"elem": {"val", "comment", "counter"}}` around it. */
function valueOf(key: unknown): unknown {
  const inner = isJsonObject(key) ? key['elem'] : undefined;
  return isJsonObject(inner) ? inner['val'] : key;
}
