// What the nftables step keeps of its last load: the structure's digest moves with chains, rules and
// set definitions but not with elements, and the file reads back as written or not at all.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NftRuleset, NftSet } from '../../daemon/src/nft/model.js';
import { readLastLoad, saveLastLoad, structureDigest } from '../../daemon/src/services/ruleset/last-load.js';

const set: NftSet = { name: 'eip_dnat', type: 'ipv4_addr', map: 'ipv4_addr', size: 64, elements: [] };
const ruleset = (s: NftSet, comment = 'nat:eip'): NftRuleset => ({
  tables: [
    {
      family: 'ip',
      name: 'vrouter_nat',
      chains: [{ name: 'prerouting', rules: [{ expr: [{ accept: null }], comment }] }],
      sets: [s],
    },
  ],
});

t.test('the digest ignores elements and their bookkeeping, not definitions or rules', async (t) => {
  const base = structureDigest(ruleset(set));
  const filled: NftSet = {
    ...set,
    elements: [{ key: '203.0.113.10', value: '10.1.0.11' }],
    revision: 7,
    delta: { base: 6, added: [{ key: '203.0.113.10', value: '10.1.0.11' }], removed: [] },
  };
  t.equal(structureDigest(ruleset(filled)), base, 'elements, revision, delta');
  t.not(structureDigest(ruleset({ ...set, size: 128 })), base, 'a set size');
  t.not(structureDigest(ruleset({ ...set, map: 'mark' })), base, 'a map type');
  t.not(structureDigest(ruleset(set, 'nat:other')), base, 'a rule');
});

t.test('the last load reads back as saved; a missing or malformed file is no last load', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vrouterd-last-load-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'nft-last-load.json');
  t.equal(await readLastLoad(path), undefined, 'none yet');
  const fingerprint = new Map([['ip vrouter_nat', '[{"table":{}}]']]);
  await saveLastLoad(path, { structure: 'abc', fingerprint });
  t.same(await readLastLoad(path), { structure: 'abc', fingerprint }, 'as saved');
  for (const text of ['{', '{"structure":1,"fingerprint":[]}', '{"structure":"a","fingerprint":[["x"]]}']) {
    await writeFile(path, text);
    t.equal(await readLastLoad(path), undefined, text);
  }
});
