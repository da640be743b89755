// The DHCP server in the daemon's event loop: one socket per private NIC with DHCP enabled, each
// answering with its own network's plan; one lease table; the lease file written in batches. The
// apply step swaps plans and opens or closes sockets; nothing here restarts to change settings.
// A packet is handled start to finish in one call: decode, decide (protocol.ts), encode, send. No
// packet can throw out of the handler: whatever goes wrong is a counted drop.
import { formatIpv4 } from '../../config/net.js';
import { DeviceSocket } from '../../drivers/device-socket.js';
import type { StepChange } from '../../reconcile/step.js';
import { decodeMessage, encodeMessage, MESSAGE_TYPE, OPTION } from './codec.js';
import { LeaseFile } from './lease-file.js';
import { type Lease, LeaseTable } from './leases.js';
import { macBytes } from './mac.js';
import {
  CLIENT_PORT,
  type DropReason,
  ESSENTIAL_OPTIONS,
  type Outcome,
  SERVER_PORT,
  respond,
} from './protocol.js';
import { type DhcpNetworkPlan, type DhcpPlan, EMPTY_DHCP_PLAN } from './render.js';
import { describePlanChanges } from './plan-diff.js';
import { LogThrottle } from './throttle.js';

const SWEEP_INTERVAL_MS = 30_000;
const RECEIVED_TYPES: Record<number, string> = {
  [MESSAGE_TYPE.DISCOVER]: 'received.discover',
  [MESSAGE_TYPE.REQUEST]: 'received.request',
  [MESSAGE_TYPE.DECLINE]: 'received.decline',
  [MESSAGE_TYPE.RELEASE]: 'received.release',
  [MESSAGE_TYPE.INFORM]: 'received.inform',
};

export interface DhcpServerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DhcpServerOptions {
  readonly stateDir: string;
  readonly log: DhcpServerLog;
  /** Longest time a lease change waits to be written. */
  readonly flushDelayMs?: number;
}

interface Listener {
  readonly socket: DeviceSocket;
  readonly linkIndex: number;
  plan: DhcpNetworkPlan;
}

export class DhcpServer {
  readonly leases: LeaseTable;
  private readonly file: LeaseFile;
  private readonly listeners = new Map<string, Listener>();
  private readonly counts = new Map<string, number>();
  private plan: DhcpPlan = EMPTY_DHCP_PLAN;
  private readonly sweeper: NodeJS.Timeout;
  private readonly throttle = new LogThrottle();
  /** Set while the file's own leases are put back: they need no journal lines. */
  private restoring = false;

  constructor(private readonly options: DhcpServerOptions) {
    this.leases = new LeaseTable((change) => {
      if (!this.restoring) this.file.record(change);
    });
    const table = this.leases;
    this.file = new LeaseFile(
      options.stateDir,
      {
        leases: () => table.leases(),
        declined: () => table.declined(),
        get size() {
          return table.size;
        },
      },
      options.log,
      options.flushDelayMs,
    );
    this.sweeper = setInterval(() => this.count('expired', this.leases.sweep(Date.now())), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** At start-up, before any socket opens: the leases of the last run that have not ended. */
  async restoreLeases(): Promise<number> {
    const stored = await this.file.load();
    const now = Date.now();
    let restored = 0;
    this.restoring = true;
    try {
      for (const lease of stored.leases)
        if (lease.expiresAt > now) {
          this.leases.of(lease.networkId).put(lease);
          restored++;
        }
      for (const d of stored.declined) if (d.until > now) this.leases.of(d.networkId).decline(d.ip, d.until);
    } finally {
      this.restoring = false;
    }
    this.options.log.info(
      { restored, expired: stored.leases.length - restored, skipped: stored.skipped, file: this.file.path },
      'DHCP leases restored',
    );
    return restored;
  }

  /** Serve `plan`: open sockets for new links, close those no longer wanted, swap every network's plan. */
  configure(plan: DhcpPlan): StepChange {
    const wanted = new Map(plan.networks.map((n) => [n.linkName, n]));
    const opened: string[] = [];
    try {
      for (const [link, network] of wanted) {
        const current = this.listeners.get(link);
        if (current !== undefined && !current.socket.closed && current.linkIndex === network.linkIndex) {
          current.plan = network;
          continue;
        }
        current?.socket.close();
        this.listeners.set(link, this.listen(network));
        opened.push(link);
      }
    } catch (e) {
      for (const link of opened) {
        this.listeners.get(link)?.socket.close();
        this.listeners.delete(link);
      }
      throw e;
    }
    const closed: string[] = [];
    for (const [link, listener] of this.listeners)
      if (!wanted.has(link)) {
        listener.socket.close();
        this.listeners.delete(link);
        closed.push(link);
      }
    const changes = [
      ...opened.map((l) => `${l}: listening on port ${SERVER_PORT}`),
      ...closed.map((l) => `${l}: stopped`),
      ...describePlanChanges(this.plan, plan),
    ];
    // The renderer hands back the same plan while its inputs are unchanged (reconcile/reuse.ts).
    if (plan !== this.plan) this.leases.planChanged(plan);
    this.plan = plan;
    return { changed: changes.length > 0, summary: changes.join('; ') };
  }

  /** What differs from serving `plan`: missing or closed sockets, sockets on links not in it. */
  drift(plan: DhcpPlan): string[] {
    const findings: string[] = [];
    const wanted = new Set(plan.networks.map((n) => n.linkName));
    for (const n of plan.networks) {
      const listener = this.listeners.get(n.linkName);
      if (listener === undefined) findings.push(`${n.linkName}: no DHCP socket for network ${n.networkId}`);
      else if (listener.socket.closed) findings.push(`${n.linkName}: the DHCP socket closed`);
    }
    for (const link of this.listeners.keys())
      if (!wanted.has(link)) findings.push(`${link}: DHCP socket open on a link that should not serve DHCP`);
    return findings;
  }

  counters(): Record<string, number> {
    return {
      ...Object.fromEntries(this.counts),
      leases: this.boundLeases(),
      sockets: [...this.listeners.values()].filter((l) => !l.socket.closed).length,
      lease_file_writes: this.file.writes,
      lease_file_compactions: this.file.compactions,
      lease_file_failures: this.file.failures,
    };
  }

  /** Bound leases (not offers), by network and address. */
  leaseList(networkId?: string): Lease[] {
    const list: Lease[] = [];
    for (const lease of this.leases.leases())
      if (!lease.offered && (networkId === undefined || lease.networkId === networkId)) list.push(lease);
    return list.sort((a, b) =>
      a.networkId < b.networkId ? -1 : a.networkId > b.networkId ? 1 : a.ip - b.ip,
    );
  }

  private boundLeases(): number {
    let n = 0;
    for (const lease of this.leases.leases()) if (!lease.offered) n++;
    return n;
  }

  /** At shutdown: stop answering, write what is pending. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const listener of this.listeners.values()) listener.socket.close();
    this.listeners.clear();
    await this.file.flush();
  }

  private listen(network: DhcpNetworkPlan): Listener {
    const holder: { listener?: Listener } = {};
    const socket = DeviceSocket.open(network.linkName, SERVER_PORT, {
      message: (bytes) => {
        if (holder.listener !== undefined) this.handle(holder.listener, bytes);
      },
      // Send failures (a client gone, a full queue) arrive here; counted, logged once a minute.
      error: (err) => {
        this.count('socket_errors');
        this.throttle.note(`socket:${network.linkName}`, (errors) =>
          this.options.log.error({ err, link: network.linkName, errors }, 'DHCP socket error'),
        );
      },
    });
    holder.listener = { socket, linkIndex: network.linkIndex, plan: network };
    return holder.listener;
  }

  private handle(listener: Listener, bytes: Buffer): void {
    try {
      this.count('received');
      const decoded = decodeMessage(bytes);
      if (!decoded.ok) return this.drop(decoded.reason);
      const type = decoded.message.options.get(OPTION.MESSAGE_TYPE)?.[0];
      const received = type === undefined ? undefined : RECEIVED_TYPES[type];
      if (received !== undefined) this.count(received);
      const plan = listener.plan;
      const outcome = respond(plan, this.leases.of(plan.networkId), decoded.message, Date.now());
      this.carryOut(listener, outcome);
    } catch (err) {
      this.drop('internal');
      // A packet that trips a bug could otherwise flood the log.
      this.throttle.note('internal', (failures) =>
        this.options.log.error(
          { err, link: listener.socket.device, failures },
          'DHCP packet handling failed; dropped',
        ),
      );
    }
  }

  private carryOut(listener: Listener, outcome: Outcome): void {
    switch (outcome.kind) {
      case 'drop':
        if (outcome.reason === 'pool_exhausted') this.warnPoolExhausted(listener.plan);
        return this.drop(outcome.reason);
      case 'done':
        this.count(outcome.event);
        if (outcome.event === 'declines' && outcome.lease !== undefined)
          this.options.log.warn(
            {
              network: outcome.lease.networkId,
              ip: formatIpv4(outcome.lease.ip),
              mac: outcome.lease.mac,
            },
            'DHCP client declined its address: another machine uses it',
          );
        return;
      case 'reply': {
        const { bytes, omitted } = encodeMessage(outcome.message, outcome.maxLength, ESSENTIAL_OPTIONS);
        if (omitted.length > 0) this.reportOmitted(listener.plan, omitted, outcome.maxLength);
        let { address, port } = outcome.to;
        if (outcome.to.arp !== undefined) {
          const set = listener.socket.setNeighbour(outcome.to.arp.ip, macBytes(outcome.to.arp.mac));
          // Without the neighbour entry a unicast cannot leave; a broadcast reaches the client too.
          if (set !== true) {
            this.count('arp_failures');
            address = 0xffffffff;
            port = CLIENT_PORT;
          }
        }
        listener.socket.send(bytes, formatIpv4(address), port);
        this.count(outcome.event);
        return;
      }
    }
  }

  /** Validation makes every network's options fit the smallest reply; what a client adds (its
   * identifier) can still crowd some out. */
  private reportOmitted(plan: DhcpNetworkPlan, omitted: readonly number[], maxLength: number): void {
    this.count('options_omitted');
    for (const code of omitted) this.count(`options_omitted.${code}`);
    this.throttle.note(`omitted:${plan.networkId}`, (replies) =>
      this.options.log.warn(
        { network: plan.networkId, omitted, maxLength, replies },
        'DHCP options left out of replies: they did not fit the size the client accepts',
      ),
    );
  }

  private warnPoolExhausted(plan: DhcpNetworkPlan): void {
    this.throttle.note(`pool:${plan.networkId}`, (refused) =>
      this.options.log.warn(
        {
          network: plan.networkId,
          pools: plan.pools.map((p) => `${formatIpv4(p.start)}-${formatIpv4(p.end)}`),
          refused,
        },
        'DHCP pool exhausted: clients refused an address since the last such line',
      ),
    );
  }

  private drop(reason: DropReason): void {
    this.count('drops');
    this.count(`drops.${reason}`);
  }

  private count(name: string, by = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + by);
  }
}
