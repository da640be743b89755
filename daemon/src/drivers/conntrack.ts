// Connection tracking entries, cleared in process through ctnetlink (netfilter netlink) over the
// `netlink` package's generic socket. Hand-written because no Node library speaks ctnetlink, and the
// `conntrack` tool costs a process start (~5 ms here) per call, the whole budget of a one-EIP Patch.
// Only what clearing needs is encoded: a flush filtered by mark in the kernel (flows whose rules marked
// them: the cheap way, the kernel's walk skips empty buckets), and for the rest a dump filtered in the
// kernel by original or reply destination address (CTA_FILTER, Linux ≥ 5.9), then one delete per entry
// by its original tuple, echoed back as the kernel sent it. Dumped entries are matched again here, so
// a kernel that ignores the filter is still handled correctly, just slower. Message layout:
// include/uapi/linux/netfilter/nfnetlink_conntrack.h.
import { readFile } from 'node:fs/promises';
import { type NetlinkSocket, createNetlink } from 'netlink';
import { parseIpv4, parseIpv4Prefix, prefixContains } from '../config/net.js';
import { rejectedWith } from './netlink.js';

const NETLINK_NETFILTER = 12;
/** Up to this many selectors, one kernel-filtered dump each; beyond, one dump of everything. */
const FILTERED_DUMPS_UP_TO = 16;
/** Tables up to this many entries are dumped whole (one walk) rather than filtered (two walks). */
const WHOLE_DUMP_UP_TO = 5000;
const COUNT_FILE = '/proc/sys/net/netfilter/nf_conntrack_count';
const NLM_F_DUMP = 0x300;
const CTNETLINK = 1 << 8;
const MSG_GET = CTNETLINK | 1;
const MSG_DELETE = CTNETLINK | 2;
const AF_INET = 2;
const NLA_F_NESTED = 1 << 15;
const ATTR_TYPE_MASK = 0x3fff;

const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_REPLY = 2;
const CTA_MARK = 8;
const CTA_ZONE = 18;
const CTA_MARK_MASK = 21;
const CTA_FILTER = 25;
const CTA_TUPLE_IP = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_IP_V4_SRC = 1;
const CTA_IP_V4_DST = 2;
const CTA_PROTO_NUM = 1;
const CTA_PROTO_DST_PORT = 3;
const CTA_FILTER_ORIG_FLAGS = 1;
const CTA_FILTER_REPLY_FLAGS = 2;
const CTA_FILTER_FLAG_IP_DST = 1 << 1;

/**
 * Flows to clear: those whose original destination, reply destination or either (`destination`) is
 * `ip`. A port forward's flows are sent to its VIP; a SNAT's are answered to its address; an EIP's both.
 */
export interface FlowSelector {
  readonly ip: string;
  readonly destination: 'original' | 'reply' | 'either';
  /** Only this IP protocol (6 tcp, 17 udp). */
  readonly protocol?: number;
  /** Only original destination ports in this range (with `protocol`). */
  readonly ports?: { readonly start: number; readonly end: number };
  /** Only original sources inside this CIDR (a SNAT's network): matched here, not by the kernel. */
  readonly source?: string;
}

export interface Tuple {
  readonly src: string;
  readonly dst: string;
  readonly protocol: number;
  readonly dstPort: number;
}

interface Entry {
  readonly orig: Tuple;
  readonly reply: Tuple;
  /** The raw attributes that identify the entry for a delete. */
  readonly key: Buffer[];
}

export class Conntrack {
  private socket: NetlinkSocket | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Deletes the matching entries; returns how many were deleted. Every dump walks the kernel's whole
   * hash table (~10 ms with 262k buckets, however few entries), so a small table, or many selectors
   * (an Apply), get one dump of everything filtered here; a few selectors on a big table get a dump
   * filtered in the kernel each (orig and reply: two walks), so millions of entries stay there.
   */
  clear(selectors: readonly FlowSelector[]): Promise<number> {
    return this.serialized(async () => {
      let deleted = 0;
      if (selectors.length === 0) return 0;
      if (selectors.length > FILTERED_DUMPS_UP_TO || (await entryCount()) <= WHOLE_DUMP_UP_TO) {
        const byIp = new Map<string, FlowSelector[]>();
        for (const s of selectors) byIp.set(s.ip, [...(byIp.get(s.ip) ?? []), s]);
        for (const entry of await this.dump(undefined, 'orig')) {
          const candidates = [...(byIp.get(entry.orig.dst) ?? []), ...(byIp.get(entry.reply.dst) ?? [])];
          if (candidates.some((s) => matches(entry, s)) && (await this.delete(entry))) deleted++;
        }
        return deleted;
      }
      for (const selector of selectors) {
        const entries: Entry[] = [];
        if (selector.destination !== 'reply') entries.push(...(await this.dump(selector.ip, 'orig')));
        if (selector.destination !== 'original') entries.push(...(await this.dump(selector.ip, 'reply')));
        for (const entry of entries) if (matches(entry, selector) && (await this.delete(entry))) deleted++;
      }
      return deleted;
    });
  }

  /**
   * Deletes every entry whose conntrack mark is one of `marks`: one flush per mark, filtered in the
   * kernel (CTA_MARK with a full CTA_MARK_MASK). The kernel does not say how many went.
   */
  flushMarked(marks: readonly number[]): Promise<void> {
    return this.serialized(async () => {
      for (const mark of marks)
        await this.netlink.request(MSG_DELETE, [
          header(),
          leaf(CTA_MARK, u32be(mark)),
          leaf(CTA_MARK_MASK, u32be(0xffffffff)),
        ]);
    });
  }

  /** Runs `task` after every earlier call: one netlink request in flight, replies never interleaved. */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }

  private get netlink(): NetlinkSocket {
    this.socket ??= createNetlink(NETLINK_NETFILTER);
    return this.socket;
  }

  /** Entries whose original (or reply) destination is `ip`; every entry when `ip` is undefined. */
  private async dump(ip: string | undefined, direction: 'orig' | 'reply'): Promise<Entry[]> {
    if (ip === undefined) {
      const [messages] = await this.netlink.request(MSG_GET, [header()], { flags: NLM_F_DUMP });
      return messages.flatMap((m) => parseEntry(m.data));
    }
    const tuple = nest(
      direction === 'orig' ? CTA_TUPLE_ORIG : CTA_TUPLE_REPLY,
      nest(CTA_TUPLE_IP, leaf(CTA_IP_V4_DST, address(ip))),
    );
    const filter = nest(
      CTA_FILTER,
      leaf(
        direction === 'orig' ? CTA_FILTER_ORIG_FLAGS : CTA_FILTER_REPLY_FLAGS,
        u32(CTA_FILTER_FLAG_IP_DST),
      ),
    );
    const [messages] = await this.netlink.request(MSG_GET, [header(), tuple, filter], { flags: NLM_F_DUMP });
    return messages
      .filter((m) => m.type === MSG_GET || m.type === CTNETLINK)
      .flatMap((m) => parseEntry(m.data));
  }

  private async delete(entry: Entry): Promise<boolean> {
    try {
      await this.netlink.request(MSG_DELETE, [header(), ...entry.key]);
      return true;
    } catch (e) {
      if (rejectedWith(e) === 'ENOENT') return false;
      throw e;
    }
  }
}

/** Entries in the namespace's conntrack table; unknown (no conntrack yet) counts as none. */
async function entryCount(): Promise<number> {
  try {
    return Number((await readFile(COUNT_FILE, 'utf8')).trim());
  } catch {
    return 0;
  }
}

/** Whether the entry's tuples are selected (exported for unit tests: no kernel needed). */
export function matches(entry: { readonly orig: Tuple; readonly reply: Tuple }, s: FlowSelector): boolean {
  const original = s.destination !== 'reply' && entry.orig.dst === s.ip;
  const reply = s.destination !== 'original' && entry.reply.dst === s.ip;
  if (!original && !reply) return false;
  if (s.protocol !== undefined && entry.orig.protocol !== s.protocol) return false;
  if (s.ports !== undefined && (entry.orig.dstPort < s.ports.start || entry.orig.dstPort > s.ports.end))
    return false;
  return s.source === undefined || inside(s.source, entry.orig.src);
}

function inside(cidr: string, ip: string): boolean {
  const prefix = parseIpv4Prefix(cidr);
  const address = parseIpv4(ip);
  return prefix !== undefined && address !== undefined && prefixContains(prefix, address);
}

function header(): Buffer {
  return Buffer.from([AF_INET, 0, 0, 0]);
}

function leaf(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(4 + payload.length, 0);
  head.writeUInt16LE(type, 2);
  return Buffer.concat([head, payload, Buffer.alloc((4 - (payload.length % 4)) % 4)]);
}

function nest(type: number, ...children: Buffer[]): Buffer {
  return leaf(type | NLA_F_NESTED, Buffer.concat(children));
}

/** NLA_U32: host byte order (little endian here). */
function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

/** NLA_U32 in network byte order, as ctnetlink carries marks. */
function u32be(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

function address(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

/** Attributes of a buffer: type (without flags) → [payload, the whole attribute]. */
function attributes(data: Buffer): Map<number, [Buffer, Buffer]> {
  const result = new Map<number, [Buffer, Buffer]>();
  let offset = 0;
  while (offset + 4 <= data.length) {
    const length = data.readUInt16LE(offset);
    if (length < 4 || offset + length > data.length) break;
    const type = data.readUInt16LE(offset + 2) & ATTR_TYPE_MASK;
    result.set(type, [data.subarray(offset + 4, offset + length), data.subarray(offset, offset + length)]);
    offset += (length + 3) & ~3;
  }
  return result;
}

function parseTuple(payload: Buffer | undefined): Tuple {
  const parts = attributes(payload ?? Buffer.alloc(0));
  const ip = attributes(parts.get(CTA_TUPLE_IP)?.[0] ?? Buffer.alloc(0));
  const proto = attributes(parts.get(CTA_TUPLE_PROTO)?.[0] ?? Buffer.alloc(0));
  const text = (b: Buffer | undefined) => (b === undefined || b.length !== 4 ? '' : [...b].join('.'));
  return {
    src: text(ip.get(CTA_IP_V4_SRC)?.[0]),
    dst: text(ip.get(CTA_IP_V4_DST)?.[0]),
    protocol: proto.get(CTA_PROTO_NUM)?.[0].readUInt8(0) ?? 0,
    dstPort: proto.get(CTA_PROTO_DST_PORT)?.[0]?.readUInt16BE(0) ?? 0,
  };
}

function parseEntry(data: Buffer): Entry[] {
  const top = attributes(data.subarray(4));
  const orig = top.get(CTA_TUPLE_ORIG);
  if (orig === undefined) return [];
  const zone = top.get(CTA_ZONE);
  return [
    {
      orig: parseTuple(orig[0]),
      reply: parseTuple(top.get(CTA_TUPLE_REPLY)?.[0]),
      key: zone === undefined ? [Buffer.from(orig[1])] : [Buffer.from(orig[1]), Buffer.from(zone[1])],
    },
  ];
}
