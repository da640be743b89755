// show dns: the DNS server's counters, cache, listeners and upstream health.
import { type GetDnsStatusResponse, GetDnsStatusResponseSchema } from '../../gen/vrouter/v1/service_pb.js';
import { type Command, printMessage } from '../command.js';
import { time } from '../format.js';
import { table } from '../table.js';

export const showDns: Command = async ({ client, json }) => {
  printMessage(GetDnsStatusResponseSchema, await client.getDnsStatus(), json, describeDns);
  return 0;
};

export function describeDns(s: GetDnsStatusResponse): string {
  if (!s.running) return 'DNS server not running (no network has DNS enabled)';
  const c = (name: string) => String(s.counters[name] ?? 0n);
  const cache = s.cache;
  const lines = [
    `queries ${c('queries')} (UDP ${c('udp_queries')}, TCP ${c('tcp_queries')}): local answers ${c('local_answers')}, ` +
      `cache hits ${c('cache_hits')}, forwarded ${c('cache_misses')}, SERVFAIL ${c('servfail')}, ` +
      `NXDOMAIN ${c('nxdomain')}, refused ${c('refused')}`,
    `dropped: malformed ${c('malformed')}, rate limited ${c('rate_limited')}, overload ${c('dropped')}; ` +
      `truncated (TC) ${c('truncated')}, upstream failures ${c('upstream_failures')}`,
    `TCP connections ${c('tcp_connections')}: refused (16 per client) ${c('tcp_refused')}, ` +
      `closed to make room ${c('tcp_evicted')}`,
    cache === undefined
      ? 'cache: -'
      : `cache: ${cache.entries} of ${cache.capacity} entries, hit rate ${(cache.hitRate * 100).toFixed(1)}% ` +
        `(${cache.hits} hits, ${cache.misses} misses), ${cache.evictions} evictions`,
    '',
    table(
      ['NETWORK', 'ADDRESS', 'INTERFACE', 'STATE'],
      s.listeners.map((l) => [
        l.networkId,
        l.address,
        l.interface,
        l.listening ? 'listening' : 'NOT LISTENING',
      ]),
    ),
  ];
  if (s.upstreams.length === 0)
    lines.push('', 'no upstream servers: names outside the local zones are refused');
  else
    lines.push(
      '',
      table(
        ['UPSTREAM', 'STATE', 'QUERIES', 'FAILURES', 'RTT', 'LAST FAILURE'],
        s.upstreams.map((u) => [
          u.address,
          u.up ? 'up' : `DOWN (${u.consecutiveFailures} failures in a row)`,
          String(u.queries),
          String(u.failures),
          u.rttMs > 0 ? `${u.rttMs.toFixed(1)} ms` : '-',
          u.lastFailureAt ? `${time(u.lastFailureAt)} ${u.lastError}` : '-',
        ]),
      ),
    );
  return lines.join('\n');
}
