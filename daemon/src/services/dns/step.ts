// The `dns` apply step: hands the rendered DNS plan to the server (worker thread), which opens the
// sockets on the gateways (the interfaces step ran first, so the addresses exist) and swaps its
// tables; a host added or renamed by a Patch is answered as soon as the Patch returns.
import type { Rendered } from '../../reconcile/rendered.js';
import type { ApplyStep, StepChange } from '../../reconcile/step.js';
import type { DnsPlan } from './render.js';
import type { DnsServer } from './server.js';

export class DnsStep implements ApplyStep {
  readonly name = 'dns';

  constructor(private readonly server: DnsServer) {}

  async apply(desired: Rendered): Promise<StepChange> {
    return this.hold(desired.dns);
  }

  async rollback(previous: Rendered): Promise<StepChange> {
    return this.hold(previous.dns);
  }

  async drift(desired: Rendered): Promise<string[]> {
    const plan = desired.dns;
    if (plan.listeners.length === 0)
      return this.server.running ? ['the DNS server runs but no network has DNS'] : [];
    const status = await this.server.status().catch(() => undefined);
    if (status === undefined) return ['the DNS server is not running'];
    const open = new Set(status.listeners.filter((l) => l.listening).map((l) => `${l.address}%${l.device}`));
    const findings = plan.listeners
      .filter((l) => !open.has(`${l.address}%${l.device}`))
      .map((l) => `not listening on ${l.address} (${l.device})`);
    if (!this.server.holds(plan)) findings.push('the DNS server holds other tables');
    return findings;
  }

  async repair(desired: Rendered): Promise<StepChange> {
    await this.server.configure(desired.dns, true);
    return { changed: true, summary: describe(desired.dns) };
  }

  counters(): Record<string, number> {
    return { ...this.server.counters(), worker_restarts: this.server.restarts };
  }

  private async hold(plan: DnsPlan): Promise<StepChange> {
    const running = this.server.running || plan.listeners.length === 0;
    if (running && this.server.holds(plan)) return { changed: false, summary: '' };
    await this.server.configure(plan);
    return { changed: true, summary: describe(plan) };
  }
}

function describe(plan: DnsPlan): string {
  if (plan.listeners.length === 0) return 'DNS off';
  const where = plan.listeners.map((l) => `${l.address} (${l.device})`).join(', ');
  const records = plan.records === '' ? 0 : plan.records.split('\n').length;
  return `listening on ${where}; ${records} local records, ${plan.upstreams.length} upstream servers`;
}
