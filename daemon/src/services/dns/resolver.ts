// What the server does with one query, whatever transport brought it: rate limit, read it (malformed
// ones are counted, and dropped or answered FORMERR), then answer from the pre-encoded local answers,
// or from the cache, or work out the local answer (and keep it encoded), or forward it. The first
// three happen in the call; a forwarded query is answered later through the transport's deferred
// reply. Nothing here throws at the transport for a bad packet.
import { ResponseCache, toCachedResponse, type CachedResponse } from './cache.js';
import { type CounterValues, zeroCounters } from './counters.js';
import { Forwarder, type ForwarderLog } from './forwarder.js';
import { RateLimiter } from './rate-limit.js';
import { type DnsPlan, NO_DNS } from './render.js';
import { MAX_EMPTY_ANSWER, answerEmpty, answerFromTemplate, encodeLocal } from './templates.js';
import {
  CD,
  CLASS_IN,
  EDNS_UDP_SIZE,
  FORMERR_REASONS,
  HEADER_SIZE,
  OPT_SIZE,
  PLAIN_UDP_SIZE,
  Query,
  RCODE,
  TYPE,
  parseQuery,
  readName,
} from './wire.js';
import { ZoneTable } from './zones.js';

export type Transport = 'udp' | 'tcp';

/** Sends a reply that had to wait (for an upstream server) back to whoever asked. */
export type DeferredReply = (reply: Buffer) => void;

/** The transport's side of a query being answered: how to reply later. */
export interface ReplyChannel {
  /** Called (at most once per query, during answer()) when the answer will come later. */
  deferReply(): DeferredReply;
}

/** Where a query came from; a transport keeps one per listener (UDP) or connection (TCP). */
export interface Arrival {
  /** Index of the listener's view (DnsListener.view). */
  view: number;
  /** The client address as a rate-limiting key. */
  client: number | string;
  readonly transport: Transport;
  /** performance.now() when it arrived (once per UDP batch). */
  now: number;
  readonly channel: ReplyChannel;
}

/** answer()'s result for a message that is no query at all: no reply, and a TCP connection is closed. */
export const NOT_A_QUERY = -1;

/** Largest message over TCP. */
const TCP_LIMIT = 65535;
const BADVERS = 16;
/** Meta types a client may not ask for here: zone transfers, TSIG/TKEY, MAILA/MAILB. */
const REFUSED_TYPES: ReadonlySet<number> = new Set([
  TYPE.TKEY,
  TYPE.TSIG,
  TYPE.IXFR,
  TYPE.AXFR,
  TYPE.MAILB,
  TYPE.MAILA,
]);

export class Resolver {
  readonly counters: CounterValues = zeroCounters();
  readonly cache = new ResponseCache(NO_DNS.cacheSize);
  readonly limiter = new RateLimiter(NO_DNS.rateLimitQps);
  readonly forwarder: Forwarder;
  private plan: DnsPlan = NO_DNS;
  private zones = new ZoneTable(NO_DNS);
  /** Per view: encoded local answers by query key. */
  private memo: Map<string, Buffer>[] = [];
  private memoEntries = 0;
  private memoLimit = 0;
  /** Forwarded questions in flight, by key: identical questions share one upstream query. */
  private readonly pending = new Map<string, Promise<CachedResponse | string>>();
  private readonly q = new Query();
  private readonly scratch = Buffer.alloc(512);

  constructor(log: ForwarderLog) {
    this.forwarder = new Forwarder(this.counters, log);
  }

  get names(): number {
    return this.zones.size;
  }

  configure(plan: DnsPlan): void {
    const upstreamsChanged = JSON.stringify(plan.upstreams) !== JSON.stringify(this.plan.upstreams);
    const zonesChanged = JSON.stringify(plan.zones) !== JSON.stringify(this.plan.zones);
    // A name that became local must not be answered from what an upstream said about it.
    if (upstreamsChanged || zonesChanged) this.cache.clear();
    this.forwarder.configure(plan.upstreams, plan.upstreamTimeoutMs);
    this.cache.resize(plan.cacheSize);
    this.limiter.setRate(plan.rateLimitQps);
    this.zones = new ZoneTable(plan);
    this.memo = plan.views.map(() => new Map<string, Buffer>());
    this.memoEntries = 0;
    this.memoLimit = 4 * this.zones.size + 10_000;
    this.plan = plan;
  }

  /**
   * Answers the message `msg[offset, offset + length)` that arrived as `arrival` says. Writes the
   * reply at `out[outOffset]` and returns its length, or 0 for no reply now (dropped, or deferred
   * through the arrival's channel), or NOT_A_QUERY.
   */
  answer(
    msg: Buffer,
    offset: number,
    length: number,
    arrival: Arrival,
    out: Buffer,
    outOffset: number,
  ): number {
    const c = this.counters;
    const { now, transport, view } = arrival;
    if (!this.limiter.allow(arrival.client, now)) {
      c.rate_limited++;
      return 0;
    }
    const q = this.q;
    const malformed = parseQuery(msg, offset, length, q, this.scratch);
    if (malformed !== undefined) {
      c.malformed++;
      if (!FORMERR_REASONS.has(malformed)) return NOT_A_QUERY;
      // The OPT record of a malformed message is not to be trusted: the FORMERR goes without one.
      q.edns = false;
      return answerEmpty(q, msg, offset, out, outOffset, RCODE.FORMERR);
    }
    c.queries++;
    if (transport === 'udp') c.udp_queries++;
    else c.tcp_queries++;
    const limit =
      transport === 'tcp' ? TCP_LIMIT : q.edns ? Math.min(q.udpSize, EDNS_UDP_SIZE) : PLAIN_UDP_SIZE;
    if (q.opcode !== 0) return answerEmpty(q, msg, offset, out, outOffset, RCODE.NOTIMP);
    if (q.edns && q.ednsVersion !== 0) return answerEmpty(q, msg, offset, out, outOffset, BADVERS);
    if (q.type === TYPE.OPT) return answerEmpty(q, msg, offset, out, outOffset, RCODE.FORMERR);
    if (q.klass !== CLASS_IN || REFUSED_TYPES.has(q.type)) {
      c.refused++;
      return answerEmpty(q, msg, offset, out, outOffset, RCODE.REFUSED);
    }

    const memo = this.memo[view];
    let template = memo?.get(q.key);
    if (template === undefined) {
      template = this.cache.get(q.key, Math.floor(now / 1000));
      if (template !== undefined) {
        c.cache_hits++;
        return this.reply(template, q, msg, offset, out, outOffset, limit);
      }
      const name = readName(msg, offset + HEADER_SIZE, offset + length) ?? '';
      const local = this.zones.lookup(view, name, q.type);
      if (local === undefined) {
        if (this.forwarder.servers.length > 0)
          return this.forward(q, msg, offset, limit, arrival.channel, !this.zones.isViewName(name));
        c.refused++;
        return answerEmpty(q, msg, offset, out, outOffset, RCODE.REFUSED);
      }
      template = encodeLocal(this.scratch.subarray(0, q.nameLength + 4), local, this.plan.localTtl);
      this.remember(memo, q.key, template);
    }
    c.local_answers++;
    return this.reply(template, q, msg, offset, out, outOffset, limit);
  }

  private reply(
    template: Buffer,
    q: Query,
    msg: Buffer,
    offset: number,
    out: Buffer,
    outOffset: number,
    limit: number,
  ): number {
    const rcode = (template[3] ?? 0) & 0x0f;
    if (rcode === RCODE.NXDOMAIN) this.counters.nxdomain++;
    const size = answerFromTemplate(template, q, msg, offset, out, outOffset, limit);
    if (size < template.length) this.counters.truncated++;
    return size;
  }

  private remember(memo: Map<string, Buffer> | undefined, key: string, template: Buffer): void {
    if (memo === undefined) return;
    if (++this.memoEntries > this.memoLimit) {
      for (const m of this.memo) m.clear();
      this.memoEntries = 1;
    }
    memo.set(key, template);
  }

  /**
   * Starts (or joins) the upstream query for `q`; the reply goes out through `channel` later. The
   * response is cached unless the name means something local in another view (a single label).
   */
  private forward(
    q: Query,
    msg: Buffer,
    offset: number,
    limit: number,
    channel: ReplyChannel,
    cacheable: boolean,
  ): number {
    const c = this.counters;
    if (this.forwarder.busy && !this.pending.has(q.key)) {
      c.dropped++;
      return 0;
    }
    c.cache_misses++;
    const key = q.key;
    const query = q.copy();
    const asked = Buffer.from(msg.subarray(offset, offset + q.questionEnd));
    const reply = channel.deferReply();
    let shared = this.pending.get(key);
    if (shared === undefined) {
      const question = Buffer.from(this.scratch.subarray(0, q.nameLength + 4));
      shared = this.ask(key, question, q.dnssecOk, (q.flags3 & CD) !== 0, cacheable);
      this.pending.set(key, shared);
    }
    shared.then(
      (result) => reply(this.deferredAnswer(result, query, asked, limit)),
      () => this.counters.errors++,
    );
    return 0;
  }

  private async ask(
    key: string,
    question: Buffer,
    dnssecOk: boolean,
    cd: boolean,
    cacheable: boolean,
  ): Promise<CachedResponse | string> {
    try {
      const outcome = await this.forwarder.resolve(question, dnssecOk, cd);
      if (outcome.kind === 'failure') return outcome.reason;
      const response = toCachedResponse(outcome.response, outcome.layout);
      if (cacheable) this.cache.put(key, response, Math.floor(performance.now() / 1000));
      return response;
    } finally {
      this.pending.delete(key);
    }
  }

  private deferredAnswer(result: CachedResponse | string, q: Query, asked: Buffer, limit: number): Buffer {
    if (typeof result === 'string') {
      this.counters.servfail++;
      const out = Buffer.alloc(MAX_EMPTY_ANSWER);
      return out.subarray(0, answerEmpty(q, asked, 0, out, 0, RCODE.SERVFAIL));
    }
    const out = Buffer.alloc(Math.max(MAX_EMPTY_ANSWER, result.template.length + OPT_SIZE));
    return out.subarray(0, this.reply(result.template, q, asked, 0, out, 0, limit));
  }
}
