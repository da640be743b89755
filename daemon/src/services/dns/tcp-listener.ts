// The TCP side of one listening address (RFC 7766): length-prefixed messages, several per connection
// and answered as they complete, idle connections closed, the number of connections bounded. One
// client cannot keep the others out: it may hold only a few connections, and when all are taken the
// one idle longest makes room for a new one.
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { type ListenSpec, openTcpListener } from '../../drivers/sockets.js';
import { type Arrival, NOT_A_QUERY, type Resolver } from './resolver.js';

const IDLE_MS = 10_000;
const MAX_CONNECTIONS = 256;
/** Connections one client address may have open at once; more are closed at once and counted. */
const MAX_PER_CLIENT = 16;
const MAX_FRAME = 2 + 65535;

export class TcpListener {
  private readonly server: net.Server;
  /** Open connections, the one idle longest first (each moves to the end when a message arrives). */
  private readonly connections = new Set<net.Socket>();
  private readonly perClient = new Map<number | string, number>();
  private readonly out = Buffer.alloc(MAX_FRAME);

  constructor(
    spec: ListenSpec,
    private readonly resolver: Resolver,
    public view: number,
    private readonly afterReplies: () => void,
  ) {
    const fd = openTcpListener(spec);
    this.server = net.createServer((socket) => this.serve(socket));
    this.server.on('error', () => resolver.counters.errors++);
    this.server.listen({ fd });
  }

  close(): void {
    this.server.close();
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
    this.perClient.clear();
  }

  private serve(socket: net.Socket): void {
    const counters = this.resolver.counters;
    counters.tcp_connections++;
    const client = clientKey(socket.remoteAddress ?? '');
    const held = this.perClient.get(client) ?? 0;
    if (held >= MAX_PER_CLIENT) {
      counters.tcp_refused++;
      socket.destroy();
      return;
    }
    if (this.connections.size >= MAX_CONNECTIONS) this.closeIdlest();
    this.perClient.set(client, held + 1);
    this.connections.add(socket);
    const arrival: Arrival = {
      view: this.view,
      client,
      transport: 'tcp',
      now: 0,
      channel: {
        deferReply: () => (reply) => {
          this.send(socket, reply, 0, reply.length);
          this.afterReplies();
        },
      },
    };
    let pending: Buffer = Buffer.alloc(0);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.connections.delete(socket);
      this.release(client);
    });
    socket.on('data', (chunk: Buffer) => {
      this.connections.delete(socket);
      this.connections.add(socket);
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && !socket.destroyed) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        this.handle(socket, pending, 2, length, arrival);
        pending = pending.subarray(2 + length);
      }
      if (pending.length > MAX_FRAME) socket.destroy();
    });
  }

  private closeIdlest(): void {
    const idlest = this.connections.values().next().value;
    if (idlest === undefined) return;
    this.resolver.counters.tcp_evicted++;
    this.connections.delete(idlest);
    idlest.destroy();
  }

  private release(client: number | string): void {
    const held = (this.perClient.get(client) ?? 1) - 1;
    if (held > 0) this.perClient.set(client, held);
    else this.perClient.delete(client);
  }

  private handle(socket: net.Socket, data: Buffer, offset: number, length: number, arrival: Arrival): void {
    arrival.view = this.view;
    arrival.now = performance.now();
    try {
      const size = this.resolver.answer(data, offset, length, arrival, this.out, 2);
      if (size > 0) this.send(socket, this.out, 2, size);
      // A client that sends what is not DNS gets nothing more: its connection is not worth keeping.
      else if (size === NOT_A_QUERY) socket.destroy();
    } catch {
      this.resolver.counters.errors++;
    }
    this.afterReplies();
  }

  private send(socket: net.Socket, data: Buffer, offset: number, length: number): void {
    if (socket.destroyed) return;
    const framed = Buffer.allocUnsafe(2 + length);
    framed.writeUInt16BE(length, 0);
    data.copy(framed, 2, offset, offset + length);
    socket.write(framed);
  }
}

/** The same key the UDP side uses: a number for IPv4, the 16 octets as latin1 for IPv6. */
function clientKey(address: string): number | string {
  if (!ipaddr.isValid(address)) return address;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const bytes = parsed.toByteArray();
  return parsed.kind() === 'ipv4'
    ? Buffer.from(bytes).readUInt32BE(0)
    : Buffer.from(bytes).toString('latin1');
}
