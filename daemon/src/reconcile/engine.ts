// The one path every change takes: validate → render → apply (steps, with rollback) beside persist →
// publish. Writes run one at a time in a queue and resolve only once the data plane holds the new
// generation (the barrier); reads use the committed state and never wait behind the queue.
import { EventEmitter } from 'node:events';
import { type MessageInitShape, create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { type RouterConfig, RouterConfigSchema } from '../gen/vrouter/v1/config_pb.js';
import {
  type DriftRepaired,
  DriftRepairedSchema,
  type PatchOperation,
  type StepResult,
  StepOutcome,
  StepResultSchema,
  type WatchResponse,
  WatchResponseSchema,
} from '../gen/vrouter/v1/service_pb.js';
import { applyPatch } from '../config/patch.js';
import { sameConfig } from '../config/same.js';
import { unimplementedSections } from '../config/sections.js';
import { validateConfig } from '../config/validate.js';
import type { FieldViolation } from '../config/violations.js';
import { linkDrift, missingLinks } from '../services/interfaces/plan.js';
import type { StateStore } from '../store/state-store.js';
import { WriteError, summarizeViolations } from './errors.js';
import { type Facts, NOTHING_RENDERED, type Rendered, render } from './rendered.js';
import type { ApplyStep } from './step.js';

export interface Committed {
  readonly generation: bigint;
  readonly config: RouterConfig;
  readonly rendered: Rendered;
  readonly appliedAt: Date | undefined;
}

export interface WriteResult {
  readonly generation: bigint;
  readonly results: StepResult[];
}

export interface StepHealth {
  ok: boolean;
  message: string;
  applies: number;
  failures: number;
  repairs: number;
}

export interface DriftStats {
  checks: number;
  repairs: number;
  lastCheckAt: Date | undefined;
  lastRepairAt: Date | undefined;
}

export interface EngineLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface EngineOptions {
  readonly steps: readonly ApplyStep[];
  readonly store: StateStore;
  /** `fresh`: read the kernel rather than trust facts read before (see reconcile/facts.ts). */
  readonly facts: (fresh: boolean) => Promise<Facts>;
  /** How long a write waits for a NIC's link to appear (hot-plug) before failing. */
  readonly nicWaitMs: number;
  readonly log: EngineLog;
}

type Relocate = (violations: readonly FieldViolation[]) => FieldViolation[];
const asIs: Relocate = (v) => [...v];

/** What a write builds from the committed config: the new config; for a Patch, its operations. */
interface Built {
  readonly config: RouterConfig;
  readonly relocate: Relocate;
  readonly operations?: readonly PatchOperation[];
}

/** Readings of the data plane a drift check takes outside the write queue before it reads inside. */
const DRIFT_READ_ATTEMPTS = 3;

/** Drift readings taken outside the queue, and when. */
interface DriftReadings {
  /** The queue's count of started tasks when the readings began (the committed state changes only in a task). */
  readonly tasksStarted: number;
  /** None when a task was running: nothing was read, the check tries again. */
  readonly readings?: ReadonlyMap<ApplyStep, unknown>;
}

export class Engine {
  readonly events = new EventEmitter<{ event: [WatchResponse] }>();
  readonly driftStats: DriftStats = {
    checks: 0,
    repairs: 0,
    lastCheckAt: undefined,
    lastRepairAt: undefined,
  };
  readonly stepHealth = new Map<string, StepHealth>();
  private committedState: Committed = {
    generation: 0n,
    config: create(RouterConfigSchema),
    rendered: NOTHING_RENDERED,
    appliedAt: undefined,
  };
  private queue: Promise<unknown> = Promise.resolve();
  /** Queued tasks that may change the data plane started so far, and whether one runs: what tells a
   * drift reading taken outside the queue from one a write may have changed under it. */
  private tasksStarted = 0;
  private taskRunning = false;
  /** Drift checks under way, which may be reading outside the queue: idle() waits for them too. */
  private readonly checksInFlight = new Set<Promise<unknown>>();
  private applyingGeneration: bigint | undefined;
  /** Set when the committed config is not (fully) in the data plane: a failed restore. */
  private degraded = false;
  private lastErrorText = '';

  constructor(private readonly options: EngineOptions) {
    this.events.setMaxListeners(0);
    for (const step of options.steps)
      this.stepHealth.set(step.name, { ok: true, message: '', applies: 0, failures: 0, repairs: 0 });
  }

  get committed(): Committed {
    return this.committedState;
  }

  get applying(): bigint | undefined {
    return this.applyingGeneration;
  }

  get lastError(): string {
    return this.lastErrorText;
  }

  /** A step's own counters (ApplyStep.counters), for GetStatus. */
  stepCounters(name: string): Record<string, number> {
    return this.options.steps.find((s) => s.name === name)?.counters?.() ?? {};
  }

  /** At start-up, before the API listens: put the persisted config back into the data plane. */
  async restore(): Promise<void> {
    const { store, log } = this.options;
    let state;
    try {
      state = await store.load();
    } catch (e) {
      const aside = await store.quarantine();
      log.error({ err: e, movedTo: aside }, 'state file unreadable; starting with no config');
    }
    if (state === undefined) return;
    this.committedState = { ...state, rendered: NOTHING_RENDERED };
    await this.enqueue(() => this.retryRestore());
  }

  apply(config: RouterConfig, expected: bigint | undefined, validateOnly: boolean): Promise<WriteResult> {
    return this.write('apply', expected, validateOnly, () => ({ config, relocate: asIs }));
  }

  patch(
    operations: readonly PatchOperation[],
    expected: bigint | undefined,
    validateOnly: boolean,
  ): Promise<WriteResult> {
    return this.write('patch', expected, validateOnly, (current) => {
      const patched = applyPatch(current, operations);
      if (Array.isArray(patched))
        throw new WriteError('INVALID_ARGUMENT', summarizeViolations(patched), patched);
      return { ...patched, operations };
    });
  }

  /**
   * Renders the committed config again when a NIC's kernel link was renamed or replaced since it was
   * applied (udev renames a hot-plugged NIC): rules and sockets that name links would otherwise
   * keep the old name, and the firewall would no longer see that NIC's traffic, until the next write.
   */
  followLinks(): Promise<void> {
    return this.enqueue(async () => {
      const { config, rendered, generation } = this.committedState;
      if (generation === 0n || this.degraded) return;
      const facts = await this.options.facts(true);
      const { moved, gone } = linkDrift(rendered.interfaces, facts.links);
      if (gone.length > 0) {
        this.options.log.warn(
          { gone, moved },
          'a NIC link is gone; its rules stay as they are until it is back',
        );
        return;
      }
      if (moved.length === 0) return;
      const next = render(config, facts);
      try {
        const results = await this.converge(next, rendered, generation);
        this.committedState = { ...this.committedState, rendered: next };
        this.options.log.info({ generation, moved }, 'NIC links changed; generation rendered again');
        this.publish({ case: 'generationApplied', value: { cause: 'links', results } });
      } catch {
        // converge() rolled back, logged and published the failure; a drift check retries it.
        this.degraded = true;
      }
    });
  }

  /** A service's own news for Watch (a DHCP lease declined, an upstream resolver down …). */
  serviceEvent(service: string, severity: 'info' | 'warning' | 'error', message: string): void {
    this.publish({ case: 'serviceEvent', value: { service, severity, message } });
  }

  /**
   * Compare the data plane with the committed state; repair and report what differs. Slow readings
   * are taken outside the queue, so writes go on meanwhile; one that a write overtook is taken again
   * (a burst of writes is usually over by then), the last time inside the queue.
   */
  checkDrift(): Promise<DriftRepaired[]> {
    const check = this.runDriftCheck();
    this.checksInFlight.add(check);
    check.finally(() => this.checksInFlight.delete(check)).catch(() => undefined);
    return check;
  }

  private async runDriftCheck(): Promise<DriftRepaired[]> {
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= DRIFT_READ_ATTEMPTS;
      const ahead = last ? undefined : await this.readDriftAhead();
      const repaired = await this.enqueue(async () => {
        // This task is the only one started since the readings were taken: nothing changed under them.
        const fresh = ahead?.readings !== undefined && this.tasksStarted === ahead.tasksStarted + 1;
        if (ahead !== undefined && !fresh && !last) return undefined;
        return this.compareWithDataPlane(fresh ? ahead.readings : undefined);
      });
      if (repaired !== undefined) return repaired;
    }
  }

  private async compareWithDataPlane(
    readings: ReadonlyMap<ApplyStep, unknown> | undefined,
  ): Promise<DriftRepaired[]> {
    if (this.degraded) await this.retryRestore();
    const repaired: DriftRepaired[] = [];
    const { rendered, generation } = this.committedState;
    this.driftStats.checks++;
    this.driftStats.lastCheckAt = new Date();
    if (generation === 0n || this.degraded) return repaired;
    for (const step of this.options.steps) {
      const findings = await step.drift(rendered, readings?.get(step));
      if (findings.length === 0) continue;
      await step.repair(rendered);
      this.driftStats.repairs++;
      this.driftStats.lastRepairAt = new Date();
      const health = this.stepHealth.get(step.name);
      if (health !== undefined) health.repairs++;
      const event = create(DriftRepairedSchema, { step: step.name, findings });
      repaired.push(event);
      this.options.log.warn({ step: step.name, findings }, 'drift repaired');
      this.publish({ case: 'driftRepaired', value: event });
    }
    return repaired;
  }

  /** Resolves once every queued write, drift check and snapshot has finished (shutdown waits on it). */
  async idle(): Promise<void> {
    await Promise.allSettled(this.checksInFlight); // one may be reading ahead, outside the queue
    await this.enqueue(() => Promise.resolve(), 'leaves the data plane');
  }

  /** Queues `task`; one that `leaves the data plane` (a snapshot, a wait) is not counted by drift readings. */
  private enqueue<T>(task: () => Promise<T>, scope?: 'leaves the data plane'): Promise<T> {
    const counted = scope === undefined;
    const run = this.queue.then(async () => {
      if (!counted) return task();
      this.tasksStarted++;
      this.taskRunning = true;
      try {
        return await task();
      } finally {
        this.taskRunning = false;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The steps' slow drift readings, taken while the queue is idle and without holding it; a write
   * that starts meanwhile makes them stale, and the check tries again. Undefined when there is
   * nothing to read ahead for (no config, or a failed restore that the check retries in the queue).
   */
  private async readDriftAhead(): Promise<DriftReadings | undefined> {
    if (this.degraded || this.committedState.generation === 0n) return undefined;
    const tasksStarted = this.tasksStarted;
    // A write under way (and any queued behind it) would change what is read: try again after them.
    if (this.taskRunning) return { tasksStarted };
    const { rendered } = this.committedState;
    const readings = new Map<ApplyStep, unknown>();
    try {
      for (const step of this.options.steps)
        if (step.readDrift !== undefined) readings.set(step, await step.readDrift(rendered));
    } catch (err) {
      this.options.log.warn({ err }, 'drift reading failed; read again inside the queue');
      return undefined;
    }
    return { tasksStarted, readings };
  }

  private write(
    cause: 'apply' | 'patch',
    expected: bigint | undefined,
    validateOnly: boolean,
    build: (current: RouterConfig) => Built,
  ): Promise<WriteResult> {
    return this.enqueue(async () => {
      const current = this.committedState;
      if (expected !== undefined && expected !== current.generation)
        throw new WriteError(
          'FAILED_PRECONDITION',
          `expected generation ${expected}, but the router is at generation ${current.generation}`,
          [],
          { reason: 'STALE_GENERATION', metadata: { current_generation: String(current.generation) } },
        );
      const phases = new Phases();
      const { config, relocate, operations } = build(current.config);
      phases.mark('build');
      checkConfig(config, relocate);
      phases.mark('validate');
      const unchanged = !this.degraded && sameConfig(config, current.config);
      if (unchanged && !validateOnly)
        return { generation: current.generation, results: this.results(StepOutcome.UNCHANGED) };
      const facts = await this.awaitLinks(config, relocate);
      phases.mark('facts');
      const rendered = render(config, facts);
      phases.mark('render');
      if (validateOnly)
        return { generation: current.generation, results: this.results(StepOutcome.VALIDATED) };

      const generation = current.generation + 1n;
      this.applyingGeneration = generation;
      try {
        // Journaled (binary, O_DSYNC) before the kernel applies (a Patch's small record, from the event
        // loop) or beside it (an Apply's config, from the pool): the caller hears back once both hold
        // the write, and a write the kernel refused is taken back out of the journal first. The
        // readable snapshot follows off the caller's path.
        const appliedAt = new Date();
        const journaled = outcome(
          this.options.store.append(
            operations === undefined
              ? { generation, appliedAt, config }
              : { generation, appliedAt, operations },
          ),
        );
        let results: StepResult[];
        try {
          results = await this.converge(rendered, current.rendered, generation);
        } catch (e) {
          if ((await journaled).ok) await this.retractJournaled();
          throw e;
        }
        phases.mark('apply');
        const persisted = await journaled;
        if (!persisted.ok) {
          await this.rollback(this.options.steps, current.rendered, rendered);
          throw this.failed(generation, 'persist', persisted.error);
        }
        phases.mark('persist');
        this.committedState = { generation, config, rendered, appliedAt };
        this.degraded = false;
        this.lastErrorText = '';
        this.options.log.info({ generation, cause, ms: phases.report() }, 'generation applied');
        this.publish({ case: 'generationApplied', value: { cause, results } });
        if (this.options.store.wantsCompaction)
          void this.enqueue(() => this.compact(), 'leaves the data plane');
        return { generation, results };
      } finally {
        this.applyingGeneration = undefined;
      }
    });
  }

  /** Takes a refused write's record out of the journal; the committed state is what stands. */
  private async retractJournaled(): Promise<void> {
    const { generation, config, appliedAt } = this.committedState;
    try {
      await this.options.store.retract({ generation, config, appliedAt: appliedAt ?? new Date(0) });
    } catch (err) {
      this.options.log.error(
        { err },
        'could not take a refused write out of the journal; the snapshot is rewritten before the next write',
      );
    }
  }

  /** Folds the journal into a snapshot; queued after the write that needs it, so no caller waits. */
  private async compact(): Promise<void> {
    const { generation, appliedAt, config } = this.committedState;
    if (!this.options.store.wantsCompaction || appliedAt === undefined) return;
    try {
      await this.options.store.save({ generation, appliedAt, config });
    } catch (err) {
      this.options.log.error({ err }, 'could not compact the patch journal; it keeps growing');
    }
  }

  /** Applies the committed config again (start-up, or after a failed start-up). */
  private async retryRestore(): Promise<void> {
    const { config, generation } = this.committedState;
    try {
      checkConfig(config, asIs);
      const rendered = render(config, await this.awaitLinks(config, asIs));
      const results = await this.converge(rendered, NOTHING_RENDERED, generation);
      this.committedState = { ...this.committedState, rendered };
      this.degraded = false;
      this.lastErrorText = '';
      this.options.log.info({ generation }, 'persisted generation restored');
      this.publish({ case: 'generationApplied', value: { cause: 'restore', results } });
    } catch (e) {
      this.degraded = true;
      this.lastErrorText = `restoring generation ${generation}: ${e instanceof Error ? e.message : String(e)}`;
      this.options.log.error({ err: e, generation }, 'could not restore the persisted config; will retry');
    }
  }

  /** Runs every step; on a failure rolls back the steps run so far and throws ABORTED. */
  private async converge(desired: Rendered, previous: Rendered, generation: bigint): Promise<StepResult[]> {
    const results: StepResult[] = [];
    const ran: ApplyStep[] = [];
    for (const step of this.options.steps) {
      const started = process.hrtime.bigint();
      const health = this.stepHealth.get(step.name);
      ran.push(step);
      try {
        const change = await step.apply(desired, previous);
        results.push(
          create(StepResultSchema, {
            step: step.name,
            outcome: change.changed ? StepOutcome.APPLIED : StepOutcome.UNCHANGED,
            message: change.summary,
            durationUs: (process.hrtime.bigint() - started) / 1000n,
          }),
        );
        if (health !== undefined)
          Object.assign(health, { ok: true, message: change.summary, applies: health.applies + 1 });
      } catch (e) {
        if (health !== undefined)
          Object.assign(health, { ok: false, message: errorText(e), failures: health.failures + 1 });
        await this.rollback(ran, previous, desired);
        throw this.failed(generation, step.name, e);
      }
    }
    return results;
  }

  private async rollback(
    steps: readonly ApplyStep[],
    previous: Rendered,
    attempted: Rendered,
  ): Promise<void> {
    for (const step of [...steps].reverse()) {
      try {
        await step.rollback(previous, attempted);
      } catch (e) {
        this.options.log.error({ err: e, step: step.name }, 'rollback failed; drift repair will retry');
      }
    }
  }

  private failed(generation: bigint, step: string, e: unknown): WriteError {
    const back = this.committedState.generation;
    const message = `${step} failed: ${errorText(e)}; rolled back to generation ${back}`;
    this.lastErrorText = message;
    this.options.log.error({ err: e, generation, step }, 'apply failed, rolled back');
    this.publish({
      case: 'applyFailed',
      value: { failedGeneration: generation, step, message: errorText(e) },
    });
    return new WriteError('ABORTED', message, [], {
      reason: 'APPLY_FAILED',
      metadata: { step, failed_generation: String(generation), rolled_back_to: String(back) },
    });
  }

  /** Waits for every NIC's link (a hot-plugged NIC can lag the manager's call); then the facts. */
  private async awaitLinks(config: RouterConfig, relocate: Relocate): Promise<Facts> {
    const deadline = Date.now() + this.options.nicWaitMs;
    let facts = await this.options.facts(false);
    let missing = missingLinks(config, facts.links);
    while (missing.length > 0) {
      // What was read before may predate the NIC: read the kernel again before waiting.
      facts = await this.options.facts(true);
      missing = missingLinks(config, facts.links);
      if (missing.length === 0) break;
      if (Date.now() >= deadline) {
        const violations = relocate(
          missing.map((m) => ({ field: m.field, description: `no link has MAC ${m.mac}` })),
        );
        throw new WriteError('FAILED_PRECONDITION', summarizeViolations(violations), violations, {
          reason: 'NIC_NOT_FOUND',
          metadata: { macs: missing.map((m) => m.mac).join(',') },
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return facts;
  }

  private results(outcome: StepOutcome): StepResult[] {
    return this.options.steps.map((s) => create(StepResultSchema, { step: s.name, outcome }));
  }

  private publish(event: MessageInitShape<typeof WatchResponseSchema>['event']): void {
    this.events.emit(
      'event',
      create(WatchResponseSchema, {
        time: timestampFromDate(new Date()),
        generation: this.committedState.generation,
        event,
      }),
    );
  }
}

/** Relocating maps every object of the config (O(all)): only done when there is something to report. */
function checkConfig(config: RouterConfig, relocate: Relocate): void {
  const unimplemented = unimplementedSections(config);
  if (unimplemented.length > 0) {
    const relocated = relocate(unimplemented);
    throw new WriteError('UNIMPLEMENTED', summarizeViolations(relocated), relocated);
  }
  const violations = validateConfig(config);
  if (violations.length > 0) {
    const relocated = relocate(violations);
    throw new WriteError('INVALID_ARGUMENT', summarizeViolations(relocated), relocated);
  }
}

/** Milliseconds spent in each phase of a write, for the log (where a slow write spent its time). */
class Phases {
  private last = process.hrtime.bigint();
  private readonly spent: Record<string, number> = {};

  mark(phase: string): void {
    const now = process.hrtime.bigint();
    this.spent[phase] = Number(now - this.last) / 1e6;
    this.last = now;
  }

  report(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.spent).map(([k, v]) => [k, Math.round(v * 100) / 100]));
  }
}

/** A promise's result as a value: awaited later, a rejection in the meantime is not unhandled. */
function outcome(p: Promise<void>): Promise<{ ok: true } | { ok: false; error: unknown }> {
  return p.then(
    () => ({ ok: true }) as const,
    (error: unknown) => ({ ok: false, error }) as const,
  );
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
