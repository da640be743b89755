// The lease table's bookkeeping and the lease file: what is written, what is read back, what is skipped.
import t from 'tap';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseFile, parseLeaseFile, serializeLeases } from '../../daemon/src/services/dhcp/lease-file.js';
import { type Lease, LeaseTable } from '../../daemon/src/services/dhcp/leases.js';
import { ip, networkPlan } from './dhcp-fixtures.js';

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

t.test('a lease replaces the client’s previous one and an expired holder of its address', async (t) => {
  let changes = 0;
  const table = new LeaseTable(() => changes++);
  const net = table.of('net-a');
  net.put(lease({}));
  net.put(lease({ ip: ip('10.1.0.13') }));
  t.equal(net.holder(ip('10.1.0.10')), undefined, 'the old address is free');
  net.put(lease({ key: 'hw:02:00:00:00:00:02', mac: '02:00:00:00:00:02', ip: ip('10.1.0.13') }));
  t.equal(net.get('hw:02:00:00:00:00:01'), undefined, 'displaced');
  t.equal(table.size, 1);
  t.equal(changes, 3);
  net.put(lease({ key: 'hw:02:00:00:00:00:03', ip: ip('10.1.0.14'), offered: true }));
  t.equal(changes, 3, 'an offer is not written');
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

t.test('the file holds bound leases and declines, one a line; reading gives them back', async (t) => {
  const table = new LeaseTable(() => undefined);
  table.of('net-a').put(lease({ hostname: 'web', clientId: '01020000000001', key: 'id:01020000000001' }));
  table.of('net-a').put(lease({ key: 'offer', ip: ip('10.1.0.13'), offered: true }));
  table.of('net-b').put(lease({ networkId: 'net-b', hostId: 'vm3-nic', ip: ip('10.2.0.13') }));
  table.of('net-a').decline(ip('10.1.0.14'), NOW + 60_000);
  const text = serializeLeases({ leases: () => table.leases(), declined: () => table.declined() });
  t.equal(text.split('\n').filter((l) => l.startsWith('{"network"')).length, 3);
  const read = parseLeaseFile(text);
  t.same(read.leases, [
    lease({ hostname: 'web', clientId: '01020000000001', key: 'id:01020000000001' }),
    lease({ networkId: 'net-b', hostId: 'vm3-nic', ip: ip('10.2.0.13') }),
  ]);
  t.same(read.declined, [{ networkId: 'net-a', ip: ip('10.1.0.14'), until: NOW + 60_000 }]);
  t.equal(read.skipped, 0);
});

t.test('records that are not understood are skipped and counted; a broken file throws', async (t) => {
  const text = JSON.stringify({
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
  });
  const read = parseLeaseFile(text);
  t.equal(read.leases.length, 1);
  t.equal(read.skipped, 4);
  t.throws(() => parseLeaseFile('{"version":2,"leases":[]}'));
  t.throws(() => parseLeaseFile('{"version":1,"leases":[{'));
});

t.test('the file is written once for a burst of changes, and an unreadable one is moved aside', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dhcp-leases-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const table = new LeaseTable(() => file.schedule());
  const file: LeaseFile = new LeaseFile(
    dir,
    { leases: () => table.leases(), declined: () => table.declined() },
    quiet,
    50,
  );
  for (let i = 0; i < 1000; i++) table.of('net-a').put(lease({ key: `k${i}`, ip: ip('10.1.0.10') + i }));
  // The changes were synchronous; the one timer they armed writes them all.
  while (file.writes === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(file.writes, 1);
  t.equal((await file.load()).leases.length, 1000);
  table.of('net-a').remove('k1');
  await file.flush();
  t.equal(file.writes, 2, 'flush writes what is pending');
  t.equal((await file.load()).leases.length, 999);

  await writeFile(file.path, 'not json');
  t.same(await file.load(), { leases: [], declined: [], skipped: 0 });
  t.match(await readdir(dir), [/^dhcp-leases\.json\.unreadable-\d+$/]);
  t.notOk((await readdir(dir)).includes('dhcp-leases.json'));
  t.ok((await readFile(join(dir, (await readdir(dir))[0] ?? ''), 'utf8')).startsWith('not json'));
});
