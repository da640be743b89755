// Finds whether a box (one interval per dimension: protocol, source, destination, source port,
// destination port) overlaps any box already added, without comparing it with all of them: boxes are
// bucketed by every dimension in which they are narrow (/24s of addresses, 16-port groups), and a
// query looks up the buckets of its own narrowest dimension, plus the boxes wide in that dimension.
// The firewall compiler asks this for every rule against the blocks it may join or move past, so
// 9999 rules compile in well under a second.
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

export class BoxIndex {
  private readonly buckets = INDEXED.map(() => new Map<number, (readonly Interval[])[]>());
  private readonly wide = INDEXED.map((): (readonly Interval[])[] => []);
  private readonly all: (readonly Interval[])[] = [];

  get size(): number {
    return this.all.length;
  }

  add(box: readonly Interval[]): void {
    this.all.push(box);
    INDEXED.forEach(({ dim, shift }, k) => {
      const [from, to] = box[dim] ?? [0, 0];
      const first = Math.floor(from / 2 ** shift);
      const last = Math.floor(to / 2 ** shift);
      if (last - first >= NARROW) return void this.wide[k]?.push(box);
      const map = this.buckets[k];
      for (let b = first; b <= last; b++) {
        const list = map?.get(b);
        if (list === undefined) map?.set(b, [box]);
        else list.push(box);
      }
    });
  }

  overlapsAny(box: readonly Interval[]): boolean {
    let best = -1;
    let bestCost = this.all.length;
    INDEXED.forEach(({ dim, shift }, k) => {
      const [from, to] = box[dim] ?? [0, 0];
      const span = Math.floor(to / 2 ** shift) - Math.floor(from / 2 ** shift) + 1;
      const cost = (this.wide[k]?.length ?? 0) + Math.min(span, QUERY_BUCKETS);
      if (span <= QUERY_BUCKETS && cost < bestCost) {
        best = k;
        bestCost = cost;
      }
    });
    const spec = INDEXED[best];
    if (spec === undefined) return this.all.some((other) => boxesOverlap(other, box));
    if (this.wide[best]?.some((other) => boxesOverlap(other, box)) === true) return true;
    const [from, to] = box[spec.dim] ?? [0, 0];
    const map = this.buckets[best];
    for (let b = Math.floor(from / 2 ** spec.shift); b <= Math.floor(to / 2 ** spec.shift); b++)
      if (map?.get(b)?.some((other) => boxesOverlap(other, box)) === true) return true;
    return false;
  }
}
