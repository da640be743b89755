// Assembles the daemon's tables from the contributions of several services (base chains, NAT,
// firewall …). Each service adds its sets, maps, regular chains, and rules appended to base chains;
// the order of contributions is the order renderRuleset calls them, so the result is deterministic.
import type { NftChain, NftFamily, NftHook, NftRule, NftRuleset, NftSet, NftTable } from './model.js';

export interface TableRef {
  readonly family: NftFamily;
  readonly name: string;
}

interface TableDraft {
  readonly ref: TableRef;
  readonly sets: NftSet[];
  readonly chains: { name: string; hook?: NftHook; rules: NftRule[] }[];
}

export class RulesetBuilder {
  private readonly tables: TableDraft[] = [];

  /** Declares a table; base chains are declared with their hooks, in the order packets meet them. */
  table(ref: TableRef, baseChains: readonly { name: string; hook: NftHook }[]): this {
    this.tables.push({ ref, sets: [], chains: baseChains.map((c) => ({ ...c, rules: [] })) });
    return this;
  }

  addSet(ref: TableRef, set: NftSet): this {
    this.draft(ref).sets.push(set);
    return this;
  }

  addChain(ref: TableRef, name: string, rules: readonly NftRule[] = []): this {
    const draft = this.draft(ref);
    if (draft.chains.some((c) => c.name === name))
      throw new Error(`chain ${name} declared twice in ${ref.name}`);
    draft.chains.push({ name, rules: [...rules] });
    return this;
  }

  /** Appends rules to a chain (base or regular) already declared. */
  append(ref: TableRef, chain: string, rules: readonly NftRule[]): this {
    const target = this.draft(ref).chains.find((c) => c.name === chain);
    if (target === undefined) throw new Error(`no chain ${chain} in ${ref.name}`);
    target.rules.push(...rules);
    return this;
  }

  build(): NftRuleset {
    return {
      tables: this.tables.map((t): NftTable => ({
        family: t.ref.family,
        name: t.ref.name,
        sets: t.sets,
        chains: t.chains.map((c): NftChain => (c.hook === undefined ? { name: c.name, rules: c.rules } : c)),
      })),
    };
  }

  private draft(ref: TableRef): TableDraft {
    const draft = this.tables.find((t) => t.ref.family === ref.family && t.ref.name === ref.name);
    if (draft === undefined) throw new Error(`table ${ref.family} ${ref.name} is not declared`);
    return draft;
  }
}
