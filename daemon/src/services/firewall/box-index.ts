// Finds the boxes (one interval per dimension: protocol, source, destination, source port,
// destination port) a box overlaps among those added, without comparing it with all of them: boxes
// are bucketed by every dimension in which they are narrow (/24s of addresses, 16-port groups), and
// a query looks up the buckets of its own narrowest dimension, plus the boxes wide in that
// dimension. Each box carries a tag (the compiler's chain position); a query answers the highest tag
// it overlaps. The compiler asks once per rule, so 9999 rules compile in a fraction of a second.
//
// The boxes are kept flat, ten numbers a box in one array, and the buckets hold box numbers: a query
// reads each candidate from one place instead of chasing five interval arrays, several times faster.
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
const DIMENSIONS = 5;
const STRIDE = 2 * DIMENSIONS;
const FULL: Interval = [0, 0xffffffff];

type Box = readonly Interval[];

/** Values are unsigned 32-bit at most, so an unsigned shift is the bucket. */
function bucketOf(value: number, shift: number): number {
  return value >>> shift;
}

// The hot paths below index arrays instead of destructuring them: V8 runs them several times faster.
export class BoxIndex {
  /** Every box, flat: from and to of each dimension, ten numbers a box (stored unboxed by V8). */
  private readonly bounds: number[] = [];
  private readonly tags: number[] = [];
  /** Per indexed dimension, bucket → the boxes (their numbers) narrow there that touch it. */
  private readonly buckets: Map<number, number[]>[] = INDEXED.map(() => new Map<number, number[]>());
  private readonly wide: number[][] = INDEXED.map((): number[] => []);
  /** Protocols (dimension 0) of the boxes: a box of another protocol overlaps none, at once. */
  private readonly protocols = new Set<number>();
  private anyProtocol = false;

  get size(): number {
    return this.tags.length;
  }

  add(box: Box, tag: number): void {
    const index = this.tags.length;
    for (let d = 0; d < DIMENSIONS; d++) {
      const interval = box[d] ?? FULL;
      this.bounds.push(interval[0], interval[1]);
    }
    this.tags.push(tag);
    const protocol = box[0] ?? FULL_PROTOCOL;
    if (protocol[0] === protocol[1]) this.protocols.add(protocol[0]);
    else this.anyProtocol = true;
    for (let k = 0; k < INDEXED.length; k++) {
      const spec = INDEXED[k] ?? INDEXED[0];
      const interval = box[spec.dim] ?? FULL_PROTOCOL;
      const first = bucketOf(interval[0], spec.shift);
      const last = bucketOf(interval[1], spec.shift);
      if (last - first >= NARROW) {
        this.wide[k]?.push(index);
        continue;
      }
      const map = this.buckets[k];
      if (map === undefined) continue;
      for (let b = first; b <= last; b++) {
        const list = map.get(b);
        if (list === undefined) map.set(b, [index]);
        else list.push(index);
      }
    }
  }

  /** The highest tag of the boxes this one overlaps; -1 when it overlaps none. */
  highestOverlapping(box: Box): number {
    const protocol = box[0] ?? FULL_PROTOCOL;
    if (protocol[0] === protocol[1] && !this.anyProtocol && !this.protocols.has(protocol[0])) return -1;
    // Query the dimension where the fewest boxes can be candidates.
    let best = -1;
    let bestCost = this.tags.length;
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
    const q: number[] = [];
    for (let d = 0; d < DIMENSIONS; d++) {
      const interval = box[d] ?? FULL;
      q.push(interval[0], interval[1]);
    }
    const spec = INDEXED[best];
    if (spec === undefined) {
      let found = -1;
      for (let i = 0; i < this.tags.length; i++) found = this.higher(i, q, found);
      return found;
    }
    let found = this.highest(this.wide[best] ?? [], q, -1);
    const map = this.buckets[best];
    const interval = box[spec.dim] ?? FULL_PROTOCOL;
    const last = bucketOf(interval[1], spec.shift);
    for (let b = bucketOf(interval[0], spec.shift); b <= last; b++) {
      const list = map?.get(b);
      if (list !== undefined) found = this.highest(list, q, found);
    }
    return found;
  }

  private highest(list: readonly number[], q: readonly number[], found: number): number {
    for (let i = 0; i < list.length; i++) found = this.higher(list[i] ?? 0, q, found);
    return found;
  }

  /** Box `i`'s tag when it is above `found` and the box overlaps `q`; else `found`. */
  private higher(i: number, q: readonly number[], found: number): number {
    const tag = this.tags[i] ?? -1;
    if (tag <= found) return found;
    const b = this.bounds;
    const o = i * STRIDE;
    for (let k = 0; k < STRIDE; k += 2)
      if ((b[o + k] ?? 0) > (q[k + 1] ?? 0) || (q[k] ?? 0) > (b[o + k + 1] ?? 0)) return found;
    return tag;
  }
}

const FULL_PROTOCOL: Interval = [0, 255];
