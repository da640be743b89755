// The DNS server's counters. The worker thread counts in plain fields (cheap on the hot path) and
// publishes them into a SharedArrayBuffer after each batch, which the main thread reads synchronously
// for GetStatus without a message round trip.
export const COUNTER_NAMES = [
  'queries',
  'udp_queries',
  'tcp_queries',
  'local_answers',
  'cache_hits',
  'cache_misses',
  'upstream_queries',
  'upstream_failures',
  'servfail',
  'nxdomain',
  'refused',
  'truncated',
  'malformed',
  'rate_limited',
  'dropped',
  'lost_replies',
  'tcp_connections',
  'tcp_refused',
  'tcp_evicted',
  'cache_entries',
  'cache_evictions',
  'errors',
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];

export type CounterValues = Record<CounterName, number>;

export function zeroCounters(): CounterValues {
  return Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as CounterValues;
}

export function sharedCounters(): SharedArrayBuffer {
  return new SharedArrayBuffer(COUNTER_NAMES.length * Float64Array.BYTES_PER_ELEMENT);
}

/** Writes `values` into the shared buffer (worker side). */
export function publishCounters(values: CounterValues, shared: Float64Array): void {
  for (let i = 0; i < COUNTER_NAMES.length; i++) shared[i] = values[COUNTER_NAMES[i] ?? 'queries'];
}

/** Reads the shared buffer (main thread side). */
export function readCounters(shared: Float64Array): CounterValues {
  const values = zeroCounters();
  COUNTER_NAMES.forEach((name, i) => (values[name] = shared[i] ?? 0));
  return values;
}
