// Compiles a rule set into what its chain will hold: runs of consecutive custom rules with the same
// action become one set lookup ("block"), everything else stays one rule each. A block keeps first-
// match semantics because (1) its rules are consecutive and share the action, so any of them matching
// gives the same verdict, and (2) their elements never overlap, so the element that matches names the
// rule that would have matched first; each element carries a counter and its rule's id, which keeps
// per-rule counters exact. 9999 rules cost a few hundred lookups per new connection instead of 9999
// rule evaluations, and load as set elements, which the kernel takes far faster than rules.
import type { ConnState, Interval, ModelRule, ModelRuleSet, Verdict } from './model.js';

/** Dimensions a block's key may have, in key order. */
export const DIMS = ['protocol', 'source', 'destination', 'sourcePort', 'destinationPort'] as const;
export type Dim = (typeof DIMS)[number];

/** Full range of each dimension: what a rule without that condition matches. */
const FULL: Record<Dim, Interval> = {
  protocol: [0, 255],
  source: [0, 0xffffffff],
  destination: [0, 0xffffffff],
  sourcePort: [0, 65535],
  destinationPort: [0, 65535],
};

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
  /** Some element is a range: an interval set (rbtree/pipapo) rather than a hash. */
  readonly interval: boolean;
  readonly elements: readonly BlockElement[];
  readonly ruleIds: readonly string[];
}

export type ChainItem = { readonly kind: 'rule'; readonly rule: ModelRule } | Block;

/** A rule whose conditions multiply out to more elements than this stays a rule of its own. */
const MAX_ELEMENTS_PER_RULE = 64;
/** Interval blocks are checked for overlaps pairwise, so they are kept to this size. */
const MAX_INTERVAL_ELEMENTS = 512;

export function compileRuleSet(set: ModelRuleSet): ChainItem[] {
  const items: ChainItem[] = [];
  let open: BlockDraft | undefined;
  const close = () => {
    if (open !== undefined) items.push(...open.finish());
    open = undefined;
  };
  for (const rule of set.rules) {
    if (rule.disabled) continue;
    const candidate = blockable(rule);
    if (candidate === undefined) {
      close();
      items.push({ kind: 'rule', rule });
      continue;
    }
    if (open?.tryAdd(rule, candidate) !== true) {
      close();
      open = new BlockDraft(rule, candidate);
    }
  }
  close();
  return items;
}

interface Candidate {
  readonly dims: ReadonlySet<Dim>;
  /** The rule's conditions multiplied out: one box per combination. */
  readonly boxes: readonly Interval[][];
}

/** Custom rules matching only on the five key dimensions (and states) can join a block. */
function blockable(rule: ModelRule): Candidate | undefined {
  const m = rule.match;
  if (rule.system || m.icmp !== undefined || m.dnat || m.toRouter || m.ipsec) return undefined;
  const lists: Record<Dim, readonly Interval[] | undefined> = {
    protocol: m.protocols?.map((p): Interval => [p, p]),
    source: m.sources,
    destination: m.destinations,
    sourcePort: m.sourcePorts,
    destinationPort: m.destinationPorts,
  };
  const dims = new Set(DIMS.filter((d) => lists[d] !== undefined));
  if (dims.size === 0) return undefined;
  let count = 1;
  for (const d of dims) count *= lists[d]?.length ?? 1;
  if (count > MAX_ELEMENTS_PER_RULE) return undefined;
  let boxes: Interval[][] = [[]];
  for (const d of DIMS) {
    const values = lists[d] ?? [FULL[d]];
    boxes = boxes.flatMap((box) => values.map((value) => [...box, value]));
  }
  return { dims, boxes };
}

class BlockDraft {
  private readonly dims: Set<Dim>;
  private readonly elements: BlockElement[] = [];
  private readonly rules: ModelRule[] = [];
  /** Exact keys while no element is a range: overlap is then equality. */
  private readonly exactKeys = new Set<string>();
  private interval = false;

  constructor(first: ModelRule, candidate: Candidate) {
    this.dims = new Set(candidate.dims);
    this.add(first, candidate);
  }

  /**
   * Adds the rule when it keeps the block exact: same action and states, the same address and
   * protocol conditions (a rule without them also matches what the key cannot express, like IPv6),
   * and no element overlapping an earlier one. Port conditions may differ: a rule without one gets
   * the full port range, which is exact because blocks with ports always match the protocol.
   */
  tryAdd(rule: ModelRule, candidate: Candidate): boolean {
    const first = this.rules[0];
    if (first === undefined || rule.action !== first.action) return false;
    if (!sameStates(rule.match.states, first.match.states)) return false;
    for (const d of ['protocol', 'source', 'destination'] as const)
      if (candidate.dims.has(d) !== this.dims.has(d)) return false;
    const dims = new Set([...this.dims, ...candidate.dims]);
    // Earlier elements get the full range of a dimension new to the block; so do the new ones.
    const ranged =
      this.interval || dims.size !== this.dims.size || candidate.boxes.some((box) => isRangedIn(box, dims));
    if (ranged && this.elements.length + candidate.boxes.length > MAX_INTERVAL_ELEMENTS) return false;
    if (ranged) {
      if (candidate.boxes.some((box) => this.elements.some((e) => overlaps(e.box, box)))) return false;
    } else if (candidate.boxes.some((box) => this.exactKeys.has(keyOf(box)))) return false;
    for (const d of dims) this.dims.add(d);
    this.interval = ranged;
    this.add(rule, candidate);
    return true;
  }

  private add(rule: ModelRule, candidate: Candidate): void {
    this.rules.push(rule);
    for (const box of candidate.boxes) {
      this.elements.push({ box, ruleId: rule.id });
      this.exactKeys.add(keyOf(box));
    }
    this.interval ||= candidate.boxes.some((box) => isRangedIn(box, this.dims));
  }

  finish(): ChainItem[] {
    const [first, ...rest] = this.rules;
    if (first === undefined) return [];
    if (rest.length === 0) return [{ kind: 'rule', rule: first }];
    const dims = DIMS.filter((d) => this.dims.has(d));
    const interval = this.interval;
    const code = dims.map((d) => DIM_CODE[d]).join('');
    return [
      {
        kind: 'block',
        name: `fwb-${first.id}-${code}-${interval ? 'i' : 'h'}`,
        action: first.action,
        states: first.match.states,
        dims,
        interval,
        elements: this.elements,
        ruleIds: this.rules.map((r) => r.id),
      },
    ];
  }
}

const DIM_CODE: Record<Dim, string> = {
  protocol: 'p',
  source: 's',
  destination: 'd',
  sourcePort: 'S',
  destinationPort: 'D',
};

function isRange(interval: Interval | undefined): boolean {
  return interval !== undefined && interval[0] !== interval[1];
}

/** Some interval of the box within the block's dimensions is a range, not a single value. */
function isRangedIn(box: readonly Interval[], dims: ReadonlySet<Dim>): boolean {
  return DIMS.some((d, i) => dims.has(d) && isRange(box[i]));
}

function overlaps(a: readonly Interval[], b: readonly Interval[]): boolean {
  return a.every((x, i) => {
    const y = b[i];
    return y !== undefined && x[0] <= y[1] && y[0] <= x[1];
  });
}

function keyOf(box: readonly Interval[]): string {
  return box.map((i) => `${i[0]}-${i[1]}`).join(',');
}

function sameStates(a: readonly ConnState[] | undefined, b: readonly ConnState[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}
