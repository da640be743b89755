// Upstream server addresses as the manager writes them: `198.51.100.53`, `198.51.100.53:5353`,
// `2001:db8::53`, `[2001:db8::53]:5353`.
import ipaddr from 'ipaddr.js';

export interface UpstreamAddress {
  /** The address in canonical form (RFC 5952 for IPv6). */
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export function parseUpstream(text: string): UpstreamAddress | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed !== null) return build(bracketed[1] ?? '', bracketed[2], 6);
  const withPort = /^([0-9.]+):(\d{1,5})$/.exec(text);
  if (withPort !== null) return build(withPort[1] ?? '', withPort[2], 4);
  return build(text, undefined, text.includes(':') ? 6 : 4);
}

function build(address: string, portText: string | undefined, family: 4 | 6): UpstreamAddress | undefined {
  const port = portText === undefined ? 53 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (family === 4) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(address)) return undefined;
    return { address: ipaddr.IPv4.parse(address).toString(), port, family };
  }
  if (!ipaddr.IPv6.isValid(address) || address.includes('%')) return undefined;
  return { address: ipaddr.IPv6.parse(address).toString(), port, family };
}

/** `198.51.100.53:53`, `[2001:db8::53]:53`: how status output names an upstream. */
export function formatUpstream(u: UpstreamAddress): string {
  return u.family === 4 ? `${u.address}:${u.port}` : `[${u.address}]:${u.port}`;
}
