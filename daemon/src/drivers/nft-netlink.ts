// Set element changes sent to nf_tables over netlink in process (the batch is built by
// nft/element-wire.ts; why it exists is said there). One NETLINK_NETFILTER socket made with libc
// through koffi rather than the `netlink` package's, because a batch is one datagram (one
// transaction) and 10k EIPs make megabytes: only SO_SNDBUFFORCE lifts the send buffer past
// net.core.wmem_max. The kernel runs the whole transaction inside send(): a big one on koffi's worker
// thread so the event loop keeps serving DHCP and DNS, a small one (a Patch's few elements, ~0.1 ms)
// right here, because the trip to a worker and back costs more than that and, on a busy 2-vCPU
// router, now and then milliseconds (one-EIP Patch: the nftables step's p99 3.5 ms through the worker,
// 0.2–0.4 ms in place). Its answers (an ACK or an error per element message) are then already queued
// and read without waiting. Netlink headers are in host byte order, read here as
// little-endian: the machines router images run on (x86-64, arm64). The channel also reads a set's
// elements back (a dump, decoded by nft/element-dump.ts) on a second socket of its own.
import koffi from 'koffi';
import { type ElementBatch, encodeElementBatch } from '../nft/element-wire.js';
import { type DumpedElement, dumpRequest, parseDumpChunk } from '../nft/element-dump.js';
import type { NftCommand } from '../nft/commands.js';
import type { NftFamily, NftRuleset } from '../nft/model.js';
import { NftError } from './nftables.js';
import { SOCK_CLOEXEC, SOL_SOCKET, lastError, libc, sys } from './sockets.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const NETLINK_NETFILTER = 12;
const SO_SNDBUFFORCE = 32;
const SOL_NETLINK = 270;
/** Errors echo only the failed message's header, not its 60 KB of elements. */
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const NLMSG_ERROR = 2;
const NLMSGERR_ATTR_MSG = 1;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const ENOENT = 2;
/** A dump's next chunk is made by the read that asks for it; waiting longer than this means it is lost. */
const DUMP_WAIT_MS = 2000;
const RECEIVE_BYTES = 65_536;
/** Batches up to this many elements are sent from the event loop (see the header). */
const IN_PLACE_ELEMENTS = 64;

const send = libc.func('long send(int fd, const void *buffer, size_t length, int flags)');
const recv = libc.func('long recv(int fd, void *buffer, size_t length, int flags)') as (
  fd: number,
  buffer: Buffer,
  length: number,
  flags: number,
) => number;

/** What a load sent, and where its time went. */
export interface ElementLoad {
  readonly elements: number;
  readonly encodeMs: number;
  /** send() until every answer was read: the kernel's transaction. */
  readonly kernelMs: number;
}

/** What reads elements back (status views take no more than this). */
export type SetReader = Pick<NftElementChannel, 'readSet' | 'unavailable'>;

export class NftElementChannel {
  private fd = -1;
  /** Dumps have a socket of their own: a drift check reads outside the write queue, beside a batch. */
  private dumpFd = -1;
  private dumps: Promise<unknown> = Promise.resolve();
  private sendBuffer = 0;
  private seq = 1;
  /** Why the socket could not be set up (no CAP_NET_ADMIN, say): then every change goes through libnftables. */
  unavailable: string | undefined;

  /**
   * Loads `commands` as one transaction when they only add or delete elements of sets the encoder
   * speaks (their definitions taken from `ruleset`); returns undefined, having sent nothing, otherwise.
   */
  async run(commands: readonly NftCommand[], ruleset: NftRuleset): Promise<ElementLoad | undefined> {
    const started = process.hrtime.bigint();
    if (this.unavailable !== undefined) return undefined;
    const batch = encodeElementBatch(commands, ruleset, this.seq);
    if (batch === undefined) return undefined;
    const encoded = process.hrtime.bigint();
    this.seq += batch.seqs.length + 2;
    let fd: number;
    try {
      fd = this.socket(batch.bytes.length);
    } catch (e) {
      this.unavailable = e instanceof Error ? e.message : String(e);
      this.close();
      return undefined;
    }
    const what = `sending the element batch (${batch.bytes.length} bytes)`;
    // Nothing was committed when the send fails.
    if (batch.elements <= IN_PLACE_ELEMENTS) {
      if (Number(send(fd, batch.bytes, batch.bytes.length, 0)) !== batch.bytes.length)
        throw new NftError(lastError(what).message);
    } else {
      const sent = await new Promise<number>((resolve, reject) => {
        send.async(fd, batch.bytes, batch.bytes.length, 0, (error: unknown, result: unknown) => {
          if (error instanceof Error) reject(error);
          else resolve(Number(result));
        });
      });
      // errno belongs to koffi's worker thread here: say what is known.
      if (sent !== batch.bytes.length) throw new NftError(`${what} returned ${sent}`);
    }
    this.readAnswers(fd, batch);
    const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;
    return {
      elements: batch.elements,
      encodeMs: ms(started, encoded),
      kernelMs: ms(encoded, process.hrtime.bigint()),
    };
  }

  /**
   * Every element of a set as the kernel holds it (NFT_MSG_GETSETELEM dump, nft/element-dump.ts);
   * undefined when the table or the set does not exist. The kernel fills each read (~32 KB) when it
   * is asked for: the reads run here, one at a time, and the event loop gets a turn between them.
   */
  readSet(family: NftFamily, table: string, set: string): Promise<DumpedElement[] | undefined> {
    const next = this.dumps.then(async () => {
      try {
        return await this.dump(family, table, set);
      } catch (e) {
        // Whatever the kernel still had to say about this dump must not reach the next one.
        if (this.dumpFd >= 0) sys.close(this.dumpFd);
        this.dumpFd = -1;
        throw e;
      }
    });
    this.dumps = next.catch(() => undefined);
    return next;
  }

  close(): void {
    if (this.fd >= 0) sys.close(this.fd);
    if (this.dumpFd >= 0) sys.close(this.dumpFd);
    this.fd = -1;
    this.dumpFd = -1;
  }

  private async dump(family: NftFamily, table: string, set: string): Promise<DumpedElement[] | undefined> {
    if (this.dumpFd < 0) {
      this.dumpFd = sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
      if (this.dumpFd < 0) throw lastError('netlink socket');
    }
    const fd = this.dumpFd;
    const seq = this.seq++;
    const request = dumpRequest(family, table, set, seq);
    if (Number(send(fd, request, request.length, 0)) !== request.length)
      throw new NftError(lastError(`asking for the elements of ${set}`).message);
    const elements: DumpedElement[] = [];
    const buffer = Buffer.alloc(RECEIVE_BYTES);
    for (let waited = 0; ;) {
      const n = recv(fd, buffer, buffer.length, MSG_DONTWAIT);
      if (n < 0) {
        if (koffi.errno() !== EAGAIN) throw lastError(`reading the elements of ${set}`);
        if (waited++ >= DUMP_WAIT_MS)
          throw new NftError(`the kernel stopped answering for the elements of ${set}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      // Decoded elements hold strings, not slices of the buffer: it can be read into again.
      const chunk = parseDumpChunk(buffer.subarray(0, n), seq);
      if (chunk.interrupted) throw new NftError(`set ${set} changed while it was read`);
      if (chunk.errno === ENOENT) return undefined;
      if (chunk.errno !== undefined)
        throw new NftError(`reading the elements of ${set}: ${sys.strerror(chunk.errno)}`);
      for (const e of chunk.elements) elements.push(e);
      if (chunk.done) return elements;
      await new Promise(setImmediate);
    }
  }

  private socket(bytes: number): number {
    if (this.fd < 0) {
      const fd = sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
      if (fd < 0) throw lastError('netlink socket');
      for (const option of [NETLINK_CAP_ACK, NETLINK_EXT_ACK])
        sys.setsockopt(fd, SOL_NETLINK, option, int(1), 4);
      this.fd = fd;
      this.sendBuffer = 0;
    }
    if (bytes + 4096 > this.sendBuffer) {
      const size = Math.max(bytes + 4096, 1 << 20);
      if (sys.setsockopt(this.fd, SOL_SOCKET, SO_SNDBUFFORCE, int(size), 4) !== 0)
        throw lastError('netlink SO_SNDBUFFORCE');
      this.sendBuffer = size;
    }
    return this.fd;
  }

  /** Every element message answered: all ACKs, or the first error with the set it concerned. */
  private readAnswers(fd: number, batch: ElementBatch): void {
    const pending = new Set(batch.seqs);
    const buffer = Buffer.alloc(RECEIVE_BYTES);
    let failure: string | undefined;
    for (;;) {
      const n = recv(fd, buffer, buffer.length, MSG_DONTWAIT);
      if (n < 0) {
        if (koffi.errno() === EAGAIN) break;
        throw lastError('nf_tables answer');
      }
      for (let offset = 0; offset + 16 <= n;) {
        const length = buffer.readUInt32LE(offset);
        if (length < 16) break;
        const type = buffer.readUInt16LE(offset + 4);
        const seq = buffer.readUInt32LE(offset + 8);
        if (type === NLMSG_ERROR && pending.delete(seq)) {
          const errno = -buffer.readInt32LE(offset + 16);
          if (errno !== 0 && failure === undefined)
            failure = `${sys.strerror(errno)}${extendedMessage(buffer.subarray(offset + 36, offset + length))} (${batch.subjects.get(seq) ?? 'element message'})`;
        }
        offset += (length + 3) & ~3;
      }
    }
    if (failure !== undefined) throw new NftError(`the kernel refused the element change: ${failure}`);
    if (pending.size > 0) throw new NftError(`the kernel did not answer ${pending.size} element messages`);
  }
}

/** NLMSGERR_ATTR_MSG of an extended ACK, when the kernel gave one. */
function extendedMessage(attributes: Buffer): string {
  for (let offset = 0; offset + 4 <= attributes.length;) {
    const length = attributes.readUInt16LE(offset);
    if (length < 4) break;
    if ((attributes.readUInt16LE(offset + 2) & 0x3fff) === NLMSGERR_ATTR_MSG)
      return `: ${attributes.toString('utf8', offset + 4, offset + length).replace(/\0+$/, '')}`;
    offset += (length + 3) & ~3;
  }
  return '';
}

function int(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32LE(value);
  return bytes;
}
