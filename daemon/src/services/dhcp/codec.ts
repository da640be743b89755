// DHCPv4 messages to and from bytes: the BOOTP header (RFC 2131 §2), options (RFC 2132), option
// overload into `file`/`sname` (option 52) and long options split into several instances (RFC 3396).
//
// Hand-written rather than the `dhcp` npm package (0.2.20, last released 2019): that package writes
// the domain search list (119) as plain text and classless routes (121) as a list of addresses, neither
// of which is the RFC 3397 / RFC 3442 wire format clients parse; it reads neither option overload nor
// split options and cannot write them (it truncates anything over 255 bytes); it skips a byte after each
// pad option; it throws on malformed input; and its server is one socket bound to every interface, where
// this daemon needs one socket per NIC. What the server needs is small enough to own and test fully.
//
// decodeMessage never throws: every malformed input is a DecodeFailure naming why, so the server can
// drop and count it.

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
/** 99.130.83.99, the first four bytes of the options field. */
export const MAGIC_COOKIE = 0x63825363;
/** The fixed header plus the magic cookie; options start here. */
export const OPTIONS_OFFSET = 240;
/** RFC 2131: every client accepts a message of 576 bytes of IP datagram, 548 of DHCP. */
export const MIN_MAX_MESSAGE = 548;
/** RFC 1542: BOOTP relays and old clients expect at least 300 bytes; shorter replies are padded. */
const MIN_REPLY = 300;

const SNAME_OFFSET = 44;
const SNAME_LENGTH = 64;
const FILE_OFFSET = 108;
const FILE_LENGTH = 128;
const CHADDR_OFFSET = 28;
const CHADDR_LENGTH = 16;

export const OPTION = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVERS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  INTERFACE_MTU: 26,
  BROADCAST: 28,
  NTP_SERVERS: 42,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  RELAY_AGENT_INFO: 82,
  DOMAIN_SEARCH: 119,
  CLASSLESS_ROUTES: 121,
  MS_CLASSLESS_ROUTES: 249,
  END: 255,
} as const;

export const MESSAGE_TYPE = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

/** A DHCP message. Addresses are unsigned 32-bit numbers; options are concatenated per RFC 3396. */
export interface DhcpMessage {
  readonly op: number;
  readonly htype: number;
  readonly hlen: number;
  readonly hops: number;
  readonly xid: number;
  readonly secs: number;
  readonly flags: number;
  readonly ciaddr: number;
  readonly yiaddr: number;
  readonly siaddr: number;
  readonly giaddr: number;
  /** 16 bytes; the first `hlen` are the hardware address. */
  readonly chaddr: Uint8Array;
  /** 64 bytes of server host name; zeros when the field carried options. */
  readonly sname: Uint8Array;
  /** 128 bytes of boot file name; zeros when the field carried options. */
  readonly file: Uint8Array;
  /** Option code → data, in the order first seen (encoding writes them in this order). */
  readonly options: ReadonlyMap<number, Uint8Array>;
}

export type DecodeFailure = 'truncated' | 'bad_cookie' | 'bad_header' | 'option_overrun' | 'bad_overload';

export type DecodeResult =
  | { readonly ok: true; readonly message: DhcpMessage }
  | { readonly ok: false; readonly reason: DecodeFailure };

export const BROADCAST_FLAG = 0x8000;

/** Reads a message; never throws. A missing END option is accepted (many stacks omit it). */
export function decodeMessage(bytes: Uint8Array): DecodeResult {
  if (bytes.length < OPTIONS_OFFSET) return { ok: false, reason: 'truncated' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(236) !== MAGIC_COOKIE) return { ok: false, reason: 'bad_cookie' };
  const hlen = bytes[2] ?? 0;
  if (hlen > CHADDR_LENGTH) return { ok: false, reason: 'bad_header' };

  const chunks = new Map<number, Uint8Array[]>();
  const main = readOptions(bytes, OPTIONS_OFFSET, bytes.length, chunks);
  if (main !== undefined) return { ok: false, reason: main };
  let sname = bytes.slice(SNAME_OFFSET, SNAME_OFFSET + SNAME_LENGTH);
  let file = bytes.slice(FILE_OFFSET, FILE_OFFSET + FILE_LENGTH);
  const overload = chunks.get(OPTION.OVERLOAD);
  if (overload !== undefined) {
    const value = overload.length === 1 && overload[0]?.length === 1 ? overload[0][0] : undefined;
    if (value === undefined || value < 1 || value > 3) return { ok: false, reason: 'bad_overload' };
    // Options in `file` come before those in `sname` (RFC 2131 §4.1); option 52 inside them is
    // ignored, so an overload cannot point at itself.
    chunks.delete(OPTION.OVERLOAD);
    const areas: [number, number][] = [];
    if (value & 1) areas.push([FILE_OFFSET, FILE_LENGTH]);
    if (value & 2) areas.push([SNAME_OFFSET, SNAME_LENGTH]);
    for (const [offset, length] of areas) {
      const failure = readOptions(bytes, offset, offset + length, chunks);
      if (failure !== undefined) return { ok: false, reason: failure };
    }
    chunks.delete(OPTION.OVERLOAD);
    if (value & 1) file = new Uint8Array(FILE_LENGTH);
    if (value & 2) sname = new Uint8Array(SNAME_LENGTH);
  }

  const options = new Map<number, Uint8Array>();
  for (const [code, parts] of chunks)
    options.set(code, parts.length === 1 ? (parts[0] ?? new Uint8Array()) : concat(parts));
  return {
    ok: true,
    message: {
      op: bytes[0] ?? 0,
      htype: bytes[1] ?? 0,
      hlen,
      hops: bytes[3] ?? 0,
      xid: view.getUint32(4),
      secs: view.getUint16(8),
      flags: view.getUint16(10),
      ciaddr: view.getUint32(12),
      yiaddr: view.getUint32(16),
      siaddr: view.getUint32(20),
      giaddr: view.getUint32(24),
      chaddr: bytes.slice(CHADDR_OFFSET, CHADDR_OFFSET + CHADDR_LENGTH),
      sname,
      file,
      options,
    },
  };
}

/** Appends the options of bytes[start, end) to `chunks`; a failure when an option runs past the end. */
function readOptions(
  bytes: Uint8Array,
  start: number,
  end: number,
  chunks: Map<number, Uint8Array[]>,
): DecodeFailure | undefined {
  let i = start;
  while (i < end) {
    const code = bytes[i] ?? OPTION.END;
    if (code === OPTION.END) return undefined;
    if (code === OPTION.PAD) {
      i++;
      continue;
    }
    if (i + 1 >= end) return 'option_overrun';
    const length = bytes[i + 1] ?? 0;
    if (i + 2 + length > end) return 'option_overrun';
    const data = bytes.subarray(i + 2, i + 2 + length);
    const list = chunks.get(code);
    if (list === undefined) chunks.set(code, [data]);
    else list.push(data);
    i += 2 + length;
  }
  return undefined;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface EncodeResult {
  readonly bytes: Uint8Array;
  /** Codes of options left out because they did not fit in `maxLength`, in the order tried. */
  readonly omitted: readonly number[];
}

/**
 * Writes a message of at most `maxLength` bytes (at least MIN_MAX_MESSAGE). Options go in the order
 * of `message.options`; one longer than 255 bytes is split into consecutive instances. When they do
 * not fit in the options field and `sname`/`file` are empty (all zero), those fields carry the rest
 * (option 52); the options in `first` are then placed before the others, and an option that still
 * does not fit is left out whole and reported in `omitted`.
 */
export function encodeMessage(
  message: DhcpMessage,
  maxLength = MIN_MAX_MESSAGE,
  first: ReadonlySet<number> = new Set(),
): EncodeResult {
  const limit = Math.max(maxLength, MIN_MAX_MESSAGE);
  const needed = optionsSize(message.options);
  // The common case, every reply of a sane config: all options in the options field.
  if (needed <= limit - OPTIONS_OFFSET - 1) return { bytes: encodeFitting(message, needed), omitted: [] };
  return encodeSpilling(message, limit, isZero(message.file) && isZero(message.sname), first);
}

/** Bytes `options` take in a message, split instances included, END not. */
export function optionsSize(options: ReadonlyMap<number, Uint8Array>): number {
  let size = 0;
  for (const data of options.values()) size += encodedSize(data.length);
  return size;
}

/** The most bytes of options a message of `maxLength` holds, when `file` and `sname` carry some. */
export function optionRoom(maxLength: number): number {
  const limit = Math.max(maxLength, MIN_MAX_MESSAGE);
  // Each area keeps a byte for END; the options field also holds option 52 (3 bytes).
  return limit - OPTIONS_OFFSET - 1 - 3 + (FILE_LENGTH - 1) + (SNAME_LENGTH - 1);
}

function encodeFitting(message: DhcpMessage, needed: number): Uint8Array {
  const bytes = new Uint8Array(Math.max(OPTIONS_OFFSET + needed + 1, MIN_REPLY));
  writeHeader(bytes, message, false);
  let at = OPTIONS_OFFSET;
  for (const [code, data] of message.options) {
    if (data.length <= 255) {
      bytes[at] = code;
      bytes[at + 1] = data.length;
      bytes.set(data, at + 2);
      at += 2 + data.length;
      continue;
    }
    let offset = 0;
    do {
      const take = Math.min(255, data.length - offset);
      bytes[at] = code;
      bytes[at + 1] = take;
      bytes.set(data.subarray(offset, offset + take), at + 2);
      at += 2 + take;
      offset += take;
    } while (offset < data.length);
  }
  bytes[at] = OPTION.END;
  return bytes;
}

/** Options that do not all fit in the options field: overload into file and sname when they are
 * free, and leave out what still does not fit. */
function encodeSpilling(
  message: DhcpMessage,
  limit: number,
  overloading: boolean,
  first: ReadonlySet<number>,
): EncodeResult {
  const areas: Area[] = [
    { start: OPTIONS_OFFSET, end: limit - 1, at: OPTIONS_OFFSET + (overloading ? 3 : 0) },
  ];
  if (overloading) {
    areas.push({ start: FILE_OFFSET, end: FILE_OFFSET + FILE_LENGTH - 1, at: FILE_OFFSET });
    areas.push({ start: SNAME_OFFSET, end: SNAME_OFFSET + SNAME_LENGTH - 1, at: SNAME_OFFSET });
  }
  const bytes = new Uint8Array(limit);
  writeHeader(bytes, message, overloading);

  const omitted: number[] = [];
  let area = 0;
  const all = [...message.options];
  const ordered = [...all.filter(([code]) => first.has(code)), ...all.filter(([code]) => !first.has(code))];
  for (const [code, data] of ordered) {
    const placed = place(bytes, areas, area, code, data);
    if (placed === undefined) omitted.push(code);
    else area = placed;
  }
  const main = areas[0] as Area;
  if (overloading) {
    const used = (areas[1]?.at !== FILE_OFFSET ? 1 : 0) | (areas[2]?.at !== SNAME_OFFSET ? 2 : 0);
    // Nothing spilled over (what did not fit was left out): the three reserved bytes stay pads.
    if (used !== 0) bytes.set([OPTION.OVERLOAD, 1, used], OPTIONS_OFFSET);
    for (const a of areas.slice(1)) if (a.at !== a.start) bytes[a.at] = OPTION.END;
  }
  bytes[main.at] = OPTION.END;
  return { bytes: bytes.subarray(0, Math.max(main.at + 1, MIN_REPLY)), omitted };
}

interface Area {
  readonly start: number;
  /** Last byte usable for option data; the byte at `end` is kept for END. */
  readonly end: number;
  at: number;
}

/** Bytes an option of `length` data bytes takes, split into instances of at most 255. */
function encodedSize(length: number): number {
  return length === 0 ? 2 : length + 2 * Math.ceil(length / 255);
}

/**
 * Writes one option into the areas from `first` on, splitting it where an area fills up (RFC 3396
 * concatenates instances in the order options field, file, sname). Returns the area it ended in, or
 * undefined (and writes nothing) when it does not fit whole.
 */
function place(
  bytes: Uint8Array,
  areas: Area[],
  first: number,
  code: number,
  data: Uint8Array,
): number | undefined {
  const saved = areas.map((a) => a.at);
  let area = first;
  let offset = 0;
  do {
    const a = areas[area];
    if (a === undefined) {
      areas.forEach((x, i) => (x.at = saved[i] ?? x.at));
      return undefined;
    }
    const room = a.end - a.at - 2;
    const wanted = Math.min(data.length - offset, 255);
    // A piece needs at least one data byte, unless the option is empty.
    if (room < wanted && (room < 1 || data.length === 0)) {
      area++;
      continue;
    }
    const take = Math.min(wanted, room);
    bytes[a.at] = code;
    bytes[a.at + 1] = take;
    bytes.set(data.subarray(offset, offset + take), a.at + 2);
    a.at += 2 + take;
    offset += take;
  } while (offset < data.length);
  return area;
}

function writeHeader(bytes: Uint8Array, m: DhcpMessage, overloading: boolean): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  bytes[0] = m.op;
  bytes[1] = m.htype;
  bytes[2] = m.hlen;
  bytes[3] = m.hops;
  view.setUint32(4, m.xid);
  view.setUint16(8, m.secs);
  view.setUint16(10, m.flags);
  view.setUint32(12, m.ciaddr);
  view.setUint32(16, m.yiaddr);
  view.setUint32(20, m.siaddr);
  view.setUint32(24, m.giaddr);
  bytes.set(m.chaddr.subarray(0, CHADDR_LENGTH), CHADDR_OFFSET);
  if (!overloading) {
    bytes.set(m.sname.subarray(0, SNAME_LENGTH), SNAME_OFFSET);
    bytes.set(m.file.subarray(0, FILE_LENGTH), FILE_OFFSET);
  }
  view.setUint32(236, MAGIC_COOKIE);
}

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}
