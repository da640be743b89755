// Foundation, surviving: kill -9 and a restart with no manager call restore the config with its
// generation; changes made behind the daemon's back are found, repaired and reported on Watch.
import t from 'tap';
import { spawn } from 'node:child_process';
import { inNamespace, ip } from './exec.js';
import { VROUTERCTL } from './daemon.js';
import { labWithDaemon } from './fixture.js';
import { labConfig } from './lab-config.js';
import { EventLog, addressesOf, ping } from './observe.js';

t.test('foundation: restore and drift', async (t) => {
  const { topology, daemon } = await labWithDaemon(t, { daemon: { driftIntervalSeconds: 1 } });
  const rt = topology.router;
  await daemon.client.apply({ config: labConfig() });

  await t.test(
    'kill -9, then start again with no manager call: restored, generation unchanged',
    async (t) => {
      await daemon.kill();
      // While it is down, someone removes an address and the daemon's tables.
      await ip('-n', rt, 'addr', 'del', '10.1.0.1/24', 'dev', 'ens3');
      await inNamespace(rt, 'nft', ['delete', 'table', 'inet', 'vrouter']);
      await daemon.launch();
      const status = await daemon.client.getStatus();
      t.equal(status.generation, 1n, 'the same generation, not a new one');
      t.equal(status.lastError, '');
      t.same(await addressesOf(rt, 'ens3'), ['10.1.0.1/24'], 'the address is back before the API answered');
      t.equal((await inNamespace(rt, 'nft', ['list', 'table', 'inet', 'vrouter'])).code, 0);
      const vm1 = topology.vms[0];
      if (vm1 !== undefined) t.ok(await ping(vm1.ns, '10.1.0.1'));
      t.equal((await daemon.client.getConfig()).config?.networks.length, 2);
    },
  );

  await t.test(
    'nft flush ruleset and ip addr del behind its back: repaired on demand, reported on Watch',
    async (t) => {
      const events = new EventLog(daemon.client);
      t.teardown(() => events.close());
      await inNamespace(rt, 'nft', ['flush', 'ruleset']);
      await ip('-n', rt, 'addr', 'del', '203.0.113.2/24', 'dev', 'ens5');
      await ip('-n', rt, 'link', 'set', 'ens4', 'mtu', '1500');
      const { repaired } = await daemon.client.checkDrift();
      const byStep = Object.fromEntries(repaired.map((r) => [r.step, r.findings]));
      t.same(byStep['interfaces'], ['ens5: address 203.0.113.2/24 missing, added', 'ens4: mtu 1500 -> 1450']);
      t.same(byStep['nftables'], ['table inet vrouter is missing', 'table ip vrouter_nat is missing']);
      t.same(await addressesOf(rt, 'ens5'), ['203.0.113.10/32', '203.0.113.2/24']);
      t.equal((await inNamespace(rt, 'nft', ['list', 'table', 'ip', 'vrouter_nat'])).code, 0);
      const event = await events.next(
        (e) => e.event.case === 'driftRepaired' && e.event.value.step === 'nftables',
      );
      t.equal(event.generation, 1n);
      t.same((await daemon.client.checkDrift()).repaired, [], 'nothing left to repair');
    },
  );

  await t.test('the periodic check repairs without being asked', async (t) => {
    const events = new EventLog(daemon.client);
    t.teardown(() => events.close());
    await ip('-n', rt, 'addr', 'add', '10.1.0.99/24', 'dev', 'ens3');
    await inNamespace(rt, 'nft', ['add', 'rule', 'inet', 'vrouter', 'forward', 'drop']);
    const event = await events.next(
      (e) => e.event.case === 'driftRepaired' && e.event.value.step === 'nftables',
    );
    t.match(event.event.value, {
      step: 'nftables',
      findings: ['table inet vrouter: chains, rules or sets differ'],
    });
    await events.next((e) => e.event.case === 'driftRepaired' && e.event.value.step === 'interfaces');
    t.same(await addressesOf(rt, 'ens3'), ['10.1.0.1/24'], 'an address the config does not list is removed');
    t.notMatch(
      (await inNamespace(rt, 'nft', ['list', 'chain', 'inet', 'vrouter', 'forward'])).stdout,
      /drop/,
    );
    const status = await daemon.client.getStatus();
    t.ok((status.drift?.repairs ?? 0n) >= 4n);
  });

  await t.test('vrouterctl watch prints the current generation, then events as they happen', async (t) => {
    const watcher = spawn(process.execPath, [VROUTERCTL, '--socket', daemon.socket, 'watch']);
    t.teardown(() => watcher.kill());
    let output = '';
    watcher.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const waitFor = async (pattern: RegExp) => {
      for (let i = 0; i < 200 && !pattern.test(output); i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      return output;
    };
    t.match(await waitFor(/generation 1 applied \(current\)/), /generation 1 applied \(current\)/);
    await ip('-n', rt, 'addr', 'del', '10.2.0.1/24', 'dev', 'ens4');
    await daemon.client.checkDrift();
    t.match(
      await waitFor(/drift repaired/),
      /generation 1 drift repaired by interfaces: ens4: address 10\.2\.0\.1\/24 missing, added/,
    );
  });
});
