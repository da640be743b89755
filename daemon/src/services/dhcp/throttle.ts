// Log lines about what can happen on every packet (a full pool, options left out, socket errors): at
// most one a minute per topic, saying how many times it happened since the last, so a flood of
// clients cannot flood the log and nothing goes unmentioned.

export const THROTTLE_INTERVAL_MS = 60_000;

interface Topic {
  lastAt: number;
  /** Occurrences since the last line, this one included. */
  pending: number;
}

export class LogThrottle {
  private readonly topics = new Map<string, Topic>();

  constructor(
    private readonly intervalMs = THROTTLE_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one occurrence of `topic` and calls `write` with the count when a line is due. */
  note(topic: string, write: (occurrences: number) => void): void {
    const now = this.now();
    let t = this.topics.get(topic);
    if (t === undefined) {
      t = { lastAt: -Infinity, pending: 0 };
      this.topics.set(topic, t);
    }
    t.pending++;
    if (now - t.lastAt < this.intervalMs) return;
    t.lastAt = now;
    const occurrences = t.pending;
    t.pending = 0;
    write(occurrences);
  }
}
