// What the nftables step last loaded, kept in the state directory so that a restarted daemon can
// tell whether the kernel still holds it: the digest of the tables' structure as rendered (chains,
// rules, set definitions; not the elements, which a start-up compares one by one) and the skeleton
// nft listed after the load (the drift fingerprint). Only a shortcut: a start-up keeps the kernel's
// tables when both still match and every element is there, otherwise it loads them whole as ever.
// So the file needs no fsync; a lost or stale one costs a reload, never a wrong ruleset.
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { NftRuleset } from '../../nft/model.js';

export interface LastLoad {
  readonly structure: string;
  readonly fingerprint: ReadonlyMap<string, string>;
}

/** The rendered tables without their elements (and the bookkeeping of deltas), as one digest. */
export function structureDigest(ruleset: NftRuleset): string {
  const structure = ruleset.tables.map((table) => ({
    ...table,
    sets: table.sets.map((set) => ({ ...set, elements: [], revision: 0, delta: undefined })),
  }));
  return createHash('sha256').update(JSON.stringify(structure)).digest('hex');
}

export async function saveLastLoad(path: string, load: LastLoad): Promise<void> {
  const text = JSON.stringify({ structure: load.structure, fingerprint: [...load.fingerprint] });
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

/** The last load, or undefined when there is none or it cannot be read. */
export async function readLastLoad(path: string): Promise<LastLoad | undefined> {
  try {
    const saved = JSON.parse(await readFile(path, 'utf8')) as { structure?: unknown; fingerprint?: unknown };
    const pairs = saved.fingerprint;
    if (typeof saved.structure !== 'string' || !Array.isArray(pairs)) return undefined;
    if (!pairs.every((p) => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === 'string')))
      return undefined;
    return { structure: saved.structure, fingerprint: new Map(pairs as [string, string][]) };
  } catch {
    return undefined;
  }
}
