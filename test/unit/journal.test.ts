// The Patch journal: records round-trip; a torn or corrupt tail ends the journal without losing the
// records before it; replay onto the snapshot gives the config the Patches produced.
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { create } from '@bufbuild/protobuf';
import { EipSchema } from '../../daemon/src/gen/vrouter/v1/nat_pb.js';
import { ObjectKind, PatchOperationSchema } from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { decodeRecords, encodeRecord } from '../../daemon/src/store/journal.js';
import { StateStore } from '../../daemon/src/store/state-store.js';
import { natConfig } from '../lab/nat-helpers.js';

const put = (id: string) =>
  create(PatchOperationSchema, {
    operation: { case: 'putEip', value: create(EipSchema, { id, vipId: 'v-pf', privateIp: '10.1.0.30' }) },
  });

void t.test('records round-trip; a torn or corrupt tail is cut off', (t) => {
  const a = encodeRecord({ generation: 5n, appliedAt: new Date(1000), operations: [put('a')] });
  const b = encodeRecord({ generation: 6n, appliedAt: new Date(2000), operations: [put('b')] });
  const both = decodeRecords(Buffer.concat([a, b]));
  t.same(
    both.records.map((r) => r.generation),
    [5n, 6n],
  );
  t.equal(both.records[1]?.appliedAt.getTime(), 2000);
  const torn = decodeRecords(Buffer.concat([a, b.subarray(0, b.length - 3)]));
  t.same(
    torn.records.map((r) => r.generation),
    [5n],
    'a cut record is dropped',
  );
  t.equal(torn.validLength, a.length);
  const corrupt = Buffer.concat([a, b]);
  corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 1) ^ 0xff, corrupt.length - 1);
  t.same(decodeRecords(corrupt).records.length, 1, 'a record with a bad checksum is dropped');
  t.end();
});

void t.test('load replays the journal onto the snapshot and truncates a torn tail', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'journal-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = new StateStore(dir);
  await store.save({ generation: 2n, appliedAt: new Date(), config: natConfig() });
  await store.append({ generation: 3n, appliedAt: new Date(), config: natConfig() });
  await store.append({ generation: 4n, appliedAt: new Date(), operations: [put('e-new')] });
  await store.append({
    generation: 5n,
    appliedAt: new Date(),
    operations: [
      create(PatchOperationSchema, {
        operation: { case: 'delete', value: { kind: ObjectKind.EIP, id: 'e-vm1' } },
      }),
    ],
  });
  await store.close();
  const good = (await readFile(join(dir, 'patches.journal'))).length;
  await appendFile(join(dir, 'patches.journal'), Buffer.from([0, 0, 0, 99, 1, 2]));
  const loaded = await new StateStore(dir).load();
  t.equal(loaded?.generation, 5n);
  t.same(
    loaded?.config.eips.map((e) => e.id),
    ['e-new'],
  );
  t.equal((await readFile(join(dir, 'patches.journal'))).length, good, 'the torn tail is cut off');
  const again = await new StateStore(dir).load();
  t.equal(again?.generation, 5n, 'the torn tail was cut and loading again gives the same');
  await store.save({ generation: 5n, appliedAt: new Date(), config: loaded?.config ?? natConfig() });
  t.equal((await readFile(join(dir, 'patches.journal'))).length, 0, 'a snapshot empties the journal');
  t.notOk(store.wantsCompaction, 'and then nothing is left to fold');
});

void t.test(
  'a record taken back is gone; one that cannot be cut makes the next append rewrite the snapshot',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'journal-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const journal = join(dir, 'patches.journal');
    const store = new StateStore(dir);
    const committed = { generation: 2n, appliedAt: new Date(), config: natConfig() };
    await store.save(committed);
    await store.append({ generation: 3n, appliedAt: new Date(), operations: [put('e-kept')] });
    const kept = (await readFile(journal)).length;
    await store.append({ generation: 4n, appliedAt: new Date(), config: natConfig() });
    t.ok(store.wantsCompaction, 'a whole config in the journal asks for a snapshot');
    await store.retract({ ...committed, generation: 3n });
    t.equal((await readFile(journal)).length, kept, 'cut back to where the refused record began');
    t.notOk(store.wantsCompaction, 'the whole config taken back no longer asks for a snapshot');
    await store.append({ generation: 4n, appliedAt: new Date(), operations: [put('e-next')] });
    const loaded = await new StateStore(dir).load();
    t.equal(loaded?.generation, 4n);
    t.same(
      loaded?.config.eips.map((e) => e.id),
      ['e-vm1', 'e-kept', 'e-next'],
    );

    // The journal closed under it: the record cannot be cut, so the standing state is written whole
    // before the next record, and the refused one is never replayed.
    await store.append({ generation: 5n, appliedAt: new Date(), operations: [put('e-refused')] });
    await store.close();
    const standing = { generation: 4n, appliedAt: new Date(), config: loaded?.config ?? natConfig() };
    await t.rejects(store.retract(standing));
    await store.append({ generation: 5n, appliedAt: new Date(), operations: [put('e-after')] });
    const reloaded = await new StateStore(dir).load();
    t.equal(reloaded?.generation, 5n);
    t.same(
      reloaded?.config.eips.map((e) => e.id),
      ['e-vm1', 'e-kept', 'e-next', 'e-after'],
    );
  },
);

void t.test(
  'a record too big to write from the event loop (a whole config) lands in order too',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'journal-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const store = new StateStore(dir);
    const big = natConfig();
    for (let i = 0; i < 3000; i++)
      big.eips.push(create(EipSchema, { id: `e-big-${i}`, vipId: 'v-pf', privateIp: '10.1.0.30' }));
    t.ok(
      encodeRecord({ generation: 1n, appliedAt: new Date(), config: big }).length > 64 * 1024,
      'over 64 KiB',
    );
    await store.append({ generation: 1n, appliedAt: new Date(), config: big });
    await store.append({ generation: 2n, appliedAt: new Date(), operations: [put('e-after')] });
    await store.close();
    const loaded = await new StateStore(dir).load();
    t.equal(loaded?.generation, 2n);
    t.equal(loaded?.config.eips.length, big.eips.length + 1);
    t.equal(loaded?.config.eips.at(-1)?.id, 'e-after', 'the small record follows the big one');
  },
);
