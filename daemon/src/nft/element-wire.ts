// Set element changes as one nf_tables netlink batch (NFT_MSG_NEWSETELEM / DELSETELEM between
// NFNL_MSG_BATCH_BEGIN and _END), for transactions that change nothing but elements of hash sets and
// maps: a Patch of an EIP, a port forward, a firewall rule's block, or an Apply that fills the NAT maps.
// libnftables spends ~6 µs per element in its JSON parser and evaluator before the kernel sees it (half
// a second for the 70k elements of 10k EIPs + 10k forwards); the kernel itself needs a fraction of it.
// Hand-written because no Node library encodes nf_tables messages (libnftnl through FFI would mean
// building every element with a dozen calls). Only what is needed is encoded: keys and values of the
// data types below, single or concatenated, and jump/goto verdicts. Anything else (interval sets,
// prefixes, ranges, named protocols) is not this module's business: `encodeElementBatch` returns
// undefined and the caller loads the change through libnftables as before.
// Layouts: include/uapi/linux/netfilter/nf_tables.h, nfnetlink.h; key sizes as nft computes them
// (each part of a concatenation padded to 4 bytes, like the kernel's registers).
import { endianness } from 'node:os';
import type { NftCommand } from './commands.js';
import { type NftFamily, type NftRuleset, type NftSet, tableKey } from './model.js';

const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 16;
const NFNL_MSG_BATCH_END = 17;
const NFT_MSG_NEWSETELEM = (NFNL_SUBSYS_NFTABLES << 8) | 12;
const NFT_MSG_DELSETELEM = (NFNL_SUBSYS_NFTABLES << 8) | 14;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_CREATE = 0x400;
const NLA_F_NESTED = 1 << 15;
const NFTA_SET_ELEM_LIST_TABLE = 1;
const NFTA_SET_ELEM_LIST_SET = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_LIST_ELEM = 1;
const NFTA_SET_ELEM_KEY = 1;
const NFTA_SET_ELEM_DATA = 2;
const NFTA_SET_ELEM_USERDATA = 6;
/** libnftnl's user data TLV (one byte type, one byte length) holding an element's comment. */
const NFTNL_UDATA_SET_ELEM_COMMENT = 0;
const COMMENT_MAX = 128;
const NFTA_DATA_VALUE = 1;
const NFTA_DATA_VERDICT = 2;
const NFTA_VERDICT_CODE = 1;
const NFTA_VERDICT_CHAIN = 2;
const NFT_JUMP = -3;
const NFT_GOTO = -4;
const IFNAMSIZ = 16;
/** The elements of one message are one attribute, whose length field has 16 bits. */
const ELEMENTS_PER_MESSAGE_BYTES = 60_000;
const FAMILIES: Record<NftFamily, number> = { inet: 1, ip: 2, ip6: 10, bridge: 7, netdev: 5 };
const LITTLE_ENDIAN = endianness() === 'LE';

/** One batch ready for a NETLINK_NETFILTER socket, and the sequence numbers the kernel acknowledges. */
export interface ElementBatch {
  readonly bytes: Buffer;
  /** The element messages' sequence numbers, each answered with an ACK or an error. */
  readonly seqs: readonly number[];
  /** What each element message does, for an error: `add to ip vrouter_nat eip_dnat`. */
  readonly subjects: ReadonlyMap<number, string>;
  readonly elements: number;
}

/**
 * The batch for `commands` when every one of them adds or deletes elements of a set this encoder
 * speaks (found in `ruleset`); undefined otherwise. Sequence numbers start at `firstSeq`.
 */
export function encodeElementBatch(
  commands: readonly NftCommand[],
  ruleset: NftRuleset,
  firstSeq: number,
): ElementBatch | undefined {
  const sets = new Map<string, NftSet>();
  for (const table of ruleset.tables)
    for (const set of table.sets) sets.set(`${tableKey(table)} ${set.name}`, set);
  const messages: Buffer[] = [];
  const seqs: number[] = [];
  const subjects = new Map<number, string>();
  let seq = firstSeq;
  let count = 0;
  messages.push(message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq++, 0, NFNL_SUBSYS_NFTABLES, []));
  for (const command of commands) {
    const change = elementChange(command);
    if (change === undefined) return undefined;
    const family = FAMILIES[change.family as NftFamily] as number | undefined;
    const set = sets.get(`${change.family} ${change.table} ${change.name}`);
    if (family === undefined || set === undefined) return undefined;
    const encoded: Buffer[] = [];
    for (const element of change.elem) {
      const e = encodeElement(set, element, change.op === 'add');
      if (e === undefined) return undefined;
      encoded.push(e);
    }
    count += encoded.length;
    const type = change.op === 'add' ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM;
    const flags = NLM_F_REQUEST | NLM_F_ACK | (change.op === 'add' ? NLM_F_CREATE : 0);
    for (const chunk of chunks(encoded)) {
      seqs.push(seq);
      subjects.set(
        seq,
        `${change.op === 'add' ? 'add to' : 'delete from'} ${change.family} ${change.table} ${change.name}`,
      );
      messages.push(
        message(type, flags, seq++, family, 0, [
          attr(NFTA_SET_ELEM_LIST_TABLE, cString(change.table)),
          attr(NFTA_SET_ELEM_LIST_SET, cString(change.name)),
          nested(NFTA_SET_ELEM_LIST_ELEMENTS, chunk),
        ]),
      );
    }
  }
  messages.push(message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, seq, 0, NFNL_SUBSYS_NFTABLES, []));
  return { bytes: Buffer.concat(messages), seqs, subjects, elements: count };
}

interface ElementChange {
  readonly op: 'add' | 'delete';
  readonly family: string;
  readonly table: string;
  readonly name: string;
  readonly elem: readonly unknown[];
}

function elementChange(command: NftCommand): ElementChange | undefined {
  const [op, body] = Object.entries(command)[0] ?? [];
  if ((op !== 'add' && op !== 'delete') || !isRecord(body) || !isRecord(body['element'])) return undefined;
  const { family, table, name, elem } = body['element'];
  if (typeof family !== 'string' || typeof table !== 'string' || typeof name !== 'string') return undefined;
  if (!Array.isArray(elem)) return undefined;
  return { op, family, table, name, elem };
}

/**
 * One NFTA_LIST_ELEM: the key, for a map being added to the value, and an element's comment (nft's
 * `{"elem": {"val": …, "comment": …}}`) as the user data nft lists it from.
 */
function encodeElement(set: NftSet, element: unknown, adding: boolean): Buffer | undefined {
  if (set.flags?.includes('interval') === true) return undefined;
  const isMap = set.map !== undefined;
  const pair: readonly unknown[] = Array.isArray(element) ? element : [];
  const [keyed, value] = isMap && adding ? pair : [element];
  const { key, comment } = unwrap(keyed);
  const keyBytes = encodeData(set.type, key);
  if (keyBytes === undefined) return undefined;
  const parts = [nested(NFTA_SET_ELEM_KEY, [attr(NFTA_DATA_VALUE, keyBytes)])];
  if (isMap && adding) {
    const data = set.map === 'verdict' ? encodeVerdict(value) : encodeValue(set.map, value);
    if (data === undefined) return undefined;
    parts.push(nested(NFTA_SET_ELEM_DATA, [data]));
  }
  if (comment !== undefined && adding) {
    const text = cString(comment);
    if (text.length > COMMENT_MAX) return undefined;
    parts.push(
      attr(
        NFTA_SET_ELEM_USERDATA,
        Buffer.concat([Buffer.from([NFTNL_UDATA_SET_ELEM_COMMENT, text.length]), text]),
      ),
    );
  }
  return nested(NFTA_LIST_ELEM, parts);
}

function unwrap(element: unknown): { key: unknown; comment?: string } {
  const inner = isRecord(element) ? element['elem'] : undefined;
  if (!isRecord(inner)) return { key: element };
  const comment = inner['comment'];
  return typeof comment === 'string' ? { key: inner['val'], comment } : { key: inner['val'] };
}

function encodeValue(type: string | readonly string[] | undefined, value: unknown): Buffer | undefined {
  if (type === undefined) return undefined;
  const bytes = encodeData(type, value);
  return bytes === undefined ? undefined : attr(NFTA_DATA_VALUE, bytes);
}

/** A key or value: one datum, or a concatenation whose parts are each padded to 4 bytes. */
function encodeData(type: string | readonly string[], value: unknown): Buffer | undefined {
  if (typeof type === 'string') return encodeDatum(type, value);
  const concat = isRecord(value) ? value['concat'] : undefined;
  if (!Array.isArray(concat) || concat.length !== type.length) return undefined;
  const parts: Buffer[] = [];
  for (const [i, t] of type.entries()) {
    const part = encodeDatum(t, concat[i]);
    if (part === undefined) return undefined;
    parts.push(part, Buffer.alloc(pad4(part.length) - part.length));
  }
  return Buffer.concat(parts);
}

function encodeDatum(type: string, value: unknown): Buffer | undefined {
  switch (type) {
    case 'ipv4_addr':
      return typeof value === 'string' ? ipv4(value) : undefined;
    case 'inet_proto':
      return isInteger(value, 0xff) ? Buffer.from([value]) : undefined;
    case 'inet_service':
      return isInteger(value, 0xffff) ? Buffer.from([value >> 8, value & 0xff]) : undefined;
    case 'mark':
      return isInteger(value, 0xffffffff) ? u32(value, LITTLE_ENDIAN) : undefined;
    case 'ifname': {
      if (typeof value !== 'string' || Buffer.byteLength(value) >= IFNAMSIZ) return undefined;
      const name = Buffer.alloc(IFNAMSIZ);
      name.write(value);
      return name;
    }
    default:
      return undefined;
  }
}

function encodeVerdict(value: unknown): Buffer | undefined {
  if (!isRecord(value)) return undefined;
  const [kind, body] = Object.entries(value)[0] ?? [];
  const code = kind === 'jump' ? NFT_JUMP : kind === 'goto' ? NFT_GOTO : undefined;
  if (code === undefined || !isRecord(body) || typeof body['target'] !== 'string') return undefined;
  return nested(NFTA_DATA_VERDICT, [
    attr(NFTA_VERDICT_CODE, u32(code >>> 0, false)),
    attr(NFTA_VERDICT_CHAIN, cString(body['target'])),
  ]);
}

function ipv4(text: string): Buffer | undefined {
  const octets = text.split('.');
  if (octets.length !== 4 || !octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)) return undefined;
  return Buffer.from(octets.map(Number));
}

/** Elements grouped so that each group fits one message's elements attribute. */
function chunks(elements: readonly Buffer[]): Buffer[][] {
  const groups: Buffer[][] = [];
  let current: Buffer[] = [];
  let size = 0;
  for (const e of elements) {
    if (size + e.length > ELEMENTS_PER_MESSAGE_BYTES && current.length > 0) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(e);
    size += e.length;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** nlmsghdr (host byte order) + nfgenmsg (family, version 0, resource id in network order) + attributes. */
function message(
  type: number,
  flags: number,
  seq: number,
  family: number,
  resId: number,
  attrs: Buffer[],
): Buffer {
  const body = Buffer.concat(attrs);
  const header = Buffer.alloc(20);
  u32(20 + body.length, LITTLE_ENDIAN).copy(header, 0);
  writeU16(header, type, 4);
  writeU16(header, flags, 6);
  u32(seq, LITTLE_ENDIAN).copy(header, 8);
  header.writeUInt8(family, 16);
  header.writeUInt16BE(resId, 18);
  return Buffer.concat([header, body]);
}

function attr(type: number, payload: Buffer): Buffer {
  const length = 4 + payload.length;
  const bytes = Buffer.alloc(pad4(length));
  writeU16(bytes, length, 0);
  writeU16(bytes, type, 2);
  payload.copy(bytes, 4);
  return bytes;
}

function nested(type: number, children: readonly Buffer[]): Buffer {
  return attr(type | NLA_F_NESTED, Buffer.concat(children));
}

function writeU16(bytes: Buffer, value: number, offset: number): void {
  if (LITTLE_ENDIAN) bytes.writeUInt16LE(value, offset);
  else bytes.writeUInt16BE(value, offset);
}

function u32(value: number, littleEndian: boolean): Buffer {
  const bytes = Buffer.alloc(4);
  if (littleEndian) bytes.writeUInt32LE(value, 0);
  else bytes.writeUInt32BE(value, 0);
  return bytes;
}

function cString(text: string): Buffer {
  return Buffer.from(`${text}\0`);
}

const pad4 = (n: number) => (n + 3) & ~3;

function isInteger(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
