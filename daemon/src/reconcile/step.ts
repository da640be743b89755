// One apply step: a driver-backed unit that makes one subsystem (links, nftables, a native server, a
// helper daemon) hold its part of the rendered state. Steps run in order; if one fails, the engine
// rolls back that step and the ones already run, in reverse order.
import type { Rendered } from './rendered.js';

export interface StepChange {
  /** Whether anything in the kernel or daemon was changed. */
  readonly changed: boolean;
  /** Human-readable summary, e.g. `eth1: address 10.1.0.1/24 missing, added`. */
  readonly summary: string;
}

export interface ApplyStep {
  readonly name: string;
  /** Make the subsystem hold `desired`; `previous` is what it held (or NOTHING_RENDERED). */
  apply(desired: Rendered, previous: Rendered): Promise<StepChange>;
  /**
   * Go back to `previous` after `attempted` was applied, or was being applied when this or a later
   * step failed: the subsystem may hold all, part or none of `attempted`.
   */
  rollback(previous: Rendered, attempted: Rendered): Promise<StepChange>;
  /**
   * Reads what `drift` compares (or compares it outright), for a reading too slow to hold the write
   * queue (a listing of 20k set elements takes ~1 s): the engine takes it before queueing the check,
   * so writes go on meanwhile.
   */
  readDrift?(desired: Rendered): Promise<unknown>;
  /**
   * What differs between the subsystem and `desired`, as findings; empty when nothing does. `reading`
   * is what `readDrift` returned, given only when no write ran since it was taken.
   */
  drift(desired: Rendered, reading?: unknown): Promise<string[]>;
  /** Put `desired` back after drift, whatever the subsystem holds now. */
  repair(desired: Rendered): Promise<StepChange>;
  /** Step-specific counters for GetStatus. */
  counters?(): Record<string, number>;
}
