// Reverse-lookup names (in-addr.arpa, ip6.arpa): the PTR owner of an address, the zones that cover
// a subnet exactly, and the private and special-use reverse zones a resolver answers itself
// (RFC 6303 §4, with 100.64.0.0/10 of RFC 6598 and the documentation prefix 2001:db8::/32).
import ipaddr from 'ipaddr.js';
import { type Ipv4Prefix, type Ipv6Prefix, formatIpv4 } from '../../config/net.js';

/** `10.1.0.11` → `11.0.1.10.in-addr.arpa`, for a validated (four-part decimal) address. */
export function ipv4PtrName(address: string): string {
  return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
}

/** `fd00::1` → the 32 nibbles, last first, then `ip6.arpa`. */
export function ipv6PtrName(address: ipaddr.IPv6): string {
  return `${nibbles(address, 32).join('.')}.ip6.arpa`;
}

/**
 * The reverse zones that together cover exactly `subnet`: one when its prefix length is a multiple of
 * 8, otherwise the 2-128 zones one octet deeper (`10.1.0.0/23` → `0.1.10…` and `1.1.10…`).
 */
export function ipv4ReverseZones(subnet: Ipv4Prefix): string[] {
  const depth = Math.ceil(subnet.prefix / 8);
  const count = 2 ** (depth * 8 - subnet.prefix);
  return Array.from({ length: count }, (_, k) => {
    const network = (subnet.network + k * 2 ** (32 - depth * 8)) >>> 0;
    const octets = formatIpv4(network).split('.').slice(0, depth).reverse();
    return [...octets, 'in-addr', 'arpa'].join('.');
  });
}

/** As ipv4ReverseZones, on nibble (4-bit) boundaries. */
export function ipv6ReverseZones(subnet: Ipv6Prefix): string[] {
  const depth = Math.ceil(subnet.prefix / 4);
  const count = 2 ** (depth * 4 - subnet.prefix);
  const base = subnet.address.toByteArray();
  return Array.from({ length: count }, (_, k) => {
    const bytes = [...base];
    // Add k at nibble position `depth - 1` (counting from the most significant nibble).
    let carry = k;
    for (let nibble = depth - 1; nibble >= 0 && carry > 0; nibble--) {
      const byte = nibble >> 1;
      const shift = nibble % 2 === 0 ? 4 : 0;
      const value = (((bytes[byte] ?? 0) >> shift) & 0xf) + carry;
      carry = value >> 4;
      bytes[byte] = ((bytes[byte] ?? 0) & ~(0xf << shift)) | ((value & 0xf) << shift);
    }
    const address = ipaddr.fromByteArray(bytes) as ipaddr.IPv6;
    return [...nibbles(address, depth), 'ip6', 'arpa'].join('.');
  });
}

function nibbles(address: ipaddr.IPv6, count: number): string[] {
  const hex = address
    .toByteArray()
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
  return hex.slice(0, count).split('').reverse();
}

/** Reverse zones for private and special-use addresses: answered locally, never forwarded. */
export const PRIVATE_REVERSE_ZONES: readonly string[] = [
  '10.in-addr.arpa',
  ...Array.from({ length: 16 }, (_, i) => `${16 + i}.172.in-addr.arpa`),
  '168.192.in-addr.arpa',
  ...Array.from({ length: 64 }, (_, i) => `${64 + i}.100.in-addr.arpa`),
  '0.in-addr.arpa',
  '127.in-addr.arpa',
  '254.169.in-addr.arpa',
  '2.0.192.in-addr.arpa',
  '100.51.198.in-addr.arpa',
  '113.0.203.in-addr.arpa',
  '255.255.255.255.in-addr.arpa',
  `${'0.'.repeat(32)}ip6.arpa`,
  `1.${'0.'.repeat(31)}ip6.arpa`,
  'd.f.ip6.arpa',
  '8.e.f.ip6.arpa',
  '9.e.f.ip6.arpa',
  'a.e.f.ip6.arpa',
  'b.e.f.ip6.arpa',
  '8.b.d.0.1.0.0.2.ip6.arpa',
];
