// The main thread's handle on the DNS server: starts the worker thread when some network has DNS
// enabled (and stops it when none has), sends it each rendered plan and waits until it holds it (the
// apply barrier), reads its counters without a round trip, and restarts it with the last plan if it
// ever dies.
import { isDeepStrictEqual } from 'node:util';
import { Worker } from 'node:worker_threads';
import { type CounterValues, readCounters, sharedCounters } from './counters.js';
import type { FromWorker, ListenerState, ToWorker, WorkerStatus } from './protocol.js';
import { type DnsPlan, NO_DNS } from './render.js';

/** News for Watch (ServiceEvent): an upstream server went down or came back, the worker restarted. */
export type DnsEvents = (severity: 'info' | 'warning' | 'error', message: string) => void;

export interface DnsServerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const REQUEST_TIMEOUT_MS = 10_000;
const RESTART_DELAY_MS = 500;

interface Waiting {
  resolve(message: FromWorker): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class DnsServer {
  private worker: Worker | undefined;
  private readonly shared = sharedCounters();
  private readonly counterView = new Float64Array(this.shared);
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private held: DnsPlan = NO_DNS;
  private stopping = false;
  restarts = 0;

  constructor(
    private readonly log: DnsServerLog,
    private readonly events: DnsEvents = () => undefined,
  ) {}

  /** The plan the worker holds (NO_DNS when it is not running). */
  get current(): DnsPlan {
    return this.held;
  }

  /**
   * Whether the worker holds `plan`. An equal plan rendered anew becomes the one it holds, so the
   * next write, which hands back that same plan while the DNS inputs stay the same, stops at identity.
   */
  holds(plan: DnsPlan): boolean {
    if (plan === this.held) return true;
    if (!isDeepStrictEqual(plan, this.held)) return false;
    this.held = plan;
    return true;
  }

  get running(): boolean {
    return this.worker !== undefined;
  }

  /**
   * Makes the server hold `plan`: listening where it says, answering its names. Rejects (and keeps
   * what it held) when a socket cannot be opened. `reopen` closes and reopens every socket (repair).
   */
  async configure(plan: DnsPlan, reopen = false): Promise<ListenerState[]> {
    if (plan.listeners.length === 0) {
      await this.stop();
      this.held = plan;
      return [];
    }
    const reply = await this.request((id) => ({ kind: 'configure', id, plan, reopen }));
    if (reply.kind !== 'configured') throw new Error(`DNS worker answered ${reply.kind} to configure`);
    if (reply.error !== undefined) throw new Error(reply.error);
    this.held = plan;
    return reply.listeners;
  }

  async status(): Promise<WorkerStatus | undefined> {
    if (this.worker === undefined) return undefined;
    const reply = await this.request((id) => ({ kind: 'status', id }));
    return reply.kind === 'status' ? reply.status : undefined;
  }

  counters(): CounterValues {
    return readCounters(this.counterView);
  }

  /**
   * Closes the worker's sockets, then ends it. They are the process's file descriptors, not the
   * thread's: a terminated worker would leave them bound, and DNS could not be turned on again.
   */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    try {
      await this.request((id) => ({ kind: 'configure', id, plan: NO_DNS, reopen: false }));
    } catch (err) {
      this.log.error({ err }, 'the DNS worker did not close its sockets before it was stopped');
    }
    this.stopping = true;
    this.worker = undefined;
    try {
      await worker.terminate();
    } finally {
      this.stopping = false;
    }
  }

  private request(build: (id: number) => ToWorker): Promise<FromWorker> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`the DNS worker did not answer within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.waiting.set(id, { resolve, reject, timer });
      worker.postMessage(build(id));
    });
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { counters: this.shared },
    });
    worker.on('message', (message: FromWorker) => this.received(message));
    worker.on('error', (err: Error) => this.log.error({ err }, 'DNS worker failed'));
    worker.on('exit', (code) => this.exited(worker, code));
    this.worker = worker;
    return worker;
  }

  private received(message: FromWorker): void {
    if (message.kind === 'log') {
      this.log[message.level](message.data, `DNS: ${message.message}`);
      this.events(message.level === 'warn' ? 'warning' : message.level, message.message);
      return;
    }
    const waiting = this.waiting.get(message.id);
    if (waiting === undefined) return;
    this.waiting.delete(message.id);
    clearTimeout(waiting.timer);
    waiting.resolve(message);
  }

  /** A worker that died on its own is started again with the plan it held. */
  private exited(worker: Worker, code: number): void {
    for (const [id, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error(`the DNS worker exited with code ${code}`));
      this.waiting.delete(id);
    }
    if (this.stopping || this.worker !== worker) return;
    this.worker = undefined;
    this.restarts++;
    this.log.error({ code, restarts: this.restarts }, 'DNS worker exited; restarting it');
    this.events('error', `the DNS server thread exited (code ${code}); restarting it`);
    const plan = this.held;
    setTimeout(() => {
      if (this.worker !== undefined || plan !== this.held) return;
      this.configure(plan).catch((err: unknown) => this.log.error({ err }, 'DNS worker restart failed'));
    }, RESTART_DELAY_MS).unref();
  }
}
