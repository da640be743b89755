// GetDnsStatus: the DNS server's listeners, cache and upstream health, from the worker's status and
// the shared counters.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { type GetDnsStatusResponse, GetDnsStatusResponseSchema } from '../../gen/vrouter/v1/service_pb.js';
import type { DnsServer } from './server.js';

export async function dnsStatus(server: DnsServer): Promise<GetDnsStatusResponse> {
  const status = await server.status();
  const counters = server.counters();
  const hits = counters.cache_hits;
  const misses = counters.cache_misses;
  const plan = server.current;
  const listening = new Set(
    (status?.listeners ?? []).filter((l) => l.listening).map((l) => `${l.address}%${l.device}`),
  );
  return create(GetDnsStatusResponseSchema, {
    running: status !== undefined,
    listeners: plan.listeners.map((l) => ({
      networkId: l.networkId,
      address: l.address,
      interface: l.device,
      listening: listening.has(`${l.address}%${l.device}`),
    })),
    cache: {
      entries: BigInt(status?.cache.entries ?? counters.cache_entries),
      capacity: BigInt(status?.cache.capacity ?? plan.cacheSize),
      hits: BigInt(hits),
      misses: BigInt(misses),
      hitRate: hits + misses === 0 ? 0 : hits / (hits + misses),
      evictions: BigInt(status?.cache.evictions ?? counters.cache_evictions),
    },
    upstreams: (status?.upstreams ?? []).map((u) => ({
      address: u.label,
      up: u.up,
      queries: BigInt(u.queries),
      failures: BigInt(u.failures),
      consecutiveFailures: BigInt(u.consecutiveFailures),
      rttMs: Math.round(u.srttMs * 100) / 100,
      lastError: u.lastError,
      ...(u.lastFailureAt > 0 && { lastFailureAt: timestampFromDate(new Date(u.lastFailureAt)) }),
    })),
    counters: Object.fromEntries(
      Object.entries({ ...counters, worker_restarts: server.restarts }).map(([k, v]) => [
        k,
        BigInt(Math.round(v)),
      ]),
    ),
  });
}
