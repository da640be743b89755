// The UDP side of one listening address: datagrams in batches from the driver, each answered by the
// resolver straight into the transmit area, or later (forwarded queries) with a sendto of its own.
import { BatchUdpSocket } from '../../drivers/udp-batch.js';
import type { ListenSpec } from '../../drivers/sockets.js';
import type { Arrival, DeferredReply, ReplyChannel, Resolver } from './resolver.js';

export class UdpListener implements ReplyChannel {
  private slot = 0;
  private readonly socket: BatchUdpSocket;
  private readonly arrival: Arrival;

  constructor(
    spec: ListenSpec,
    private readonly resolver: Resolver,
    view: number,
    private readonly afterReplies: () => void,
  ) {
    this.socket = BatchUdpSocket.open(spec);
    this.arrival = { view, client: 0, transport: 'udp', now: 0, channel: this };
  }

  set view(view: number) {
    this.arrival.view = view;
  }

  get lostReplies(): number {
    return this.socket.stats.sendErrors + this.socket.stats.receiveErrors;
  }

  start(): void {
    const { resolver, socket, arrival } = this;
    socket.start((data, offset, length, slot, out, outOffset) => {
      this.slot = slot;
      // Slot 0 starts a batch: one clock reading serves the whole batch.
      if (slot === 0) arrival.now = performance.now();
      arrival.client = socket.peerKey(slot);
      try {
        return resolver.answer(data, offset, length, arrival, out, outOffset);
      } catch {
        // A bug must cost one query, never the server.
        resolver.counters.errors++;
        return 0;
      }
    }, this.afterReplies);
  }

  deferReply(): DeferredReply {
    const peer = this.socket.peerAddress(this.slot);
    return (reply) => {
      this.socket.sendTo(reply, peer);
      this.afterReplies();
    };
  }

  close(): void {
    this.socket.close();
  }
}
