// A rendered NAT set whose elements are listed on first use: a Patch derives sets of 10k elements
// whose lists the transaction planner never needs (it sends the delta).
//
// A class, not an object literal with `get elements()`: V8 gives each literal's getter an AccessorPair
// in the old generation, and those dead pairs kept each Patch's config (the getter's closure) alive
// through every young-generation GC — ~80 KB promoted per Patch with 10k EIPs, longer scavenges, the
// Patch p99.
import type { NftElement, NftSet, NftSetDelta } from '../../nft/model.js';

type SetShape = Omit<NftSet, 'elements'>;

export class LazySet implements NftSet {
  readonly name: string;
  readonly type: NftSet['type'];
  readonly map?: NftSet['map'];
  readonly flags?: NftSet['flags'];
  readonly counter?: boolean;
  readonly size?: number;
  readonly dynamic?: boolean;
  readonly revision?: number;
  readonly delta?: NftSetDelta;
  readonly #elements: () => readonly NftElement[];

  /** `elements` lists them, once (it is expected to remember its answer). */
  constructor(shape: SetShape, elements: () => readonly NftElement[]) {
    this.name = shape.name;
    this.type = shape.type;
    if (shape.map !== undefined) this.map = shape.map;
    if (shape.flags !== undefined) this.flags = shape.flags;
    if (shape.counter !== undefined) this.counter = shape.counter;
    if (shape.size !== undefined) this.size = shape.size;
    if (shape.dynamic !== undefined) this.dynamic = shape.dynamic;
    if (shape.revision !== undefined) this.revision = shape.revision;
    if (shape.delta !== undefined) this.delta = shape.delta;
    this.#elements = elements;
  }

  get elements(): readonly NftElement[] {
    return this.#elements();
  }
}
