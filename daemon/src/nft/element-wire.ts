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
import { type NftCommand, elementJson } from './commands.js';
import { type StoredElement, storedIntervalElements } from './interval-elements.js';
import { type NftFamily, type NftRuleset, type NftSet, tableKey } from './model.js';
import {
  IFNAMSIZ,
  NFNL_SUBSYS_NFTABLES,
  NFTA_DATA_VALUE,
  NFTA_DATA_VERDICT,
  NFTA_LIST_ELEM,
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
  NLA_F_NESTED,
  NLM_F_REQUEST,
  writeHostU16,
  writeHostU32,
} from './wire.js';
import { isJsonObject } from '../json-object.js';

const NFNL_MSG_BATCH_BEGIN = 16;
const NFNL_MSG_BATCH_END = 17;
const NFT_MSG_DELSETELEM = (NFNL_SUBSYS_NFTABLES << 8) | 14;
const NLM_F_ACK = 0x4;
const NLM_F_CREATE = 0x400;
const COMMENT_MAX = 128;
/** The elements of one message are one attribute, whose length field has 16 bits. */
const ELEMENTS_PER_MESSAGE_BYTES = 60_000;

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
  const w = new Writer();
  const seqs: number[] = [];
  const subjects = new Map<number, string>();
  let seq = firstSeq;
  let count = 0;
  w.endMessage(w.message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq++, 0, NFNL_SUBSYS_NFTABLES));
  for (const command of commands) {
    const change = elementChange(command);
    if (change === undefined) return undefined;
    const family = NFT_FAMILIES[change.family as NftFamily] as number | undefined;
    const set = sets.get(`${change.family} ${change.table} ${change.name}`);
    if (family === undefined || set === undefined || set.flags?.includes('interval') === true)
      return undefined;
    const adding = change.op === 'add';
    const type = adding ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM;
    const flags = NLM_F_REQUEST | NLM_F_ACK | (adding ? NLM_F_CREATE : 0);
    const subject = `${adding ? 'add to' : 'delete from'} ${change.family} ${change.table} ${change.name}`;
    let open: { message: number; list: number } | undefined;
    for (const element of change.elem) {
      if (open === undefined) {
        seqs.push(seq);
        subjects.set(seq, subject);
        const message = w.message(type, flags, seq++, family, 0);
        w.string(NFTA_SET_ELEM_LIST_TABLE, change.table);
        w.string(NFTA_SET_ELEM_LIST_SET, change.name);
        open = { message, list: w.nest(NFTA_SET_ELEM_LIST_ELEMENTS) };
      }
      if (!writeElement(w, set, element, { value: adding, comment: adding })) return undefined;
      count++;
      if (w.length - open.list > ELEMENTS_PER_MESSAGE_BYTES) {
        w.end(open.list);
        w.endMessage(open.message);
        open = undefined;
      }
    }
    if (open !== undefined) {
      w.end(open.list);
      w.endMessage(open.message);
    }
  }
  w.endMessage(w.message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, seq, 0, NFNL_SUBSYS_NFTABLES));
  return { bytes: w.bytes(), seqs, subjects, elements: count };
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
  if ((op !== 'add' && op !== 'delete') || !isJsonObject(body) || !isJsonObject(body['element']))
    return undefined;
  const { family, table, name, elem } = body['element'];
  if (typeof family !== 'string' || typeof table !== 'string' || typeof name !== 'string') return undefined;
  if (!Array.isArray(elem)) return undefined;
  return { op, family, table, name, elem };
}

/**
 * The rendered elements of a set as NFTA_LIST_ELEM attributes holding what the kernel keeps of
 * them: key (an interval set's bounds as nft/interval-elements.ts says) and value, comments left
 * out (nft/element-dump.ts compares them with a dump); undefined when this encoder does not speak
 * the set.
 */
export function encodeStoredElements(set: NftSet): Buffer | undefined {
  const w = new Writer();
  if (set.flags?.includes('interval') === true) {
    const stored = storedIntervalElements(set);
    if (stored === undefined) return undefined;
    for (const e of stored) if (!writeStoredInterval(w, set, e)) return undefined;
    return w.bytes();
  }
  for (const e of set.elements)
    if (!writeElement(w, set, elementJson(set, e), { value: true, comment: false })) return undefined;
  return w.bytes();
}

/**
 * One NFTA_LIST_ELEM: the key, for a map (when `value`) the value, and (when `comment`) an element's
 * comment (nft's `{"elem": {"val": …, "comment": …}}`) as the user data nft lists it from.
 */
function writeElement(
  w: Writer,
  set: NftSet,
  element: unknown,
  include: { readonly value: boolean; readonly comment: boolean },
): boolean {
  const dataType = include.value ? set.map : undefined;
  const pair: readonly unknown[] = Array.isArray(element) ? element : [];
  const [keyed, value] = dataType !== undefined ? pair : [element];
  const unwrapped = unwrap(keyed);
  if (unwrapped === undefined) return false;
  const { key, comment } = unwrapped;
  const item = w.nest(NFTA_LIST_ELEM);
  if (!writeKey(w, NFTA_SET_ELEM_KEY, set.type, key)) return false;
  if (dataType !== undefined && !writeValue(w, dataType, value)) return false;
  if (comment !== undefined && include.comment) {
    const length = utf8Length(comment) + 1;
    if (length > COMMENT_MAX) return false;
    const userdata = w.open(NFTA_SET_ELEM_USERDATA);
    w.u8(NFTNL_UDATA_SET_ELEM_COMMENT);
    w.u8(length);
    w.fixedString(comment, length);
    w.end(userdata);
  }
  w.end(item);
  return true;
}

/** One stored element of an interval set: first key, last key or end flag, and a map's value. */
function writeStoredInterval(w: Writer, set: NftSet, e: StoredElement): boolean {
  const item = w.nest(NFTA_LIST_ELEM);
  if (!writeKey(w, NFTA_SET_ELEM_KEY, set.type, e.key)) return false;
  if (e.keyEnd !== undefined && !writeKey(w, NFTA_SET_ELEM_KEY_END, set.type, e.keyEnd)) return false;
  if (e.intervalEnd === true) {
    const flags = w.open(NFTA_SET_ELEM_FLAGS);
    w.u32be(NFT_SET_ELEM_INTERVAL_END);
    w.end(flags);
  } else if (set.map !== undefined && !writeValue(w, set.map, e.value)) return false;
  w.end(item);
  return true;
}

function writeKey(w: Writer, attribute: number, type: string | readonly string[], key: unknown): boolean {
  const nest = w.nest(attribute);
  if (!writeData(w, type, key)) return false;
  w.end(nest);
  return true;
}

function writeValue(w: Writer, type: string | readonly string[], value: unknown): boolean {
  const data = w.nest(NFTA_SET_ELEM_DATA);
  if (!(type === 'verdict' ? writeVerdict(w, value) : writeData(w, type, value))) return false;
  w.end(data);
  return true;
}

/** The key and comment of an element; undefined when it says more (a timeout, say) than this speaks. */
function unwrap(element: unknown): { key: unknown; comment?: string } | undefined {
  const inner = isJsonObject(element) ? element['elem'] : undefined;
  if (!isJsonObject(inner)) return { key: element };
  for (const k in inner) if (k !== 'val' && k !== 'comment') return undefined;
  const comment = inner['comment'];
  return typeof comment === 'string' ? { key: inner['val'], comment } : { key: inner['val'] };
}

/** NFTA_DATA_VALUE of a key or value: one datum, or a concatenation of parts each padded to 4 bytes. */
function writeData(w: Writer, type: string | readonly string[], value: unknown): boolean {
  const attr = w.open(NFTA_DATA_VALUE);
  if (typeof type === 'string') {
    if (!writeDatum(w, type, value)) return false;
  } else {
    const concat = isJsonObject(value) ? value['concat'] : undefined;
    if (!Array.isArray(concat) || concat.length !== type.length) return false;
    for (const [i, t] of type.entries()) {
      if (!writeDatum(w, t, concat[i])) return false;
      w.pad();
    }
  }
  w.end(attr);
  return true;
}

function writeDatum(w: Writer, type: string, value: unknown): boolean {
  switch (type) {
    case 'ipv4_addr':
      return typeof value === 'string' && writeIpv4(w, value);
    case 'inet_proto':
      if (!isInteger(value, 0xff)) return false;
      w.u8(value);
      return true;
    case 'inet_service':
      if (!isInteger(value, 0xffff)) return false;
      w.u16be(value);
      return true;
    case 'mark':
      if (!isInteger(value, 0xffffffff)) return false;
      w.u32host(value);
      return true;
    case 'ifname':
      return typeof value === 'string' && w.fixedString(value, IFNAMSIZ);
    default:
      return false;
  }
}

function writeVerdict(w: Writer, value: unknown): boolean {
  if (!isJsonObject(value)) return false;
  const [kind, body] = Object.entries(value)[0] ?? [];
  const code = kind === 'jump' ? NFT_JUMP : kind === 'goto' ? NFT_GOTO : undefined;
  if (code === undefined || !isJsonObject(body) || typeof body['target'] !== 'string') return false;
  const verdict = w.nest(NFTA_DATA_VERDICT);
  const codeAttr = w.open(NFTA_VERDICT_CODE);
  w.u32be(code >>> 0);
  w.end(codeAttr);
  w.string(NFTA_VERDICT_CHAIN, body['target']);
  w.end(verdict);
  return true;
}

/** Dotted-quad IPv4 straight into the buffer (network order); false for anything else. */
function writeIpv4(w: Writer, text: string): boolean {
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || octet > 255 || parts === 4) return false;
      w.u8(octet);
      parts++;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48);
      digits++;
    } else return false;
  }
  return parts === 4;
}

/**
 * Netlink messages written in place into one growing buffer: a message or attribute is opened (its
 * header reserved), filled, and ended (its length written, padded to 4 bytes). Headers are in host
 * byte order, payload as each datum wants it.
 */
class Writer {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  /** nlmsghdr + nfgenmsg (family, version 0, resource id in network order); returns its start. */
  message(type: number, flags: number, seq: number, family: number, resId: number): number {
    const start = this.reserve(20);
    this.writeU16(type, start + 4);
    this.writeU16(flags, start + 6);
    this.writeU32(seq, start + 8);
    this.writeU32(0, start + 12);
    this.buffer.writeUInt8(family, start + 16);
    this.buffer.writeUInt8(0, start + 17);
    this.buffer.writeUInt16BE(resId, start + 18);
    return start;
  }

  open(type: number): number {
    const start = this.reserve(4);
    this.writeU16(type, start + 2);
    return start;
  }

  nest(type: number): number {
    return this.open(type | NLA_F_NESTED);
  }

  /** Ends the attribute opened at `start`: its 16-bit length, then padding. */
  end(start: number): void {
    this.writeU16(this.length - start, start);
    this.pad();
  }

  endMessage(start: number): void {
    this.writeU32(this.length - start, start);
  }

  string(type: number, text: string): void {
    const start = this.open(type);
    this.fixedString(text, utf8Length(text) + 1);
    this.end(start);
  }

  /** `text` and zeroes in `size` bytes (at least one zero: C strings); false when it does not fit. */
  fixedString(text: string, size: number): boolean {
    const length = utf8Length(text);
    if (length >= size) return false;
    const at = this.reserve(size);
    // Names and comments are ASCII: copied here rather than by a call into Buffer's C++ per element.
    if (length === text.length) for (let i = 0; i < length; i++) this.buffer[at + i] = text.charCodeAt(i);
    else this.buffer.write(text, at);
    return true;
  }

  u8(value: number): void {
    const at = this.reserve(1);
    this.buffer.writeUInt8(value, at);
  }

  u16be(value: number): void {
    const at = this.reserve(2);
    this.buffer.writeUInt16BE(value, at);
  }

  u32be(value: number): void {
    const at = this.reserve(4);
    this.buffer.writeUInt32BE(value, at);
  }

  u32host(value: number): void {
    this.writeU32(value, this.reserve(4));
  }

  /** Zeroes up to the next multiple of 4. */
  pad(): void {
    const padded = (this.length + 3) & ~3;
    if (padded > this.length) this.reserve(padded - this.length);
  }

  /** The batch written so far, without a copy: a Writer writes one batch and is then dropped. */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  /**
   * Room for `n` more bytes; returns where they start. They are zero: the buffer only grows, nothing
   * beyond `length` was ever written, and a grown buffer is allocated zeroed. (The buffer may be a new
   * one: callers read `this.buffer` after calling this.)
   */
  private reserve(n: number): number {
    if (this.length + n > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + n));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    const start = this.length;
    this.length += n;
    return start;
  }

  private writeU16(value: number, offset: number): void {
    writeHostU16(this.buffer, value, offset);
  }

  private writeU32(value: number, offset: number): void {
    writeHostU32(this.buffer, value, offset);
  }
}

/** Bytes of `text` in UTF-8, counted in JS for ASCII (interface names, ownership comments). */
function utf8Length(text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return Buffer.byteLength(text);
  return text.length;
}

function isInteger(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}
