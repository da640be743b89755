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

// The hot paths below index arrays instead of destructuring them: V8 runs them several times faster.
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
    const protocol = box[0] ?? FULL_PROTOCOL;
    if (protocol[0] === protocol[1]) this.protocols.add(protocol[0]);
    else this.anyProtocol = true;
    for (let k = 0; k < INDEXED.length; k++) {
      const spec = INDEXED[k] ?? INDEXED[0];
      const interval = box[spec.dim] ?? FULL_PROTOCOL;
      const first = bucketOf(interval[0], spec.shift);
      const last = bucketOf(interval[1], spec.shift);
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
    const protocol = box[0] ?? FULL_PROTOCOL;
    if (protocol[0] === protocol[1] && !this.anyProtocol && !this.protocols.has(protocol[0])) return -1;
    // Query the dimension where the fewest boxes can be candidates.
    let best = -1;
    let bestCost = this.all.length;
    for (let k = 0; k < INDEXED.length; k++) {
      const spec = INDEXED[k] ?? INDEXED[0];
      const interval = box[spec.dim] ?? FULL_PROTOCOL;
      const span = bucketOf(interval[1], spec.shift) - bucketOf(interval[0], spec.shift) + 1;
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
    const interval = box[spec.dim] ?? FULL_PROTOCOL;
    const last = bucketOf(interval[1], spec.shift);
    for (let b = bucketOf(interval[0], spec.shift); b <= last; b++) {
      const list = map?.get(b);
      if (list !== undefined) found = highest(list, box, found);
    }
    return found;
  }
}

const FULL_PROTOCOL: Interval = [0, 255];

function highest(list: readonly Tagged[], box: Box, found: number): number {
  for (let i = 0; i < list.length; i++) {
    const entry = list[i];
    if (entry !== undefined && entry.tag > found && boxesOverlap(entry.box, box)) found = entry.tag;
  }
  return found;
}
