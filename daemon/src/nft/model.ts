// The daemon's nftables state as plain data: what the renderers produce and the driver loads. Rules
// hold nft JSON expressions (libnftables-json(5)) so the renderers speak nft's own vocabulary; every
// rule carries an ownership comment naming the object it exists for.

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'bridge' | 'netdev';

export interface NftHook {
  readonly type: 'filter' | 'nat' | 'route';
  readonly hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress';
  readonly priority: number;
  readonly policy: 'accept' | 'drop';
  /** For netdev/ingress hooks: the device. */
  readonly device?: string;
}

export interface NftRule {
  /** nft JSON statements and matches, in order. */
  readonly expr: readonly unknown[];
  /** Ownership: `<owner kind>:<object id>`, e.g. `base`, `eip:e-42`. Shown by `nft list`. */
  readonly comment: string;
}

export interface NftChain {
  readonly name: string;
  /** Base chains hook into the kernel; regular chains are jumped to. */
  readonly hook?: NftHook;
  readonly rules: readonly NftRule[];
}

/** A map element has a value; a set element does not. Keys and values are nft JSON values. */
export interface NftElement {
  readonly key: unknown;
  readonly value?: unknown;
}

export interface NftSet {
  readonly name: string;
  /** nft data type of the key, e.g. `ipv4_addr`, or a list for a concatenation. */
  readonly type: string | readonly string[];
  /** Present for maps: the data type of the values. */
  readonly map?: string | readonly string[];
  readonly flags?: readonly ('interval' | 'constant' | 'timeout' | 'dynamic')[];
  /** Every element carries a packet and byte counter (per-element accounting, e.g. firewall rules). */
  readonly counter?: boolean;
  /** The most elements the set can hold: the kernel then uses a fixed-size hash (hash sets only). */
  readonly size?: number;
  /** Elements the data path adds itself (dynamic sets) are not compared when looking for drift. */
  readonly dynamic?: boolean;
  readonly elements: readonly NftElement[];
  /** Names this rendering of the set, for a later delta (reconcile/revision.ts), when it may have one. */
  readonly revision?: number;
  /**
   * Set when the set was derived from `base` by a few element changes (a Patch): the transaction
   * planner then sends just these when the kernel holds `base`, without comparing all elements.
   */
  readonly delta?: NftSetDelta;
}

export interface NftSetDelta {
  /** The revision of the set this one was derived from (reconcile/revision.ts says why not the set). */
  readonly base: number;
  /** How many elements the set holds now (hash sets, which are sized by it). */
  readonly count?: number;
  readonly added: readonly NftElement[];
  readonly removed: readonly NftElement[];
}

export interface NftTable {
  readonly family: NftFamily;
  readonly name: string;
  readonly chains: readonly NftChain[];
  readonly sets: readonly NftSet[];
}

/** Every table the daemon owns. Tables not listed here are never touched. */
export interface NftRuleset {
  readonly tables: readonly NftTable[];
}

export const EMPTY_RULESET: NftRuleset = { tables: [] };

export function tableKey(t: Pick<NftTable, 'family' | 'name'>): string {
  return `${t.family} ${t.name}`;
}
