// Per-client rate limiting: a token bucket per client address, refilled at `qps` per second up to a
// burst of one second's worth. Queries beyond it are dropped (and counted by the caller). Buckets of
// clients that went quiet are swept, and the table is bounded so spoofed sources cannot grow it
// without end.
const MAX_CLIENTS = 100_000;

interface Bucket {
  tokens: number;
  /** Milliseconds (monotonic) when `tokens` was computed. */
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<number | string, Bucket>();

  constructor(private qps: number) {}

  setRate(qps: number): void {
    this.qps = qps;
  }

  /** Whether a query from `client` at `now` (ms) may be answered; takes a token when it may. */
  allow(client: number | string, now: number): boolean {
    const bucket = this.buckets.get(client);
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_CLIENTS) this.sweep(now);
      this.buckets.set(client, { tokens: this.qps - 1, at: now });
      return true;
    }
    const tokens = Math.min(this.qps, bucket.tokens + ((now - bucket.at) * this.qps) / 1000);
    bucket.at = now;
    if (tokens < 1) {
      bucket.tokens = tokens;
      return false;
    }
    bucket.tokens = tokens - 1;
    return true;
  }

  /** Forgets clients whose bucket has refilled (they are as new); all of them if the table is full. */
  sweep(now: number): void {
    for (const [client, bucket] of this.buckets)
      if (bucket.tokens + ((now - bucket.at) * this.qps) / 1000 >= this.qps) this.buckets.delete(client);
    if (this.buckets.size >= MAX_CLIENTS) this.buckets.clear();
  }

  get clients(): number {
    return this.buckets.size;
  }
}
