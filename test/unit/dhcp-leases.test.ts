// The lease table's bookkeeping and the lease store: what each change journals, what is read back
// (snapshot then journal, whatever a crash left), what is skipped, when the journal is compacted.
import t from 'tap';
import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseFile, serializeLeases } from '../../daemon/src/services/dhcp/lease-file.js';
import { LeaseState, journalLine } from '../../daemon/src/services/dhcp/lease-records.js';
import { type Lease, type LeaseChange, LeaseTable } from '../../daemon/src/services/dhcp/leases.js';
import { create } from '@bufbuild/protobuf';
import { AddressPoolSchema, type Host, HostSchema } from '../../daemon/src/gen/vrouter/v1/networks_pb.js';
import { dhcpConfig, ip, networkPlan } from './dhcp-fixtures.js';

const NOW = 1_700_000_000_000;
const lease = (fields: Partial<Lease>): Lease => ({
  networkId: 'net-a',
  key: 'hw:02:00:00:00:00:01',
  mac: '02:00:00:00:00:01',
  ip: ip('10.1.0.10'),
  clientId: '',
  hostname: '',
  hostId: '',
  expiresAt: NOW + 3600_000,
  offered: false,
  ...fields,
});
const quiet = { error: () => undefined };
/** The i-th pool client, keyed by its MAC as a lease read back from disk is. */
const client = (i: number, fields: Partial<Lease> = {}): Lease => {
  const mac = `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
  return lease({ key: `hw:${mac}`, mac, ip: ip('10.1.0.10') + i, ...fields });
};

t.test('each change says what to persist: bound leases, their end, never offers', async (t) => {
  const changes: LeaseChange[] = [];
  const table = new LeaseTable((c) => changes.push(c));
  const net = table.of('net-a');
  net.put(lease({}));
  net.put(lease({ ip: ip('10.1.0.13') }));
  t.equal(net.holder(ip('10.1.0.10')), undefined, 'the old address is free');
  net.put(lease({ key: 'hw:02:00:00:00:00:02', mac: '02:00:00:00:00:02', ip: ip('10.1.0.13') }));
  t.equal(net.get('hw:02:00:00:00:00:01'), undefined, 'displaced');
  net.put(lease({ key: 'hw:02:00:00:00:00:03', ip: ip('10.1.0.14'), offered: true }));
  net.put(lease({ key: 'hw:02:00:00:00:00:02', ip: ip('10.1.0.13'), offered: true }));
  t.same(
    changes.map((c) =>
      c.kind === 'put' ? `put ${c.lease.key} ${c.lease.ip & 255}` : `${c.kind} ${'key' in c ? c.key : ''}`,
    ),
    [
      'put hw:02:00:00:00:00:01 10',
      'put hw:02:00:00:00:00:01 13',
      'remove hw:02:00:00:00:00:01',
      'put hw:02:00:00:00:00:02 13',
      'remove hw:02:00:00:00:00:02',
    ],
    'an offer replacing a bound lease ends it',
  );
  t.equal(table.size, 2);
});

t.test('allocation walks the pools once, then reports exhaustion until an address comes free', async (t) => {
  const plan = networkPlan();
  const net = new LeaseTable(() => undefined).of('net-a');
  const got = ['a', 'b', 'c'].map((k) => {
    const address = net.allocate(plan, k, NOW);
    if (address !== undefined) net.put(lease({ key: k, ip: address }));
    return address;
  });
  t.same(got, [ip('10.1.0.10'), ip('10.1.0.13'), ip('10.1.0.14')]);
  t.equal(net.allocate(plan, 'd', NOW), undefined);
  net.remove('b');
  t.equal(net.allocate(plan, 'd', NOW), ip('10.1.0.13'));
});

t.test('a new plan ends the leases it no longer honours, and only those', async (t) => {
  const changes: LeaseChange[] = [];
  const table = new LeaseTable((c) => changes.push(c));
  const net = table.of('net-a');
  const vm1 = lease({
    key: 'hw:52:54:00:aa:00:11',
    mac: '52:54:00:aa:00:11',
    ip: ip('10.1.0.11'),
    hostId: 'vm1-nic',
  });
  const vm2 = lease({
    key: 'hw:52:54:00:aa:00:12',
    mac: '52:54:00:aa:00:12',
    ip: ip('10.1.0.12'),
    hostId: 'vm2-nic',
  });
  const pool = [10, 13, 14].map((last, i) => client(i + 1, { ip: ip(`10.1.0.${last}`) }));
  for (const l of [vm1, vm2, ...pool]) net.put(l);
  const before = changes.length;

  table.planChanged({ networks: [networkPlan()] });
  t.equal(net.size, 5, 'the same settings honour every lease');

  /** vm2 no longer listed, the pool down to .10-.13, and `listed` hosts besides. */
  const narrowed = (...listed: Host[]) =>
    networkPlan(
      dhcpConfig((c) => {
        const a = c.networks[0];
        if (a === undefined) throw new Error('network A');
        a.hosts = [...a.hosts.filter((h) => h.id !== 'vm2-nic'), ...listed];
        const dhcp = a.dhcp;
        if (dhcp !== undefined)
          dhcp.pools = [create(AddressPoolSchema, { start: '10.1.0.10', end: '10.1.0.13' })];
      }),
    );
  const edited = narrowed();
  table.planChanged({ networks: [edited] });
  t.same(
    [...net.leases()].map((l) => l.ip & 255).sort((a, b) => a - b),
    [10, 11, 13],
    'the deleted host’s lease and the one outside the smaller pool are gone',
  );
  t.same(
    changes.slice(before).map((c) => (c.kind === 'remove' ? c.key : c.kind)),
    [vm2.key, pool[2]?.key],
    'and the lease file hears of it',
  );
  table.planChanged({ networks: [] });
  t.equal(net.size, 3, 'a network no longer served keeps its leases');

  const poolClient = pool[0];
  if (poolClient === undefined) throw new Error('no pool client');
  const listed = narrowed(
    create(HostSchema, { id: 'now-listed', mac: poolClient.mac, ip: '10.1.0.60', hostname: 'listed' }),
  );
  table.planChanged({ networks: [listed] });
  t.same(
    [...net.leases()].map((l) => l.ip & 255).sort((a, b) => a - b),
    [11, 13],
    'a pool client now listed as a host (elsewhere): its pool lease ends',
  );
});

t.test('sweep ends expired leases, offers and declines', async (t) => {
  const table = new LeaseTable(() => undefined);
  const net = table.of('net-a');
  net.put(lease({ expiresAt: NOW - 1 }));
  net.put(lease({ key: 'x', ip: ip('10.1.0.13'), expiresAt: NOW + 1 }));
  net.decline(ip('10.1.0.14'), NOW - 1);
  t.equal(table.sweep(NOW), 1);
  t.same(
    [...table.leases()].map((l) => l.key),
    ['x'],
  );
  t.same([...table.declined()], []);
});

t.test('a snapshot holds bound leases and declines, one a line; reading gives them back', async (t) => {
  const table = new LeaseTable(() => undefined);
  table.of('net-a').put(lease({ hostname: 'web', clientId: '01020000000001', key: 'id:01020000000001' }));
  table.of('net-a').put(lease({ key: 'offer', ip: ip('10.1.0.13'), offered: true }));
  table.of('net-b').put(lease({ networkId: 'net-b', hostId: 'vm3-nic', ip: ip('10.2.0.13') }));
  table.of('net-a').decline(ip('10.1.0.14'), NOW + 60_000);
  const text = serializeLeases({ leases: () => table.leases(), declined: () => table.declined() });
  t.equal(text.split('\n').filter((l) => l.startsWith('{"network"')).length, 3);
  const state = new LeaseState();
  state.readSnapshot(text);
  const read = state.result();
  t.same(read.leases, [
    lease({ hostname: 'web', clientId: '01020000000001', key: 'id:01020000000001' }),
    lease({ networkId: 'net-b', hostId: 'vm3-nic', ip: ip('10.2.0.13') }),
  ]);
  t.same(read.declined, [{ networkId: 'net-a', ip: ip('10.1.0.14'), until: NOW + 60_000 }]);
  t.equal(read.skipped, 0);
});

t.test('records that are not understood are skipped and counted; a broken snapshot throws', async (t) => {
  const state = new LeaseState();
  state.readSnapshot(
    JSON.stringify({
      version: 1,
      leases: [
        {
          network: 'n',
          ip: '10.1.0.9',
          mac: '02:00:00:00:00:01',
          clientId: '',
          hostname: '',
          hostId: '',
          expires: 5,
        },
        {
          network: 'n',
          ip: '10.1.0.999',
          mac: '02:00:00:00:00:01',
          clientId: '',
          hostname: '',
          hostId: '',
          expires: 5,
        },
        { network: 'n', ip: '10.1.0.9', mac: 'zz', clientId: '', hostname: '', hostId: '', expires: 5 },
        'junk',
      ],
      declined: [{ network: 'n', ip: 'x', until: 1 }],
    }),
  );
  t.equal(state.readJournal('{"put":{"network":"n"}}\n{"remove":{}}\n{"what":1}\nnot json\n'), 4);
  const read = state.result();
  t.equal(read.leases.length, 1);
  t.equal(read.skipped, 8);
  t.throws(() => new LeaseState().readSnapshot('{"version":2,"leases":[]}'));
  t.throws(() => new LeaseState().readSnapshot('{"version":1,"leases":[{'));
});

/** A lease file over a table, the way the server wires them. */
function store(dir: string, delayMs = 20) {
  const table: LeaseTable = new LeaseTable((c) => file.record(c));
  const file: LeaseFile = new LeaseFile(
    dir,
    {
      leases: () => table.leases(),
      declined: () => table.declined(),
      get size() {
        return table.size;
      },
    },
    quiet,
    delayMs,
  );
  return { table, file };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

t.test('a burst of changes is one journal append; a fresh reader replays it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dhcp-leases-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { table, file } = store(dir);
  for (let i = 0; i < 1000; i++) table.of('net-a').put(client(i));
  // The changes were synchronous; the one timer they armed writes them all.
  await until(() => file.writes > 0);
  t.equal(file.writes, 1);
  t.same(await readdir(dir), ['dhcp-leases.journal.1']);
  t.equal((await store(dir).file.load()).leases.length, 1000);
  table.of('net-a').remove(client(1).key);
  table.of('net-a').decline(ip('10.1.0.11'), NOW + 1000);
  await file.flush();
  t.equal(file.writes, 2, 'flush writes what is pending');
  const read = await store(dir).file.load();
  t.equal(read.leases.length, 999);
  t.same(read.declined, [{ networkId: 'net-a', ip: ip('10.1.0.11'), until: NOW + 1000 }]);
});

t.test('a long journal is compacted into a snapshot and starts again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dhcp-leases-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { table, file } = store(dir);
  for (let round = 0; round < 12; round++)
    for (let i = 0; i < 1000; i++) table.of('net-a').put(client(i, { hostname: `r${round}` }));
  await until(() => file.compactions > 0);
  await file.flush();
  t.same(await readdir(dir), ['dhcp-leases.json'], 'the old journal is gone');
  const read = await store(dir).file.load();
  t.equal(read.leases.length, 1000);
  t.ok(
    read.leases.every((l) => l.hostname === 'r11'),
    'the latest of each',
  );
  table.of('net-a').remove(client(0).key);
  await file.flush();
  t.same(await readdir(dir), ['dhcp-leases.journal.2', 'dhcp-leases.json']);
  t.equal((await store(dir).file.load()).leases.length, 999);
});

t.test('whatever a crash left is read back to the latest state', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dhcp-leases-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const put = (hostname: string) => journalLine({ kind: 'put', lease: lease({ hostname }) });
  // A compaction that wrote its snapshot but had not yet removed the older segment.
  await writeFile(
    join(dir, 'dhcp-leases.json'),
    serializeLeases({ leases: () => [lease({ hostname: 'b' })], declined: () => [] }),
  );
  await writeFile(join(dir, 'dhcp-leases.journal.1'), put('a') + put('b'));
  await writeFile(
    join(dir, 'dhcp-leases.journal.2'),
    put('c') + journalLine({ kind: 'remove', networkId: 'net-a', key: 'x' }),
  );
  // An append cut short.
  await appendFile(join(dir, 'dhcp-leases.journal.2'), '{"put":{"network":"net-a","ip":"10.1');
  const { table, file } = store(dir);
  const read = await file.load();
  t.same(
    read.leases.map((l) => l.hostname),
    ['c'],
  );
  t.equal(read.skipped, 1);
  table.of('net-a').put(lease({ hostname: 'd' }));
  await file.flush();
  t.ok(
    (await readdir(dir)).includes('dhcp-leases.journal.3'),
    'new changes go to a new segment, not after a cut line',
  );
  t.same(
    (await store(dir).file.load()).leases.map((l) => l.hostname),
    ['d'],
  );
});

t.test('an unreadable snapshot is moved aside; the journal still counts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dhcp-leases-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'dhcp-leases.json'), 'not json');
  await writeFile(join(dir, 'dhcp-leases.journal.3'), journalLine({ kind: 'put', lease: lease({}) }));
  const { file } = store(dir);
  t.equal((await file.load()).leases.length, 1);
  t.match((await readdir(dir)).sort(), ['dhcp-leases.journal.3', /^dhcp-leases\.json\.unreadable-\d+$/]);
});
