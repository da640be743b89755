// Forwarding to the upstream servers: one query per question at a time (identical questions in flight
// share it), a random ID and source port per query (RFC 5452), the servers tried in order with
// failover (healthy ones first, a down one probed now and then), UDP first and TCP when the answer
// was truncated. Every response is checked (ID, QR, question) before it is believed.
import { randomBytes } from 'node:crypto';
import type { CounterValues } from './counters.js';
import { ExchangeError, Upstream, exchangeTcp, exchangeUdp } from './upstream.js';
import type { UpstreamAddress } from './upstream-address.js';
import {
  CD,
  HEADER_SIZE,
  type MessageLayout,
  OPT_SIZE,
  QR,
  RCODE,
  RD,
  TC,
  layoutOf,
  sameQuestion,
  writeOpt,
} from './wire.js';

export type ForwardOutcome =
  | { readonly kind: 'answer'; readonly response: Buffer; readonly layout: MessageLayout }
  | { readonly kind: 'failure'; readonly reason: string };

export type ForwarderLog = (level: 'info' | 'warn', message: string, data: Record<string, unknown>) => void;

/** Upstream queries in flight at most; more are dropped (the clients ask again). */
const MAX_IN_FLIGHT = 4096;

export class Forwarder {
  private upstreams: Upstream[] = [];
  private timeoutMs = 1000;
  private inFlight = 0;
  private random = randomBytes(4096);
  private randomAt = 0;

  constructor(
    private readonly counters: CounterValues,
    private readonly log: ForwarderLog,
  ) {}

  get servers(): readonly Upstream[] {
    return this.upstreams;
  }

  get busy(): boolean {
    return this.inFlight >= MAX_IN_FLIGHT;
  }

  /** Takes a new list of servers; a server that stays keeps its health. */
  configure(addresses: readonly UpstreamAddress[], timeoutMs: number): void {
    const old = new Map(this.upstreams.map((u) => [u.label, u]));
    this.upstreams = addresses.map((a) => {
      const fresh = new Upstream(a);
      return old.get(fresh.label) ?? fresh;
    });
    this.timeoutMs = timeoutMs;
  }

  /**
   * Asks the servers `question` (lower-case QNAME, QTYPE, QCLASS as on the wire) until one answers
   * with NOERROR or NXDOMAIN, or all have failed.
   */
  async resolve(question: Buffer, dnssecOk: boolean, checkingDisabled: boolean): Promise<ForwardOutcome> {
    this.inFlight++;
    try {
      let reason = 'no upstream servers';
      for (const { upstream, timeoutMs } of this.attempts()) {
        const outcome = await this.ask(upstream, question, dnssecOk, checkingDisabled, timeoutMs);
        if (outcome.kind === 'answer') return outcome;
        reason = `${upstream.label}: ${outcome.reason}`;
      }
      return { kind: 'failure', reason };
    } finally {
      this.inFlight--;
    }
  }

  /** The order to try the servers in now, with how long to wait for each. */
  private attempts(): { upstream: Upstream; timeoutMs: number }[] {
    const now = performance.now();
    const probes = this.upstreams.filter((u) => u.claimProbe(now));
    const healthy = this.upstreams.filter((u) => u.up);
    const down = this.upstreams.filter((u) => !u.up && !probes.includes(u));
    const order = [...probes, ...healthy, ...down].map((upstream) => ({
      upstream,
      timeoutMs: upstream.waitFor(this.timeoutMs),
    }));
    // With a single server, a lost datagram should not be a SERVFAIL: ask it twice.
    const only = order[0];
    if (order.length === 1 && only !== undefined)
      order.push({ ...only, timeoutMs: only.upstream.waitFor(this.timeoutMs) });
    return order;
  }

  private async ask(
    upstream: Upstream,
    question: Buffer,
    dnssecOk: boolean,
    checkingDisabled: boolean,
    timeoutMs: number,
  ): Promise<ForwardOutcome> {
    const query = this.buildQuery(question, dnssecOk, checkingDisabled);
    const id = query.readUInt16BE(0);
    // Our ID, a response, a whole message, our question: anything else (late, forged, garbled) is
    // not an answer; over UDP the wait goes on for a real one.
    const layoutIfAnswer = (response: Buffer) => {
      if (response.length < HEADER_SIZE || response.readUInt16BE(0) !== id || ((response[2] ?? 0) & QR) === 0)
        return undefined;
      const layout = layoutOf(response);
      return layout !== undefined && sameQuestion(response, layout.questionEnd, question)
        ? layout
        : undefined;
    };
    const started = performance.now();
    this.counters.upstream_queries++;
    upstream.queries++;
    try {
      // A truncated answer may not be a whole message; its header and question are enough to go to TCP.
      const truncatedAnswer = (r: Buffer) =>
        ((r[2] ?? 0) & (TC | QR)) === (TC | QR) &&
        r.length >= HEADER_SIZE + question.length &&
        r.readUInt16BE(0) === id &&
        r.readUInt16BE(4) === 1 &&
        sameQuestion(r, HEADER_SIZE + question.length, question);
      let response = await exchangeUdp(
        upstream.address,
        query,
        timeoutMs,
        (r) => truncatedAnswer(r) || layoutIfAnswer(r) !== undefined,
      );
      if (((response[2] ?? 0) & TC) !== 0) {
        this.counters.upstream_queries++;
        response = await exchangeTcp(upstream.address, query, this.timeoutMs);
      }
      const layout = layoutIfAnswer(response);
      if (layout === undefined) throw new ExchangeError('malformed or mismatched response over TCP');
      if (upstream.answered(performance.now() - started))
        this.log('info', `upstream ${upstream.label} answers again`, { upstream: upstream.label });
      if (layout.rcode === RCODE.NOERROR || layout.rcode === RCODE.NXDOMAIN)
        return { kind: 'answer', response, layout };
      this.counters.upstream_failures++;
      return { kind: 'failure', reason: `answered with RCODE ${layout.rcode}` };
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      this.counters.upstream_failures++;
      if (upstream.failed(reason, performance.now()))
        this.log('warn', `upstream ${upstream.label} is down (${reason}); failing over`, {
          upstream: upstream.label,
          reason,
        });
      return { kind: 'failure', reason };
    }
  }

  /** Header with a random ID and RD, the question, and an OPT record advertising our buffer size. */
  private buildQuery(question: Buffer, dnssecOk: boolean, checkingDisabled: boolean): Buffer {
    const query = Buffer.alloc(HEADER_SIZE + question.length + OPT_SIZE);
    query.writeUInt16BE(this.randomId(), 0);
    query[2] = RD;
    query[3] = checkingDisabled ? CD : 0;
    query.writeUInt16BE(1, 4);
    query.writeUInt16BE(1, 10);
    question.copy(query, HEADER_SIZE);
    writeOpt(query, HEADER_SIZE + question.length, dnssecOk);
    return query;
  }

  private randomId(): number {
    if (this.randomAt + 2 > this.random.length) {
      this.random = randomBytes(4096);
      this.randomAt = 0;
    }
    const id = this.random.readUInt16BE(this.randomAt);
    this.randomAt += 2;
    return id;
  }
}
