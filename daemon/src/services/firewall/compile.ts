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
  readonly ruleIds: readonly string[];
}

export type ChainItem = { readonly kind: 'rule'; readonly rule: ModelRule } | Block;

/** A rule whose conditions multiply out to more elements than this stays a rule of its own. */
const MAX_ELEMENTS_PER_RULE = 64;
const MAX_INTERVAL_ELEMENTS = 1024;
/** How many chain items a rule may look back past for a block to join. */
const LOOK_BACK = 64;

export function compileRuleSet(set: ModelRuleSet): ChainItem[] {
  const chain: (Standalone | BlockDraft)[] = [];
  for (const rule of set.rules) {
    if (rule.disabled) continue;
    const candidate = blockable(rule);
    if (candidate === undefined) chain.push(new Standalone(rule));
    else if (!joinEarlierBlock(chain, rule, candidate)) chain.push(new BlockDraft(rule, candidate));
  }
  return chain.map((item) => item.finish());
}

/** Looks back for a block the rule may join; false when it must open a block of its own. */
function joinEarlierBlock(
  chain: readonly (Standalone | BlockDraft)[],
  rule: ModelRule,
  c: Candidate,
): boolean {
  for (let i = chain.length - 1; i >= Math.max(0, chain.length - LOOK_BACK); i--) {
    const item = chain[i];
    if (item === undefined) break;
    const overlapping = item.overlaps(c.boxes);
    if (item instanceof BlockDraft && !overlapping && item.accepts(rule, c)) {
      item.add(rule, c);
      return true;
    }
    if (overlapping || item.barrier) return false;
  }
  return false;
}

interface Candidate {
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

/** Custom rules matching only on the five key dimensions (and states) can join a block. */
function blockable(rule: ModelRule): Candidate | undefined {
  const m = rule.match;
  if (rule.system || m.icmp !== undefined || m.dnat || m.toRouter || m.ipsec) return undefined;
  const lists = dimLists(rule);
  const dims = new Set(DIMS.filter((_, i) => lists[i] !== undefined));
  if (dims.size === 0) return undefined;
  if (lists.reduce((n, list) => n * (list?.length ?? 1), 1) > MAX_ELEMENTS_PER_RULE) return undefined;
  let boxes: Interval[][] = [[]];
  lists.forEach((list, i) => {
    const values = list ?? [FULL[i] ?? [0, 0]];
    boxes = boxes.flatMap((box) => values.map((value) => [...box, value]));
  });
  return { dims, boxes, hash: hashSignature(lists) };
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

/** A rule of its own in the chain: what it matches is approximated by the product of its lists. */
class Standalone {
  private readonly lists: readonly (readonly Interval[])[];
  /** System rules and rules beyond boxes are never moved past. */
  readonly barrier: boolean;

  constructor(private readonly rule: ModelRule) {
    this.lists = dimLists(rule).map((list, i) => list ?? [FULL[i] ?? [0, 0]]);
    this.barrier = rule.system;
  }

  /** Whether a packet could match both: every dimension of some box meets the rule's list. */
  overlaps(boxes: readonly (readonly Interval[])[]): boolean {
    return boxes.some((box) =>
      box.every((x, i) => this.lists[i]?.some((y) => x[0] <= y[1] && y[0] <= x[1]) === true),
    );
  }

  finish(): ChainItem {
    return { kind: 'rule', rule: this.rule };
  }
}

class BlockDraft {
  readonly barrier = false;
  private readonly dims: Set<Dim>;
  private readonly elements: BlockElement[] = [];
  private readonly rules: ModelRule[] = [];
  private readonly index = new BoxIndex();
  private readonly first: ModelRule;
  private readonly hash: Candidate['hash'];

  constructor(first: ModelRule, candidate: Candidate) {
    this.first = first;
    this.hash = candidate.hash;
    this.dims = new Set(candidate.dims);
    this.add(first, candidate);
  }

  overlaps(boxes: readonly (readonly Interval[])[]): boolean {
    return boxes.some((box) => this.index.overlapsAny(box));
  }

  /**
   * Whether the rule may join (its elements overlapping none is checked by the caller): the same
   * action and states; hash blocks take rules of exactly their signature (dimensions, prefix
   * lengths); interval blocks take ranged rules with the same presence of a protocol condition and of an
   * address condition (a rule without one also matches IPv6, which an IPv4 key cannot). A dimension
   * one side lacks gets its full range: exact for addresses because the rule is IPv4-only already,
   * for ports because blocks with ports always match TCP, UDP or ICMP, whose headers hold them.
   */
  accepts(rule: ModelRule, candidate: Candidate): boolean {
    if (rule.action !== this.first.action || !sameStates(rule.match.states, this.first.match.states))
      return false;
    if ((candidate.hash === undefined) !== (this.hash === undefined)) return false;
    if (this.hash !== undefined) return candidate.hash?.signature === this.hash.signature;
    if (candidate.dims.has('protocol') !== this.dims.has('protocol')) return false;
    if (addressed(candidate.dims) !== addressed(this.dims)) return false;
    return this.index.size + candidate.boxes.length <= MAX_INTERVAL_ELEMENTS;
  }

  add(rule: ModelRule, candidate: Candidate): void {
    this.rules.push(rule);
    for (const d of candidate.dims) this.dims.add(d);
    // A rule's own boxes never overlap: its lists are merged, so any two differ disjointly somewhere.
    for (const box of candidate.boxes) {
      this.elements.push({ box, ruleId: rule.id });
      this.index.add(box);
    }
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
      ruleIds: this.rules.map((r) => r.id),
    };
  }
}

function addressed(dims: ReadonlySet<Dim>): boolean {
  return dims.has('source') || dims.has('destination');
}

const DIM_CODE: Record<Dim, string> = {
  protocol: 'p',
  source: 's',
  destination: 'd',
  sourcePort: 'S',
  destinationPort: 'D',
};

function sameStates(a: readonly ConnState[] | undefined, b: readonly ConnState[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}
