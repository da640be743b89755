// A rule's conditions in short nft-like words for people: `tcp dport 22 saddr 198.51.100.0/24`.
import { formatAddressInterval, formatPortInterval } from './intervals.js';
import { protocolName } from './evaluate.js';
import type { RuleMatch } from './model.js';

export function describeMatch(m: RuleMatch): string {
  const parts: string[] = [];
  if (m.protocols !== undefined) parts.push(m.protocols.map(protocolName).join(','));
  if (m.icmp !== undefined)
    parts.push(`type ${m.icmp.types.join(',')}${m.icmp.code === undefined ? '' : ` code ${m.icmp.code}`}`);
  if (m.sources !== undefined) parts.push(`saddr ${m.sources.map(formatAddressInterval).join(',')}`);
  if (m.destinations !== undefined)
    parts.push(`daddr ${m.destinations.map(formatAddressInterval).join(',')}`);
  if (m.sourcePorts !== undefined) parts.push(`sport ${m.sourcePorts.map(formatPortInterval).join(',')}`);
  if (m.destinationPorts !== undefined)
    parts.push(`dport ${m.destinationPorts.map(formatPortInterval).join(',')}`);
  if (m.states !== undefined) parts.push(`state ${m.states.join(',')}`);
  if (m.dnat === true) parts.push('dnat');
  if (m.toRouter === true) parts.push('to-router');
  if (m.ipsec === true) parts.push('ipsec');
  return parts.length === 0 ? 'all' : parts.join(' ');
}
