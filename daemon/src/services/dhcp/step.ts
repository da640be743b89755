// The `dhcp` apply step: hands the rendered plan to the server in the event loop, which opens and
// closes per-NIC sockets and swaps its tables. Runs after `interfaces`, so the gateways are on the
// NICs when a socket binds.
import type { Rendered } from '../../reconcile/rendered.js';
import type { ApplyStep, StepChange } from '../../reconcile/step.js';
import type { DhcpServer } from './server.js';

export class DhcpStep implements ApplyStep {
  readonly name = 'dhcp';

  constructor(private readonly server: DhcpServer) {}

  apply(desired: Rendered): Promise<StepChange> {
    return settle(() => this.server.configure(desired.dhcp));
  }

  rollback(previous: Rendered): Promise<StepChange> {
    return settle(() => this.server.configure(previous.dhcp));
  }

  drift(desired: Rendered): Promise<string[]> {
    return settle(() => this.server.drift(desired.dhcp));
  }

  repair(desired: Rendered): Promise<StepChange> {
    return settle(() => this.server.configure(desired.dhcp));
  }

  counters(): Record<string, number> {
    return this.server.counters();
  }
}

/** The server works synchronously; the step interface is asynchronous (a throw becomes a rejection). */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}
