// A UDP socket served in batches: when the event loop sees it readable (a libuv poll handle through
// koffi), up to BATCH datagrams are read with one recvmmsg(2), answered by the handler into a
// transmit area, and sent with one sendmmsg(2). Node's dgram costs a JS callback, a Buffer and an
// address object per datagram and a syscall per reply; this costs three calls per batch, which is what
// lets a DNS server in JavaScript answer faster than dnsmasq (see test/bench/dns.bench.ts). The
// memory the kernel reads and writes (message headers, iovecs, addresses, payloads) is allocated
// once per socket and stays put.
import koffi from 'koffi';
import { type ListenSpec, libc, openUdpSocket, sys } from './sockets.js';

/** Datagrams read per recvmmsg call. */
const BATCH = 64;
/** Largest datagram read whole; a longer one is reported with length 0 (truncated). */
const RX_SLOT = 4096;
/** Largest reply written by the handler. */
export const TX_SLOT = 1280;
/** sockaddr_in6 fits; sockaddr_in is 16. */
const NAME_SLOT = 32;
/** struct mmsghdr on x86-64 and arm64: msghdr (56) + msg_len (4) + padding. */
const MMSG = 64;
const IOVEC = 16;
/** Batches per readiness callback before the event loop gets a turn (timers, TCP, upstream replies). */
const ROUNDS = 16;

const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const EAGAIN = 11;

const recvmmsg = libc.func(
  'int recvmmsg(int fd, void *vec, unsigned int vlen, int flags, void *timeout)',
) as (fd: number, vec: Buffer, vlen: number, flags: number, timeout: null) => number;
const sendmmsg = libc.func('int sendmmsg(int fd, void *vec, unsigned int vlen, int flags)') as (
  fd: number,
  vec: Buffer,
  vlen: number,
  flags: number,
) => number;
const sendto = libc.func(
  'long sendto(int fd, const void *buf, size_t len, int flags, const void *to, uint32_t tolen)',
) as (fd: number, data: Buffer, length: number, flags: number, to: Buffer, toLength: number) => number;

/**
 * Answers one datagram: `data[offset, offset + length)` (length 0: it was too long and is dropped).
 * Writes the reply at `out[outOffset]` (at most TX_SLOT octets) and returns its length, or 0 (or
 * less) for none. `slot` identifies the sender for peerKey()/peerAddress() during the call.
 */
export type DatagramHandler = (
  data: Buffer,
  offset: number,
  length: number,
  slot: number,
  out: Buffer,
  outOffset: number,
) => number;

export interface BatchStats {
  /** recvmmsg failures other than "nothing to read". */
  receiveErrors: number;
  /** Replies the kernel did not take (lost). */
  sendErrors: number;
}

export class BatchUdpSocket {
  readonly stats: BatchStats = { receiveErrors: 0, sendErrors: 0 };
  private readonly rx = Buffer.alloc(BATCH * RX_SLOT);
  private readonly tx = Buffer.alloc(BATCH * TX_SLOT);
  private readonly rxNames = Buffer.alloc(BATCH * NAME_SLOT);
  private readonly txNames = Buffer.alloc(BATCH * NAME_SLOT);
  private readonly rxVec = Buffer.alloc(BATCH * MMSG);
  private readonly txVec = Buffer.alloc(BATCH * MMSG);
  private readonly txIov = Buffer.alloc(BATCH * IOVEC);
  private readonly rxIov = Buffer.alloc(BATCH * IOVEC);
  private readonly nameLength: number;
  private poll: ReturnType<typeof koffi.node.poll> | undefined;
  private closed = false;

  private constructor(
    readonly fd: number,
    readonly spec: ListenSpec,
  ) {
    this.nameLength = spec.address.includes(':') ? 28 : 16;
    const rx = koffi.address(this.rx);
    const tx = koffi.address(this.tx);
    const rxNames = koffi.address(this.rxNames);
    const txNames = koffi.address(this.txNames);
    const rxIov = koffi.address(this.rxIov);
    const txIov = koffi.address(this.txIov);
    for (let i = 0; i < BATCH; i++) {
      this.rxIov.writeBigUInt64LE(rx + BigInt(i * RX_SLOT), i * IOVEC);
      this.rxIov.writeBigUInt64LE(BigInt(RX_SLOT), i * IOVEC + 8);
      this.txIov.writeBigUInt64LE(tx + BigInt(i * TX_SLOT), i * IOVEC);
      this.fillHeader(this.rxVec, i, rxNames, rxIov);
      this.fillHeader(this.txVec, i, txNames, txIov);
    }
  }

  /** Opens and binds the socket (see sockets.ts); start() begins serving. */
  static open(spec: ListenSpec, receiveBuffer = 4 << 20): BatchUdpSocket {
    return new BatchUdpSocket(openUdpSocket(spec, receiveBuffer), spec);
  }

  /** Serves datagrams with `handler`; `afterBatches` runs once the socket has been drained for now. */
  start(handler: DatagramHandler, afterBatches: () => void = () => undefined): void {
    if (this.poll !== undefined || this.closed) return;
    this.poll = koffi.node.poll(this.fd, { readable: true }, () => {
      this.drain(handler);
      afterBatches();
    });
  }

  /** The sender of the datagram in `slot` as a Map key: a number for IPv4, a string for IPv6. */
  peerKey(slot: number): number | string {
    const at = slot * NAME_SLOT;
    return this.nameLength === 16
      ? this.rxNames.readUInt32BE(at + 4)
      : this.rxNames.toString('latin1', at + 8, at + 24);
  }

  /** The sender of the datagram in `slot`, kept to answer it later with sendTo(). */
  peerAddress(slot: number): Buffer {
    const at = slot * NAME_SLOT;
    return Buffer.from(this.rxNames.subarray(at, at + this.nameLength));
  }

  /** Sends one datagram now (a reply that had to wait for an upstream server). */
  sendTo(data: Buffer, peer: Buffer): void {
    if (this.closed) return;
    if (sendto(this.fd, data, data.length, MSG_DONTWAIT, peer, peer.length) < 0) this.stats.sendErrors++;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poll?.close();
    this.poll = undefined;
    sys.close(this.fd);
  }

  private fillHeader(vec: Buffer, i: number, names: bigint, iov: bigint): void {
    const at = i * MMSG;
    vec.writeBigUInt64LE(names + BigInt(i * NAME_SLOT), at); // msg_name
    vec.writeUInt32LE(NAME_SLOT, at + 8); // msg_namelen
    vec.writeBigUInt64LE(iov + BigInt(i * IOVEC), at + 16); // msg_iov
    vec.writeBigUInt64LE(1n, at + 24); // msg_iovlen
  }

  private drain(handler: DatagramHandler): void {
    for (let round = 0; round < ROUNDS && !this.closed; round++) {
      const received = recvmmsg(this.fd, this.rxVec, BATCH, MSG_DONTWAIT, null);
      if (received <= 0) {
        if (received < 0 && koffi.errno() !== EAGAIN) this.stats.receiveErrors++;
        return;
      }
      let replies = 0;
      for (let i = 0; i < received; i++) {
        const at = i * MMSG;
        const truncated = (this.rxVec.readInt32LE(at + 48) & MSG_TRUNC) !== 0;
        const length = truncated ? 0 : this.rxVec.readUInt32LE(at + 56);
        const outOffset = replies * TX_SLOT;
        const size = handler(this.rx, i * RX_SLOT, length, i, this.tx, outOffset);
        this.rxVec.writeUInt32LE(NAME_SLOT, at + 8);
        if (size <= 0) continue;
        this.rxNames.copy(this.txNames, replies * NAME_SLOT, i * NAME_SLOT, i * NAME_SLOT + this.nameLength);
        this.txVec.writeUInt32LE(this.nameLength, replies * MMSG + 8);
        this.txIov.writeUInt32LE(size, replies * IOVEC + 8);
        replies++;
      }
      if (replies > 0) this.send(replies);
      if (received < BATCH) return;
    }
  }

  /** sendmmsg stops at a message it cannot send; that one is counted lost and the rest go on. */
  private send(count: number): void {
    let sent = 0;
    while (sent < count) {
      const vec = sent === 0 ? this.txVec : this.txVec.subarray(sent * MMSG);
      const result = sendmmsg(this.fd, vec, count - sent, MSG_DONTWAIT);
      if (result < 0) {
        this.stats.sendErrors++;
        sent++;
      } else sent += Math.max(result, 1);
    }
  }
}
