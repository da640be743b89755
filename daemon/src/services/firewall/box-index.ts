// Finds the boxes (one interval per dimension: protocol, source, destination, source port,
// destination port) a box overlaps among those added, without comparing it with all of them: boxes
// are bucketed by every dimension in which they are narrow (/24s of addresses, 16-port groups), and
// a query looks up the buckets of its own narrowest dimension, plus the boxes wide in that
// dimension. Each box carries a tag (the compiler's chain position); a query answers the highest tag
// it overlaps. The compiler asks once per rule, so 9999 rules compile in a fraction of a second.
import type { Interval } from './model.js';

/** Dimensions worth bucketing (protocol has too few values), with the bits dropped per bucket. */
const INDEXED = [
  { dim: 1, shift: 8 },
  { dim: 2, shift: 8 },
  { dim: 4, shift: 4 },
] as const;
/** A box spanning more buckets than this in a dimension is "wide" there. */
const NARROW = 16;
/** A query spanning more buckets than this scans the whole index instead. */
const QUERY_BUCKETS = 4096;

export function boxesOverlap(a: readonly Interval[], b: readonly Interval[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || x[0] > y[1] || y[0] > x[1]) return false;
  }
  return true;
}

type Box = readonly Interval[];
interface Tagged {
  readonly box: Box;
  readonly tag: number;
}

/** Values are unsigned 32-bit at most, so an unsigned shift is the bucket. */
function bucketOf(value: number, shift: number): number {
  return value >>> shift;
}

export class BoxIndex {
  private readonly buckets: Map<number, Tagged[]>[] = INDEXED.map(() => new Map<number, Tagged[]>());
  private readonly wide: Tagged[][] = INDEXED.map((): Tagged[] => []);
  private readonly all: Tagged[] = [];
  /** Protocols (dimension 0) of the boxes: a box of another protocol overlaps none, at once. */
  private readonly protocols = new Set<number>();
  private anyProtocol = false;

  get size(): number {
    return this.all.length;
  }

  add(box: Box, tag: number): void {
    const entry = { box, tag };
    this.all.push(entry);
    const [pFrom, pTo] = box[0] ?? [0, 255];
    if (pFrom === pTo) this.protocols.add(pFrom);
    else this.anyProtocol = true;
    for (let k = 0; k < INDEXED.length; k++) {
      const { dim, shift } = INDEXED[k] ?? INDEXED[0];
      const [from, to] = box[dim] ?? [0, 0];
      const first = bucketOf(from, shift);
      const last = bucketOf(to, shift);
      if (last - first >= NARROW) {
        this.wide[k]?.push(entry);
        continue;
      }
      const map = this.buckets[k];
      if (map === undefined) continue;
      for (let b = first; b <= last; b++) {
        const list = map.get(b);
        if (list === undefined) map.set(b, [entry]);
        else list.push(entry);
      }
    }
  }

  /** The highest tag of the boxes this one overlaps; -1 when it overlaps none. */
  highestOverlapping(box: Box): number {
    const [pFrom, pTo] = box[0] ?? [0, 255];
    if (pFrom === pTo && !this.anyProtocol && !this.protocols.has(pFrom)) return -1;
    // Query the dimension where the fewest boxes can be candidates.
    let best = -1;
    let bestCost = this.all.length;
    for (let k = 0; k < INDEXED.length; k++) {
      const { dim, shift } = INDEXED[k] ?? INDEXED[0];
      const [from, to] = box[dim] ?? [0, 0];
      const span = bucketOf(to, shift) - bucketOf(from, shift) + 1;
      const cost = (this.wide[k]?.length ?? 0) + span;
      if (span <= QUERY_BUCKETS && cost < bestCost) {
        best = k;
        bestCost = cost;
      }
    }
    const spec = INDEXED[best];
    if (spec === undefined) return highest(this.all, box, -1);
    let found = highest(this.wide[best] ?? [], box, -1);
    const map = this.buckets[best];
    const [from, to] = box[spec.dim] ?? [0, 0];
    const last = bucketOf(to, spec.shift);
    for (let b = bucketOf(from, spec.shift); b <= last; b++) {
      const list = map?.get(b);
      if (list !== undefined) found = highest(list, box, found);
    }
    return found;
  }
}

function highest(list: readonly Tagged[], box: Box, found: number): number {
  for (const entry of list) if (entry.tag > found && boxesOverlap(entry.box, box)) found = entry.tag;
  return found;
}
