// The DNS server's thread. It owns the sockets, the resolver (local answers, cache, forwarding) and
// its counters, so a burst of queries never waits behind the control plane (a large Apply) and the
// other way round. The main thread (server.ts) configures it with rendered plans and reads its status.
import { parentPort, workerData } from 'node:worker_threads';
import type { ListenSpec } from '../../drivers/sockets.js';
import { publishCounters } from './counters.js';
import type { FromWorker, ListenerState, ToWorker, WorkerStatus } from './protocol.js';
import type { DnsListener, DnsPlan } from './render.js';
import { Resolver } from './resolver.js';
import { TcpListener } from './tcp-listener.js';
import { UdpListener } from './udp-listener.js';

const DNS_PORT = 53;
const SWEEP_MS = 10_000;

interface Listening {
  readonly spec: DnsListener;
  readonly udp: UdpListener;
  readonly tcp: TcpListener;
}

const port = parentPort;
if (port === null) throw new Error('the DNS worker runs as a worker thread');
const { counters: sharedBuffer } = workerData as { counters: SharedArrayBuffer };
const shared = new Float64Array(sharedBuffer);
const send = (message: FromWorker) => port.postMessage(message);
const resolver = new Resolver((level, message, data) => send({ kind: 'log', level, message, data }));
const listening = new Map<string, Listening>();
/** Replies the kernel refused on sockets closed since. */
let lostByClosed = 0;

function publish(): void {
  const c = resolver.counters;
  c.cache_entries = resolver.cache.size;
  c.cache_evictions = resolver.cache.evictions;
  c.lost_replies = lostByClosed + [...listening.values()].reduce((n, l) => n + l.udp.lostReplies, 0);
  publishCounters(c, shared);
}

/**
 * By link index, not name: a renamed link keeps its index and the sockets bound to it stay good,
 * while binding anew beside them would fail (EADDRINUSE on the same address and device).
 */
function keyOf(l: DnsListener): string {
  return `${l.address}%${l.deviceIndex}`;
}

/** Opens what is new first; if any bind fails, closes those and leaves everything as it was. */
function configure(plan: DnsPlan, reopen: boolean): void {
  const wanted = new Map(plan.listeners.map((l) => [keyOf(l), l]));
  if (reopen) closeAll();
  const opened: Listening[] = [];
  try {
    for (const [key, l] of wanted) if (!listening.has(key)) opened.push(open(l));
  } catch (e) {
    for (const o of opened) close(o);
    throw e;
  }
  resolver.configure(plan);
  for (const o of opened) listening.set(keyOf(o.spec), o);
  for (const [key, l] of listening) {
    const spec = wanted.get(key);
    if (spec === undefined) {
      close(l);
      listening.delete(key);
    } else {
      l.udp.view = spec.view;
      l.tcp.view = spec.view;
      listening.set(key, { ...l, spec });
    }
  }
  for (const o of opened) o.udp.start();
}

function open(l: DnsListener): Listening {
  const spec: ListenSpec = { address: l.address, port: DNS_PORT, device: l.device };
  const udp = new UdpListener(spec, resolver, l.view, publish);
  try {
    const tcp = new TcpListener(spec, resolver, l.view, publish);
    return { spec: l, udp, tcp };
  } catch (e) {
    udp.close();
    throw e;
  }
}

function close(l: Listening): void {
  lostByClosed += l.udp.lostReplies;
  l.udp.close();
  l.tcp.close();
}

function closeAll(): void {
  for (const l of listening.values()) close(l);
  listening.clear();
}

function listenerStates(): ListenerState[] {
  return [...listening.values()].map((l) => ({
    networkId: l.spec.networkId,
    address: l.spec.address,
    device: l.spec.device,
    listening: true,
  }));
}

function status(): WorkerStatus {
  const cache = resolver.cache;
  return {
    listeners: listenerStates(),
    names: resolver.names,
    cache: {
      entries: cache.size,
      capacity: cache.limit,
      hits: resolver.counters.cache_hits,
      misses: resolver.counters.cache_misses,
      evictions: cache.evictions,
    },
    upstreams: resolver.forwarder.servers.map((u) => ({
      label: u.label,
      up: u.up,
      queries: u.queries,
      failures: u.failures,
      consecutiveFailures: u.consecutiveFailures,
      srttMs: u.srttMs,
      lastFailureAt: u.lastFailureAt,
      lastError: u.lastError,
    })),
  };
}

port.on('message', (message: ToWorker) => {
  try {
    handle(message);
  } catch (e) {
    send({ kind: 'log', level: 'error', message: 'DNS worker message failed', data: { error: String(e) } });
  }
});

function handle(message: ToWorker): void {
  switch (message.kind) {
    case 'configure':
      try {
        configure(message.plan, message.reopen);
        send({ kind: 'configured', id: message.id, listeners: listenerStates() });
      } catch (e) {
        send({
          kind: 'configured',
          id: message.id,
          error: e instanceof Error ? e.message : String(e),
          listeners: listenerStates(),
        });
      }
      publish();
      return;
    case 'status':
      publish();
      send({ kind: 'status', id: message.id, status: status() });
      return;
  }
}

setInterval(publish, 1000).unref();
setInterval(() => {
  const now = performance.now();
  resolver.cache.sweep(Math.floor(now / 1000));
  resolver.limiter.sweep(now);
}, SWEEP_MS).unref();
