// Set elements as `nft -j list` shows them (pure): picked out of a listing by set (drift checks, the
// NAT counters), and compared with the rendered ones, which is how a drift check tells that an
// element was replaced by hand (deleted and added again with another value) when the count still
// matches. Listings are read with protocols as numbers (drivers/nftables.ts), so a hash set's
// keys and values come back exactly as the renderers write them; comments and counters are set aside.
// Interval sets are not compared: nft lists their ranges and prefixes in shapes of its own.
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
