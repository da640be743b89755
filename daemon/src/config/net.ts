// Address parsing and arithmetic for validation and rendering. IPv4 addresses are unsigned 32-bit
// numbers so that 10k hosts are checked with integer compares; IPv4 parsing is strict four-part
// decimal (as ipaddr.js's, by hand for speed), IPv6 is ipaddr.js throughout.
import ipaddr from 'ipaddr.js';

/** An IPv4 prefix: `address` may have host bits set (an interface address); `network` has them cleared. */
export interface Ipv4Prefix {
  readonly address: number;
  readonly prefix: number;
  readonly network: number;
}

const DOT = 46;
const ZERO = 48;

/**
 * Strict four-part decimal (ipaddr.js's isValidFourPartDecimal: no leading zeros, each part ≤ 255),
 * by hand and without a regular expression: a full Apply parses 10^4–10^5 addresses.
 */
export function parseIpv4(text: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + octet;
      dots++;
      octet = 0;
      digits = 0;
    } else if (c >= ZERO && c <= ZERO + 9) {
      if (digits > 0 && octet === 0) return undefined;
      octet = octet * 10 + (c - ZERO);
      digits++;
      if (octet > 255) return undefined;
    } else return undefined;
  }
  return digits === 0 || dots !== 3 ? undefined : value * 256 + octet;
}

export function formatIpv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses `a.b.c.d/n`; host bits are allowed (see {@link Ipv4Prefix}). */
export function parseIpv4Prefix(text: string): Ipv4Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIpv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === undefined || !/^(?:[0-9]|[12][0-9]|3[0-2])$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return { address, prefix, network: (address & maskOf(prefix)) >>> 0 };
}

export function formatPrefix(p: Pick<Ipv4Prefix, 'network' | 'prefix'>): string {
  return `${formatIpv4(p.network)}/${p.prefix}`;
}

export function prefixContains(p: Pick<Ipv4Prefix, 'network' | 'prefix'>, address: number): boolean {
  return (address & maskOf(p.prefix)) >>> 0 === p.network;
}

export function prefixesOverlap(a: Ipv4Prefix, b: Ipv4Prefix): boolean {
  const shorter = Math.min(a.prefix, b.prefix);
  return (a.network & maskOf(shorter)) >>> 0 === (b.network & maskOf(shorter)) >>> 0;
}

export function broadcastOf(p: Pick<Ipv4Prefix, 'network' | 'prefix'>): number {
  return (p.network | ~maskOf(p.prefix)) >>> 0;
}

/** True when `address` is the network or broadcast address of `p` (both usable on /31 and /32). */
export function isNetworkOrBroadcast(p: Ipv4Prefix, address: number): boolean {
  return p.prefix < 31 && (address === p.network || address === broadcastOf(p));
}

export interface Ipv6Prefix {
  readonly address: ipaddr.IPv6;
  readonly prefix: number;
}

export function parseIpv6(text: string): ipaddr.IPv6 | undefined {
  if (!ipaddr.IPv6.isValid(text) || text.includes('%')) return undefined;
  return ipaddr.IPv6.parse(text);
}

export function parseIpv6Prefix(text: string): Ipv6Prefix | undefined {
  try {
    const [address, prefix] = ipaddr.IPv6.parseCIDR(text);
    return { address, prefix };
  } catch {
    return undefined;
  }
}

export function ipv6PrefixContains(p: Ipv6Prefix, address: ipaddr.IPv6): boolean {
  return address.match(p.address, p.prefix);
}

/** True when the prefix has no host bits set (`fd00:1::/64`, not `fd00:1::5/64`). */
export function isCanonicalIpv6Prefix(p: Ipv6Prefix): boolean {
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${p.address.toString()}/${p.prefix}`);
  return network.toNormalizedString() === p.address.toNormalizedString();
}

/** An address with prefix length in the kernel's (RFC 5952) spelling: `fd00:1::1/64`. */
export function canonicalCidr(cidr: string): string {
  // IPv4 first: ipaddr.js tries IPv6 first, and every write spells each NIC address.
  const v4 = parseIpv4Prefix(cidr);
  if (v4 !== undefined) return `${formatIpv4(v4.address)}/${v4.prefix}`;
  const [address, prefix] = ipaddr.parseCIDR(cidr);
  return `${address.toString()}/${prefix}`;
}

const MAC = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}$/i;

/** Normalizes a MAC to lower case with colons; undefined when it is not a 48-bit MAC. */
export function normalizeMac(text: string): string | undefined {
  return MAC.test(text) ? text.toLowerCase().replaceAll('-', ':') : undefined;
}

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

export function isDnsLabel(text: string): boolean {
  return DNS_LABEL.test(text);
}

/** A domain name of dot-separated DNS labels, at most 253 characters, no trailing dot. */
export function isDomainName(text: string): boolean {
  return text.length <= 253 && text.split('.').every(isDnsLabel);
}
