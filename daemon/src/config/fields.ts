// Checks shared by every section's validator. Each records a violation at `path` and returns the
// parsed value, or undefined when the field is invalid, so callers can go on checking what depends on it.
import {
  type Ipv4Prefix,
  type Ipv6Prefix,
  formatPrefix,
  isCanonicalIpv6Prefix,
  isDomainName,
  isNetworkOrBroadcast,
  normalizeMac,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6,
  parseIpv6Prefix,
} from './net.js';
import type { Violations } from './violations.js';

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export function checkId(v: Violations, path: string, id: string): boolean {
  if (id === '') v.add(path, 'required');
  else if (!ID.test(id))
    v.add(path, `"${id}" is not a valid id (1-64 of A-Z a-z 0-9 . _ : -, starting with a letter or digit)`);
  else return true;
  return false;
}

export function checkIpv4(v: Violations, path: string, text: string): number | undefined {
  const address = parseIpv4(text);
  if (address === undefined) v.add(path, text === '' ? 'required' : `"${text}" is not an IPv4 address`);
  return address;
}

/** An interface address such as `203.0.113.2/24`: host bits set, not the network or broadcast address. */
export function checkInterfaceAddress(v: Violations, path: string, text: string): Ipv4Prefix | undefined {
  const p = parseIpv4Prefix(text);
  if (p === undefined)
    v.add(path, `"${text}" is not an IPv4 address with prefix length (like 203.0.113.2/24)`);
  else if (isNetworkOrBroadcast(p, p.address))
    v.add(path, `${text} is the network or broadcast address of ${formatPrefix(p)}`);
  else return p;
  return undefined;
}

/** A subnet such as `10.1.0.0/24`: no host bits set. */
export function checkSubnet(v: Violations, path: string, text: string): Ipv4Prefix | undefined {
  const p = parseIpv4Prefix(text);
  if (p === undefined)
    v.add(path, text === '' ? 'required' : `"${text}" is not an IPv4 CIDR (like 10.1.0.0/24)`);
  else if (p.address !== p.network)
    v.add(path, `${text} has host bits set; did you mean ${formatPrefix(p)}?`);
  else return p;
  return undefined;
}

export function checkIpv6(v: Violations, path: string, text: string) {
  const address = parseIpv6(text);
  if (address === undefined) v.add(path, `"${text}" is not an IPv6 address`);
  return address;
}

export function checkIpv6Subnet(v: Violations, path: string, text: string): Ipv6Prefix | undefined {
  const p = parseIpv6Prefix(text);
  if (p === undefined) v.add(path, `"${text}" is not an IPv6 CIDR (like fd00:1::/64)`);
  else if (!isCanonicalIpv6Prefix(p)) v.add(path, `${text} has host bits set`);
  else return p;
  return undefined;
}

/** A unicast MAC: NICs and hosts are single machines, so never all zeros nor a group address. */
export function checkMac(v: Violations, path: string, text: string): string | undefined {
  const mac = normalizeMac(text);
  if (mac === undefined)
    v.add(path, text === '' ? 'required' : `"${text}" is not a MAC address (like 52:54:00:12:34:56)`);
  else if (mac === '00:00:00:00:00:00') v.add(path, `${mac} is the all-zero MAC, not a machine's`);
  // The least significant bit of the first octet marks a group: multicast, and broadcast.
  else if ((parseInt(mac.slice(0, 2), 16) & 1) === 1)
    v.add(path, `${mac} is a multicast or broadcast MAC (group bit set), not a machine's`);
  else return mac;
  return undefined;
}

export function checkDomain(v: Violations, path: string, text: string): boolean {
  if (isDomainName(text)) return true;
  v.add(path, `"${text}" is not a domain name (dot-separated labels of letters, digits and -)`);
  return false;
}

export function checkRange(
  v: Violations,
  path: string,
  value: number,
  min: number,
  max: number,
  zeroMeans?: string,
): boolean {
  if (zeroMeans !== undefined && value === 0) return true;
  if (value >= min && value <= max) return true;
  v.add(
    path,
    `${value} is out of range ${min}-${max}${zeroMeans === undefined ? '' : ` (or 0 for ${zeroMeans})`}`,
  );
  return false;
}

export function checkText(v: Violations, path: string, text: string, max = 255): boolean {
  if (text.length <= max) return true;
  v.add(path, `longer than ${max} characters`);
  return false;
}
