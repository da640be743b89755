// The `nat` apply step: after the nftables step loaded new EIP, port forward and SNAT mappings, clears
// the connection tracking entries of every mapping that changed or went away, so that no flow keeps an
// old translation. A mapping that is only new has no flows to clear, and is skipped. An EIP's flows
// carry its mark (nat/elements.ts eipMark) and go with one flush filtered by mark in the kernel; a port
// forward's (sent to its VIP) and a SNAT's (answered to its address, from its network) are found by a
// dump filtered by address, which walks the kernel's whole conntrack hash table (~10 ms with 262k
// buckets here), empty or not.
import type { Conntrack, FlowSelector } from '../../drivers/conntrack.js';
import type { Rendered } from '../../reconcile/rendered.js';
import { deltaSince } from '../../reconcile/revision.js';
import type { ApplyStep, StepChange } from '../../reconcile/step.js';
import type { NatMapping, NatPlan } from './render.js';

/** Up to this many EIPs, their flows go by flushes filtered by mark (~0.3 ms each); beyond, by a dump. */
const FLUSHES_UP_TO = 32;

export class NatStep implements ApplyStep {
  readonly name = 'nat';
  private cleared = 0;
  private flushes = 0;

  constructor(private readonly conntrack: Conntrack) {}

  async apply(desired: Rendered, previous: Rendered): Promise<StepChange> {
    return this.clear(changedMappings(desired.nat, previous.nat));
  }

  /** The old mappings are back: flows made with the attempted ones must go too. */
  async rollback(previous: Rendered, attempted: Rendered): Promise<StepChange> {
    return this.clear(changedMappings(previous.nat, attempted.nat));
  }

  /** Conntrack entries are the kernel's own state, not configuration: nothing drifts. */
  drift(): Promise<string[]> {
    return Promise.resolve([]);
  }

  repair(): Promise<StepChange> {
    return Promise.resolve({ changed: false, summary: '' });
  }

  counters(): Record<string, number> {
    return { flows_cleared: this.cleared, eip_flow_flushes: this.flushes };
  }

  private async clear(mappings: readonly NatMapping[]): Promise<StepChange> {
    if (mappings.length === 0) return { changed: false, summary: '' };
    const marked = mappings.filter(({ target }) => target.mark !== undefined);
    // Each flush is a walk of the table; past a few dozen, one dump of the whole table is cheaper.
    const marks = marked.length <= FLUSHES_UP_TO ? marked.flatMap(({ target }) => target.mark ?? []) : [];
    await this.conntrack.flushMarked(marks);
    this.flushes += marks.length;
    const selectors: FlowSelector[] = mappings.flatMap(({ target }) =>
      target.mark !== undefined && marks.length > 0
        ? []
        : [
            {
              ip: target.vip,
              destination: target.destination,
              ...(target.protocol !== undefined && { protocol: target.protocol }),
              ...(target.ports !== undefined && { ports: target.ports }),
              ...(target.source !== undefined && { source: target.source }),
            },
          ],
    );
    const deleted = selectors.length === 0 ? 0 : await this.conntrack.clear(selectors);
    this.cleared += deleted;
    return {
      changed: marks.length > 0 || deleted > 0,
      summary:
        `${mappings.length} NAT mappings changed: flows of ${marks.length} EIPs flushed by mark, ` +
        `${deleted} other conntrack entries cleared`,
    };
  }
}

/** Mappings of `previous` that `next` no longer has identically (removed or changed), one per key. */
export function changedMappings(next: NatPlan, previous: NatPlan): NatMapping[] {
  if (next === previous) return [];
  const gone = deltaSince(next, previous)?.removed ?? missingFrom(next.all(), previous.all());
  return [...new Map(gone.map((m) => [m.key, m])).values()];
}

function missingFrom(next: readonly NatMapping[], previous: readonly NatMapping[]): NatMapping[] {
  if (previous.length === 0) return [];
  const id = (m: NatMapping) => `${m.key} ${m.signature}`;
  const kept = new Set(next.map(id));
  return previous.filter((m) => !kept.has(id(m)));
}
