// The elements of an interval set as the kernel stores them, from their render (pure), so that a
// drift check compares a dump with the render element for element, as it does for hash sets: a
// prefix widened or a range moved by hand changes what the kernel holds while the count stays.
// What nft 1.0.6 loads (seen with `nft --debug=netlink list set`):
// - a concatenation (the pipapo backend): one element per rendered one, its key the first value of
//   every field and its key end the last: a prefix's network and broadcast addresses, a range's
//   ends, a single value twice;
// - a single field (the rbtree backend): a start element at the first value, holding a map's
//   value, and an end element (flag interval-end) one past the last value, none when the last is
//   the type's largest. nft also puts an end element at zero before a first interval that does not
//   start there; it says nothing, and comparisons leave it out (`isLeadingGap`) whichever nft
//   loaded the set.
import { formatIpv4, parseIpv4 } from '../config/net.js';
import { isJsonObject } from '../json-object.js';
import type { NftElement, NftSet } from './model.js';

/** One stored element in plain nft JSON datums (single values, or a concatenation of them). */
export interface StoredElement {
  readonly key: unknown;
  /** A concatenation's last values (pipapo). */
  readonly keyEnd?: unknown;
  /** An end element of a single-field interval set (rbtree). */
  readonly intervalEnd?: boolean;
  readonly value?: unknown;
}

type Bounds = readonly [number, number];

const LARGEST: Readonly<Record<string, number>> = {
  ipv4_addr: 0xffffffff,
  inet_service: 0xffff,
  inet_proto: 0xff,
  mark: 0xffffffff,
};

/** The stored elements of an interval set; undefined when a value has a shape this does not read. */
export function storedIntervalElements(set: NftSet): StoredElement[] | undefined {
  const stored: StoredElement[] = [];
  if (typeof set.type !== 'string') {
    const types = set.type;
    for (const e of set.elements) {
      const concat = keyOf(e);
      const parts = isJsonObject(concat) ? concat['concat'] : undefined;
      if (!Array.isArray(parts) || parts.length !== types.length) return undefined;
      const first: unknown[] = [];
      const last: unknown[] = [];
      for (const [i, type] of types.entries()) {
        if (type === 'ifname') {
          if (typeof parts[i] !== 'string') return undefined;
          first.push(parts[i]);
          last.push(parts[i]);
          continue;
        }
        const bounds = boundsOf(type, parts[i]);
        if (bounds === undefined) return undefined;
        first.push(datum(type, bounds[0]));
        last.push(datum(type, bounds[1]));
      }
      stored.push({ key: { concat: first }, keyEnd: { concat: last }, value: e.value });
    }
    return stored;
  }
  const type = set.type;
  const largest = LARGEST[type];
  if (largest === undefined) return undefined;
  for (const e of set.elements) {
    const bounds = boundsOf(type, keyOf(e));
    if (bounds === undefined) return undefined;
    stored.push({ key: datum(type, bounds[0]), value: e.value });
    if (bounds[1] < largest) stored.push({ key: datum(type, bounds[1] + 1), intervalEnd: true });
  }
  return stored;
}

/** An end element at zero: what nft adds before a first interval that starts later. */
export function isLeadingGap(intervalEnd: boolean, key: string): boolean {
  if (!intervalEnd) return false;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) !== 0) return false;
  return true;
}

/** The key without the `{"elem": {"val", "comment"}}` around it. */
function keyOf(e: NftElement): unknown {
  const inner = isJsonObject(e.key) ? e.key['elem'] : undefined;
  return isJsonObject(inner) ? inner['val'] : e.key;
}

/** First and last value of a single value, a `range` or (addresses) a `prefix`, as numbers. */
function boundsOf(type: string, value: unknown): Bounds | undefined {
  if (isJsonObject(value)) {
    const range = value['range'];
    if (Array.isArray(range) && range.length === 2) {
      const from = scalar(type, range[0]);
      const to = scalar(type, range[1]);
      return from === undefined || to === undefined ? undefined : [from, to];
    }
    const prefix = value['prefix'];
    if (type !== 'ipv4_addr' || !isJsonObject(prefix) || typeof prefix['addr'] !== 'string') return undefined;
    const address = parseIpv4(prefix['addr']);
    const length = prefix['len'];
    if (address === undefined || typeof length !== 'number' || length < 0 || length > 32) return undefined;
    const hostBits = length === 0 ? 0xffffffff : (2 ** (32 - length) - 1) >>> 0;
    const network = (address & ~hostBits) >>> 0;
    return [network, (network | hostBits) >>> 0];
  }
  const single = scalar(type, value);
  return single === undefined ? undefined : [single, single];
}

function scalar(type: string, value: unknown): number | undefined {
  if (type === 'ipv4_addr') return typeof value === 'string' ? parseIpv4(value) : undefined;
  const largest = LARGEST[type];
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= (largest ?? -1)
    ? value
    : undefined;
}

/** A number back into the nft JSON datum element-wire.ts writes. */
function datum(type: string, value: number): unknown {
  return type === 'ipv4_addr' ? formatIpv4(value) : value;
}
