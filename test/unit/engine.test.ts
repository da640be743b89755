// The engine's orchestration with recording steps standing in for the drivers: the order of
// apply and rollback, generations, the barrier, persistence. (The real steps are proven in the lab.)
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, type EngineOptions } from '../../daemon/src/reconcile/engine.js';
import { WriteError } from '../../daemon/src/reconcile/errors.js';
import type { Rendered } from '../../daemon/src/reconcile/rendered.js';
import type { ApplyStep, StepChange } from '../../daemon/src/reconcile/step.js';
import { StateStore } from '../../daemon/src/store/state-store.js';
import { StepOutcome, type WatchResponse } from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { labConfig } from '../lab/lab-config.js';

const links = new Map([
  ['52:54:00:00:00:05', { index: 5, name: 'ens5' }],
  ['52:54:00:00:00:03', { index: 3, name: 'ens3' }],
  ['52:54:00:00:00:04', { index: 4, name: 'ens4' }],
  ['52:54:00:00:00:06', { index: 6, name: 'ens6' }],
]);
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

class RecordingStep implements ApplyStep {
  failNext = false;
  driftFindings: string[] = [];
  readDrift?: (desired: Rendered) => Promise<unknown>;
  /** When set, apply() waits for it: a write caught in the middle. */
  applyGate?: Promise<void>;
  /** What the last drift check passed to drift(): a reading taken ahead, or undefined. */
  lastReading: unknown = 'no check yet';
  constructor(
    readonly name: string,
    private readonly journal: string[],
  ) {}
  async apply(desired: Rendered): Promise<StepChange> {
    this.journal.push(`${this.name}.apply(${desired.interfaces.links.length})`);
    await this.applyGate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('kernel said no');
    }
    return { changed: true, summary: 'done' };
  }
  async rollback(previous: Rendered): Promise<StepChange> {
    this.journal.push(`${this.name}.rollback(${previous.interfaces.links.length})`);
    return { changed: true, summary: '' };
  }
  async drift(_desired: Rendered, reading?: unknown): Promise<string[]> {
    this.lastReading = reading;
    return this.driftFindings;
  }
  async repair(): Promise<StepChange> {
    this.journal.push(`${this.name}.repair`);
    return { changed: true, summary: '' };
  }
}

async function setup(t: Test, facts: EngineOptions['facts'] = async () => ({ links })) {
  const dir = await mkdtemp(join(tmpdir(), 'engine-test-'));
  const engines: Engine[] = [];
  // A snapshot is written off the caller's path: let it finish before the directory goes.
  t.teardown(async () => {
    await Promise.all(engines.map((e) => e.idle()));
    await rm(dir, { recursive: true, force: true });
  });
  const journal: string[] = [];
  const steps = [new RecordingStep('first', journal), new RecordingStep('second', journal)];
  const store = new StateStore(dir);
  const events: WatchResponse[] = [];
  const make = () => {
    const engine = new Engine({ steps, store, facts, nicWaitMs: 0, log: quiet });
    engine.events.on('event', (e) => events.push(e));
    engines.push(engine);
    return engine;
  };
  return { dir, journal, steps, engine: make(), make, events };
}

t.test('an Apply runs every step, bumps the generation and persists before answering', async (t) => {
  const { engine, journal, dir, events } = await setup(t);
  const result = await engine.apply(labConfig(), 0n, false);
  t.equal(result.generation, 1n);
  t.same(
    result.results.map((r) => [r.step, r.outcome]),
    [
      ['first', StepOutcome.APPLIED],
      ['second', StepOutcome.APPLIED],
    ],
  );
  t.same(journal, ['first.apply(4)', 'second.apply(4)']);
  // Durable when the call returns: a store opened on the same directory (a restarted daemon) has it.
  const saved = await new StateStore(dir).load();
  t.equal(saved?.generation, 1n);
  t.equal(saved?.config.nics.length, 4);
  t.equal(events[0]?.event.case, 'generationApplied');
});

t.test('the same config again changes nothing and keeps the generation', async (t) => {
  const { engine, journal } = await setup(t);
  await engine.apply(labConfig(), undefined, false);
  const again = await engine.apply(labConfig(), 1n, false);
  t.equal(again.generation, 1n);
  t.same(
    again.results.map((r) => r.outcome),
    [StepOutcome.UNCHANGED, StepOutcome.UNCHANGED],
  );
  t.equal(journal.length, 2);
});

t.test('a failing step rolls back itself and the steps before it, in reverse order', async (t) => {
  const { engine, journal, steps, events } = await setup(t);
  await engine.apply(labConfig(), undefined, false);
  journal.length = 0;
  const next = labConfig();
  next.nics.pop();
  if (steps[1]) steps[1].failNext = true;
  const error = await engine.apply(next, undefined, false).catch((e: unknown) => e);
  t.ok(error instanceof WriteError);
  t.match(error, {
    code: 'ABORTED',
    message: 'second failed: kernel said no; rolled back to generation 1',
    reason: { reason: 'APPLY_FAILED', metadata: { step: 'second' } },
  });
  t.same(journal, ['first.apply(3)', 'second.apply(3)', 'second.rollback(4)', 'first.rollback(4)']);
  t.equal(engine.committed.generation, 1n);
  t.equal(engine.committed.config.nics.length, 4);
  t.equal(events.at(-1)?.event.case, 'applyFailed');
});

t.test('a write the kernel refused is taken back out of the journal before the caller hears', async (t) => {
  const { engine, steps, dir } = await setup(t);
  await engine.apply(labConfig(), undefined, false);
  const refused = labConfig();
  refused.nics.pop();
  if (steps[1]) steps[1].failNext = true;
  await t.rejects(engine.apply(refused, undefined, false), { code: 'ABORTED' });
  const afterRefusal = await new StateStore(dir).load();
  t.equal(afterRefusal?.generation, 1n, 'a restarted daemon would not replay the refused write');
  t.equal(afterRefusal?.config.nics.length, 4);
  // The next write takes the generation the refused one would have had, and is the one replayed.
  const next = labConfig();
  next.hostname = 'after-refusal';
  t.equal((await engine.apply(next, 1n, false)).generation, 2n);
  const loaded = await new StateStore(dir).load();
  t.equal(loaded?.generation, 2n);
  t.equal(loaded?.config.hostname, 'after-refusal');
  t.equal(loaded?.config.nics.length, 4);
});

t.test('a stale expected generation is refused before anything runs', async (t) => {
  const { engine, journal } = await setup(t);
  await engine.apply(labConfig(), undefined, false);
  const error = await engine.apply(labConfig(), 0n, false).catch((e: unknown) => e);
  t.match(error, {
    code: 'FAILED_PRECONDITION',
    reason: { reason: 'STALE_GENERATION', metadata: { current_generation: '1' } },
  });
  t.equal(journal.length, 2);
});

t.test('concurrent writers with the same expected generation: one wins, one is refused', async (t) => {
  const { engine } = await setup(t);
  const a = labConfig();
  const b = labConfig();
  b.hostname = 'other';
  const results = await Promise.allSettled([engine.apply(a, 0n, false), engine.apply(b, 0n, false)]);
  t.same(
    results.map((r) => r.status),
    ['fulfilled', 'rejected'],
  );
  t.equal(engine.committed.generation, 1n);
});

t.test('invalid and unimplemented configs change nothing', async (t) => {
  const { engine, journal } = await setup(t);
  const bad = labConfig();
  if (bad.networks[0]?.hosts[0]) bad.networks[0].hosts[0].ip = '10.9.0.5';
  await t.rejects(engine.apply(bad, undefined, false), {
    code: 'INVALID_ARGUMENT',
    violations: [{ field: 'networks[0].hosts[0].ip' }],
  });
  const unbuilt = labConfig();
  unbuilt.ha = {
    $typeName: 'vrouter.v1.Ha',
    enabled: true,
    virtualRouterId: 0,
    priority: 0,
    heartbeatNicId: '',
    peerAddress: '',
    authKey: '',
    conntrackSync: false,
  };
  await t.rejects(engine.apply(unbuilt, undefined, false), {
    code: 'UNIMPLEMENTED',
    violations: [{ field: 'ha' }],
  });
  t.same(journal, []);
  t.equal(engine.committed.generation, 0n);
});

t.test('validate_only renders but neither applies nor bumps', async (t) => {
  const { engine, journal } = await setup(t);
  const result = await engine.apply(labConfig(), undefined, true);
  t.same(
    result.results.map((r) => r.outcome),
    [StepOutcome.VALIDATED, StepOutcome.VALIDATED],
  );
  t.equal(result.generation, 0n);
  t.same(journal, []);
});

t.test('a NIC whose link never appears fails with its field path', async (t) => {
  const { engine } = await setup(t);
  const config = labConfig();
  if (config.nics[1]) config.nics[1].mac = '02:00:00:00:00:77';
  await t.rejects(engine.apply(config, undefined, false), {
    code: 'FAILED_PRECONDITION',
    violations: [{ field: 'nics[1].mac', description: 'no link has MAC 02:00:00:00:00:77' }],
  });
});

t.test('a NIC missing from the facts read before is looked for in the kernel before waiting', async (t) => {
  const plugged = new Map([...links, ['02:00:00:00:00:77', { index: 9, name: 'ens9' }]]);
  const asked: boolean[] = [];
  const { engine } = await setup(t, async (fresh) => {
    asked.push(fresh);
    return { links: fresh ? plugged : links };
  });
  const config = labConfig();
  if (config.nics[1]) config.nics[1].mac = '02:00:00:00:00:77';
  const result = await engine.apply(config, undefined, false);
  t.equal(result.generation, 1n, 'applied although the NIC wait is 0 and the old facts lack it');
  t.same(asked, [false, true]);
});

t.test('a NIC link renamed after the Apply is followed: the same generation rendered again', async (t) => {
  let now: typeof links = links;
  const { engine, journal, events } = await setup(t, async () => ({ links: now }));
  await engine.apply(labConfig(), undefined, false);
  journal.length = 0;
  await engine.followLinks();
  t.same(journal, [], 'nothing to follow while the links are as rendered');
  now = new Map([...links, ['52:54:00:00:00:04', { index: 4, name: 'lan-b' }]]);
  await engine.followLinks();
  t.same(journal, ['first.apply(4)', 'second.apply(4)']);
  t.equal(engine.committed.generation, 1n);
  t.same(engine.committed.rendered.interfaces.links.find((l) => l.nicId === 'priv-b')?.name, 'lan-b');
  const last = events.at(-1)?.event;
  t.same(last?.case === 'generationApplied' && last.value.cause, 'links');
  journal.length = 0;
  now = new Map([...links].filter(([mac]) => mac !== '52:54:00:00:00:04'));
  await engine.followLinks();
  t.same(journal, [], 'a link that is gone cannot be rendered: the rules stay');
});

t.test('restart restores the persisted generation through the steps', async (t) => {
  const { engine, make, journal } = await setup(t);
  await engine.apply(labConfig(), undefined, false);
  journal.length = 0;
  const restarted = make();
  await restarted.restore();
  t.equal(restarted.committed.generation, 1n);
  t.same(journal, ['first.apply(4)', 'second.apply(4)']);
});

t.test('drift found by a step is repaired and published', async (t) => {
  const { engine, steps, journal, events } = await setup(t);
  await engine.apply(labConfig(), undefined, false);
  if (steps[0]) steps[0].driftFindings = ['ens3: address 10.1.0.1/24 missing, added'];
  const repaired = await engine.checkDrift();
  t.same(
    repaired.map((r) => [r.step, r.findings]),
    [['first', ['ens3: address 10.1.0.1/24 missing, added']]],
  );
  t.equal(journal.at(-1), 'first.repair');
  t.equal(events.at(-1)?.event.case, 'driftRepaired');
  t.equal(engine.driftStats.repairs, 1);
});

t.test('drift readings are taken outside the write queue; one a write overtook is taken again', async (t) => {
  const { engine, steps, journal } = await setup(t);
  await engine.apply(labConfig(), undefined, false);
  const [first, second] = steps;
  if (first === undefined || second === undefined) throw new Error('two steps');
  const pending: ((reading: string) => void)[] = [];
  let readings = 0;
  let onRead: () => void = () => undefined;
  const nextRead = () => new Promise<void>((resolve) => (onRead = resolve));
  first.readDrift = () => {
    readings++;
    onRead();
    return new Promise((resolve) => pending.push(resolve));
  };
  const changed = labConfig();
  changed.nics = changed.nics.slice(0, 3);

  // A write that fails is rolled back: the committed state is as it was, not the kernel meanwhile.
  let read = nextRead();
  const check = engine.checkDrift();
  await read;
  read = nextRead();
  second.failNext = true;
  await t.rejects(engine.apply(changed, undefined, false), 'a write runs while the reading is pending');
  t.same(journal.slice(-3), ['second.apply(3)', 'second.rollback(4)', 'first.rollback(4)']);
  pending.shift()?.('listing taken while a write was applied');
  await read;
  t.equal(readings, 2, 'the overtaken reading is taken again');
  pending.shift()?.('listing taken after it');
  await check;
  t.equal(first.lastReading, 'listing taken after it', 'and that one is compared');

  // Writes that keep overtaking it: after two readings ahead, the check reads inside the queue.
  readings = 0;
  read = nextRead();
  const busy = engine.checkDrift();
  for (const config of [changed, labConfig()]) {
    await read;
    read = nextRead();
    const written = await engine.apply(config, undefined, false);
    t.ok(written.generation > 1n, 'a write goes through while a reading is pending');
    pending.shift()?.('overtaken');
  }
  await busy;
  t.equal(readings, 2);
  t.equal(first.lastReading, undefined, 'the last attempt read inside the queue');
  t.equal(second.lastReading, undefined, 'a step without readDrift always reads in the queue');

  // A check asked for while a write is being applied waits for it before reading.
  let open: () => void = () => undefined;
  first.applyGate = new Promise((resolve) => (open = resolve));
  const midway = engine.apply(changed, undefined, false);
  await new Promise((resolve) => setImmediate(resolve));
  read = nextRead();
  const during = engine.checkDrift();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(readings, 2, 'no reading while the write is being applied');
  open();
  first.applyGate = undefined;
  await midway;
  await read;
  pending.shift()?.('listing taken after the write');
  await during;
  t.equal(first.lastReading, 'listing taken after the write');

  // Shutdown waits on idle(): a check reading ahead is still using the drivers.
  read = nextRead();
  const reading = engine.checkDrift();
  await read;
  let idle = false;
  const idled = engine.idle().then(() => (idle = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(idle, 'idle() waits for a check that is reading');
  pending.shift()?.('last listing');
  await Promise.all([reading, idled]);
  t.ok(idle);
});

t.test('services publish their own events on Watch', async (t) => {
  const { engine, events } = await setup(t);
  engine.serviceEvent('dhcp', 'warning', 'address 10.1.0.50 declined by 02:00:00:00:00:01');
  t.match(events.at(-1)?.event, {
    case: 'serviceEvent',
    value: { service: 'dhcp', severity: 'warning', message: /declined/ },
  });
});
