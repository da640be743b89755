// The wire formats of the option values the server hands out (RFC 2132, RFC 3397, RFC 3442) and reads
// from clients. Encoders are pure and run at render time, so answering a client only copies bytes.
import { OPTION } from './codec.js';

/** Addresses (unsigned 32-bit numbers) as consecutive 4-byte big-endian values (options 3, 6, 42 …). */
export function encodeAddresses(addresses: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 * addresses.length);
  const view = new DataView(out.buffer);
  addresses.forEach((a, i) => view.setUint32(4 * i, a));
  return out;
}

export function encodeUint32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

export function encodeUint16(value: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, value);
  return out;
}

export function encodeText(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/**
 * Domain search list (option 119, RFC 3397): the names in DNS wire format, one after the other, with
 * RFC 1035 compression pointers counted from the start of the option's data.
 */
export function encodeDomainSearch(domains: readonly string[]): Uint8Array {
  const out: number[] = [];
  const suffixes = new Map<string, number>();
  for (const domain of domains) {
    const labels = domain.split('.').filter((l) => l !== '');
    let i = 0;
    for (; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const earlier = suffixes.get(suffix);
      if (earlier !== undefined) {
        out.push(0xc0 | (earlier >> 8), earlier & 0xff);
        break;
      }
      // A pointer has 14 bits of offset.
      if (out.length < 0x4000) suffixes.set(suffix, out.length);
      const bytes = new TextEncoder().encode(labels[i]);
      out.push(bytes.length, ...bytes);
    }
    if (i === labels.length) out.push(0);
  }
  return Uint8Array.from(out);
}

export interface RouteValue {
  /** Destination network (host bits clear). */
  readonly network: number;
  readonly prefix: number;
  readonly nextHop: number;
}

/**
 * Classless static routes (option 121, RFC 3442; Microsoft's 249 uses the same format): per route the
 * prefix length, the significant octets of the destination, then the next hop.
 */
export function encodeClasslessRoutes(routes: readonly RouteValue[]): Uint8Array {
  const out: number[] = [];
  for (const r of routes) {
    out.push(r.prefix);
    for (let octet = 0; octet < Math.ceil(r.prefix / 8); octet++)
      out.push((r.network >>> (24 - 8 * octet)) & 255);
    out.push(r.nextHop >>> 24, (r.nextHop >>> 16) & 255, (r.nextHop >>> 8) & 255, r.nextHop & 255);
  }
  return Uint8Array.from(out);
}

/** Lengths a client option must have (RFC 2132); one of another length makes the message malformed. */
const CLIENT_OPTION_LENGTHS: ReadonlyMap<number, { readonly min: number; readonly max: number }> = new Map([
  [OPTION.REQUESTED_IP, { min: 4, max: 4 }],
  [OPTION.LEASE_TIME, { min: 4, max: 4 }],
  [OPTION.MESSAGE_TYPE, { min: 1, max: 1 }],
  [OPTION.SERVER_ID, { min: 4, max: 4 }],
  [OPTION.MAX_MESSAGE_SIZE, { min: 2, max: 2 }],
  // A type byte and at least one byte of identifier.
  [OPTION.CLIENT_ID, { min: 2, max: Infinity }],
]);

/** The code of the first client option whose length is wrong, or undefined when all are right. */
export function misSizedOption(options: ReadonlyMap<number, Uint8Array>): number | undefined {
  for (const [code, data] of options) {
    const length = CLIENT_OPTION_LENGTHS.get(code);
    if (length !== undefined && (data.length < length.min || data.length > length.max)) return code;
  }
  return undefined;
}

/** A 4-byte address option (50, 54); undefined when absent or not 4 bytes long. */
export function readAddress(data: Uint8Array | undefined): number | undefined {
  if (data?.length !== 4) return undefined;
  return ((data[0] ?? 0) * 2 ** 24 + ((data[1] ?? 0) << 16) + ((data[2] ?? 0) << 8) + (data[3] ?? 0)) >>> 0;
}

/** A 2-byte number option (57); undefined when absent or not 2 bytes long. */
export function readUint16(data: Uint8Array | undefined): number | undefined {
  if (data?.length !== 2) return undefined;
  return ((data[0] ?? 0) << 8) | (data[1] ?? 0);
}

/** A host name a client sent (option 12), kept only when it is a plausible DNS label. */
export function readHostname(data: Uint8Array | undefined): string {
  if (data === undefined || data.length === 0 || data.length > 63) return '';
  const text = String.fromCharCode(...data);
  return /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(text) ? text : '';
}

export function hex(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
}
