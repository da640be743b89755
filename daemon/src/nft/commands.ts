// Turns a desired NftRuleset, given the one the kernel holds, into the nft JSON commands of ONE
// transaction (the kernel applies a batch all or nothing, so no separate check run is needed):
// - a table that is new, or whose set or chain definitions changed, is replaced whole
//   (`add table` + `delete table` + `add table`, so the delete never fails);
// - otherwise only what changed: chains whose rules changed are flushed and refilled, chains and sets
//   are added or deleted, and set/map elements are added or deleted one by one. A Patch that adds one
//   EIP therefore sends one element, however many thousands exist.
import { deltaSince } from '../reconcile/revision.js';
import {
  type NftChain,
  type NftElement,
  type NftRuleset,
  type NftSet,
  type NftTable,
  tableKey,
} from './model.js';

export type NftCommand = Record<string, unknown>;

export interface NftPlan {
  readonly commands: readonly NftCommand[];
  /** True when anything but set elements changes (the driver then re-reads the ruleset skeleton). */
  readonly structural: boolean;
}

/**
 * `diff` trusts that the kernel holds `previous`; `replace` trusts nothing and loads every desired
 * table whole (repair after drift, rollback). Both delete the tables of `previous` not desired.
 */
export function planTransaction(
  desired: NftRuleset,
  previous: NftRuleset,
  mode: 'diff' | 'replace',
): NftPlan {
  const before = new Map(previous.tables.map((t) => [tableKey(t), t]));
  const commands: NftCommand[] = [];
  let structural = false;
  for (const table of desired.tables) {
    const old = mode === 'replace' ? undefined : before.get(tableKey(table));
    before.delete(tableKey(table));
    if (old === undefined || !sameDefinitions(table, old)) {
      commands.push(...replaceTable(table));
      structural = true;
    } else {
      const change = updateTable(table, old);
      commands.push(...change.commands);
      structural ||= change.structural;
    }
  }
  for (const gone of before.values()) {
    const ref = { family: gone.family, name: gone.name };
    commands.push({ add: { table: ref } }, { delete: { table: ref } });
    structural = true;
  }
  return { commands, structural };
}

function replaceTable(table: NftTable): NftCommand[] {
  const ref = { family: table.family, name: table.name };
  return [
    { add: { table: ref } },
    { delete: { table: ref } },
    { add: { table: ref } },
    ...table.chains.map((c) => ({ add: { chain: chainObject(table, c) } })),
    ...table.sets.map((s) => ({ add: setObject(table, s, true) })),
    ...table.chains.flatMap((c) => c.rules.map((_, i) => ({ add: { rule: ruleObject(table, c, i) } }))),
  ];
}

function updateTable(table: NftTable, old: NftTable): NftPlan {
  const oldChains = new Map(old.chains.map((c) => [c.name, c]));
  const oldSets = new Map(old.sets.map((s) => [s.name, s]));
  const flushes: NftCommand[] = [];
  const additions: NftCommand[] = [];
  const elements: NftCommand[] = [];
  const rules: NftCommand[] = [];
  const deletions: NftCommand[] = [];

  for (const chain of table.chains) {
    const before = oldChains.get(chain.name);
    oldChains.delete(chain.name);
    if (before === undefined) additions.push({ add: { chain: chainObject(table, chain) } });
    else if (sameRules(chain, before)) continue;
    else flushes.push({ flush: { chain: chainRef(table, chain.name) } });
    rules.push(...chain.rules.map((_, i) => ({ add: { rule: ruleObject(table, chain, i) } })));
  }
  for (const gone of oldChains.values()) {
    flushes.push({ flush: { chain: chainRef(table, gone.name) } });
    deletions.push({ delete: { chain: chainRef(table, gone.name) } });
  }
  for (const set of table.sets) {
    const before = oldSets.get(set.name);
    oldSets.delete(set.name);
    if (before === undefined) additions.push({ add: setObject(table, set, true) });
    // Renderers may hand back the very set they rendered last time (memoized): nothing to compare.
    else if (before !== set) elements.push(...elementChanges(table, set, before));
  }
  for (const gone of oldSets.values()) deletions.push({ delete: setObject(table, gone, false) });

  return {
    commands: [...flushes, ...additions, ...elements, ...rules, ...deletions],
    structural: flushes.length + additions.length + deletions.length > 0,
  };
}

/**
 * A base chain whose hook changed, or a set whose type, flags or size changed, forces the table to be
 * replaced; regular chains and sets may come and go inside it.
 */
function sameDefinitions(a: NftTable, b: NftTable): boolean {
  const hooks = (t: NftTable) =>
    JSON.stringify(t.chains.filter((c) => c.hook !== undefined).map((c) => [c.name, c.hook]));
  if (hooks(a) !== hooks(b)) return false;
  const setType = (s: NftSet) => JSON.stringify([s.type, s.map, s.flags, s.counter === true, s.size]);
  const typesOfB = new Map(b.sets.map((s) => [s.name, setType(s)]));
  return a.sets.every((s) => (typesOfB.get(s.name) ?? setType(s)) === setType(s));
}

function sameRules(a: NftChain, b: NftChain): boolean {
  return a.rules === b.rules || sameJson(a.rules, b.rules);
}

/**
 * Whether two JSON values (rules as rendered) are equal, walked without spelling either out: every
 * write renders its chains anew and compares them with the last, and JSON.stringify of both took
 * about a tenth of the daemon's CPU in a one-EIP Patch. Keys in another order count as equal; that
 * only spares a reload. Plain loops, no callbacks or key arrays: a Patch walks every rule of every
 * chain here, and what it allocates brings the next scavenge (a pause inside some later Patch) closer.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const array = Array.isArray(a);
  if (array !== Array.isArray(b)) return false;
  if (array) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameJson(x[i], y[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k)) continue;
    if (!Object.hasOwn(y, k) || !sameJson(x[k], y[k])) return false;
    keys++;
  }
  for (const k in y) if (Object.hasOwn(y, k)) keys--;
  return keys === 0;
}

function elementChanges(table: NftTable, set: NftSet, before: NftSet): NftCommand[] {
  if (set === before) return [];
  const delta = deltaSince(set, before);
  if (delta !== undefined) return elementCommands(table, set, delta.removed, delta.added);
  if (before.elements.length === 0 || set.elements.length === 0)
    return elementCommands(table, set, before.elements, set.elements);
  const key = (e: NftElement) => JSON.stringify(e.key);
  const full = (e: NftElement) => JSON.stringify([e.key, e.value]);
  const old = new Map(before.elements.map((e) => [key(e), full(e)]));
  const added: NftElement[] = [];
  const removed: NftElement[] = [];
  for (const e of set.elements) {
    const k = key(e);
    const was = old.get(k);
    old.delete(k);
    if (was === full(e)) continue;
    if (was !== undefined) removed.push(e);
    added.push(e);
  }
  for (const e of before.elements) if (old.has(key(e))) removed.push(e);
  return elementCommands(table, set, removed, added);
}

function elementCommands(
  table: NftTable,
  set: NftSet,
  removed: readonly NftElement[],
  added: readonly NftElement[],
): NftCommand[] {
  const ref = { family: table.family, table: table.name, name: set.name };
  const commands: NftCommand[] = [];
  if (removed.length > 0) commands.push({ delete: { element: { ...ref, elem: removed.map((e) => e.key) } } });
  if (added.length > 0)
    commands.push({ add: { element: { ...ref, elem: added.map((e) => elementJson(set, e)) } } });
  return commands;
}

function chainRef(table: NftTable, name: string) {
  return { family: table.family, table: table.name, name };
}

function chainObject(table: NftTable, chain: NftChain) {
  const { hook } = chain;
  if (hook === undefined) return chainRef(table, chain.name);
  return {
    ...chainRef(table, chain.name),
    type: hook.type,
    hook: hook.hook,
    prio: hook.priority,
    policy: hook.policy,
    ...(hook.device === undefined ? {} : { dev: hook.device }),
  };
}

function ruleObject(table: NftTable, chain: NftChain, index: number) {
  const rule = chain.rules[index];
  if (rule === undefined) throw new RangeError(`rule ${index} of chain ${chain.name}`);
  return {
    family: table.family,
    table: table.name,
    chain: chain.name,
    expr: rule.expr,
    comment: rule.comment,
  };
}

/** An element as nft's JSON writes it: the key, or for a map `[key, value]`. */
export function elementJson(set: NftSet, e: NftElement): unknown {
  return set.map === undefined ? e.key : [e.key, e.value];
}

function setObject(table: NftTable, set: NftSet, withElements: boolean): NftCommand {
  const body: Record<string, unknown> = {
    family: table.family,
    table: table.name,
    name: set.name,
    type: set.type,
  };
  if (set.map !== undefined) body['map'] = set.map;
  if (set.flags !== undefined && set.flags.length > 0) body['flags'] = set.flags;
  if (set.counter === true) body['stmt'] = [{ counter: null }];
  if (set.size !== undefined) body['size'] = set.size;
  if (withElements && set.elements.length > 0) body['elem'] = set.elements.map((e) => elementJson(set, e));
  return { [set.map === undefined ? 'set' : 'map']: body };
}
