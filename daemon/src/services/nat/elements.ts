// The nftables map and set elements one NAT object stands for (pure). An EIP is four elements, a
// port forward two or three (more for a shifted port range, one per port, or allowed sources), an
// SNAT entry two: lookups stay O(1) however many objects exist, and a Patch changes only these.
// Every element carries its owner's kind and id as comment (`eip:web-1`), so `nft list` names the
// object an element exists for, as the rules' comments do.
import { parseIpv4 } from '../../config/net.js';
import { TransportProtocol } from '../../gen/vrouter/v1/common_pb.js';
import type { Eip, PortForward, Snat } from '../../gen/vrouter/v1/nat_pb.js';
import type { Network } from '../../gen/vrouter/v1/networks_pb.js';
import type { NftElement } from '../../nft/model.js';
import { portsOf } from './validate.js';

/** Names of the daemon's NAT sets and maps in `ip vrouter_nat`. */
export const SET = {
  /** VIP → VM: DNAT of EIPs. */
  eipDnat: 'eip_dnat',
  /** public link . VM → VIP: SNAT of EIPs. */
  eipSnat: 'eip_snat',
  /** The EIP's conntrack mark (see eipMark; counter per element): traffic of EIPs, both ways. */
  eipStats: 'eip_stats',
  /** VIP → conntrack mark (the VIP's address as a number): marks the EIP's flows, both ways. */
  eipMark: 'eip_mark',
  /** VIP . proto . port → VM and → VM port: single ports and each port of a shifted range. */
  forwardAddr: 'pf_dnat_addr',
  forwardPort: 'pf_dnat_port',
  /** VIP . proto . port range → VM: ranges forwarded to the same ports (interval). */
  forwardRange: 'pf_range_dnat',
  /** VIP . proto . port (counter): traffic of single-port forwards. */
  forwardStats: 'pf_stats',
  /** VIP . proto . port range (interval, counter): traffic of multi-port forwards. */
  forwardRangeStats: 'pf_range_stats',
  /** VIP . proto . port range (interval): forwards restricted to allowed sources. */
  forwardGuarded: 'pf_guarded',
  /** VIP . proto . port range . source CIDR (interval): the allowed sources. */
  forwardAllowed: 'pf_allowed',
  /** public link . network CIDR (interval) → VIP: SNAT of networks. */
  snat: 'snat',
  /** network CIDR (interval, counter): traffic of SNAT entries. */
  snatStats: 'snat_stats',
  /** private link . network CIDR (interval): DNAT'ed traffic back into its own network (hairpin). */
  hairpin: 'hairpin',
} as const;

export type SetName = (typeof SET)[keyof typeof SET];

/** One element of one set, produced for one object. */
export interface Piece {
  readonly set: SetName;
  readonly element: NftElement;
}

export function protocolNumber(p: TransportProtocol): number {
  return p === TransportProtocol.UDP ? 17 : 6;
}

export function prefixJson(cidr: string): unknown {
  const slash = cidr.indexOf('/');
  return { prefix: { addr: cidr.slice(0, slash), len: Number(cidr.slice(slash + 1)) } };
}

/**
 * The conntrack mark of an EIP's flows: its VIP's address as a 32-bit number. Every flow an EIP
 * translates carries it, so removing the EIP clears exactly its flows with one flush filtered by mark
 * in the kernel (a walk that skips empty buckets: well under a millisecond), where a dump of the
 * table by address costs ~10 ms however empty it is. A VIP with an EIP serves nothing else.
 */
export function eipMark(vipIp: string): number {
  return parseIpv4(vipIp) ?? 0;
}

/** An element's key with its ownership comment, in nft's JSON (`{"elem": {"val", "comment"}}`). */
function owned(owner: string, key: unknown): unknown {
  return { elem: { val: key, comment: owner } };
}

export function eipPieces(eip: Eip, vipIp: string, publicLink: string): Piece[] {
  const owner = `eip:${eip.id}`;
  const vip = owned(owner, vipIp);
  return [
    { set: SET.eipDnat, element: { key: vip, value: eip.privateIp } },
    {
      set: SET.eipSnat,
      element: { key: owned(owner, { concat: [publicLink, eip.privateIp] }), value: vipIp },
    },
    { set: SET.eipStats, element: { key: owned(owner, eipMark(vipIp)) } },
    { set: SET.eipMark, element: { key: vip, value: eipMark(vipIp) } },
  ];
}

export function forwardPieces(pf: PortForward, vipIp: string): Piece[] {
  const owner = `port_forward:${pf.id}`;
  const proto = protocolNumber(pf.protocol);
  const ports = portsOf(pf.vipPorts);
  const target =
    pf.privatePorts === undefined || (pf.privatePorts.start === 0 && pf.privatePorts.end === 0)
      ? ports
      : portsOf(pf.privatePorts);
  const single = ports.start === ports.end;
  const portKey = single ? ports.start : { range: [ports.start, ports.end] };
  const pieces: Piece[] = [];
  if (!single && target.start === ports.start) {
    pieces.push({
      set: SET.forwardRange,
      element: { key: owned(owner, { concat: [vipIp, proto, portKey] }), value: pf.privateIp },
    });
  } else {
    for (let port = ports.start; port <= ports.end; port++) {
      const key = owned(owner, { concat: [vipIp, proto, port] });
      pieces.push(
        { set: SET.forwardAddr, element: { key, value: pf.privateIp } },
        { set: SET.forwardPort, element: { key, value: target.start + (port - ports.start) } },
      );
    }
  }
  const service = owned(owner, { concat: [vipIp, proto, portKey] });
  pieces.push({ set: single ? SET.forwardStats : SET.forwardRangeStats, element: { key: service } });
  if (pf.allowedSourceCidrs.length > 0) {
    pieces.push({ set: SET.forwardGuarded, element: { key: service } });
    for (const cidr of pf.allowedSourceCidrs)
      pieces.push({
        set: SET.forwardAllowed,
        element: { key: owned(owner, { concat: [vipIp, proto, portKey, prefixJson(cidr)] }) },
      });
  }
  return pieces;
}

export function snatPieces(snat: Snat, networkCidr: string, vipIp: string, publicLink: string): Piece[] {
  const owner = `snat:${snat.id}`;
  return [
    {
      set: SET.snat,
      element: { key: owned(owner, { concat: [publicLink, prefixJson(networkCidr)] }), value: vipIp },
    },
    { set: SET.snatStats, element: { key: owned(owner, prefixJson(networkCidr)) } },
  ];
}

export function hairpinPiece(network: Network, privateLink: string): Piece {
  const key = { concat: [privateLink, prefixJson(network.cidr)] };
  return { set: SET.hairpin, element: { key: owned(`network:${network.id}`, key) } };
}
