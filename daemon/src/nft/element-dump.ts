// Set elements read back from nf_tables over netlink (an NFT_MSG_GETSETELEM dump), pure: the request,
// the answer's elements, and how they compare with the render. What drift checks and the NAT counters
// read: libnftables lists 70k elements as JSON in about a second of CPU (its cache, then our parse);
// decoding the kernel's own answer costs a small fraction of that. Hand-written for the reason
// element-wire.ts gives. An element is identified by its key and value bytes as the kernel holds
// them, and a rendered element the same way, by encoding it (element-wire.ts) and decoding it here:
// the comparison has one encoder and one decoder, not a second converter of its own. Only a finding's
// example is turned back into nft's JSON, for people to read. Layouts:
// include/uapi/linux/netfilter/nf_tables.h, linux/netlink.h.
import { encodeStoredElements } from './element-wire.js';
import type { NftFamily, NftSet } from './model.js';
import {
  IFNAMSIZ,
  NFNL_SUBSYS_NFTABLES,
  NFTA_DATA_VALUE,
  NFTA_DATA_VERDICT,
  NFTA_SET_ELEM_DATA,
  NFTA_SET_ELEM_FLAGS,
  NFTA_SET_ELEM_KEY,
  NFTA_SET_ELEM_KEY_END,
  NFTA_SET_ELEM_LIST_ELEMENTS,
  NFTA_SET_ELEM_LIST_SET,
  NFTA_SET_ELEM_LIST_TABLE,
  NFTA_SET_ELEM_USERDATA,
  NFTA_VERDICT_CHAIN,
  NFTA_VERDICT_CODE,
  NFTNL_UDATA_SET_ELEM_COMMENT,
  NFT_FAMILIES,
  NFT_GOTO,
  NFT_JUMP,
  NFT_MSG_NEWSETELEM,
  NFT_SET_ELEM_INTERVAL_END,
  NLM_F_REQUEST,
  readHostI32 as readI32,
  readHostU16 as readU16,
  readHostU32 as readU32,
  writeHostU16 as u16,
  writeHostU32 as u32,
} from './wire.js';

const NFT_MSG_GETSETELEM = (NFNL_SUBSYS_NFTABLES << 8) | 13;
const NLM_F_DUMP = 0x300;
const NLM_F_DUMP_INTR = 0x10;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLMSG_HEADER = 16;
const NFGENMSG = 4;
const ATTR_TYPE_MASK = 0x3fff;
const NFTA_SET_ELEM_EXPR = 7;
const NFTA_SET_ELEM_EXPRESSIONS = 11;
const NFTA_EXPR_NAME = 1;
const NFTA_EXPR_DATA = 2;
const NFTA_COUNTER_BYTES = 1;
const NFTA_COUNTER_PACKETS = 2;

/** A verdict a map maps to. */
export interface Verdict {
  readonly code: number;
  readonly chain: string | undefined;
}

/**
 * One element as the kernel holds it. Key and data are kept as latin1 strings, one character per
 * byte: compared and hashed by V8 without a Buffer per element (70k of them in a big NAT table).
 */
export interface DumpedElement {
  readonly key: string;
  /** The last key of a concatenated interval set's element (its first is `key`). */
  readonly keyEnd: string | undefined;
  /** A map's value: data bytes, or a verdict. */
  readonly value: string | Verdict | undefined;
  /** The end of an interval (a single-field interval set stores a range as a start and an end). */
  readonly intervalEnd: boolean;
  readonly comment: string | undefined;
  readonly counter: { readonly packets: bigint; readonly bytes: bigint } | undefined;
}

/** What one read of the socket held: elements, and whether the dump ended or failed. */
export interface DumpChunk {
  readonly elements: DumpedElement[];
  readonly done: boolean;
  /** errno the kernel answered with (ENOENT: no such table or set). */
  readonly errno: number | undefined;
  /** The ruleset changed while it was dumped: what was read is not one state. */
  readonly interrupted: boolean;
}

/** The request for every element of a set (answered in chunks, ended by NLMSG_DONE). */
export function dumpRequest(family: NftFamily, table: string, set: string, seq: number): Buffer {
  const attributes = Buffer.concat([
    stringAttribute(NFTA_SET_ELEM_LIST_TABLE, table),
    stringAttribute(NFTA_SET_ELEM_LIST_SET, set),
  ]);
  const message = Buffer.alloc(NLMSG_HEADER + NFGENMSG + attributes.length);
  u32(message, message.length, 0);
  u16(message, NFT_MSG_GETSETELEM, 4);
  u16(message, NLM_F_REQUEST | NLM_F_DUMP, 6);
  u32(message, seq, 8);
  message.writeUInt8(NFT_FAMILIES[family], NLMSG_HEADER);
  attributes.copy(message, NLMSG_HEADER + NFGENMSG);
  return message;
}

/** The messages of one read that answer `seq` (others, left over from an earlier read, are skipped). */
export function parseDumpChunk(bytes: Buffer, seq: number): DumpChunk {
  const elements: DumpedElement[] = [];
  let done = false;
  let errno: number | undefined;
  let interrupted = false;
  for (let offset = 0; offset + NLMSG_HEADER <= bytes.length;) {
    const length = readU32(bytes, offset);
    if (length < NLMSG_HEADER || offset + length > bytes.length) break;
    const type = readU16(bytes, offset + 4);
    if (readU32(bytes, offset + 8) === seq) {
      if ((readU16(bytes, offset + 6) & NLM_F_DUMP_INTR) !== 0) interrupted = true;
      if (type === NLMSG_DONE || type === NLMSG_ERROR) {
        done = true;
        const code = length >= NLMSG_HEADER + 4 ? -readI32(bytes, offset + NLMSG_HEADER) : 0;
        if (code !== 0) errno = code;
      } else if (type === NFT_MSG_NEWSETELEM) {
        const list = attribute(
          bytes,
          offset + NLMSG_HEADER + NFGENMSG,
          offset + length,
          NFTA_SET_ELEM_LIST_ELEMENTS,
        );
        if (list !== undefined)
          for (const e of decodeListElements(bytes.subarray(list.start, list.end))) elements.push(e);
      }
    }
    offset += (length + 3) & ~3;
  }
  return { elements, done, errno, interrupted };
}

/** A run of NFTA_LIST_ELEM attributes: a dump's, or the rendered ones encodeStoredElements wrote. */
export function decodeListElements(bytes: Buffer): DumpedElement[] {
  const elements: DumpedElement[] = [];
  for (let at = 0; at + 4 <= bytes.length;) {
    const length = readU16(bytes, at);
    if (length < 4 || at + length > bytes.length) break;
    elements.push(decodeElement(bytes, at + 4, at + length));
    at += (length + 3) & ~3;
  }
  return elements;
}

/** Key (interval bounds included) and value: what an element is compared by (comments and counters aside). */
export function identity(e: DumpedElement): string {
  const key = e.intervalEnd ? `end ${e.key}` : e.keyEnd === undefined ? e.key : `${e.key}-${e.keyEnd}`;
  if (e.value === undefined) return key;
  if (typeof e.value === 'string') return `${key} ${e.value}`;
  return `${key} verdict ${e.value.code} ${e.value.chain ?? ''}`;
}

const renderedCache = new WeakMap<NftSet, Set<string> | undefined>();

/**
 * The identities of a set's rendered elements as the kernel stores them (an interval set's as
 * nft/interval-elements.ts says); undefined when element-wire.ts does not speak the set. Kept per rendered set: a rendered set never changes, and most checks meet the same ones again.
 */
export function renderedIdentities(set: NftSet): Set<string> | undefined {
  if (renderedCache.has(set)) return renderedCache.get(set);
  const encoded = encodeStoredElements(set);
  const identities = encoded === undefined ? undefined : new Set(decodeListElements(encoded).map(identity));
  renderedCache.set(set, identities);
  return identities;
}

/** How many elements nft would list: an interval's end is part of its start's element. */
export function listedCount(elements: readonly DumpedElement[]): number {
  let count = 0;
  for (const e of elements) if (!e.intervalEnd) count++;
  return count;
}

/** An element in nft's JSON, as `nft -j` would show it in a finding: `["203.0.113.10","10.1.0.99"]`. */
export function describe(set: NftSet, e: DumpedElement): string {
  const first = datumJson(set.type, Buffer.from(e.key, 'latin1'));
  const key = e.intervalEnd
    ? { 'interval end': first }
    : e.keyEnd === undefined
      ? first
      : { from: first, to: datumJson(set.type, Buffer.from(e.keyEnd, 'latin1')) };
  if (set.map === undefined) return JSON.stringify(key);
  const value = e.value;
  if (value === undefined) return JSON.stringify([key, null]);
  if (typeof value === 'string')
    return JSON.stringify([key, datumJson(set.map, Buffer.from(value, 'latin1'))]);
  const kind = value.code === NFT_JUMP ? 'jump' : value.code === NFT_GOTO ? 'goto' : `verdict ${value.code}`;
  return JSON.stringify([key, { [kind]: { target: value.chain ?? '' } }]);
}

/** One NFTA_LIST_ELEM's payload; written out as plain loops, it runs 70k times a check. */
function decodeElement(bytes: Buffer, start: number, end: number): DumpedElement {
  let key = '';
  let keyEnd: string | undefined;
  let value: DumpedElement['value'];
  let intervalEnd = false;
  let comment: string | undefined;
  let counter: DumpedElement['counter'];
  for (let at = start; at + 4 <= end;) {
    const length = readU16(bytes, at);
    if (length < 4 || at + length > end) break;
    const from = at + 4;
    const to = at + length;
    switch (readU16(bytes, at + 2) & ATTR_TYPE_MASK) {
      case NFTA_SET_ELEM_KEY: {
        const data = attribute(bytes, from, to, NFTA_DATA_VALUE);
        if (data !== undefined) key = bytes.toString('latin1', data.start, data.end);
        break;
      }
      case NFTA_SET_ELEM_KEY_END: {
        const data = attribute(bytes, from, to, NFTA_DATA_VALUE);
        if (data !== undefined) keyEnd = bytes.toString('latin1', data.start, data.end);
        break;
      }
      case NFTA_SET_ELEM_DATA:
        value = decodeData(bytes, from, to);
        break;
      case NFTA_SET_ELEM_FLAGS:
        if (to - from >= 4) intervalEnd = (bytes.readUInt32BE(from) & NFT_SET_ELEM_INTERVAL_END) !== 0;
        break;
      case NFTA_SET_ELEM_USERDATA:
        comment = userComment(bytes, from, to);
        break;
      case NFTA_SET_ELEM_EXPR:
        counter ??= decodeCounter(bytes, from, to);
        break;
      case NFTA_SET_ELEM_EXPRESSIONS:
        for (let e = from; e + 4 <= to;) {
          const l = readU16(bytes, e);
          if (l < 4 || e + l > to) break;
          counter ??= decodeCounter(bytes, e + 4, e + l);
          e += (l + 3) & ~3;
        }
        break;
    }
    at += (length + 3) & ~3;
  }
  return { key, keyEnd, value, intervalEnd, comment, counter };
}

function decodeData(bytes: Buffer, start: number, end: number): DumpedElement['value'] {
  const data = attribute(bytes, start, end, NFTA_DATA_VALUE);
  if (data !== undefined) return bytes.toString('latin1', data.start, data.end);
  const verdict = attribute(bytes, start, end, NFTA_DATA_VERDICT);
  if (verdict === undefined) return undefined;
  const code = attribute(bytes, verdict.start, verdict.end, NFTA_VERDICT_CODE);
  const chain = attribute(bytes, verdict.start, verdict.end, NFTA_VERDICT_CHAIN);
  return {
    code: code === undefined ? 0 : bytes.readInt32BE(code.start),
    chain: chain === undefined ? undefined : cString(bytes, chain.start, chain.end),
  };
}

/** A `counter` expression's packets and bytes (network order); undefined for any other expression. */
function decodeCounter(bytes: Buffer, start: number, end: number): DumpedElement['counter'] {
  const name = attribute(bytes, start, end, NFTA_EXPR_NAME);
  const data = attribute(bytes, start, end, NFTA_EXPR_DATA);
  if (name === undefined || data === undefined || cString(bytes, name.start, name.end) !== 'counter')
    return undefined;
  const packets = attribute(bytes, data.start, data.end, NFTA_COUNTER_PACKETS);
  const octets = attribute(bytes, data.start, data.end, NFTA_COUNTER_BYTES);
  return {
    packets: packets === undefined ? 0n : bytes.readBigUInt64BE(packets.start),
    bytes: octets === undefined ? 0n : bytes.readBigUInt64BE(octets.start),
  };
}

/** libnftnl's user data TLVs (one byte type, one byte length): the comment's text. */
function userComment(bytes: Buffer, start: number, end: number): string | undefined {
  for (let at = start; at + 2 <= end;) {
    const length = bytes.readUInt8(at + 1);
    if (at + 2 + length > end) return undefined;
    if (bytes.readUInt8(at) === NFTNL_UDATA_SET_ELEM_COMMENT) return cString(bytes, at + 2, at + 2 + length);
    at += 2 + length;
  }
  return undefined;
}

/** A datum (or a concatenation, each part padded to 4 bytes) as nft's JSON shows it. */
function datumJson(type: string | readonly string[], bytes: Buffer): unknown {
  if (typeof type === 'string') return scalarJson(type, bytes);
  const concat: unknown[] = [];
  let at = 0;
  for (const part of type) {
    const size = DATUM_SIZES[part] ?? 4;
    concat.push(scalarJson(part, bytes.subarray(at, at + size)));
    at += (size + 3) & ~3;
  }
  return { concat };
}

const DATUM_SIZES: Record<string, number> = {
  ipv4_addr: 4,
  inet_proto: 1,
  inet_service: 2,
  mark: 4,
  ifname: IFNAMSIZ,
};

function scalarJson(type: string, bytes: Buffer): unknown {
  if (bytes.length < (DATUM_SIZES[type] ?? Infinity)) return bytes.toString('hex');
  switch (type) {
    case 'ipv4_addr':
      return [...bytes.subarray(0, 4)].join('.');
    case 'inet_proto':
      return bytes.readUInt8(0);
    case 'inet_service':
      return bytes.readUInt16BE(0);
    case 'mark':
      return readU32(bytes, 0);
    case 'ifname':
      return cString(bytes, 0, IFNAMSIZ);
    default:
      return bytes.toString('hex');
  }
}

/** The payload bounds of the first attribute of `type` between `start` and `end`. */
function attribute(
  bytes: Buffer,
  start: number,
  end: number,
  type: number,
): { start: number; end: number } | undefined {
  for (let at = start; at + 4 <= end;) {
    const length = readU16(bytes, at);
    if (length < 4 || at + length > end) return undefined;
    if ((readU16(bytes, at + 2) & ATTR_TYPE_MASK) === type) return { start: at + 4, end: at + length };
    at += (length + 3) & ~3;
  }
  return undefined;
}

function cString(bytes: Buffer, start: number, end: number): string {
  const zero = bytes.indexOf(0, start);
  return bytes.toString('utf8', start, zero >= 0 && zero < end ? zero : end);
}

function stringAttribute(type: number, text: string): Buffer {
  const length = 4 + Buffer.byteLength(text) + 1;
  const attribute = Buffer.alloc((length + 3) & ~3);
  u16(attribute, length, 0);
  u16(attribute, type, 2);
  attribute.write(text, 4);
  return attribute;
}
