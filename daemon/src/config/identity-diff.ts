// What changed between two versions of a list of config objects, by object identity. A Patch copies
// on write (config/patch.ts): untouched objects are the same objects in both versions, so a change of
// one object in 10k is found with pointer compares, not by comparing contents. Validation and
// rendering use it to work on the changed objects only.

export interface IdentityDiff<T> {
  /** Objects of `after` that are not in `before`. */
  readonly added: readonly T[];
  /** Objects of `before` that are not in `after`. */
  readonly removed: readonly T[];
}

export function identityDiff<T>(before: readonly T[], after: readonly T[]): IdentityDiff<T> {
  if (before === after) return { added: [], removed: [] };
  // Skip the common head and tail; only the window between them can differ.
  let head = 0;
  const shortest = Math.min(before.length, after.length);
  while (head < shortest && before[head] === after[head]) head++;
  let tailBefore = before.length;
  let tailAfter = after.length;
  while (tailBefore > head && tailAfter > head && before[tailBefore - 1] === after[tailAfter - 1]) {
    tailBefore--;
    tailAfter--;
  }
  const old = before.slice(head, tailBefore);
  const young = after.slice(head, tailAfter);
  const oldSet = new Set(old);
  const youngSet = new Set(young);
  return { added: young.filter((x) => !oldSet.has(x)), removed: old.filter((x) => !youngSet.has(x)) };
}
