// A newcomer's `make lab`: the lab comes up with the example config, the printed commands work, and
// `make lab-down` leaves no namespace behind. (Runs lab-cli with its own state directory, so a lab a
// person has up is left alone.)
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listNamespaces, run } from './exec.js';
import { ping } from './observe.js';

const LAB_CLI = fileURLToPath(new URL('./lab-cli.js', import.meta.url));

t.test('make lab comes up with the example config; make lab-down removes every namespace', async (t) => {
  const dir = join(await mkdtemp(join(tmpdir(), 'vrouterd-make-lab-')), 'lab');
  const env = { ...process.env, VROUTERD_LAB_DIR: dir };
  const cli = (command: string) =>
    run(process.execPath, [LAB_CLI, command], { env, allowFailure: true, timeoutMs: 120_000 });
  t.teardown(async () => {
    await cli('down');
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  const up = await cli('up');
  t.equal(up.code, 0, up.stderr);
  t.match(
    up.stdout,
    /vrouterd is running in namespace vrlab-[0-9a-f]+-rt with examples\/lab\.yaml \(generation 1\)/,
  );
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { namespaces: string[] };
  const present = new Set(listNamespaces());
  t.ok(
    state.namespaces.length >= 7 && state.namespaces.every((ns) => present.has(ns)),
    'every namespace of the lab exists',
  );

  const status = await run(join(dir, 'vrouterctl'), ['show', 'status'], { allowFailure: true });
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, /^generation 1 applied/);
  const vm1 = state.namespaces.find((ns) => ns.endsWith('-vm1'));
  t.ok(vm1 !== undefined && (await ping(vm1, '10.1.0.1')), 'the printed ping works');
  for (const [command, answer] of [
    [/ip netns exec (\S+-inet) curl (http:\S+)/, '203.0.113.1'],
    [/ip netns exec (\S+-vm1) curl (http:\S+)/, '203.0.113.10'],
  ] as const) {
    const [, ns, url] = command.exec(up.stdout) ?? [];
    const r = await run('ip', ['netns', 'exec', ns ?? '', 'curl', '-sS', '--max-time', '3', url ?? ''], {
      allowFailure: true,
    });
    t.equal(r.stdout, answer, `the printed curl from ${ns ?? 'nowhere'} to ${url ?? 'nothing'}`);
  }

  const down = await cli('down');
  t.equal(down.code, 0, down.stderr);
  t.match(down.stdout, /removed \d+ namespaces/);
  const left = new Set(listNamespaces());
  t.same(
    state.namespaces.filter((ns) => left.has(ns)),
    [],
    'no namespace left behind',
  );
  t.notOk(existsSync(dir), 'the lab state is gone');
});
