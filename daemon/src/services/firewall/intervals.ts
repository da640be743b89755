// Firewall addresses and ports as intervals: parsing the manager's spellings (address, CIDR, range),
// merging lists into sorted disjoint intervals, and printing them back the way nft does.
import { formatIpv4, maskOf, parseIpv4, parseIpv6, parseIpv6Prefix } from '../../config/net.js';
import type { PortRange } from '../../gen/vrouter/v1/common_pb.js';
import type { Interval } from './model.js';

export type Parsed = { readonly interval: Interval } | { readonly error: string };

/** `198.51.100.7`, `198.51.100.0/24` (no host bits) or `198.51.100.7-198.51.100.20`. */
export function parseAddressSpec(text: string): Parsed {
  if (text === '') return { error: 'empty; give an address, a CIDR or a range' };
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const from = parseIpv4(text.slice(0, dash).trim());
    const to = parseIpv4(text.slice(dash + 1).trim());
    if (from === undefined || to === undefined)
      return { error: `"${text}" is not an IPv4 range (like 198.51.100.7-198.51.100.20)` };
    if (from > to) return { error: `range ${text} ends before it starts` };
    return { interval: [from, to] };
  }
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const address = parseIpv4(text.slice(0, slash));
    const prefixText = text.slice(slash + 1);
    if (address === undefined || !/^(?:[0-9]|[12][0-9]|3[0-2])$/.test(prefixText))
      return ipv6Or(text, `"${text}" is not an IPv4 CIDR (like 198.51.100.0/24)`);
    const mask = maskOf(Number(prefixText));
    const network = (address & mask) >>> 0;
    if (network !== address)
      return { error: `${text} has host bits set; did you mean ${formatIpv4(network)}/${prefixText}?` };
    return { interval: [network, (network | ~mask) >>> 0] };
  }
  const address = parseIpv4(text);
  if (address === undefined) return ipv6Or(text, `"${text}" is not an IPv4 address, CIDR or range`);
  return { interval: [address, address] };
}

function ipv6Or(text: string, error: string): Parsed {
  const v6 = text.includes('/') ? parseIpv6Prefix(text) !== undefined : parseIpv6(text) !== undefined;
  return { error: v6 ? `${text}: IPv6 addresses are not supported in firewall rules` : error };
}

/** A PortRange as an interval (end 0 means the single port). Validation checks the bounds first. */
export function portInterval(p: PortRange): Interval {
  return [p.start, p.end === 0 ? p.start : p.end];
}

/** Sorted, with overlapping and adjacent intervals merged. */
export function mergeIntervals(list: readonly Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [from, to] of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

export function intervalsContain(list: readonly Interval[], value: number): Interval | undefined {
  return list.find(([from, to]) => value >= from && value <= to);
}

/** nft's JSON for an IPv4 interval: an address, a prefix when it is one, else a range. */
export function addressJson(interval: Interval): unknown {
  const [from, to] = interval;
  if (from === to) return formatIpv4(from);
  const prefix = prefixLength(interval);
  if (prefix !== undefined) return { prefix: { addr: formatIpv4(from), len: prefix } };
  return { range: [formatIpv4(from), formatIpv4(to)] };
}

export function portJson(interval: Interval): unknown {
  return interval[0] === interval[1] ? interval[0] : { range: [interval[0], interval[1]] };
}

/** `198.51.100.0/24`, `198.51.100.7`, `198.51.100.7-198.51.100.20`. */
export function formatAddressInterval(interval: Interval): string {
  const [from, to] = interval;
  if (from === to) return formatIpv4(from);
  const prefix = prefixLength(interval);
  return prefix !== undefined ? `${formatIpv4(from)}/${prefix}` : `${formatIpv4(from)}-${formatIpv4(to)}`;
}

export function formatPortInterval([from, to]: Interval): string {
  return from === to ? String(from) : `${from}-${to}`;
}

/** The prefix length when the interval is exactly one CIDR block, else undefined. */
export function prefixLength([from, to]: Interval): number | undefined {
  const size = to - from + 1;
  const bits = Math.log2(size);
  if (!Number.isInteger(bits) || from % size !== 0) return undefined;
  return 32 - bits;
}
