// The TCP side of one listening address (RFC 7766): length-prefixed messages, several per connection
// and answered as they complete, idle connections closed, the number of connections bounded.
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { type ListenSpec, openTcpListener } from '../../drivers/sockets.js';
import type { Arrival, Resolver } from './resolver.js';

const IDLE_MS = 10_000;
const MAX_CONNECTIONS = 256;
const MAX_FRAME = 2 + 65535;

export class TcpListener {
  private readonly server: net.Server;
  private readonly connections = new Set<net.Socket>();
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
  }

  private serve(socket: net.Socket): void {
    const counters = this.resolver.counters;
    counters.tcp_connections++;
    if (this.connections.size >= MAX_CONNECTIONS) {
      counters.dropped++;
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    const arrival: Arrival = {
      view: this.view,
      client: clientKey(socket.remoteAddress ?? ''),
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
    socket.on('close', () => this.connections.delete(socket));
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        this.handle(socket, pending, 2, length, arrival);
        pending = pending.subarray(2 + length);
      }
      if (pending.length > MAX_FRAME) socket.destroy();
    });
  }

  private handle(socket: net.Socket, data: Buffer, offset: number, length: number, arrival: Arrival): void {
    arrival.view = this.view;
    arrival.now = performance.now();
    try {
      const size = this.resolver.answer(data, offset, length, arrival, this.out, 2);
      if (size > 0) this.send(socket, this.out, 2, size);
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
