// Foundation, applying: an Apply makes the router's NICs hold their addresses; bad input changes
// nothing; a failing step rolls back; reads do not wait behind writes; Patch and vrouterctl.
import t from 'tap';
import { create } from '@bufbuild/protobuf';
import { type ServiceError, status } from '@grpc/grpc-js';
import { HaSchema } from '../../daemon/src/gen/vrouter/v1/ha_pb.js';
import { NicRole, NicSchema } from '../../daemon/src/gen/vrouter/v1/interfaces_pb.js';
import { HostSchema, NetworkSchema } from '../../daemon/src/gen/vrouter/v1/networks_pb.js';
import { ObjectKind, StepOutcome } from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { readErrorDetails } from '../../daemon/src/api/status-details.js';
import { inNamespace, ip, run } from './exec.js';
import { VROUTERCTL } from './daemon.js';
import { labWithDaemon } from './fixture.js';
import { EXAMPLE_CONFIG, labConfig } from './lab-config.js';
import { EventLog, addressesOf, kernelSnapshot, ping } from './observe.js';

const rejection = async (p: Promise<unknown>) => {
  const e = (await p.then(
    () => undefined,
    (err: unknown) => err,
  )) as ServiceError | undefined;
  if (e === undefined) throw new Error('expected the call to fail');
  return { code: e.code, message: e.details, ...readErrorDetails(e.metadata) };
};

t.test('foundation: apply, refuse, roll back, patch', async (t) => {
  const { topology, daemon } = await labWithDaemon(t, { daemon: { nicWaitSeconds: 2 } });
  const rt = topology.router;
  const client = daemon.client;
  const events = new EventLog(client);
  t.teardown(() => events.close());

  await t.test('an Apply with two private networks makes the NICs hold their addresses', async (t) => {
    const response = await client.apply({ config: labConfig(), expectedGeneration: 0n });
    t.equal(response.generation, 1n);
    const outcomes = new Map(response.results.map((r) => [r.step, r.outcome]));
    t.equal(outcomes.get('interfaces'), StepOutcome.APPLIED);
    t.equal(outcomes.get('nftables'), StepOutcome.APPLIED);
    t.same(
      response.results.filter(
        (r) => r.outcome !== StepOutcome.APPLIED && r.outcome !== StepOutcome.UNCHANGED,
      ),
      [],
      'every step holds its part',
    );
    t.same(
      await addressesOf(rt, 'ens5'),
      ['203.0.113.10/32', '203.0.113.2/24'],
      'its address and the EIP VIP',
    );
    t.same(await addressesOf(rt, 'ens3'), ['10.1.0.1/24']);
    t.same(await addressesOf(rt, 'ens4'), ['10.2.0.1/24']);
    const status = await client.getStatus();
    t.equal(status.generation, 1n);
    t.same(
      status.nics.map((n) => [n.id, n.name, n.up, n.mtu]),
      [
        ['pub0', 'ens5', true, 1500],
        ['priv-a', 'ens3', true, 1500],
        ['priv-b', 'ens4', true, 1450],
        ['mgmt0', 'ens6', true, 1500],
      ],
    );
    const [vm1, , vm3] = topology.vms;
    if (!vm1 || !vm3) throw new Error('topology has no VMs');
    t.ok(await ping(vm1.ns, '10.1.0.1'), 'a VM reaches its gateway');
    t.ok(await ping(vm3.ns, vm1.ip), 'the router forwards between its private networks');
    t.ok(
      (await inNamespace(rt, 'nft', ['list', 'table', 'inet', 'vrouter'])).stdout.includes('hook forward'),
    );
  });

  await t.test('an invalid config is refused with field paths and changes nothing', async (t) => {
    const before = await kernelSnapshot(rt);
    const bad = labConfig();
    bad.networks[1]?.hosts.push(create(HostSchema, { id: 'h9', mac: '02:00:00:00:00:09', ip: '10.9.0.5' }));
    if (bad.networks[0]) bad.networks[0].cidr = '10.2.0.0/16';
    const error = await rejection(client.apply({ config: bad }));
    t.equal(error.code, status.INVALID_ARGUMENT);
    // Every problem is named (other services add their own findings about the moved network).
    const found = error.violations.map((v) => `${v.field}: ${v.description}`);
    for (const expected of [
      'networks[0].gateway: 10.1.0.1 is not a usable address of 10.2.0.0/16',
      'networks[0].hosts[0].ip: 10.1.0.11 is outside 10.2.0.0/16',
      'networks[0].hosts[1].ip: 10.1.0.12 is outside 10.2.0.0/16',
      'networks[1].cidr: 10.2.0.0/24 overlaps 10.2.0.0/16 of networks[0]',
      'networks[1].hosts[1].ip: 10.9.0.5 is outside 10.2.0.0/24',
      'eips[0].private_ip: 10.1.0.11 is not inside any private network',
    ])
      t.ok(found.includes(expected), expected);
    t.equal(await kernelSnapshot(rt), before, 'addresses, links and nftables are byte-identical');
    t.equal((await client.getStatus()).generation, 1n);
  });

  await t.test('a section that is not built yet is refused with UNIMPLEMENTED naming it', async (t) => {
    const config = labConfig();
    config.ha = create(HaSchema, { enabled: true, virtualRouterId: 7 });
    const error = await rejection(client.apply({ config }));
    t.equal(error.code, status.UNIMPLEMENTED);
    t.match(error.message, /^ha: high availability is not implemented/);
  });

  await t.test('a stale expected generation is refused', async (t) => {
    const error = await rejection(client.apply({ config: labConfig(), expectedGeneration: 0n }));
    t.equal(error.code, status.FAILED_PRECONDITION);
    t.equal(error.reason, 'STALE_GENERATION');
  });

  await t.test('a step that fails in the kernel rolls back to the last good generation', async (t) => {
    // A macvlan cannot take an MTU above its parent's: a real kernel refusal, mid-step.
    await ip(
      '-n',
      rt,
      'link',
      'add',
      'mv0',
      'link',
      'ens5',
      'address',
      '52:54:00:00:00:07',
      'type',
      'macvlan',
    );
    await ip('-n', rt, 'link', 'set', 'mv0', 'up');
    const before = await kernelSnapshot(rt);
    const config = labConfig();
    config.nics[0]?.addresses.push('203.0.113.3/24');
    config.nics.push(
      create(NicSchema, { id: 'priv-c', mac: '52:54:00:00:00:07', role: NicRole.PRIVATE, mtu: 9000 }),
    );
    config.networks.push(
      create(NetworkSchema, { id: 'net-c', nicId: 'priv-c', cidr: '10.3.0.0/24', gateway: '10.3.0.1' }),
    );
    const error = await rejection(client.apply({ config }));
    t.equal(error.code, status.ABORTED);
    t.match(error.message, /^interfaces failed: mv0: mtu 1500 -> 9000: .*; rolled back to generation 1$/);
    t.same(error.info, { step: 'interfaces', failed_generation: '2', rolled_back_to: '1' });
    t.same(
      await addressesOf(rt, 'ens5'),
      ['203.0.113.10/32', '203.0.113.2/24'],
      'the address added before the failure is gone again',
    );
    t.equal(await kernelSnapshot(rt), before, 'addresses, links and nftables as they were');
    const status_ = await client.getStatus();
    t.equal(status_.generation, 1n);
    t.match(status_.lastError, /interfaces failed/);
    const failed = await events.next((e) => e.event.case === 'applyFailed');
    t.match(failed.event.value, { failedGeneration: 2n, step: 'interfaces' });
    await ip('-n', rt, 'link', 'del', 'mv0');
  });

  await t.test('reads do not wait behind a write', async (t) => {
    const config = labConfig();
    config.nics.push(create(NicSchema, { id: 'late', mac: '52:54:00:00:00:42', role: NicRole.PRIVATE }));
    const order: string[] = [];
    const write = client.apply({ config }).then(
      () => order.push('apply'),
      () => order.push('apply refused'),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.getStatus().then(() => order.push('status'));
    await client.getConfig().then(() => order.push('config'));
    await write;
    t.same(
      order,
      ['status', 'config', 'apply refused'],
      'the write waits for a NIC that never comes; reads answer meanwhile',
    );
  });

  await t.test('Patch adds and deletes one host; its errors point at the operation', async (t) => {
    const vm4 = create(HostSchema, {
      id: 'vm4-nic',
      mac: '52:54:00:bb:00:14',
      ip: '10.2.0.14',
      hostname: 'vm4',
    });
    const added = await client.patch({
      expectedGeneration: 1n,
      operations: [{ operation: { case: 'putHost', value: { networkId: 'net-b', host: vm4 } } }],
    });
    t.equal(added.generation, 2n);
    t.same(
      (await client.getConfig()).config?.networks[1]?.hosts.map((h) => h.id),
      ['vm3-nic', 'vm4-nic'],
    );
    const bad = await rejection(
      client.patch({
        operations: [
          { operation: { case: 'putHost', value: { networkId: 'net-b', host: { ...vm4, ip: '10.9.9.9' } } } },
        ],
      }),
    );
    t.same(
      bad.violations.map((v) => [v.field, v.description]),
      [['operations[0].put_host.host.ip', '10.9.9.9 is outside 10.2.0.0/24']],
    );
    const removed = await client.patch({
      operations: [{ operation: { case: 'delete', value: { kind: ObjectKind.HOST, id: 'vm4-nic' } } }],
    });
    t.equal(removed.generation, 3n);
  });

  await t.test('a NIC renamed or plugged in while the daemon runs is followed', async (t) => {
    const nicName = async (id: string) => (await client.getStatus()).nics.find((n) => n.id === id)?.name;
    const inboundMap = async () =>
      (await inNamespace(rt, 'nft', ['list', 'map', 'inet', 'vrouter', 'fw-in'])).stdout;
    const rename = async (from: string, to: string) => {
      await ip('-n', rt, 'link', 'set', from, 'down');
      await ip('-n', rt, 'link', 'set', from, 'name', to);
      await ip('-n', rt, 'link', 'set', to, 'up');
    };
    const followed = (count: number) =>
      events.next(
        () =>
          events.events.filter((e) => e.event.case === 'generationApplied' && e.event.value.cause === 'links')
            .length >= count,
      );
    const generation = (await client.getStatus()).generation;

    // Renamed without a write (udev renames a hot-plugged NIC): the daemon renders again by itself.
    await rename('ens4', 'lan-b');
    t.teardown(() => rename('lan-b', 'ens4').catch(() => undefined));
    await followed(1);
    t.equal(await nicName('priv-b'), 'lan-b');
    t.match(await inboundMap(), /"lan-b" : jump/, 'the firewall dispatches by the new name');
    t.equal((await client.getStatus()).generation, generation, 'the same generation');
    await rename('lan-b', 'ens4');
    await followed(2);
    t.notMatch(await inboundMap(), /lan-b/);
    t.match(await inboundMap(), /"ens4" : jump/);

    // The link of a NIC appears after the manager's call (hot-plug): the call waits for it.
    const hotplugged = create(NicSchema, { id: 'priv-c', mac: '52:54:00:00:00:09', role: NicRole.PRIVATE });
    const plugged = client.patch({ operations: [{ operation: { case: 'putNic', value: hotplugged } }] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await ip(
      '-n',
      rt,
      'link',
      'add',
      'ens9',
      'address',
      hotplugged.mac,
      'type',
      'veth',
      'peer',
      'name',
      'ens9p',
    );
    t.teardown(() => ip('-n', rt, 'link', 'del', 'ens9').catch(() => undefined));
    await plugged;
    t.equal(await nicName('priv-c'), 'ens9');
    await client.patch({
      operations: [{ operation: { case: 'delete', value: { kind: ObjectKind.NIC, id: 'priv-c' } } }],
    });
  });

  await t.test('vrouterctl: apply a file, show status and config, print field violations', async (t) => {
    const ctl = (...args: string[]) =>
      run(process.execPath, [VROUTERCTL, '--socket', daemon.socket, ...args], { allowFailure: true });
    const applied = await ctl('apply', '-f', EXAMPLE_CONFIG);
    t.equal(applied.code, 0, applied.stderr);
    t.match(applied.stdout, /^generation \d+\nSTEP +OUTCOME/);
    const shown = await ctl('show', 'status');
    t.match(shown.stdout, /priv-b +private +52:54:00:00:00:04 +ens4 +up +1450 +10\.2\.0\.1\/24/);
    const json = JSON.parse((await ctl('show', 'config', '--json')).stdout) as {
      config: { nics: unknown[] };
    };
    t.equal(json.config.nics.length, 4);
    const bad = await ctl('apply', '-f', '-');
    t.equal(bad.code, 2, 'an empty document is a usage error');
    const badGeneration = await ctl('apply', '-f', EXAMPLE_CONFIG, '--expected-generation', 'abc');
    t.equal(badGeneration.code, 2, 'a generation that is no number is a usage error');
    t.match(badGeneration.stderr, /^vrouterctl: --expected-generation abc: expected a generation number\n/);
    const huge = await ctl('apply', '-f', EXAMPLE_CONFIG, '--expected-generation', '18446744073709551616');
    t.equal(huge.code, 2, 'a generation beyond uint64 is a usage error');
    const portless = await ctl(
      'explain',
      ...['--nic', 'pub0', '--direction', 'in', '--protocol', 'tcp', '--source', '203.0.113.1'],
      ...['--destination', '10.1.0.11', '--dport', '80'],
    );
    t.equal(portless.code, 2, 'explain of tcp without --sport is a usage error');
    t.match(portless.stderr, /^vrouterctl: explain --protocol tcp needs --sport and --dport\n/);
    const icmpPorts = await ctl(
      'explain',
      ...['--nic', 'pub0', '--direction', 'in', '--protocol', 'icmp', '--source', '203.0.113.1'],
      ...['--destination', '10.1.0.11', '--dport', '80'],
    );
    t.equal(icmpPorts.code, 2, 'ports with icmp are a usage error, not silently ignored');
    const refused = await run(process.execPath, [VROUTERCTL, '--socket', daemon.socket, 'patch', '-f', '-'], {
      allowFailure: true,
      input: JSON.stringify({
        operations: [
          { putHost: { networkId: 'net-b', host: { id: 'x', mac: '02:00:00:00:00:01', ip: '10.9.9.9' } } },
        ],
      }),
    });
    t.equal(refused.code, 1);
    t.match(
      refused.stderr,
      /^vrouterctl: INVALID_ARGUMENT: operations\[0\]\.put_host\.host\.ip: 10\.9\.9\.9 is outside 10\.2\.0\.0\/24\n {2}operations\[0\]\.put_host\.host\.ip: 10\.9\.9\.9 is outside 10\.2\.0\.0\/24\n$/,
    );
  });
});
