// One upstream server: how to ask it (UDP from a fresh socket with a random source port, TCP when the
// answer was truncated) and what the server knows of its health. A server that times out or refuses
// is "down": tried after the healthy ones with a shorter wait, and probed now and then, first in line,
// to notice when it is back.
import dgram from 'node:dgram';
import net from 'node:net';
import { type UpstreamAddress, formatUpstream } from './upstream-address.js';

/** How often a down server is given a query first, to find out whether it is back. */
export const PROBE_INTERVAL_MS = 5000;
/** Shortest wait for a down server. */
const MIN_PROBE_TIMEOUT_MS = 250;

export class Upstream {
  readonly label: string;
  queries = 0;
  failures = 0;
  consecutiveFailures = 0;
  up = true;
  /** Smoothed RTT (ms) of its answers, as TCP computes it (RFC 6298); 0 before the first. */
  srttMs = 0;
  /** Epoch ms of the last failure, 0 if none. */
  lastFailureAt = 0;
  lastError = '';
  /** Monotonic ms after which a down server gets a probe. */
  nextProbeAt = 0;

  constructor(readonly address: UpstreamAddress) {
    this.label = formatUpstream(address);
  }

  /** How long to wait for it: `timeoutMs` when up, shorter when down (but past its usual RTT). */
  waitFor(timeoutMs: number): number {
    return this.up ? timeoutMs : Math.min(timeoutMs, Math.max(MIN_PROBE_TIMEOUT_MS, 4 * this.srttMs));
  }

  /** Whether this down server is due for a probe at `now`; claims the probe when it is. */
  claimProbe(now: number): boolean {
    if (this.up || now < this.nextProbeAt) return false;
    this.nextProbeAt = now + PROBE_INTERVAL_MS;
    return true;
  }

  /** It answered after `rttMs`; returns true when that brought it back up. */
  answered(rttMs: number): boolean {
    this.srttMs = this.srttMs === 0 ? rttMs : 0.875 * this.srttMs + 0.125 * rttMs;
    this.consecutiveFailures = 0;
    const back = !this.up;
    this.up = true;
    return back;
  }

  /** It failed at `now` (monotonic ms); returns true when that took it down. */
  failed(reason: string, now: number): boolean {
    this.failures++;
    this.consecutiveFailures++;
    this.lastFailureAt = Date.now();
    this.lastError = reason;
    const wentDown = this.up;
    this.up = false;
    if (wentDown) this.nextProbeAt = now + PROBE_INTERVAL_MS;
    return wentDown;
  }
}

/** A failed exchange; `message` is what the status shows (`timeout after 1000 ms`). */
export class ExchangeError extends Error {}

/**
 * Sends `query` over UDP from a new socket (the kernel picks a random source port) connected to the
 * server, so only its datagrams arrive and an ICMP port unreachable fails at once. Resolves with the
 * first datagram `accept` takes; others (late or forged answers) are ignored.
 */
export function exchangeUdp(
  server: UpstreamAddress,
  query: Buffer,
  timeoutMs: number,
  accept: (response: Buffer) => boolean,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(server.family === 4 ? 'udp4' : 'udp6');
    let finished = false;
    const finish = (error: Error | undefined, response?: Buffer) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.close();
      if (error !== undefined || response === undefined) reject(error ?? new ExchangeError('no response'));
      else resolve(response);
    };
    const timer = setTimeout(() => finish(new ExchangeError(`timeout after ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (e: NodeJS.ErrnoException) =>
      finish(new ExchangeError(e.code === 'ECONNREFUSED' ? 'refused (port unreachable)' : e.message)),
    );
    socket.on('message', (response) => {
      if (accept(response)) finish(undefined, response);
    });
    socket.connect(server.port, server.address, () => {
      socket.send(query, (e) => {
        if (e) finish(new ExchangeError(e.message));
      });
    });
  });
}

/** Sends `query` over TCP (RFC 7766: two-octet length prefix) and reads one response. */
export function exchangeTcp(server: UpstreamAddress, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.address, port: server.port });
    let received = Buffer.alloc(0);
    let finished = false;
    const finish = (error: Error | undefined, response?: Buffer) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== undefined || response === undefined) reject(error ?? new ExchangeError('no response'));
      else resolve(response);
    };
    const timer = setTimeout(() => finish(new ExchangeError(`TCP timeout after ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (e: NodeJS.ErrnoException) =>
      finish(new ExchangeError(e.code === 'ECONNREFUSED' ? 'TCP connection refused' : `TCP: ${e.message}`)),
    );
    socket.on('end', () => finish(new ExchangeError('TCP connection closed before the response')));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length >= 2 + length) finish(undefined, received.subarray(2, 2 + length));
    });
    const framed = Buffer.alloc(2 + query.length);
    framed.writeUInt16BE(query.length, 0);
    query.copy(framed, 2);
    socket.write(framed);
  });
}
