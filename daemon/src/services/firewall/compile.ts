// Compiles a rule set into what its chain will hold: custom rules gathered into "blocks", one set
// lookup each, and everything else one rule each. First-match semantics and per-rule counters stay
// exact because:
// - a block's rules share the action and connection states, and its elements (one box per
//   combination of a rule's addresses and ports) never overlap, so the one element a packet can
//   match names the rule that decides it; each element carries a counter and its rule's id;
// - a rule joins a block placed before rules it follows only when it overlaps none of the rules it
//   moves past (no packet matches both, so their order cannot matter), and never moves past a
//   system rule or a rule whose match is not a box.
// A typical set of 9999 rules becomes a few dozen lookups per new connection instead of 9999 rule
// evaluations, and loads as set elements, which the kernel takes far faster than rules. Blocks whose
// elements are single values, or CIDRs of one prefix length matched through a mask (`ip saddr &
// 255.255.255.0`, as in tuple space search), are hash sets; only blocks that need ranges are
// interval sets, kept to 1024 elements because the kernel's concatenated interval sets (pipapo) slow
// down to load beyond.
import { BoxIndex } from './box-index.js';
import { prefixLength } from './intervals.js';
import type { ConnState, Interval, ModelRule, ModelRuleSet, Verdict } from './model.js';

/** Dimensions a block's key may have, in key order. */
export const DIMS = ['protocol', 'source', 'destination', 'sourcePort', 'destinationPort'] as const;
export type Dim = (typeof DIMS)[number];

/** Full range of each dimension: what a rule without that condition matches. */
const FULL: readonly Interval[] = [
  [0, 255],
  [0, 0xffffffff],
  [0, 0xffffffff],
  [0, 65535],
  [0, 65535],
];

/** One element: an interval per dimension (all five; dimensions outside the block are FULL). */
export interface BlockElement {
  readonly box: readonly Interval[];
  readonly ruleId: string;
}

export interface Block {
  readonly kind: 'block';
  /** Set name: unique (named after its first rule) and telling its key and type. */
  readonly name: string;
  readonly action: Verdict;
  readonly states: readonly ConnState[] | undefined;
  readonly dims: readonly Dim[];
  /** Some element is a range: an interval set rather than a hash. */
  readonly interval: boolean;
  /** Prefix lengths (< 32) the key masks addresses to, in a hash block of CIDRs. */
  readonly masks: { readonly source?: number; readonly destination?: number };
  readonly elements: readonly BlockElement[];
  /** Its rules in the order they joined. */
  readonly rules: readonly ModelRule[];
}

export type ChainItem = { readonly kind: 'rule'; readonly rule: ModelRule } | Block;

/** A rule whose conditions multiply out to more elements than this stays a rule of its own. */
const MAX_ELEMENTS_PER_RULE = 64;
const MAX_INTERVAL_ELEMENTS = 1024;

export function compileRuleSet(set: ModelRuleSet): ChainItem[] {
  const chain: (ChainItem | BlockDraft)[] = [];
  /** Every box placed so far, tagged with its chain position. */
  const placed = new BoxIndex();
  /** Blocks by class (what may join them), in chain order. */
  const blocks = new Map<string, BlockDraft[]>();
  /** The last rule nothing may move past: a system rule, or one whose match is not boxes. */
  let barrier = -1;

  for (const rule of set.rules) {
    if (rule.disabled) continue;
    const candidate = candidateOf(rule);
    if (candidate === undefined) {
      const boxes = rule.system ? undefined : productBoxes(dimLists(rule));
      if (boxes === undefined) barrier = chain.length;
      else for (const box of boxes) placed.add(box, chain.length);
      chain.push({ kind: 'rule', rule });
      continue;
    }
    // The rule may join a block placed after everything it overlaps (no packet matches both, so
    // moving it before them changes nothing) and after the last barrier.
    let floor = barrier;
    for (const box of candidate.boxes) floor = Math.max(floor, placed.highestOverlapping(box));
    const ofClass = blocks.get(candidate.class) ?? [];
    let target: BlockDraft | undefined;
    for (let i = ofClass.length - 1; i >= 0; i--) {
      const block = ofClass[i];
      if (block === undefined || block.position <= floor) break;
      if (block.fits(candidate)) {
        target = block;
        break;
      }
    }
    if (target === undefined) {
      target = new BlockDraft(chain.length, rule, candidate);
      chain.push(target);
      blocks.set(candidate.class, [...ofClass, target]);
    } else target.add(rule, candidate);
    for (const box of candidate.boxes) placed.add(box, target.position);
  }
  return chain.map((item) => (item instanceof BlockDraft ? item.finish() : item));
}

/**
 * Rules of one class may share a block: the same action and states; for hash blocks the same
 * signature (dimensions, prefix lengths); for interval blocks the same presence of a protocol
 * condition and of an address condition (a rule without one also matches IPv6, which an IPv4 key
 * cannot). A dimension one side lacks gets its full range: exact for addresses because the rule is
 * IPv4-only already, for ports because blocks with ports always match TCP, UDP or ICMP, whose
 * headers hold them.
 */
function classOf(rule: ModelRule, dims: ReadonlySet<Dim>, hash: Candidate['hash']): string {
  const states = rule.match.states === undefined ? '*' : [...rule.match.states].sort().join(',');
  const shape =
    hash?.signature ??
    `ranged:${dims.has('protocol') ? 'p' : ''}${dims.has('source') || dims.has('destination') ? 'a' : ''}`;
  return `${rule.action}|${states}|${shape}`;
}

interface Candidate {
  /** Which blocks it may join (classOf). */
  readonly class: string;
  readonly dims: ReadonlySet<Dim>;
  /** The rule's conditions multiplied out: one box of five intervals per combination. */
  readonly boxes: readonly (readonly Interval[])[];
  /**
   * Set when the rule fits a hash set: single values, and addresses all CIDRs of one length per
   * dimension. Rules join a hash block only with the same signature, e.g. `p s24 D`.
   */
  readonly hash: { readonly signature: string; readonly masks: Block['masks'] } | undefined;
}

/** The lists a rule's match is the product of, per dimension (undefined: no condition). */
function dimLists(rule: ModelRule): (readonly Interval[] | undefined)[] {
  const m = rule.match;
  return [
    m.protocols?.map((p): Interval => [p, p]),
    m.sources,
    m.destinations,
    m.sourcePorts,
    m.destinationPorts,
  ];
}

/**
 * What `blockable` found for each rule, by its model object, which plan.ts keeps while the rule's
 * config object is the same: a Patch of one rule recompiles its set of 9999 without working out the
 * other 9998 again. (Models are never changed once made.)
 */
const candidates = new WeakMap<ModelRule, Candidate | null>();

function candidateOf(rule: ModelRule): Candidate | undefined {
  let candidate = candidates.get(rule);
  if (candidate === undefined) {
    candidate = blockable(rule) ?? null;
    candidates.set(rule, candidate);
  }
  return candidate ?? undefined;
}

/** Custom rules matching only on the five key dimensions (and states) can join a block. */
function blockable(rule: ModelRule): Candidate | undefined {
  const m = rule.match;
  if (rule.system || m.icmp !== undefined || m.dnat || m.toRouter || m.ipsec) return undefined;
  const lists = dimLists(rule);
  const dims = new Set(DIMS.filter((_, i) => lists[i] !== undefined));
  if (dims.size === 0) return undefined;
  const boxes = productBoxes(lists);
  if (boxes === undefined) return undefined;
  const hash = hashSignature(lists);
  return { class: classOf(rule, dims, hash), dims, boxes, hash };
}

/** The match multiplied out, one box per combination; undefined when that is too many. */
function productBoxes(lists: readonly (readonly Interval[] | undefined)[]): Interval[][] | undefined {
  const count = lists.reduce((n, list) => n * (list?.length ?? 1), 1);
  if (count > MAX_ELEMENTS_PER_RULE) return undefined;
  if (count === 1) return [lists.map((list, i) => list?.[0] ?? FULL[i] ?? [0, 0])];
  let boxes: Interval[][] = [[]];
  lists.forEach((list, i) => {
    const values = list ?? [FULL[i] ?? [0, 0]];
    boxes = boxes.flatMap((box) => values.map((value) => [...box, value]));
  });
  return boxes;
}

function hashSignature(lists: readonly (readonly Interval[] | undefined)[]): Candidate['hash'] {
  const masks: { source?: number; destination?: number } = {};
  let signature = '';
  for (let i = 0; i < DIMS.length; i++) {
    const dim = DIMS[i] ?? 'protocol';
    const list = lists[i];
    if (list === undefined) continue;
    if (dim === 'source' || dim === 'destination') {
      const lengths = new Set(list.map(prefixLength));
      const [length] = lengths;
      if (lengths.size !== 1 || length === undefined) return undefined;
      if (length < 32) masks[dim] = length;
      signature += `${DIM_CODE[dim]}${length}`;
    } else {
      if (list.some(([from, to]) => from !== to)) return undefined;
      signature += DIM_CODE[dim];
    }
  }
  return { signature, masks };
}

class BlockDraft {
  private readonly dims: Set<Dim>;
  private readonly elements: BlockElement[] = [];
  private readonly rules: ModelRule[] = [];
  private readonly first: ModelRule;
  private readonly hash: Candidate['hash'];

  constructor(
    readonly position: number,
    first: ModelRule,
    candidate: Candidate,
  ) {
    this.first = first;
    this.hash = candidate.hash;
    this.dims = new Set(candidate.dims);
    this.add(first, candidate);
  }

  /** Room for the rule: hash sets take any number, interval sets up to MAX_INTERVAL_ELEMENTS. */
  fits(candidate: Candidate): boolean {
    return this.hash !== undefined || this.elements.length + candidate.boxes.length <= MAX_INTERVAL_ELEMENTS;
  }

  add(rule: ModelRule, candidate: Candidate): void {
    this.rules.push(rule);
    for (const d of candidate.dims) this.dims.add(d);
    // A rule's own boxes never overlap: its lists are merged, so any two differ disjointly somewhere.
    for (const box of candidate.boxes) this.elements.push({ box, ruleId: rule.id });
  }

  finish(): ChainItem {
    if (this.rules.length === 1) return { kind: 'rule', rule: this.first };
    const dims = DIMS.filter((d) => this.dims.has(d));
    const code = this.hash?.signature ?? dims.map((d) => DIM_CODE[d]).join('');
    return {
      kind: 'block',
      name: `fwb-${this.first.id}-${code}-${this.hash === undefined ? 'i' : 'h'}`,
      action: this.first.action,
      states: this.first.match.states,
      dims,
      interval: this.hash === undefined,
      masks: this.hash?.masks ?? {},
      elements: this.elements,
      rules: this.rules,
    };
  }
}

const DIM_CODE: Record<Dim, string> = {
  protocol: 'p',
  source: 's',
  destination: 'd',
  sourcePort: 'S',
  destinationPort: 'D',
};
