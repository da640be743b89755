// The DNS wire format (RFC 1035, 3596, 6891) as the server needs it, hand-written rather than taken
// from dns2: a query must be read without allocating an object per record (dns2 decodes bit by bit
// into objects), and answers are pre-encoded byte strings whose ID, flags, question and TTLs are
// patched in place, which needs the byte offsets of names, records and TTLs that dns2 does not expose.
// The unit tests check this codec against dns2 as an independent implementation; the bench measures
// both on the same queries (test/bench/dns.bench.ts).

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  AAAA: 28,
  OPT: 41,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
} as const;

export const CLASS_IN = 1;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Octets in the message header. */
export const HEADER_SIZE = 12;
/** UDP payload size the server advertises and keeps its UDP responses within (DNS flag day 2020). */
export const EDNS_UDP_SIZE = 1232;
/** Largest UDP response to a client that sent no EDNS OPT record. */
export const PLAIN_UDP_SIZE = 512;
/** Longest name on the wire, length octets included. */
export const MAX_NAME_WIRE = 255;
/** Size of an OPT record without options. */
export const OPT_SIZE = 11;

// Flag bits of octet 2 and 3 of the header.
export const QR = 0x80;
export const AA = 0x04;
export const TC = 0x02;
export const RD = 0x01;
export const RA = 0x80;
export const AD = 0x20;
export const CD = 0x10;
/** DO bit of the OPT record's flags (RFC 3225). */
const DO_BIT = 0x8000;
/** EDNS option code of Extended DNS Errors (RFC 8914). */
const EDNS_EDE = 15;

/** What parseQuery learned about a query; one instance is reused for every packet. */
export class Query {
  id = 0;
  /** Octet 2 of the header (QR, opcode, AA, TC, RD). */
  flags2 = 0;
  /** Octet 3 of the header (RA, Z, AD, CD, RCODE). */
  flags3 = 0;
  opcode = 0;
  /** Offset of the question's end (after QCLASS), relative to the message start. */
  questionEnd = 0;
  /** Wire length of QNAME. */
  nameLength = 0;
  type = 0;
  klass = 0;
  /** The query carried an OPT record. */
  edns = false;
  ednsVersion = 0;
  /** The client's UDP payload size (512 without EDNS). */
  udpSize = PLAIN_UDP_SIZE;
  dnssecOk = false;
  /**
   * Lookup key: QNAME in lower case as on the wire, QTYPE, QCLASS and one octet of DO|CD, as a
   * latin1 string. Equal keys get equal answers (apart from ID, RD and the question's case).
   */
  key = '';

  /** A snapshot, for a query answered later. */
  copy(): Query {
    return Object.assign(new Query(), this);
  }
}

/** Why a query could not be read; each is counted as malformed, and dropped or answered FORMERR. */
export type Malformed =
  'short' | 'response' | 'opcode' | 'counts' | 'name' | 'truncated' | 'record' | 'opt' | 'trailing';

/**
 * What is wrong after a whole question was read, so a FORMERR can carry it: a second or broken OPT
 * record (RFC 6891 §6.1.1 wants FORMERR), broken additional records, octets the counts do not cover
 * (BIND answers those FORMERR too). Anything earlier is not a query one could answer: dropped.
 */
export const FORMERR_REASONS: ReadonlySet<Malformed> = new Set(['record', 'opt', 'trailing']);

/** Opcodes other than QUERY that exist (IQUERY, STATUS, NOTIFY, UPDATE, DSO): answered NOTIMP. */
const KNOWN_OPCODES: ReadonlySet<number> = new Set([1, 2, 4, 5, 6]);

/**
 * Reads the query in msg[off, off + len) into `q`. `scratch` (≥ 261 octets) receives the lower-case
 * question for the key. Returns undefined when the query is usable, otherwise why not. Known opcodes
 * other than QUERY are reported with only the header read (q.opcode), for a NOTIMP answer.
 */
export function parseQuery(
  msg: Buffer,
  off: number,
  len: number,
  q: Query,
  scratch: Buffer,
): Malformed | undefined {
  if (len < HEADER_SIZE) return 'short';
  const end = off + len;
  const flags2 = msg[off + 2] ?? 0;
  if ((flags2 & QR) !== 0) return 'response';
  q.id = msg.readUInt16BE(off);
  q.flags2 = flags2;
  q.flags3 = msg[off + 3] ?? 0;
  q.opcode = (flags2 >> 3) & 0x0f;
  q.edns = false;
  q.ednsVersion = 0;
  q.udpSize = PLAIN_UDP_SIZE;
  q.dnssecOk = false;
  if (q.opcode !== 0) return KNOWN_OPCODES.has(q.opcode) ? undefined : 'opcode';
  if (msg.readUInt16BE(off + 4) !== 1 || msg.readUInt16BE(off + 6) !== 0 || msg.readUInt16BE(off + 8) !== 0)
    return 'counts';
  const additional = msg.readUInt16BE(off + 10);

  // QNAME: uncompressed labels (a pointer cannot point anywhere useful in a query), copied in lower case.
  let p = off + HEADER_SIZE;
  let n = 0;
  for (;;) {
    if (p >= end) return 'truncated';
    const label = msg[p] ?? 0;
    if (label > 63) return 'name';
    if (n + label + 1 > MAX_NAME_WIRE) return 'name';
    if (p + label + 1 > end) return 'truncated';
    scratch[n++] = label;
    p++;
    if (label === 0) break;
    for (let i = 0; i < label; i++) {
      const c = msg[p++] ?? 0;
      scratch[n++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
  }
  if (p + 4 > end) return 'truncated';
  q.nameLength = n;
  q.type = msg.readUInt16BE(p);
  q.klass = msg.readUInt16BE(p + 2);
  p += 4;
  q.questionEnd = p - off;

  // Additional records: at most one OPT (with the root name); others (a TSIG we cannot check) are
  // skipped whole.
  for (let i = 0; i < additional; i++) {
    const nameEnd = skipName(msg, p, end);
    if (nameEnd < 0 || nameEnd + 10 > end) return 'record';
    const type = msg.readUInt16BE(nameEnd);
    const rdlength = msg.readUInt16BE(nameEnd + 8);
    const next = nameEnd + 10 + rdlength;
    if (next > end) return 'record';
    if (type === TYPE.OPT) {
      if (q.edns || nameEnd !== p + 1 || !optionsWellFormed(msg, nameEnd + 10, next)) return 'opt';
      q.edns = true;
      q.udpSize = Math.max(PLAIN_UDP_SIZE, msg.readUInt16BE(nameEnd + 2));
      q.ednsVersion = msg[nameEnd + 5] ?? 0;
      q.dnssecOk = (msg.readUInt16BE(nameEnd + 6) & DO_BIT) !== 0;
    }
    p = next;
  }
  if (p !== end) return 'trailing';

  scratch.writeUInt16BE(q.type, n);
  scratch.writeUInt16BE(q.klass, n + 2);
  scratch[n + 4] = (q.dnssecOk ? 1 : 0) | ((q.flags3 & CD) !== 0 ? 2 : 0);
  q.key = scratch.toString('latin1', 0, n + 5);
  return undefined;
}

function optionsWellFormed(msg: Buffer, start: number, end: number): boolean {
  let p = start;
  while (p + 4 <= end) p += 4 + msg.readUInt16BE(p + 2);
  return p === end;
}

/**
 * Offset just past the (possibly compressed) name at `p`, or -1 when it runs past `end` or is not a
 * name. A pointer ends the name; where it points is not followed.
 */
export function skipName(msg: Buffer, p: number, end: number): number {
  let length = 0;
  while (p < end) {
    const label = msg[p] ?? 0;
    if (label === 0) return p + 1;
    if ((label & 0xc0) === 0xc0) return p + 2 <= end ? p + 2 : -1;
    if (label > 63) return -1;
    length += label + 1;
    if (length > MAX_NAME_WIRE) return -1;
    p += label + 1;
  }
  return -1;
}

/**
 * Reads the name at `p` (following compression pointers, which must point backwards) into
 * presentation form in lower case: labels joined by `.`, no trailing dot, `""` for the root; `.` and
 * `\` inside a label and octets outside printable ASCII are escaped as in zone files. Returns
 * undefined for a malformed name.
 */
export function readName(msg: Buffer, p: number, end: number): string | undefined {
  let name = '';
  let wire = 1;
  let hops = 0;
  let limit = p;
  for (;;) {
    if (p >= end) return undefined;
    const label = msg[p] ?? 0;
    if (label === 0) return name;
    if ((label & 0xc0) === 0xc0) {
      if (p + 1 >= end || ++hops > 64) return undefined;
      const target = ((label & 0x3f) << 8) | (msg[p + 1] ?? 0);
      if (target >= limit) return undefined;
      limit = target;
      p = target;
      continue;
    }
    if (label > 63 || p + 1 + label > end) return undefined;
    wire += label + 1;
    if (wire > MAX_NAME_WIRE) return undefined;
    if (name !== '') name += '.';
    for (let i = p + 1; i <= p + label; i++) name += presentationChar(msg[i] ?? 0);
    p += label + 1;
  }
}

function presentationChar(c: number): string {
  if (c >= 0x41 && c <= 0x5a) return String.fromCharCode(c | 0x20);
  if (c === 0x2e || c === 0x5c) return `\\${String.fromCharCode(c)}`;
  if (c > 0x20 && c < 0x7f) return String.fromCharCode(c);
  return `\\${c.toString().padStart(3, '0')}`;
}

/** The name in presentation form (as readName gives it) split into labels, unescaped as octets. */
export function nameToWire(name: string): Buffer {
  if (name === '') return Buffer.from([0]);
  const labels = splitLabels(name);
  const out = Buffer.alloc(labels.reduce((n, l) => n + l.length + 1, 1));
  let p = 0;
  for (const label of labels) {
    if (label.length === 0 || label.length > 63) throw new Error(`bad label in "${name}"`);
    out[p++] = label.length;
    label.copy(out, p);
    p += label.length;
  }
  if (p + 1 > MAX_NAME_WIRE) throw new Error(`"${name}" is longer than 255 octets`);
  return out;
}

function splitLabels(name: string): Buffer[] {
  const labels: Buffer[] = [];
  let current: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const ch = name.charCodeAt(i);
    if (ch === 0x2e) {
      labels.push(Buffer.from(current));
      current = [];
    } else if (ch === 0x5c) {
      const digits = name.slice(i + 1, i + 4);
      if (/^[0-9]{3}$/.test(digits)) {
        current.push(Number(digits));
        i += 3;
      } else {
        current.push(name.charCodeAt(i + 1));
        i += 1;
      }
    } else current.push(ch);
  }
  labels.push(Buffer.from(current));
  return labels;
}

/** Builds messages with name compression (RFC 1035 §4.1.4); for answers encoded once and reused. */
export class MessageWriter {
  private buffer = Buffer.alloc(512);
  private length = 0;
  private readonly names = new Map<string, number>();

  get size(): number {
    return this.length;
  }

  header(id: number, flags: number, counts: readonly [number, number, number, number]): this {
    this.ensure(HEADER_SIZE);
    this.buffer.writeUInt16BE(id, 0);
    this.buffer.writeUInt16BE(flags, 2);
    counts.forEach((c, i) => this.buffer.writeUInt16BE(c, 4 + 2 * i));
    this.length = HEADER_SIZE;
    return this;
  }

  /** A name in presentation form, compressed against the names written before. */
  name(name: string): this {
    return this.wireName(nameToWire(name));
  }

  /** A name given as uncompressed wire octets, compressed against the names written before. */
  wireName(wire: Buffer): this {
    for (let i = 0; i < wire.length;) {
      const label = wire[i] ?? 0;
      if (label === 0) break;
      // Keyed by the suffix's wire octets (lower case): unambiguous whatever octets the labels hold.
      const suffix = lowerLatin1(wire, i);
      const earlier = this.names.get(suffix);
      if (earlier !== undefined) return this.u16(0xc000 | earlier);
      if (this.length < 0x4000) this.names.set(suffix, this.length);
      this.bytes(wire.subarray(i, i + label + 1));
      i += label + 1;
    }
    return this.u8(0);
  }

  question(name: string, type: number, klass = CLASS_IN): this {
    return this.name(name).u16(type).u16(klass);
  }

  /** A resource record; `rdata` writes the RDATA and its length is filled in afterwards. */
  record(name: string, type: number, ttl: number, rdata: (w: this) => void): this {
    this.name(name).u16(type).u16(CLASS_IN).u32(ttl);
    const lengthAt = this.length;
    this.u16(0);
    rdata(this);
    this.buffer.writeUInt16BE(this.length - lengthAt - 2, lengthAt);
    return this;
  }

  u8(value: number): this {
    this.ensure(1);
    this.buffer[this.length++] = value;
    return this;
  }

  u16(value: number): this {
    this.ensure(2);
    this.buffer.writeUInt16BE(value, this.length);
    this.length += 2;
    return this;
  }

  u32(value: number): this {
    this.ensure(4);
    this.buffer.writeUInt32BE(value >>> 0, this.length);
    this.length += 4;
    return this;
  }

  bytes(data: Uint8Array): this {
    this.ensure(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
    return this;
  }

  /** A copy of the message written so far. */
  finish(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const bigger = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }
}

function lowerLatin1(wire: Buffer, from: number): string {
  let text = '';
  for (let i = from; i < wire.length; i++) {
    const c = wire[i] ?? 0;
    text += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
  }
  return text;
}

/** Writes an OPT record (root name, our UDP size, version 0, DO as asked) at `p`; returns its end. */
export function writeOpt(out: Buffer, p: number, dnssecOk: boolean, extendedRcode = 0): number {
  out[p] = 0;
  out.writeUInt16BE(TYPE.OPT, p + 1);
  out.writeUInt16BE(EDNS_UDP_SIZE, p + 3);
  out[p + 5] = extendedRcode;
  out[p + 6] = 0;
  out.writeUInt16BE(dnssecOk ? DO_BIT : 0, p + 7);
  out.writeUInt16BE(0, p + 9);
  return p + OPT_SIZE;
}

/** An OPT record carrying one Extended DNS Error (RFC 8914), e.g. 22 "No Reachable Authority". */
export function writeOptWithError(out: Buffer, p: number, dnssecOk: boolean, infoCode: number): number {
  const end = writeOpt(out, p, dnssecOk);
  out.writeUInt16BE(6, p + 9);
  out.writeUInt16BE(EDNS_EDE, end);
  out.writeUInt16BE(2, end + 2);
  out.writeUInt16BE(infoCode, end + 4);
  return end + 6;
}

/** One resource record of a parsed message: where it is, so it can be copied or patched. */
export interface RecordPosition {
  readonly section: 'answer' | 'authority' | 'additional';
  readonly start: number;
  readonly type: number;
  readonly ttlOffset: number;
  readonly rdataOffset: number;
  readonly rdlength: number;
  readonly end: number;
}

/** The layout of a whole message (a response from an upstream server). */
export interface MessageLayout {
  readonly id: number;
  readonly flags: number;
  readonly rcode: number;
  readonly questionStart: number;
  readonly questionEnd: number;
  readonly records: readonly RecordPosition[];
}

/** Walks a whole message; undefined when any part of it is malformed or bytes are left over. */
export function layoutOf(msg: Buffer, length = msg.length): MessageLayout | undefined {
  if (length < HEADER_SIZE) return undefined;
  const counts = [4, 6, 8, 10].map((o) => msg.readUInt16BE(o));
  const [qd = 0, an = 0, ns = 0, ar = 0] = counts;
  if (qd !== 1) return undefined;
  const questionEnd = skipName(msg, HEADER_SIZE, length);
  if (questionEnd < 0 || questionEnd + 4 > length) return undefined;
  let p = questionEnd + 4;
  const records: RecordPosition[] = [];
  const sections = [
    ['answer', an],
    ['authority', ns],
    ['additional', ar],
  ] as const;
  for (const [section, count] of sections)
    for (let i = 0; i < count; i++) {
      const nameEnd = skipName(msg, p, length);
      if (nameEnd < 0 || nameEnd + 10 > length) return undefined;
      const rdlength = msg.readUInt16BE(nameEnd + 8);
      const end = nameEnd + 10 + rdlength;
      if (end > length) return undefined;
      records.push({
        section,
        start: p,
        type: msg.readUInt16BE(nameEnd),
        ttlOffset: nameEnd + 4,
        rdataOffset: nameEnd + 10,
        rdlength,
        end,
      });
      p = end;
    }
  if (p !== length) return undefined;
  const flags = msg.readUInt16BE(2);
  return {
    id: msg.readUInt16BE(0),
    flags,
    rcode: flags & 0x0f,
    questionStart: HEADER_SIZE,
    questionEnd: questionEnd + 4,
    records,
  };
}

/**
 * Whether the question of `msg` (ending at `questionEnd`) is `question` (lower-case QNAME, QTYPE and
 * QCLASS as on the wire), the name compared without regard to case.
 */
export function sameQuestion(msg: Buffer, questionEnd: number, question: Buffer): boolean {
  if (questionEnd - HEADER_SIZE !== question.length) return false;
  const nameLength = question.length - 4;
  for (let i = 0; i < question.length; i++) {
    const c = msg[HEADER_SIZE + i] ?? 0;
    const folded = i < nameLength && c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    if (folded !== question[i]) return false;
  }
  return true;
}
